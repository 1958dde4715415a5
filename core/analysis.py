"""AI triage: what an analyzer is given, what it returns, and the checks every engine's
answer goes through before anything acts on it.

Engines live outside the core (an offline one by default, an OpenAI-compatible model when
configured). Whatever an engine says, `sanitize` keeps only what the workspace allows:
tags that exist, actions from the allowed kinds naming things that exist, references that
appear in the text. Customer text is data: nothing in it can widen that set.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    FRUSTRATED = "frustrated"
    URGENT = "urgent"


class ReferenceKind(StrEnum):
    ORDER = "order"
    QUOTE = "quote"
    INVOICE = "invoice"


class ActionKind(StrEnum):
    ASSIGN_TEAM = "assign_team"  # value: team name
    ADD_TAG = "add_tag"  # value: tag name
    SEND_TEMPLATE = "send_template"  # value: template name
    LOOKUP = "lookup"  # value: the reference as written; kind: its ReferenceKind


SUMMARY_MAX = 200
REASON_MAX = 200
MAX_ACTIONS = 5
MAX_REFERENCES = 10


@dataclass(frozen=True, slots=True)
class Reference:
    kind: ReferenceKind
    value: str  # as written in the message, e.g. "PED-2024-00318"

    def to_dict(self) -> dict:
        return {"kind": self.kind.value, "value": self.value}


@dataclass(frozen=True, slots=True)
class QuickAction:
    kind: ActionKind
    value: str
    label: str = ""  # shown on the button; built from kind/value when empty
    reference_kind: ReferenceKind | None = None  # lookup only
    url: str | None = None  # lookup only: the filled lookup URL

    def to_dict(self) -> dict:
        d: dict = {"kind": self.kind.value, "value": self.value, "label": self.text}
        if self.reference_kind is not None:
            d["reference_kind"] = self.reference_kind.value
        if self.url is not None:
            d["url"] = self.url
        return d

    @property
    def text(self) -> str:
        if self.label:
            return self.label
        return {
            ActionKind.ASSIGN_TEAM: f"Assign to {self.value}",
            ActionKind.ADD_TAG: f"Tag {self.value}",
            ActionKind.SEND_TEMPLATE: f"Send template {self.value}",
            ActionKind.LOOKUP: f"Look up {self.value}",
        }[self.kind]

    @classmethod
    def from_dict(cls, d: Mapping) -> QuickAction:
        rk = d.get("reference_kind")
        return cls(
            kind=ActionKind(d["kind"]),
            value=str(d["value"]),
            label=str(d.get("label") or ""),
            reference_kind=ReferenceKind(rk) if rk else None,
            url=d.get("url"),
        )


@dataclass(frozen=True, slots=True)
class Analysis:
    sentiment: Sentiment
    urgent: bool
    urgent_reason: str = ""
    references: tuple[Reference, ...] = ()
    suggested_tags: tuple[str, ...] = ()
    actions: tuple[QuickAction, ...] = ()
    summary: str = ""
    engine: str = "offline"

    def to_dict(self) -> dict:
        return {
            "sentiment": self.sentiment.value,
            "urgent": self.urgent,
            "urgent_reason": self.urgent_reason,
            "references": [r.to_dict() for r in self.references],
            "suggested_tags": list(self.suggested_tags),
            "actions": [a.to_dict() for a in self.actions],
            "summary": self.summary,
            "engine": self.engine,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Analysis:
        return cls(
            sentiment=Sentiment(d["sentiment"]),
            urgent=bool(d["urgent"]),
            urgent_reason=str(d.get("urgent_reason") or ""),
            references=tuple(
                Reference(ReferenceKind(r["kind"]), str(r["value"]))
                for r in d.get("references", ())
            ),
            suggested_tags=tuple(d.get("suggested_tags", ())),
            actions=tuple(QuickAction.from_dict(a) for a in d.get("actions", ())),
            summary=str(d.get("summary") or ""),
            engine=str(d.get("engine") or "offline"),
        )


@dataclass(frozen=True, slots=True)
class TagVocabulary:
    name: str
    keywords: tuple[str, ...] = ()  # optional words that suggest the tag (any language)


@dataclass(frozen=True, slots=True)
class Workspace:
    """What an analysis may name: the workspace's tags, teams, templates and lookup URLs."""

    tags: tuple[TagVocabulary, ...] = ()
    teams: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    # reference kind -> URL pattern with "{value}", e.g. "https://erp.example.com/o/{value}"
    lookup_urls: Mapping[ReferenceKind, str] = field(default_factory=dict)

    @property
    def tag_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tags)


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    text: str
    subject: str = ""
    channel: str = "email"  # "email" | "whatsapp"


class Analyzer(Protocol):
    """One engine. Must not raise for any text; engines that call out catch their own
    errors and fall back (see the OpenAI engine)."""

    name: str

    async def analyze(self, request: AnalysisRequest, workspace: Workspace) -> Analysis: ...


def fold(text: str) -> str:
    """Lower case without accents: how customers type on phones ("facturacion", "pedido")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def compact(value: str) -> str:
    """A reference's identity: folded, without separators ("PED-2024/0318" = "ped20240318")."""
    return re.sub(r"[\s\-_/.#:]", "", fold(value))


def appears_in(value: str, text: str) -> bool:
    """Whether a reference value is really written in the text (ignoring case, accents and
    separators), so no engine can invent one."""
    needle = compact(value)
    return bool(needle) and needle in compact(text)


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def lookup_url(pattern: str, value: str) -> str:
    """The pattern with "{value}" replaced by the percent-encoded reference (RFC 3986), so
    a value can never add a path, query or host to the URL."""
    encoded = "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in value.encode())
    return pattern.replace("{value}", encoded)


def sanitize(analysis: Analysis, request: AnalysisRequest, workspace: Workspace) -> Analysis:
    """Keep only what the workspace allows and the text supports. Every engine's answer
    passes through here, so a model (or a crafted message) cannot name a tag, team or
    template that doesn't exist, invent a reference, or carry an unbounded summary."""
    text = f"{request.subject}\n{request.text}"
    by_fold = {fold(name): name for name in workspace.tag_names}
    tags: list[str] = []
    for t in analysis.suggested_tags:
        name = by_fold.get(fold(str(t)))
        if name is not None and name not in tags:
            tags.append(name)
    refs: list[Reference] = []
    seen: set[tuple[ReferenceKind, str]] = set()
    for r in analysis.references:
        key = (r.kind, compact(r.value))
        if key in seen or not appears_in(r.value, text) or len(r.value) > 64:
            continue
        seen.add(key)
        refs.append(Reference(r.kind, r.value.strip()))
    actions = _allowed_actions(analysis.actions, refs, workspace)
    return replace(
        analysis,
        urgent_reason=_one_line(analysis.urgent_reason, REASON_MAX) if analysis.urgent else "",
        references=tuple(refs[:MAX_REFERENCES]),
        suggested_tags=tuple(tags),
        actions=actions,
        summary=_one_line(analysis.summary, SUMMARY_MAX),
    )


def _allowed_actions(
    proposed: Sequence[QuickAction], refs: Sequence[Reference], workspace: Workspace
) -> tuple[QuickAction, ...]:
    teams = {fold(t): t for t in workspace.teams}
    tags = {fold(t): t for t in workspace.tag_names}
    templates = {fold(t): t for t in workspace.templates}
    out: list[QuickAction] = []
    seen: set[tuple[ActionKind, str]] = set()

    def add(action: QuickAction) -> None:
        key = (action.kind, action.value)
        if key not in seen and len(out) < MAX_ACTIONS:
            seen.add(key)
            out.append(action)

    for a in proposed:
        names = {ActionKind.ASSIGN_TEAM: teams, ActionKind.ADD_TAG: tags,
                 ActionKind.SEND_TEMPLATE: templates}.get(a.kind)
        if names is not None:
            name = names.get(fold(a.value))
            if name is not None:
                add(QuickAction(a.kind, name))
    # Lookups come from the checked references only, never from what an engine proposed.
    for r in refs:
        pattern = workspace.lookup_urls.get(r.kind)
        if pattern:
            add(QuickAction(ActionKind.LOOKUP, r.value, reference_kind=r.kind,
                            url=lookup_url(pattern, r.value)))
    return tuple(out)


def merge_references(
    primary: Sequence[Reference], extra: Sequence[Reference]
) -> tuple[Reference, ...]:
    """The offline engine's references added to a model's (a model may miss one)."""
    seen = {(r.kind, compact(r.value)) for r in primary}
    out = list(primary)
    for r in extra:
        key = (r.kind, compact(r.value))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return tuple(out)


def _one_line(text: str, limit: int) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
