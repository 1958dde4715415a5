"""Customers' edits and deletions of messages they sent (WhatsApp `edit` and `revoke`).

Not new messages: the stored message takes the new text (the earlier texts are kept in
`meta.edits`, so staff can see what changed) or is marked revoked (its text is kept for the
record and shown struck). Redeliveries and reordering change nothing twice: each message
keeps the time of the last revision applied, and an older report is ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.model import Actor, Direction
from core.usecases.base import UseCaseBase

MAX_EDITS_KEPT = 10


class RevisionUseCases(UseCaseBase):
    async def revise(
        self,
        surface: str,
        target_provider_message_id: str,
        body: str | None,
        at: datetime | None = None,
    ) -> bool:
        """Apply the customer's edit (`body`, the new text) or deletion (`body` None) to the
        message known by that provider id. False when the target is unknown, is not a
        customer message, or the report changes nothing (a duplicate or an older one)."""
        when = (at or self.clock.now()).astimezone(UTC).isoformat()
        async with self.ctx.uow_factory() as uow:
            message = await self._linked_message(uow, surface, target_provider_message_id,
                                                 lock=True)
            if message is None or message.direction is not Direction.IN:
                return False
            meta = dict(message.meta)
            if str(meta.get("revised_at") or "") > when or meta.get("revoked"):
                return False  # older than what is shown, or deleted already (final)
            if body is None:
                meta["revoked"] = True
                change = "revoke"
            else:
                if body == message.body:
                    return False  # the same edit again
                edits = list(meta.get("edits") or [])
                edits.append({"body": message.body, "until": when})
                meta["edits"] = edits[-MAX_EDITS_KEPT:]
                message.body = body
                change = "edit"
            meta["revised_at"] = when
            message.meta = meta
            await uow.messages.save(message)
            await self._audit(uow, message.conversation_id,
                              "customer_deleted" if body is None else "customer_edited",
                              message.author if message.author else Actor.system(),
                              message_id=message.id)
            await self._notify(uow, "message_changed", message.conversation_id,
                               message_id=message.id, change=change)
            await uow.commit()
        return True
