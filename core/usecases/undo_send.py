"""The undo-send window: a queued reply can be withdrawn, edited or turned into a note
until its send time. The send handler re-reads the message and skips anything not queued."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.errors import InvalidInput, TooLateToChange
from core.model import Actor, DeliveryStatus, Message, MessageKind, Status
from core.ports import UnitOfWork
from core.usecases.base import UseCaseBase
from core.usecases.delivery import SENDING

# A change this close to the send time could cross the send already in flight: refuse it.
CHANGE_MARGIN = timedelta(milliseconds=500)


def why_unchangeable(message: Message, now: datetime) -> str | None:
    """Why a reply can no longer be withdrawn or edited, or None while it still can."""
    if not message.leaves_inbox or message.delivery_status is not DeliveryStatus.QUEUED:
        return "is not a queued reply"
    if SENDING in message.meta:
        return "is being sent"
    send_at = message.meta.get("send_at")
    if not send_at or datetime.fromisoformat(send_at) - CHANGE_MARGIN <= now:
        return "is already on its way"
    return None


class UndoSendUseCases(UseCaseBase):
    async def withdraw_reply(self, message_id: int, actor: Actor) -> Message:
        """Undo: the reply is never sent; it stays visible to staff as a withdrawn note."""
        return await self._change(message_id, actor, "reply_withdrawn", withdrawn=True)

    async def reply_to_note(self, message_id: int, actor: Actor) -> Message:
        """Make it a note: kept as a private note, never sent."""
        return await self._change(message_id, actor, "reply_made_note")

    async def edit_queued_reply(self, message_id: int, body: str, actor: Actor) -> Message:
        if not (body or "").strip():
            raise InvalidInput("an edited reply needs text")
        async with self.ctx.uow_factory() as uow:
            message = await self._changeable(uow, message_id)
            message.body = body
            await uow.messages.save(message)
            await self._audit(
                uow, message.conversation_id, "reply_edited", actor, message_id=message.id
            )
            await self._notify(
                uow, "message_changed", message.conversation_id, message_id=message.id
            )
            await uow.commit()
        return message

    async def _change(self, message_id: int, actor: Actor, action: str, **meta) -> Message:
        async with self.ctx.uow_factory() as uow:
            message = await self._changeable(uow, message_id)
            message.kind = MessageKind.NOTE
            message.delivery_status = None
            message.meta = {**message.meta, **meta}
            await uow.messages.save(message)
            await self._unwind_reply(uow, message)
            await self._audit(uow, message.conversation_id, action, actor, message_id=message.id)
            await self._notify(
                uow, "message_changed", message.conversation_id, message_id=message.id
            )
            await uow.commit()
        return message

    async def _unwind_reply(self, uow: UnitOfWork, withdrawn: Message) -> None:
        """The customer never got this reply: the first response time and the "waiting on
        the customer" status it caused must not stand on it."""
        conv = await self._conversation(uow, withdrawn.conversation_id)
        replies = [m for m in await uow.messages.thread(conv.id)
                   if m.leaves_inbox and m.id != withdrawn.id and not m.meta.get("automatic")]
        changed = False
        if conv.first_response_at == withdrawn.created_at:
            conv.first_response_at = min((m.created_at for m in replies), default=None)
            changed = True
        last_in = conv.last_customer_message_at
        answered = any(last_in is None or m.created_at >= last_in for m in replies)
        if conv.status is Status.PENDING and not answered:
            conv.status = Status.OPEN
            changed = True
        if changed:
            await self._changed(uow, conv, "reply_unwound", Actor.system())

    async def _changeable(self, uow: UnitOfWork, message_id: int) -> Message:
        message = await self._message(uow, message_id, lock=True)
        reason = why_unchangeable(message, self.clock.now())
        if reason is not None:
            raise TooLateToChange(message_id, reason)
        return message
