"""Timer rules that fell due: one row per conversation, rule, trigger and due time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.ports import RuleTimer
from storage.repositories._base import Repository
from storage.tables import rule_timers as _t

CLAIMED = "claimed"


class SqlRuleTimers(Repository):
    async def claim(self, timer: RuleTimer, now: datetime) -> bool:
        stmt = (postgresql if self.is_postgres else sqlite).insert(_t).values(
            conversation_id=timer.conversation_id, rule=timer.rule, trigger=timer.trigger,
            due_at=timer.due_at, status=CLAIMED, settled_at=now)
        # A concurrent claimer waits on the unique index until this transaction ends,
        # then finds the row: the timer fires once.
        stmt = stmt.on_conflict_do_nothing(
            index_elements=[_t.c.conversation_id, _t.c.rule, _t.c.trigger, _t.c.due_at])
        return (await self.conn.execute(stmt.returning(_t.c.id))).first() is not None

    async def settle(self, timer: RuleTimer, status: str, outcome: str, now: datetime) -> None:
        await self.conn.execute(
            update(_t).where(_t.c.conversation_id == timer.conversation_id,
                             _t.c.rule == timer.rule, _t.c.trigger == timer.trigger,
                             _t.c.due_at == timer.due_at)
            .values(status=status, outcome=outcome[:2000], settled_at=now))

    async def for_conversation(self, conversation_id: int) -> list[tuple[RuleTimer, str, str]]:
        stmt = (select(_t).where(_t.c.conversation_id == conversation_id)
                .order_by(_t.c.due_at, _t.c.id))
        return [(RuleTimer(r.conversation_id, r.rule, r.trigger, r.due_at, r.id), r.status,
                 r.outcome or "") for r in await self.conn.execute(stmt)]
