"""External references (Slack ts, provider ids) <-> conversations and messages.

Front ends keep their mapping here, in the database, never in memory: it survives restarts
and gives idempotency (a claimed reference is never processed twice).
"""

from __future__ import annotations

from core.ports import Link
from core.usecases.base import UseCaseBase


class LinkUseCases(UseCaseBase):
    async def claim_link(
        self, surface: str, external_id: str, conversation_id: int | None, message_id: int | None
    ) -> bool:
        """Record a reference; False if it was already taken (a retry or a duplicate)."""
        (claimed,) = await self.claim_links([Link(surface, external_id, conversation_id,
                                                  message_id)])
        return claimed

    async def claim_links(self, wanted: list[Link]) -> list[bool]:
        """Several references in one transaction: a post that carries several messages is
        linked to all of them or to none (a crash between two claims would leave the rest
        unlinked, and a retry would post them again)."""
        async with self.ctx.uow_factory() as uow:
            claimed = [await uow.links.claim(link) for link in wanted]
            await uow.commit()
        return claimed

    async def find_link(self, surface: str, external_id: str) -> Link | None:
        async with self.ctx.uow_factory() as uow:
            return await uow.links.find(surface, external_id)

    async def links_of(self, conversation_id: int, surface: str) -> list[Link]:
        async with self.ctx.uow_factory() as uow:
            return await uow.links.for_conversation(conversation_id, surface)
