"""AI triage of customer messages, after the inbound transaction.

Inbound queues an `analyze:message` row with the message (never a model call inside the
ingest transaction). Its handler asks `analysis_input` what to analyse, runs the engine
outside any transaction, and hands the result to `record_analysis`, which in one
transaction stores the private `ai_analysis` message, applies the suggested tags that
exist, tags the conversation urgent when it is, and fires the `ai_analyzed` rules. A link
(surface "ai", the message id) claimed in that transaction makes a retried or crashed job
record it once.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.analysis import Analysis, AnalysisRequest
from core.automation.cascade import AiFacts, Event
from core.automation.contract import URGENT_TAG, Trigger
from core.automation.state import add_tags
from core.effects import Effect
from core.errors import InvalidInput
from core.model import Actor, Direction, Message, MessageKind
from core.ports import Link, UnitOfWork
from core.usecases.automation_actions import AutomationActions
from core.usecases.triage import normalize_tag

ANALYZE = "analyze"  # the outbox target of analysis jobs
AI_SURFACE = "ai"  # link surface: one analysis per customer message
AI_ACTOR = Actor.automation("ai")
# A message is analysed from at most this much text: the rest adds cost, not insight.
MAX_ANALYSED_CHARS = 20_000


def analyze_message(conversation_id: int, message_id: int) -> Effect:
    return Effect(f"{ANALYZE}:message", f"{ANALYZE}:{conversation_id}",
                  {"conversation_id": conversation_id, "message_id": message_id})


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    """What to analyse, and for which account (AI can be off per account)."""

    conversation_id: int
    message_id: int
    account: str
    request: AnalysisRequest


def worth_analysing(message: Message) -> bool:
    """Customer messages with text that a person wrote: automated mail (bounces, out of
    office, lists) and messages without text (a photo, a reaction) are skipped."""
    return (message.direction is Direction.IN and message.kind is MessageKind.MESSAGE
            and not message.meta.get("automated") and bool((message.body or "").strip()))


def ai_body(analysis: Analysis, applied: list[str]) -> str:
    """The note's plain text (search, fallbacks, other front ends)."""
    parts = [analysis.summary or "AI triage", f"sentiment: {analysis.sentiment.value}"]
    if analysis.urgent:
        parts.append("urgent" + (f" ({analysis.urgent_reason})" if analysis.urgent_reason
                                 else ""))
    if analysis.references:
        parts.append("references: " + ", ".join(f"{r.kind.value} {r.value}"
                                                for r in analysis.references))
    if applied:
        parts.append("tagged: " + ", ".join(applied))
    return " · ".join(parts)


class AnalysisUseCases(AutomationActions):
    async def analysis_job(self, message_id: int) -> AnalysisJob | None:
        """The message to analyse, or None: gone, not worth analysing, or done already."""
        async with self.ctx.uow_factory() as uow:
            message = await uow.messages.get(message_id)
            if message is None or not worth_analysing(message):
                return None
            if await uow.links.find(AI_SURFACE, str(message_id)) is not None:
                return None
            conv = await uow.conversations.get(message.conversation_id)
            if conv is None:
                return None
            request = AnalysisRequest(text=message.body[:MAX_ANALYSED_CHARS],
                                      subject=message.subject or "",
                                      channel=conv.channel.value)
            return AnalysisJob(conv.id, message_id, conv.account, request)

    async def record_analysis(self, message_id: int, analysis: Analysis) -> Message | None:
        """Store the analysis and act on it, once. None if it was recorded before (a
        retried job) or the message is gone."""
        async with self.ctx.uow_factory() as uow:
            message = await uow.messages.get(message_id)
            if message is None:
                return None
            conv = await self._conversation(uow, message.conversation_id)
            assert conv.id is not None
            if not await uow.links.claim(Link(AI_SURFACE, str(message_id), conv.id, None)):
                await uow.rollback()
                return None
            applied = await self._apply_ai_tags(uow, analysis)
            wanted = [*applied, URGENT_TAG] if analysis.urgent else applied
            new = [t for t in dict.fromkeys(wanted) if t not in conv.tags]
            events: list[Event] = []
            if new:
                await self._ensure_tags(uow, new)
                events = add_tags(conv, tuple(new), AI_ACTOR)
                await self._changed(uow, conv, "tagged", AI_ACTOR, added=new)
            note = await uow.messages.add(Message(
                conv.id, Direction.OUT, MessageKind.AI_ANALYSIS, AI_ACTOR,
                ai_body(analysis, new), self.clock.now(),
                meta={"analysis": analysis.to_dict(), "message_id": message_id,
                      "applied_tags": new}))
            await self._audit(uow, conv.id, "ai_analyzed", AI_ACTOR, message_id=message_id,
                              engine=analysis.engine, urgent=analysis.urgent,
                              sentiment=analysis.sentiment.value, tagged=new)
            await self._notify(uow, "message_added", conv.id, message_id=note.id)
            facts = AiFacts(sentiment=analysis.sentiment.value, urgent=analysis.urgent,
                            tags=frozenset(analysis.suggested_tags))
            events.append(Event(Trigger.AI_ANALYZED, AI_ACTOR, ai=facts))
            await self._automate(uow, conv, events)
            await uow.commit()
        return note

    @staticmethod
    async def _apply_ai_tags(uow: UnitOfWork, analysis: Analysis) -> list[str]:
        """Suggested tags are applied only when they exist: the AI never creates tags."""
        names = []
        for suggested in analysis.suggested_tags:
            try:
                name = normalize_tag(suggested)  # the name staff would have typed
            except InvalidInput:
                continue
            if name != URGENT_TAG:
                names.append(name)
        if not names:
            return []
        known = {t.name for t in await uow.tags.by_names(names)}
        return [n for n in dict.fromkeys(names) if n in known]
