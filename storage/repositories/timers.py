"""Due times of timer rules: one pending row per conversation and rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update

from core.ports import RuleTimer
from storage.repositories._base import Repository
from storage.tables import rule_timers as _t

PENDING = "pending"


class SqlRuleTimers(Repository):
    async def schedule(self, conversation_id: int, rule: str, trigger: str, due_at: datetime,
                       now: datetime) -> None:
        # The caller holds the conversation's inbound locks, so two schedules of the same
        # conversation never race: update the pending row, or add one.
        moved = await self.conn.execute(
            update(_t)
            .where(_t.c.conversation_id == conversation_id, _t.c.rule == rule,
                   _t.c.status == PENDING)
            .values(due_at=due_at, trigger=trigger)
        )
        if moved.rowcount == 0:
            await self.conn.execute(insert(_t).values(
                conversation_id=conversation_id, rule=rule, trigger=trigger, due_at=due_at,
                status=PENDING, created_at=now))

    async def due(self, now: datetime, limit: int) -> list[RuleTimer]:
        stmt = (select(_t.c.id, _t.c.conversation_id, _t.c.rule, _t.c.trigger, _t.c.due_at)
                .where(_t.c.status == PENDING, _t.c.due_at <= now)
                .order_by(_t.c.due_at, _t.c.id).limit(limit))
        if self.is_postgres:
            stmt = stmt.with_for_update(skip_locked=True, of=_t)
        return [RuleTimer(r.conversation_id, r.rule, r.trigger, r.due_at, r.id)
                for r in await self.conn.execute(stmt)]

    async def pending(self, conversation_id: int) -> list[RuleTimer]:
        stmt = (select(_t.c.id, _t.c.conversation_id, _t.c.rule, _t.c.trigger, _t.c.due_at)
                .where(_t.c.conversation_id == conversation_id, _t.c.status == PENDING)
                .order_by(_t.c.due_at, _t.c.id))
        return [RuleTimer(r.conversation_id, r.rule, r.trigger, r.due_at, r.id)
                for r in await self.conn.execute(stmt)]

    async def finish(self, timer_id: int, status: str, outcome: str, now: datetime) -> None:
        await self.conn.execute(
            update(_t).where(_t.c.id == timer_id, _t.c.status == PENDING)
            .values(status=status, outcome=outcome[:2000], finished_at=now))
