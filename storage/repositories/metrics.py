"""Raw facts for the metrics dashboard; the core turns them into numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from core.model import MessageKind, Status
from core.ports import MetricsFacts
from storage.repositories._base import Repository
from storage.repositories.conversations import SqlConversationRepository
from storage.repositories.messages import message_from_row
from storage.tables import conversations, messages


class SqlMetricsSource(Repository):
    async def facts(self, start: datetime, end: datetime) -> MetricsFacts:
        c, m = conversations.c, messages.c
        in_range = or_(
            (c.created_at >= start) & (c.created_at < end),
            (c.resolved_at >= start) & (c.resolved_at < end),
        )
        repo = SqlConversationRepository(self.conn)
        convs = await repo._many(repo.select_with_tags().where(in_range).order_by(c.id))
        rows = await self.conn.execute(
            select(messages)
            .where(m.created_at >= start, m.created_at < end, m.kind == MessageKind.MESSAGE.value)
            .order_by(m.id)
        )
        backlog = await self.conn.execute(
            select(func.count()).select_from(conversations).where(c.status != Status.RESOLVED.value)
        )
        return MetricsFacts(
            conversations=convs,
            messages=[message_from_row(row) for row in rows],
            backlog=backlog.scalar_one(),
        )
