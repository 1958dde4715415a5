"""Running automations inside the use case of the event that caused them.

Use cases report what happened to a conversation as events; `_automate` fires the matching
rules (through the pure Cascade), applies their actions in the same transaction, shows
each firing in the thread as a system line and sends at most one auto-reply. Timer rules
fall due at times the conversations already store (opened, customer's last message): the
leader's loop scans for them from a durable cursor and fires each one once, in its own
transaction, so the hot inbound path writes nothing for them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from core.automation.cascade import (
    Cascade,
    Event,
    Facts,
    auto_reply_candidates,
    conditions_hold,
    may_send_again,
)
from core.automation.contract import TIMER_TRIGGERS, Rule, Trigger
from core.errors import DomainError
from core.model import Actor, ActorType, Conversation, Direction, MessageKind, Status
from core.ports import RuleTimer, UnitOfWork
from core.usecases.automation_actions import CURSORS, AutomationActions

log = logging.getLogger("threadline.automations")

# An auto-reply answers a message that just arrived; mail found later (an initial mailbox
# sync, a backlog after an outage) is answered by people, not by a robot days late.
AUTO_REPLY_FRESH = timedelta(hours=1)
SYSTEM_LINE_MAX = 2_000
TIMER_PAGE = 200  # conversations per timer scan; the cursor continues from the last
TIMER_ANCHORS = {Trigger.NO_FIRST_RESPONSE: "created_at",
                 Trigger.NO_REPLY: "last_customer_message_at"}
ZERO = timedelta(0)


def _cursor(anchor: datetime, conv_id: int | None) -> dict:
    return {"anchor": anchor.isoformat(), "id": conv_id or 0}


class AutomationUseCases(AutomationActions):
    async def _automate(self, uow: UnitOfWork, conv: Conversation, events: Iterable[Event],
                        facts: Facts | None = None) -> None:
        """Fire the rules for these events (and what their actions cause), then the timers
        and the auto-reply of a customer message. In the caller's transaction."""
        events = list(events)
        automations = self.ctx.automations
        if not events or not (automations.rules or automations.auto_replies):
            return
        facts = facts or self._facts(conv, self.clock.now())
        cascade = Cascade(automations)
        cascade.push(events)
        await self._run(uow, conv, cascade, facts)
        for event in events:
            if event.trigger is Trigger.MESSAGE_RECEIVED:
                await self._auto_reply(uow, conv, event, facts)

    def _facts(self, conv: Conversation, now: datetime, from_us: bool = False) -> Facts:
        return Facts(now=now, contact_is_customer=conv.customer_id is not None,
                     from_us=from_us)

    async def _run(self, uow: UnitOfWork, conv: Conversation, cascade: Cascade,
                   facts: Facts) -> None:
        for rule, event in cascade.firings(conv, facts):
            cascade.caused(rule, event, await self._fire(uow, conv, rule, event, facts))
        if cascade.dropped:
            log.warning("conversation %s: %d automation event(s) past depth %d not evaluated "
                        "(rules triggering each other)", conv.id, cascade.dropped,
                        self.ctx.automations.max_depth)
            await self._audit(uow, conv.id, "automation_depth_limit", Actor.system(),
                              dropped=cascade.dropped)

    async def _fire(self, uow: UnitOfWork, conv: Conversation, rule: Rule, event: Event,
                    facts: Facts) -> list[Event]:
        """Apply the rule's actions in order; one that cannot be done is reported in the
        system line and the others still run."""
        actor = Actor.automation(rule.name)
        words, caused, changed = [], [], False
        for action in rule.actions:
            try:
                outcome = await self._perform(uow, conv, action, actor, event, facts)
            except DomainError as exc:
                words.append(f"{type(action).__name__.lower()} failed: {exc}")
                continue
            if outcome.words:
                words.append(outcome.words)
            caused += outcome.events
            changed = changed or outcome.changed
        assert conv.id is not None
        if not (words or changed or caused):
            return []  # matched, but there was nothing left to do (e.g. tagged already)
        if changed:
            await uow.conversations.save(conv)
            await self._notify(uow, "conversation_changed", conv.id, action="automation")
        await self._audit(uow, conv.id, "rule_fired", actor, rule=rule.name,
                          trigger=event.trigger.value, depth=event.depth, did=words)
        if words:
            line = f"⚙️ {rule.name}: {', '.join(words)}"
            await self._automation_message(uow, conv, MessageKind.SYSTEM, actor,
                                           line[:SYSTEM_LINE_MAX])
        return caused

    # -- timers ----------------------------------------------------------------------------

    async def fire_due_timers(self, limit: int = TIMER_PAGE) -> int:
        """Fire the timer rules that fell due (leader only). Due times come from the
        conversations; each rule and trigger keeps a cursor of how far it has looked, so
        a restart or downtime delays a timer but never loses it. Returns how many fired."""
        fired = 0
        for rule in self.ctx.automations.timer_rules:
            for trigger in sorted(rule.triggers & TIMER_TRIGGERS):
                fired += await self._scan_timers(rule, trigger, limit)
        return fired

    async def _scan_timers(self, rule: Rule, trigger: Trigger, limit: int) -> int:
        assert rule.after is not None
        anchor, key, now = TIMER_ANCHORS[trigger], f"timers:{rule.name}:{trigger}", self.clock.now()
        until = now - rule.after
        async with self.ctx.uow_factory() as uow:
            cursor = await uow.sync_state.get(CURSORS, key)
            if cursor is None:  # a new rule: it counts from now on
                await uow.sync_state.put(CURSORS, key, _cursor(until, 0), now)
                await uow.commit()
                return 0
            start = (datetime.fromisoformat(cursor["anchor"]), int(cursor["id"]))
            if until <= start[0]:
                return 0
            candidates = await uow.conversations.timer_candidates(anchor, start, until, limit)
        fired = 0
        for candidate in candidates:
            assert candidate.id is not None
            async with self.ctx.uow_factory() as uow:
                fired += await self._fire_timer(uow, rule, trigger, candidate.id,
                                                getattr(candidate, anchor), now)
        last = candidates[-1] if len(candidates) == limit else None
        reached = _cursor(getattr(last, anchor), last.id) if last else _cursor(until, 0)
        async with self.ctx.uow_factory() as uow:
            await uow.sync_state.put(CURSORS, key, reached, now)
            await uow.commit()
        return fired

    async def _fire_timer(self, uow: UnitOfWork, rule: Rule, trigger: Trigger, conv_id: int,
                          anchor_at: datetime, now: datetime) -> bool:
        """One transaction. Nothing is recorded when nobody is waiting any more; otherwise
        the timer is claimed first (a second claimer finds it claimed) and settled with
        what became of it."""
        conv = await uow.conversations.get(conv_id)
        if conv is None or await self._no_longer_waiting(uow, conv, trigger, anchor_at):
            return False
        timer = RuleTimer(conv_id, rule.name, trigger.value, anchor_at + (rule.after or ZERO))
        if not await uow.timers.claim(timer, now):
            return False
        event, facts = Event(trigger, Actor.system()), self._facts(conv, now)
        if not conditions_hold(rule.conditions, event, conv, facts, self.ctx.automations.hours):
            await uow.timers.settle(timer, "skipped", "its conditions did not hold", now)
            await uow.commit()
            return False
        cascade = Cascade(self.ctx.automations)
        cascade.caused(rule, event, await self._fire(uow, conv, rule, event, facts))
        await self._run(uow, conv, cascade, facts)
        await uow.timers.settle(timer, "fired", "fired", now)
        await uow.commit()
        return True

    @staticmethod
    async def _no_longer_waiting(uow: UnitOfWork, conv: Conversation, trigger: Trigger,
                                 anchor_at: datetime) -> bool:
        """The premise of the timer is gone: resolved, answered by a person, the customer
        wrote again (a later due time), or what they sent last is automated mail."""
        if conv.status is Status.RESOLVED:
            return True
        if trigger is Trigger.NO_FIRST_RESPONSE:
            if conv.first_response_at is not None or conv.created_at != anchor_at:
                return True
        elif conv.last_customer_message_at != anchor_at:
            return True
        assert conv.id is not None
        thread = await uow.messages.thread(conv.id)
        inbound = [m for m in thread if m.direction is Direction.IN]
        if inbound and inbound[-1].meta.get("automated"):
            return True
        return any(m.leaves_inbox and m.author.type is ActorType.AGENT
                   and m.created_at >= anchor_at for m in thread)

    # -- auto-replies ------------------------------------------------------------------------

    async def _auto_reply(self, uow: UnitOfWork, conv: Conversation, event: Event,
                          facts: Facts) -> None:
        candidates = auto_reply_candidates(self.ctx.automations, event, conv, facts)
        now = self.clock.now()
        if not candidates or now - facts.now > AUTO_REPLY_FRESH:
            return
        assert conv.id is not None
        last = await uow.activity.last_at(conv.id, "auto_replied")
        for reply in candidates:
            if not may_send_again(reply, last, now):
                continue
            actor = Actor.automation(reply.name)
            try:
                await self._send_automatic(uow, conv, reply.template, actor, auto_reply=True)
            except DomainError as exc:
                await self._automation_message(
                    uow, conv, MessageKind.SYSTEM, actor,
                    f"⚙️ {reply.name}: auto-reply not sent: {exc}"[:SYSTEM_LINE_MAX])
                return
            await self._audit(uow, conv.id, "auto_replied", actor, auto_reply=reply.name,
                              template=reply.template)
            return

