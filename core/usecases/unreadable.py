"""Parts of signed deliveries a bridge could not read: kept raw, never silently dropped.

The bridge processes the readable rest of the delivery and acknowledges it; these rows are
what is left for an operator to look at (and replay by hand if it matters).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.ports import UnreadableInbound
from core.usecases.base import UseCaseBase


class UnreadableUseCases(UseCaseBase):
    async def record_unreadable(self, parts: Sequence[UnreadableInbound]) -> int:
        """Store the parts in one transaction; returns how many were new (a redelivered
        part is stored once)."""
        if not parts:
            return 0
        now = self.clock.now()
        async with self.ctx.uow_factory() as uow:
            new = 0
            for part in parts:
                new += await uow.unreadable.add(part, now)
            await uow.commit()
        return new

    async def unreadable_inbound(self, surface: str | None = None, limit: int = 50
                                 ) -> list[UnreadableInbound]:
        """Newest first."""
        async with self.ctx.uow_factory() as uow:
            return await uow.unreadable.recent(surface, limit)
