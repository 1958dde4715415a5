"""Running automations inside the use case of the event that caused them.

Use cases report what happened to a conversation as events; `_automate` fires the matching
rules (through the pure Cascade), applies their actions in the same transaction, shows
each firing in the thread as a system line, schedules the timer rules and sends at most
one auto-reply. Timers fall due in the database and are fired by the leader's loop, one
transaction each: a timer fires once, and downtime only delays it.
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
from core.automation.contract import Rule, Trigger
from core.errors import DomainError
from core.model import Actor, ActorType, Conversation, MessageKind, Status
from core.ports import RuleTimer, UnitOfWork
from core.usecases.automation_actions import AutomationActions

log = logging.getLogger("threadline.automations")

# An auto-reply answers a message that just arrived; mail found later (an initial mailbox
# sync, a backlog after an outage) is answered by people, not by a robot days late.
AUTO_REPLY_FRESH = timedelta(hours=1)
SYSTEM_LINE_MAX = 2_000


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
            if event.trigger in (Trigger.CONVERSATION_OPENED, Trigger.MESSAGE_RECEIVED):
                await self._schedule_timers(uow, conv, event, facts)
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

    async def _schedule_timers(self, uow: UnitOfWork, conv: Conversation, event: Event,
                               facts: Facts) -> None:
        if event.automated or event.depth:
            return  # an out-of-office or a bounce is nobody waiting for an answer
        trigger = (Trigger.NO_FIRST_RESPONSE if event.trigger is Trigger.CONVERSATION_OPENED
                   else Trigger.NO_REPLY)
        for rule in self.ctx.automations.rules_for(trigger):
            assert conv.id is not None and rule.after is not None
            await uow.timers.schedule(conv.id, rule.name, trigger.value, facts.now + rule.after,
                                      self.clock.now())

    async def fire_due_timers(self, limit: int = 100) -> int:
        """Fire the timers due now, one transaction each (claimed with the row locked, so
        two loops never fire the same one). Returns how many fired."""
        fired = 0
        for _ in range(limit):
            now = self.clock.now()
            async with self.ctx.uow_factory() as uow:
                due = await uow.timers.due(now, 1)
                if not due:
                    break
                timer = due[0]
                status, outcome = await self._fire_timer(uow, timer, now)
                assert timer.id is not None
                await uow.timers.finish(timer.id, status, outcome, now)
                await uow.commit()
            fired += status == "fired"
        return fired

    async def _fire_timer(self, uow: UnitOfWork, timer: RuleTimer,
                          now: datetime) -> tuple[str, str]:
        rule = self.ctx.automations.rule(timer.rule)
        trigger = Trigger(timer.trigger)
        if rule is None or trigger not in rule.triggers:
            return "skipped", "the rule is no longer configured"
        conv = await uow.conversations.get(timer.conversation_id)
        if conv is None:
            return "skipped", "the conversation is gone"
        if conv.status is Status.RESOLVED:
            return "skipped", "the conversation is resolved"
        if await self._answered(uow, conv, trigger):
            return "skipped", "staff replied in time"
        event = Event(trigger, Actor.system())
        facts = self._facts(conv, now)
        if not conditions_hold(rule.conditions, event, conv, facts, self.ctx.automations.hours):
            return "skipped", "its conditions did not hold when it fell due"
        cascade = Cascade(self.ctx.automations)
        cascade.caused(rule, event, await self._fire(uow, conv, rule, event, facts))
        await self._run(uow, conv, cascade, facts)
        return "fired", "fired"

    @staticmethod
    async def _answered(uow: UnitOfWork, conv: Conversation, trigger: Trigger) -> bool:
        """A person replied: since the conversation opened (no_first_response), or since
        the customer's last message (no_reply). Automatic replies do not count."""
        if trigger is Trigger.NO_FIRST_RESPONSE:
            return conv.first_response_at is not None
        since = conv.last_customer_message_at or conv.created_at
        return any(m.leaves_inbox and m.author.type is ActorType.AGENT and m.created_at >= since
                   for m in await uow.messages.thread(conv.id))

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

