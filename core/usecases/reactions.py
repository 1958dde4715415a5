"""Customer reactions on mirrored messages, and looking messages up by provider id.

A WhatsApp reaction is not a new message: it decorates the message it targets. Meta sends
one reaction per person and message; a new emoji replaces the old one and an empty emoji
removes it. Redeliveries and reordering must not change the outcome, so the reaction time
is kept per actor and an older report never overwrites a newer one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.model import Message
from core.usecases.base import UseCaseBase


class ReactionUseCases(UseCaseBase):
    async def react(
        self,
        surface: str,
        target_provider_message_id: str,
        emoji: str,
        actor: str,
        at: datetime | None = None,
    ) -> bool:
        """Record `actor`'s reaction on the message known by that provider id.

        Returns False when the target is unknown (a message from before Threadline) or the
        report changes nothing (a duplicate, or older than the reaction already recorded).
        """
        when = (at or self.clock.now()).astimezone(UTC).isoformat()
        async with self.ctx.uow_factory() as uow:
            message = await self._linked_message(uow, surface, target_provider_message_id,
                                                 lock=True)
            if message is None:
                return False
            reactions = dict(message.meta.get("reactions") or {})
            stamps = dict(message.meta.get("reactions_at") or {})
            if stamps.get(actor, "") > when:  # ISO strings of aware UTC times sort in time
                return False
            if stamps.get(actor) == when and reactions.get(actor, "") == (emoji or ""):
                return False  # the same report again
            if emoji:
                reactions[actor] = emoji
            else:
                reactions.pop(actor, None)
            stamps[actor] = when
            message.meta = {**message.meta, "reactions": reactions, "reactions_at": stamps}
            await uow.messages.save(message)
            await self._notify(
                uow,
                "message_changed",
                message.conversation_id,
                message_id=message.id,
                change="reaction",
            )
            await uow.commit()
        return True

    async def message_by_provider_id(
        self, surface: str, provider_message_id: str
    ) -> Message | None:
        """The stored message a provider id points at (replies-to quotes), if any."""
        async with self.ctx.uow_factory() as uow:
            return await self._linked_message(uow, surface, provider_message_id)
