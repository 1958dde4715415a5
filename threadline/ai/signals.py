"""What kind of text a message is before anything is read into it: mail written by a
machine (auto-replies, marketing), and sentences that try to instruct the triage (prompt
injections). Urgency and tags are read only from what remains."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.analysis import fold

_AUTO_REPLY = re.compile(
    r"\b(?:automatic reply|auto[- ]?reply|autoreply|out of (?:the )?office|respuesta "
    r"automatica|fuera de la oficina|ausencia|de vacaciones hasta|on (?:annual )?leave until"
    r"|i am (?:currently )?(?:away|out)|estare fuera|no estoy en la oficina|with limited "
    r"access to (?:my )?e-?mail|acceso limitado al correo|we(?:'re| are) (?:currently )?closed|"
    r"estamos cerrados|our (?:office |opening )?hours are|nuestro horario es|we'?ll get back "
    r"to you|we will get back to you|le responderemos|te responderemos|this is an automated "
    r"(?:message|response|reply)|(?:este es un|esto es un) (?:mensaje|correo) automatico|"
    r"mensaje generado automaticamente|do not reply to this (?:e-?mail|message)|no responda a "
    r"este (?:correo|mensaje))\b")
_SPAM = re.compile(
    r"\b(?:unsubscribe|darse de baja|darte de baja|dar de baja|newsletter|click here|haz "
    r"clic|pulsa aqui|limited time|tiempo limitado|act now|oferta exclusiva|exclusive offer"
    r"|special offer|oferta especial|seo|backlinks?|posicionamiento web|crypto|bitcoin|"
    r"criptomoneda|forex|you have won|has ganado|ganador|winner|free trial|prueba gratis|"
    r"webinar|\d{2} ?% (?:off|de descuento|dto)|marketing digital|guest post|sorteo|"
    # phishing and get-rich offers
    r"verifi\w+ (?:sus|tus|your) (?:datos|account|details|cuenta|identidad|identity)|"
    r"datos bancarios|bank details|suspension de (?:su|tu) cuenta|account (?:will be )?"
    r"suspen\w+|(?:en el|in the|the) (?:siguiente|following) (?:enlace|link)|"
    r"retenido en aduanas|held (?:at|in) customs|gana \d+|earn \$?\d+|"
    r"sin experiencia|no experience|plazas limitadas|limited (?:spots|places)|"
    r"descargue el (?:documento|archivo) adjunto|download the attached|"
    r"complete el formulario|rellene el formulario|fill (?:in|out) the form|tiene derecho a "
    r"(?:recibir )?(?:una )?devolucion|you are entitled to|estimado contribuyente|dear "
    r"(?:customer|taxpayer|user|account holder)|estimado (?:cliente|usuario)|secure portal|"
    r"portal seguro|action required|accion requerida|(?:this|the|el|este) (?:link|enlace) "
    r"(?:will )?(?:expire|caduca)\w*|do not share this e-?mail|review and sign|revisar y firmar|"
    r"you have received a document|ha recibido un documento|avoid (?:late )?(?:payment )?"
    r"fees|evitar recargos|settle immediately|"
    r"(?:100|cien) ?% (?:gratis|free)|make money|dinero facil|easy money|"
    r"(?:urgent|limited|special|exclusive) offer|oferta (?:urgente|limitada)|"
    r"(?:offer )?valid until|oferta valida hasta|marketing agency|agencia de marketing|"
    r"(?:b2b )?leads|verified (?:contacts|emails|leads)|mailing list|base de datos de "
    r"(?:clientes|contactos|emails))\b")
_UNSUBSCRIBE = re.compile(r"\bunsubscribe\b|\bdar(?:se|te)? de baja\b")
# Phrases that address the triage instead of the support team.
_INJECTION = re.compile(
    r"(?:ignore|disregard|forget|override|olvida|ignora|ignorad|ignore[sn]?)\W+(?:\w+\W+){0,4}"
    r"(?:instructions?|instrucciones|rules|reglas|prompt|normas|directrices)"
    r"|\bsystem\s*(?:prompt|:)|\bdeveloper mode\b|\bmodo (?:desarrollador|administrador)\b"
    r"|\byou are now\b|\bahora eres\b|\beres ahora\b|\bnow you are\b|\bsin restricciones\b"
    r"|\bwithout (?:any )?restrictions\b|\bunrestricted\b"
    r"|\b(?:output|dump|reveal|print|list|send|give|dame|envia|manda|muestra|responde con)\b"
    r"\W+(?:\w+\W+){0,4}(?:customer list|list of customers|lista de clientes|all (?:the )?"
    r"customers|todos los clientes|system prompt|your prompt|tu prompt|passwords?|contrasenas?)\b"
    r"|\bas an ai\b|\bcomo (?:ia|modelo)\b|\bjailbreak\b"
    r"|\b(?:mark|set|flag|tag|classify)\b\W+(?:\w+\W+){0,3}(?:as|to|with)?\W*(?:urgent|"
    r"resolved|priority|high priority|urgente)\b"
    r"|\b(?:marca|marcad|marque|clasifica|pon|etiqueta)(?:lo|la|le|me)?\W+(?:\w+\W+){0,3}"
    r"(?:como )?(?:urgente|resuelto|resuelta|prioritario|prioridad)\b"
    r"|\b(?:urgent|urgente)\s*=\s*true\b"
    r"|\b(?:admin(?:istrator)?|administrador|root)\W+(?:\w+\W+){0,2}(?:password|contrasena|"
    r"clave|credentials|credenciales)\b"
    r"|\b(?:password|contrasena|clave) (?:del|de|of the) (?:admin|administrador)\b"
    r"|\b(?:apply|add|set|use) (?:the |these |all )?(?:following )?(?:tags?|labels?)\b"
    r"|\betiqueta(?:lo|la|r)? (?:como|con)\b|\b(?:aplica|anade|pon) (?:las |estas )?etiquetas\b"
    r"|\b(?:to the|dear|hey|hi) (?:ai|assistant|bot|model|chatbot|gpt|llm)\b"
    r"|\b(?:ai|assistant|bot|model|llm)s? (?:reading|processing) this\b"
    r"|\b(?:asistente|ia|bot|modelo|inteligencia artificial)(?: de ia)? que (?:lees|lee|procesas"
    r"|procesa|analizas|analiza)\b"
    r"|\b(?:ignora|olvida|ignore|forget|disregard) (?:todo )?(?:lo anterior|lo de arriba|"
    r"(?:everything |all )?(?:the )?(?:above|previous|prior))\b"
    r"|\b(?:do not|don'?t|never) (?:tell|inform|show|mention)\b.{0,20}\b(?:human|agent|staff)"
    r"|\bno (?:se lo|le|les) (?:digas|diga|digais|cuentes|muestres)\b"
    r"|\b(?:system|sistema|assistant|asistente|ai|ia|bot|admin)\s*(?:instruction|instruccion|"
    r"rule|regla|note|nota|message|mensaje|override|command|comando)s?\s*:"
    r"|\[\s*(?:system|sistema|assistant|asistente|ai|ia|bot|instruction|instruccion)\b"
    r"|#{2,}\s*(?:new )?(?:system|rule|instruction|regla|instruccion)"
    r"|\bnew (?:system )?rules?\b|\bnueva regla\b"
    r"|\b(?:the )?(?:assistant|ai|bot|model|system)\b (?:must|should|shall|has to|needs to)\b"
    r"|\b(?:el |la )?(?:asistente|ia|bot|modelo|sistema)\b (?:debe|deberia|tiene que|ha de)\b"
    r"|\b(?:no menciones|do not mention|don'?t mention|never mention)\b.{0,20}"
    r"\b(?:instruction|instruccion|this|esto)"
    r"|\b(?:acknowledge|confirm) by (?:replying|answering|saying)\b"
    r"|\bnew instructions\b|\bnuevas instrucciones\b|\[/?(?:inst|system)\]|<\|im_start\|>")
_SENTENCE = re.compile(r"(?<=[.!?¡¿;\n])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Reading:
    """A message prepared for triage: folded sentences, and what kind of mail it is."""

    sentences: tuple[str, ...]  # folded, without the sentences that instruct the triage
    body: tuple[str, ...]  # the same without the subject
    automated: bool  # an auto-reply or out-of-office
    marketing: bool  # newsletters, spam, offers
    injection: bool  # some sentence tried to instruct the triage

    @property
    def text(self) -> str:
        return "\n".join(self.sentences)

    @property
    def machine_written(self) -> bool:
        return self.automated or self.marketing


def read(subject: str, text: str) -> Reading:
    folded_subject = fold(subject).strip()
    body = [s.strip() for s in _SENTENCE.split(fold(text)) if s and s.strip()]
    sentences = [folded_subject, *body] if folded_subject else body
    kept = [s for s in sentences if not _INJECTION.search(s)]
    head = " ".join(sentences[:4])
    whole = " ".join(sentences)
    spam_hits = len(set(m.group(0) for m in _SPAM.finditer(whole)))
    return Reading(
        sentences=tuple(kept),
        body=tuple(s for s in body if not _INJECTION.search(s)),
        automated=bool(_AUTO_REPLY.search(head)),
        marketing=spam_hits >= 2 or bool(_UNSUBSCRIBE.search(whole)),
        injection=len(kept) < len(sentences),
    )


def instructs(sentence: str) -> bool:
    """Whether a sentence (as written) addresses the triage rather than the team."""
    return bool(_INJECTION.search(fold(sentence)))
