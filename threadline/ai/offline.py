"""The offline engine: no network, no model, the same answer for the same text. It reads
Spanish and English support mail and WhatsApp (no accents, abbreviations, emoji)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from core.analysis import (
    ActionKind,
    Analysis,
    AnalysisRequest,
    QuickAction,
    Reference,
    ReferenceKind,
    Workspace,
    appears_in,
    fold,
    sanitize,
)
from threadline.ai import references, sentiment, signals, tagging, urgency

# Which team a topic goes to, by words in the team's name.
_TEAM_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("billing", ("billing", "factur", "contab", "account", "financ", "cobro", "admin")),
    ("sales", ("sales", "venta", "comercial", "pedido", "order")),
    ("support", ("support", "soporte", "atencion", "service", "servicio", "postventa",
                 "care", "help")),
)
# Which template answers a topic, by words in the template's name.
_TEMPLATE_HINTS: dict[str, tuple[str, ...]] = {
    "order": ("order", "pedido", "status", "estado", "tracking", "seguimiento"),
    "return": ("return", "devol", "rma"),
    "invoice": ("invoice", "factura", "copy", "copia", "duplicado"),
}
_RETURN_WORDS = re.compile(r"\b(?:devol\w*|devuelv\w*|return\w*|rma|cambiar|cambio|"
                           r"exchange|replace\w*|sustitu\w*|reembols\w*|refund\w*|"
                           r"defectuos\w*|defective|roto|rota|rotos|broken|danad\w*|damaged)\b")
_WHERE_WORDS = re.compile(r"\b(?:donde|cuando llega|no ha llegado|no me ha llegado|sin llegar|"
                          r"todavia no|aun no|where is|has not arrived|hasn'?t arrived|"
                          r"not arrived|not received|no lo he recibido|estado|status|tracking|"
                          r"seguimiento|cuando|when will)\b")
_GREETING = re.compile(r"^(?:hola|buenos dias|buenas(?: tardes| noches)?|estimad[oa]s?|"
                       r"hello|hi|hey|dear|good (?:morning|afternoon|evening)|"
                       r"buen dia)\b[^.!?\n]{0,40}[,.!:]?\s*$")
_SUMMARY_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")
SUMMARY_WORDS = 140


class OfflineAnalyzer:
    """The default `Analyzer`. `reference_patterns` are the business's own formats per
    kind (regexes, replacing that kind's defaults)."""

    name = "offline"

    def __init__(self, reference_patterns: Mapping[ReferenceKind, Sequence[str]] | None = None
                 ) -> None:
        self.patterns = references.compile_patterns(reference_patterns)

    async def analyze(self, request: AnalysisRequest, workspace: Workspace) -> Analysis:
        return self.run(request, workspace)

    def run(self, request: AnalysisRequest, workspace: Workspace) -> Analysis:
        reading = signals.read(request.subject, request.text)
        refs = () if reading.marketing else tuple(  # a phishing mail's "invoice" is not ours
            references.extract(f"{request.subject}\n{request.text}", self.patterns))
        urgent, reason = urgency.assess(reading)
        if reading.machine_written:
            mood = sentiment.Sentiment.NEUTRAL
            tags: list[str] = []
        else:
            mood = sentiment.classify(reading.text, urgent, request.text)
            # A message that tries to instruct the triage gets tags only from what its
            # body asks for besides (its subject is as much the sender's choice).
            said = "\n".join(reading.body) if reading.injection else reading.text
            tags = tagging.suggest(said, workspace.tags,
                                   frustrated=mood is sentiment.Sentiment.FRUSTRATED
                                   or (urgent and mood is not sentiment.Sentiment.POSITIVE),
                                   kinds=[r.kind.value for r in refs
                                          if appears_in(r.value, said)],
                                   literal=reading.injection)
        topics = _topics(reading, refs, tags)
        analysis = Analysis(
            sentiment=mood, urgent=urgent, urgent_reason=reason, references=refs,
            suggested_tags=tuple(tags),
            actions=() if reading.machine_written else _actions(topics, workspace),
            summary=_summary(request, reading, refs), engine=self.name)
        return sanitize(analysis, request, workspace)


def _topics(reading: signals.Reading, refs: Sequence[Reference], tags: Sequence[str]) -> list[str]:
    text = reading.text
    kinds = {r.kind for r in refs}
    folded_tags = " ".join(fold(t) for t in tags)
    topics = []
    if ReferenceKind.INVOICE in kinds or re.search(r"factur|invoice|billing|cobr", folded_tags):
        topics.append("invoice")
    if _RETURN_WORDS.search(text):
        topics.append("return")
    if ReferenceKind.ORDER in kinds and _WHERE_WORDS.search(text):
        topics.append("order")
    if ReferenceKind.QUOTE in kinds or re.search(r"presupuesto|cotizacion|quot", text):
        topics.append("quote")
    return topics


def _actions(topics: Sequence[str], workspace: Workspace) -> tuple[QuickAction, ...]:
    out: list[QuickAction] = []
    wanted = {"invoice": "billing", "quote": "sales", "order": "support", "return": "support"}
    team_kind = wanted.get(topics[0]) if topics else None
    if team_kind:
        hints = dict(_TEAM_HINTS)[team_kind]
        for team in workspace.teams:
            if any(h in fold(team) for h in hints):
                out.append(QuickAction(ActionKind.ASSIGN_TEAM, team))
                break
    for topic in topics:
        hints = _TEMPLATE_HINTS.get(topic, ())
        for template in workspace.templates:
            if any(h in fold(template) for h in hints):
                out.append(QuickAction(ActionKind.SEND_TEMPLATE, template))
                break
    return tuple(out)


def _summary(request: AnalysisRequest, reading: signals.Reading,
             refs: Sequence[Reference]) -> str:
    if reading.automated:
        return "Automatic reply (out of office or auto-responder): nothing to answer."
    if reading.marketing:
        return "Marketing or spam: no customer request found."
    first = ""
    for part in _SUMMARY_SPLIT.split(request.text):
        line = " ".join(part.split())
        if len(line) >= 3 and not _GREETING.match(fold(line)) and not signals.instructs(line):
            first = line
            break
    subject = " ".join(request.subject.split())
    lead = subject if subject and not first.startswith(subject) else ""
    text = f"{lead}: {first}" if lead and first else (lead or first or "(no text)")
    if len(text) > SUMMARY_WORDS:
        text = text[: SUMMARY_WORDS - 1].rstrip() + "…"
    if reading.injection:
        text += " (it contains instructions addressed to the triage; they were ignored)"
    return text
