"""Sentiment with VADER's rules (negation, boosters, "but", capitals, exclamation marks,
emoji) and its English lexicon, extended with Spanish: a lexicon of the words support mail
uses, and Spanish negations and intensifiers rewritten to the English words VADER's rules
know ("no", "nunca" -> "never", "muy" -> "very", "pero" -> "but")."""

from __future__ import annotations

import re
from functools import lru_cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from core.analysis import Sentiment, fold

# Folded Spanish words with VADER valences (-4..4), chosen next to their English entries.
SPANISH = {
    "gracias": 1.9, "agradecido": 2.3, "agradecida": 2.3, "agradezco": 1.8,
    "agradecemos": 1.8, "genial": 3.0, "geniales": 3.0, "perfecto": 2.7, "perfecta": 2.7,
    "perfectamente": 2.5, "excelente": 3.2, "excelentes": 3.2, "estupendo": 3.0,
    "estupenda": 3.0, "fantastico": 3.1, "fantastica": 3.1, "maravilloso": 3.1,
    "maravillosa": 3.1, "encantado": 2.5, "encantada": 2.5, "encantados": 2.5,
    "encanta": 2.7, "encantan": 2.7, "contento": 2.2, "contenta": 2.2, "contentos": 2.2,
    "satisfecho": 2.0, "satisfecha": 2.0, "satisfechos": 2.0, "enhorabuena": 2.8,
    "felicidades": 2.6, "felicitaros": 2.6, "felicitar": 2.0, "amable": 2.0, "amables": 2.0,
    "eficaz": 1.8, "eficiente": 1.8, "eficientes": 1.8, "gusta": 1.5, "gustado": 1.8,
    "recomiendo": 2.0, "recomendare": 2.0, "mejor": 1.5, "guay": 2.0, "fenomenal": 3.0,
    "resuelto": 1.4, "solucionado": 1.6, "alegra": 2.0, "feliz": 2.7, "rapidisimo": 2.0,
    "impecable": 3.0, "atentos": 1.6, "profesionales": 1.6, "crack": 1.5,
    "buenisimo": 2.8, "bien": 1.0, "bueno": 0.8, "buena": 1.0, "majos": 1.8, "top": 1.5,
    "mal": -2.0, "fatal": -3.0, "horrible": -3.0, "terrible": -3.0, "pesimo": -3.2,
    "pesima": -3.2, "desastre": -3.1, "desastroso": -3.1, "vergonzoso": -2.8,
    "verguenza": -2.6, "inaceptable": -2.9, "intolerable": -2.9, "indignado": -3.0,
    "indignada": -3.0, "indignados": -3.0, "indignante": -3.0, "indignacion": -3.0,
    "enfadado": -2.5, "enfadada": -2.5, "enfadados": -2.5, "cabreado": -2.8,
    "cabreada": -2.8, "harto": -2.6, "harta": -2.6, "hartos": -2.6, "molesto": -2.0,
    "molesta": -2.0, "decepcionado": -2.4, "decepcionada": -2.4, "decepcion": -2.4,
    "decepcionante": -2.4, "lamentable": -2.6, "problema": -1.7, "problemas": -1.7,
    "roto": -1.8, "rota": -1.8, "rotos": -1.8, "rotas": -1.8, "defectuoso": -2.0,
    "defectuosa": -2.0, "defectuosos": -2.0, "danado": -1.9, "danada": -1.9,
    "danados": -1.9, "errores": -1.6, "equivocado": -1.5, "equivocada": -1.5,
    "queja": -2.0, "quejas": -2.0, "reclamacion": -1.5, "retraso": -1.6, "retrasos": -1.6,
    "peor": -2.5, "timo": -3.0, "estafa": -3.2, "estafadores": -3.4, "incompetentes": -3.0,
    "incompetencia": -3.0, "impresentable": -3.0, "impresentables": -3.0,
    "ridiculo": -2.3, "perdido": -1.3, "perdida": -1.3, "preocupado": -1.6,
    "preocupada": -1.6, "triste": -2.1, "disgustado": -2.3, "insatisfecho": -2.4,
    "insatisfecha": -2.4, "mentira": -2.5, "mentiras": -2.5, "engano": -2.6,
    "basura": -2.7, "porqueria": -2.8, "asco": -2.9, "mierda": -3.0, "joder": -2.5,
    "colmo": -2.0, "frustrado": -2.4, "frustrada": -2.4, "frustrante": -2.4,
    "nefasto": -3.0, "deficiente": -2.3, "chapuza": -2.6, "inutil": -2.4, "inutiles": -2.4,
    "pena": -1.5, "cobrado": -0.8, "duplicado": -0.8, "falla": -1.6, "fallo": -1.6,
    "averia": -1.5, "averiado": -1.8, "absurdo": -2.0, "increible": 0.0, "sin": 0.0,
    "urgente": -0.5, "paciencia": -0.5, "esperando": -0.6, "todavia": -0.4,
}
# Spanish words rewritten to the English ones VADER's negation and booster rules know.
FUNCTION_WORDS = {
    "nunca": "never", "jamas": "never", "ni": "nor", "tampoco": "neither",
    "nada": "nothing", "ningun": "none", "ninguno": "none", "ninguna": "none",
    "sin": "without", "muy": "very", "mucho": "very", "muchisimo": "extremely",
    "muchisimas": "very", "muchas": "very", "totalmente": "totally",
    "completamente": "completely", "absolutamente": "absolutely", "realmente": "really",
    "super": "super", "tan": "so", "bastante": "quite", "algo": "somewhat",
    "un poco": "slightly", "pero": "but", "sumamente": "extremely",
}
_FUNCTION_RX = re.compile(r"\b(" + "|".join(sorted(FUNCTION_WORDS, key=len, reverse=True))
                          + r")\b")
# Courtesy lines say nothing about how the customer feels.
_COURTESY = re.compile(
    r"\b(?:un saludo|saludos(?: cordiales)?|atentamente|cordialmente|gracias de antemano|"
    r"gracias por adelantado|muchas gracias de antemano|quedo a la espera|un abrazo|"
    r"buenos dias|buenas tardes|buenas noches|buenas|estimad[oa]s?|hola|"
    r"kind regards|best regards|warm regards|regards|best wishes|many thanks in advance|"
    r"thanks in advance|thank you in advance|thanks for your help|dear \w+|hi there|"
    r"hello|good (?:morning|afternoon|evening)|sincerely|cheers|look forward to hearing "
    r"from you|looking forward to your reply|have a (?:nice|good|great) day|"
    r"que tengas? (?:un )?buen dia|please let me know|por favor)\b")
ANGRY = re.compile("[😡🤬😤👿😠💢]|\\b(?:wtf|ffs|joder|hostia|coño|cono)\\b")
# How annoyance sounds, beyond its words: chasing, sarcasm, "still", "again", "…", 🙄.
TONE = re.compile(
    "[🙄😒😤😡🤬😠😩😫]|!{2,}|\\?{2,}|\\.{3}|…|"
    r"\b(?:vaya (?:servicio|tela|tela|plan)|otra vez|de nuevo|todavia|aun no|sigue sin|"
    r"seguimos sin|sigo sin|ya van|ya es (?:lunes|martes|miercoles|jueves|viernes)|llevo|"
    r"llevamos|esperando|alguna novedad|no es normal|inaceptable|ridiculo|verguenza|"
    r"en serio|ultima vez|harto|harta|hartos|decepcion\w*|nunca mas|peor|fatal|pesimo|"
    r"desastre|impresentable|lamentable|tomadura de pelo|"
    r"again|still|any news|any update|been waiting|(?:it'?s|its|it has) been|"
    r"not acceptable|unacceptable|ridiculous|seriously|last time|fed up|sick of|"
    r"disappoint\w*|never again|worst|terrible|awful|appalling|shocking|useless|"
    r"joke|rubbish|pathetic|nobody|no one)\b")
REQUEST = re.compile(r"\?|\b(?:could you|can you|would you|please|pls|plz|podeis|podriais|"
                     r"puedes|podrias|por favor|porfa|necesito|necesitamos|need|we'd like|"
                     r"i'd like|quisiera|queria|quisieramos)\b")
THANKS = re.compile(r"\b(?:gracias|mil gracias|thanks|thank you|thx|ty|cheers for|muchas "
                    r"gracias|agradec\w+|grateful|appreciated?|kudos|well done|enhorabuena|"
                    r"legends?|cracks?|great job|buen trabajo|genial|perfecto|excelente|"
                    r"great|perfect|excellent|brilliant|fantastic|amazing|top)\b|[🙏👍👏😊🙂😀😃💪🥳❤]")
POSITIVE_MIN = 0.4
THANKS_WITH_REQUEST_MIN = 0.75  # "thanks for the quick dispatch! could you send the invoice?"
FRUSTRATED_MAX = -0.75
TONE_MAX = 0.3  # with an annoyed tone, anything short of clearly positive is frustration


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    vader = SentimentIntensityAnalyzer()
    vader.lexicon.update(SPANISH)
    vader.lexicon.pop("ha", None)  # Spanish "ha" (has), not laughter
    return vader


def score(text: str) -> float:
    """VADER's compound score (-1..1) for English or Spanish text."""
    folded = _COURTESY.sub(" ", fold(text))
    folded = _FUNCTION_RX.sub(lambda m: FUNCTION_WORDS[m.group(1)], folded)
    return _analyzer().polarity_scores(folded)["compound"]


def _shouting(text: str) -> bool:
    words = re.findall(r"[A-Za-zÁÉÍÓÚÑáéíóúñ]{3,}", text)
    caps = [w for w in words if w.isupper() and len(w) > 3]
    return len(caps) >= 4 and len(caps) >= 0.3 * len(words)


def classify(text: str, urgent: bool, original: str = "") -> Sentiment:
    """`text` folded (what the rules read); `original` as written (for capitals)."""
    compound = score(text)
    annoyed = bool(ANGRY.search(text) or (TONE.search(text) and compound <= TONE_MAX)
                   or compound <= FRUSTRATED_MAX or _shouting(original))
    if urgent:  # pressing but not angry reads as urgent; angry and urgent as frustrated
        return Sentiment.FRUSTRATED if annoyed else Sentiment.URGENT
    if annoyed:
        return Sentiment.FRUSTRATED
    # Politeness is not praise: a request stays neutral however nicely it is put.
    if THANKS.search(text) and compound >= (
            THANKS_WITH_REQUEST_MIN if REQUEST.search(text) else POSITIVE_MIN):
        return Sentiment.POSITIVE
    return Sentiment.NEUTRAL
