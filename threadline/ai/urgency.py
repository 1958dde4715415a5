"""Urgency as a support lead would judge it: a near deadline, stopped work, repeated
chasing, a legal or a cancellation threat. The word "urgent" alone is not enough (every
offer and every injection uses it), and machine-written mail is never urgent.

Rules read folded text (lower case, no accents), so "máquina parada" and "maquina
parada" are the same, and informal WhatsApp spelling is covered in the patterns.
"""

from __future__ import annotations

import re

from threadline.ai.signals import Reading

_W = r"(?:\w+\W+){0,3}"  # up to three words in between
STRONG: tuple[tuple[str, re.Pattern[str]], ...] = tuple((reason, re.compile(p)) for reason, p in (
    ("work stopped", r"\b(?:linea|lineas|maquina|maquinas|produccion|fabrica|obra|obras|"
     r"planta|instalacion|cadena|taller|almacen|camion|flota|montaje|servicio)\W+" + _W +
     r"(?:parad[ao]s?|paralizad[ao]s?|detenid[ao]s?|bloquead[ao]s?|sin funcionar|"
     r"no funciona|no arranca|caid[ao]s?)\b"),
    ("work stopped", r"\b(?:tenemos|estamos|esta|estan|llevamos)\W+" + _W +
     r"(?:parad[ao]s|paralizad[ao]s|sin poder trabajar)\b"),
    ("work stopped", r"\bno (?:podemos|puedo|pueden) (?:trabajar|producir|fabricar|seguir"
     r"|terminar|entregar|montar|abrir)\b"),
    ("work stopped", r"\b(?:machine|machines|line|lines|production|plant|factory|site|"
     r"truck|fleet|assembly|system|conveyor|press)\W+" + _W +
     r"(?:is |are |has |have |went |been )*(?:down|stopped|halted|at a standstill|"
     r"not running|out of (?:service|action|order)|shut down|idle)\b"),
    ("work stopped", r"\b(?:production|work|operations?|everything) (?:has |have |is )?"
     r"(?:stopped|halted|ground to a halt|at a standstill)\b|\bstandstill\b|"
     r"\b(?:can ?not|cant|can'?t|unable to|could not|couldn'?t) (?:work|produce|operate|ship|"
     r"finish|run|start|continue|open|deliver)\b|\bstanding (?:around|idle)\b|"
     r"\bsitting idle\b|\bsin poder (?:arrancar|trabajar|producir|seguir)\b|"
     r"\blinea parada\b|\bmaquina parada\b|\bfuera de servicio\b|\bout of service\b"),
    ("deadline", r"\b(?:lo |la |los |las )?(?:necesito|necesitamos|necesitaria|"
     r"necesitariamos|hace falta|tiene que (?:llegar|estar)|tienen que (?:llegar|estar)|"
     r"debe (?:llegar|estar)|ha de llegar|urge)\W+" + _W +
     r"(?:hoy|manana|esta (?:tarde|noche|semana)|antes de(?:l)? (?:las|el|viernes|lunes|"
     r"martes|miercoles|jueves|manana|fin)|para (?:el )?(?:lunes|martes|miercoles|jueves|"
     r"viernes|sabado|manana|hoy|esta)|mna|mñn|ya|ahora|asap|cuanto antes|sin falta)\b"),
    ("deadline", r"\b(?:need|needs|needed|must|has to|have to|require|required)\b\W+" + _W +
     r"(?:today|tomorrow|tmrw|tmr|tomoz|2moro|2morrow|tonight|by (?:monday|tuesday|"
     r"wednesday|thursday|friday|"
     r"saturday|tomorrow|noon|end of (?:the )?(?:day|week)|eod|\d)|asap|right away|"
     r"immediately|first thing|this (?:afternoon|morning|week))\b"),
    ("deadline", r"\b(?:hoy|manana) (?:antes de las|a primera hora|a las|sin falta|si o si|"
     r"mismo)\b|\bsi o si\b|\bsi no (?:llega|llegan|esta|estan|lo tenemos|los tenemos)\b"
     r".{0,30}\b(?:hoy|manana|a tiempo)\b|\bperdemos (?:el|la|un|una)\b|\bnos penaliza\w*|"
     r"\bpenalizacion\w*|\b(?:by|before) \d{1,2}(?::\d{2})? ?(?:am|pm|h)\b|"
     r"\b(?:has|have|needs?) to be (?:with us|here|delivered|on site)\b|\bwas due (?:at|on|"
     r"yesterday|this morning|today)\b|\bneed(?:ed)? (?:it|them) (?:now|today)\b|"
     r"\bevery (?:hour|day|minute) (?:is costing|costs)\b|\bcosting us\b|\b(?:miss|missed|"
     r"missing) the (?:container|sailing|shipment|deadline|truck|lorry|slot)\b|"
     r"\bfirst thing tomorrow\b|\bnext sailing\b"),
    ("deadline", r"\b(?:fecha limite|deadline|plazo (?:vence|termina|acaba)|"
     r"ultimo dia|last day|within 24 ?h(?:ours)?|en 24 ?h(?:oras)?|hoy mismo|"
     r"today at the latest|como muy tarde|a mas tardar|at the latest|sin falta)\b"),
    ("repeated chasing", r"\b(?:segunda|tercera|cuarta|quinta|2a|3a|4a|5a|2ª|3ª|4ª|"
     r"enesima) vez\b|\b(?:second|third|fourth|fifth|2nd|3rd|4th|5th|umpteenth"
     r") time (?:i|we)\b|\b(?:third|fourth|fifth|3rd|4th|5th) (?:email|e-mail|"
     r"message|mail|request|reminder|call)\b"),
    ("repeated chasing", r"\bya (?:os |les |te |le |lo |la |me |nos )?(?:he |hemos )?"
     r"(?:escrit[oa]|escribi|escribimos|llame|llamamos|reclame|reclamamos|avise|pregunte|"
     r"mande|envie)\w*\b.{0,60}(?:\b(?:vez|veces|lunes|martes|miercoles|jueves|viernes|"
     r"semana|dias|ayer)\b|\by el \d)|"
     r"\b(?:varias|muchas|tres|cuatro|mil) veces\b|\bnadie (?:me |nos )?(?:contesta|"
     r"responde|ha contestado|ha respondido|dice nada|llama)\b|\bsigo sin (?:respuesta|"
     r"noticias|saber)\b|\bseguimos sin (?:respuesta|noticias)\b|\bsin respuesta\b"),
    ("repeated chasing", r"\b(?:he|hemos|ya) (?:os |les |te )?(?:escrito|mandado|enviado|"
     r"llamado|escribi|mande|llame)\w* (?:\w+ ){0,2}(?:\d+|dos|tres|cuatro|cinco|varias|"
     r"muchas) (?:veces|whatsapps?|correos|emails?|mensajes|mails|llamadas)\b|\b\d+ veces\b|"
     r"\b(?:i|we)'?ve (?:sent|written|emailed|"
     r"called|messaged)\b.{0,20}\b(?:\d+|two|three|four|five|several) (?:times|emails|"
     r"messages|calls)\b|\bthat was (?:\w+ )?(?:days|weeks) ago\b"),
    ("repeated chasing", r"\b(?:several|many|three|four|multiple|numerous) times\b|"
     r"\b(?:no one|nobody|noone) (?:has )?(?:answered|replied|responded|gets back|got back|"
     r"called)\b|\bstill (?:no|not|haven'?t|have not|waiting|without)\b.{0,30}"
     r"\b(?:answer|reply|response|heard|word|news|update)\b|\bchasing\b|"
     r"\b(?:again and again|yet again|once again)\b|\b(?:i|we)'?ve (?:written|emailed|"
     r"called|asked)\b.{0,25}\b(?:twice|times|already)\b"),
    ("legal threat", r"\b(?:abogad[oa]s?|lawyers?|attorneys?|solicitors?|denuncia\w*|"
     r"demanda(?:re|remos|r)?|juzgado|tribunal\w*|courts?|legal action|legal steps|"
     r"acciones legales|via judicial|medidas legales|consumo|consumidor\w*|omic|"
     r"hoja de reclamaciones|libro de reclamaciones|consumer protection|trading standards"
     r"|small claims|chargeback|better business bureau|bbb|facua|ocu|filing a claim|file a "
     r"claim|claim against|departamento juridico|servicios juridicos|legal department|"
     r"reclamacion judicial|burofax|nuestro seguro|our insurers?)\b"),
    # A threat is conditional or a promise ("si no llega el viernes cancelo", "we will
    # cancel"); "please cancel order 90380" is a request, not a threat.
    ("cancellation threat", r"\b(?:si no|if (?:it|this|they|you)?\W*(?:\w+\W+){0,6}?"
     r"(?:not|doesn'?t|don'?t|isn'?t|can'?t|won'?t|aren'?t|haven'?t)|otherwise|de lo "
     r"contrario|o si no|or else|unless|a menos que|en caso contrario)\b.{0,100}?\b(?:cancel"
     r"\w*|anul\w*)\b"),
    ("cancellation threat", r"\b(?:cancelare|cancelaremos|anulare|anularemos|vamos a "
     r"(?:cancelar|anular)|voy a (?:cancelar|anular)|will cancel|'ll cancel|ll cancel|"
     r"going to cancel|gonna cancel)\b"),
    ("cancellation threat", r"\b(?:buscar|buscaremos|buscare|iremos|ire|pasaremos|pasare|"
     r"pasamos|paso|pasariamos|cambiamos|nos iremos|nos iriamos|"
     r"cambiaremos|cambiare|me voy|nos vamos|compraremos|comprare|dejaremos de comprar|"
     r"dejare de comprar|trabajar)\W+(?:\w+\W+){0,3}?(?:otro proveedor|otros proveedores|"
     r"otra empresa|la competencia|otra marca|otras marcas|otro sitio|otra parte|"
     r"otr[oa] distribuid\w+|otros distribuidores)\b|\bcambiar\w* de proveedor\b|"
     r"\bofertas? de (?:la competencia|otros (?:proveedores|distribuidores))\b|"
     r"\bno volver(?:e|emos) a (?:comprar|pedir|trabajar)\b"),
    ("cancellation threat", r"\b(?:take|taking|took) (?:our|my) (?:business|custom|orders?) "
     r"elsewhere\b|\b(?:go|going|look|looking|buy|buying|order|ordering|switch|switching|"
     r"move|moving|source|sourcing)\W+(?:\w+\W+){0,3}?(?:elsewhere|another supplier|"
     r"another vendor|the competition|a competitor|other brands|other suppliers|another "
     r"distributor)\b|\b(?:change|switch|changing|switching) (?:our )?suppliers?\b|"
     r"\bnever (?:buy|order) (?:anything )?from you again\b|\bstop (?:buying|ordering) "
     r"from you\b|\bclose (?:our|my) account\b"),
))
# Said by a customer (not spam, not an injection), these words count as much as a sign.
URGENT_WORD = re.compile(r"\b(?:urgente|urgentes|urgentemente|urgent|urgently|urgencia|"
                         r"emergencia|emergency|critico|critical)\b")
# These need a second sign: "send me the quote asap" is impatience, not an escalation.
SOON = re.compile(r"\b(?:asap|cuanto antes|lo antes posible|as soon as possible|"
                  r"inmediatamente|immediately|ya mismo|right now|right away)\b|!{3,}")
# "no es urgente", "not urgent", "no rush": said in so many words.
CALM = re.compile(r"\b(?:no es urgente|nada urgente|nada (?:\w+ )?ni urgente|ni urgente|"
                  r"nothing urgent|not (?:at all )?urgent|no urgency|no es nada urgente|"
                  r"no corre prisa|sin prisa|sin prisas|"
                  r"no hay prisa|cuando pued\w+|not urgent|no rush|no hurry|whenever you|"
                  r"at your convenience|when you get a chance|no es critico)\b")
# Conditional threats in polite enquiries ("if it can't arrive by Friday we'd need to
# cancel") still count; questions about the policy ("how do I cancel an order?") do not.
POLICY_QUESTION = re.compile(r"\b(?:como|how|puedo|can i|could i|se puede|is it possible)"
                             r"\W+(?:\w+\W+){0,2}(?:cancel|anular|cancelar)")


def assess(reading: Reading) -> tuple[bool, str]:
    """(urgent, the reason in a few words quoting the customer)."""
    if reading.machine_written:
        return False, ""
    text = reading.text
    hits: list[tuple[str, str]] = []
    for reason, rx in STRONG:
        m = rx.search(text)
        if m is None or (reason == "cancellation threat" and POLICY_QUESTION.search(text)):
            continue
        hits.append((reason, m.group(0)))
    calm = CALM.search(text)
    # In a message that tries to instruct the triage, only the signs it cannot fake by
    # saying "urgent" count.
    word = None if reading.injection else URGENT_WORD.search(CALM.sub(" ", text))
    if word:
        hits.append(("said to be urgent", word.group(0)))
    soon = [] if reading.injection else SOON.findall(text)
    score = 2 * len(hits) + min(len(soon), 2) - (2 if calm else 0)
    if score < 2 or not (hits or len(soon) >= 2):
        return False, ""
    if not hits:
        hits.append(("pressing", soon[0]))
    reasons = list(dict.fromkeys(r for r, _ in hits))
    quoted = " ".join(hits[0][1].split())[:60]
    return True, f"{', '.join(reasons)}: “{quoted}”"
