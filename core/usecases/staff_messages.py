"""Staff messages written in a front end's conversation thread (Slack, Telegram): new,
edited, deleted, or held back and then sent on request. The reply policy decides what each
one is; these use cases only apply its decision, each in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from core.effects import send_message
from core.errors import InvalidInput, TooLateToChange
from core.model import Actor, Attachment, DeliveryStatus, Message, MessageKind
from core.reply_policy import (
    Change,
    Decision,
    Disposition,
    HoldReason,
    Recorded,
    StaffText,
    decide,
)
from core.rules import require_free_form_allowed
from core.usecases.base import UseCaseBase
from core.usecases.delivery import SENDING
from core.usecases.undo_send import why_unchangeable


@dataclass(frozen=True)
class StaffOutcome:
    decision: Decision
    message: Message | None = None  # None: nothing stored (a command, or nothing to store)


def held_reason(message: Message) -> HoldReason | None:
    """Why a staff message was kept internal, when staff may still send it on request."""
    hold = message.meta.get("hold")
    if message.kind is not MessageKind.NOTE or not hold:
        return None
    if message.meta.get("withdrawn") or message.meta.get("deleted"):
        return None
    reason = HoldReason(hold)
    return None if reason is HoldReason.OFF else reason


class StaffMessageUseCases(UseCaseBase):
    async def write_in_thread(
        self,
        conversation_id: int,
        text: StaffText,
        actor: Actor,
        *,
        delay: timedelta = timedelta(0),
        attachments: list[Attachment] | None = None,
        origin: tuple[str, str] | None = None,
    ) -> StaffOutcome:
        """A new staff message in the conversation's thread. `delay` is the undo window."""
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
        decision = decide(text, self.ctx.account(conv.account).thread_replies)
        if decision.disposition in (Disposition.COMMAND, Disposition.IGNORE):
            return StaffOutcome(decision)
        if decision.is_reply:
            message = await self.reply(conversation_id, decision.body, actor,
                                       attachments=attachments, delay=delay, origin=origin)
        else:
            message = await self.add_note(conversation_id, decision.body, actor, origin=origin,
                                          attachments=attachments, hold=decision.hold)
        return StaffOutcome(decision, message)

    async def edit_in_thread(self, message_id: int, text: StaffText, actor: Actor
                             ) -> StaffOutcome:
        """Staff edited a message they wrote in the thread. An edit can turn a queued reply
        into a note, never a note into a reply; a reply that already left stays as sent."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            conv = await self._conversation(uow, message.conversation_id)
            mode = self.ctx.account(conv.account).thread_replies
            decision = decide(text, mode, self._recorded(message))
            if decision.change is Change.TOO_LATE:
                return StaffOutcome(decision, message)
            if not decision.body and not message.attachments:
                raise InvalidInput("an edited message needs text")
            message.body = decision.body
            if decision.change is Change.EDIT_NOTE and "hold" in message.meta:
                # marked as a note now: it can no longer be sent on request
                message.meta = {k: v for k, v in message.meta.items() if k != "hold"}
            elif decision.change is Change.EDIT_HELD and decision.hold is not None:
                message.meta = {**message.meta, "hold": decision.hold.value}
            if decision.change is Change.TO_NOTE:
                message.kind, message.delivery_status = MessageKind.NOTE, None
                meta = {k: v for k, v in message.meta.items() if k != "send_at"}
                meta["made_note"] = "edit"
                if decision.hold is not None:
                    meta["hold"] = decision.hold.value
                message.meta = meta
            await uow.messages.save(message)
            if decision.change is Change.TO_NOTE:
                await self._unwind_reply(uow, message)
            await self._audit(uow, message.conversation_id, f"staff_{decision.change.value}",
                              actor, message_id=message.id)
            await self._notify(uow, "message_changed", message.conversation_id,
                               message_id=message.id)
            await uow.commit()
        return StaffOutcome(decision, message)

    async def delete_in_thread(self, message_id: int, actor: Actor) -> Message:
        """Staff deleted the message in the front end: a queued reply is withdrawn, a note or
        held message is marked deleted (so it can no longer be sent on request)."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id)
            recorded = self._recorded(message)
        if recorded is Recorded.QUEUED_REPLY:
            return await self.withdraw_reply(message_id, actor)
        if recorded is Recorded.SENT_REPLY:
            raise TooLateToChange(message_id, "was already sent")
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            if message.meta.get("deleted"):
                return message  # deleted before: nothing changes
            message.meta = {**message.meta, "deleted": True}
            await uow.messages.save(message)
            await self._audit(uow, message.conversation_id, "note_deleted", actor,
                              message_id=message.id)
            await self._notify(uow, "message_changed", message.conversation_id,
                               message_id=message.id)
            await uow.commit()
        return message

    async def send_held(self, message_id: int, actor: Actor,
                        delay: timedelta = timedelta(0)) -> Message:
        """"Send to customer (anyway)": a message the policy held back goes out after all,
        with the undo window, because a person asked for it explicitly."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            if held_reason(message) is None:
                raise InvalidInput("only a message held back from the customer can be sent "
                                   "this way; notes stay private")
            if not (message.body or "").strip() and not message.attachments:
                raise InvalidInput("a reply needs text or an attachment")
            conv = await self._conversation(uow, message.conversation_id)
            now = self.clock.now()
            require_free_form_allowed(conv, now)
            message.kind, message.delivery_status = MessageKind.MESSAGE, DeliveryStatus.QUEUED
            meta = {k: v for k, v in message.meta.items() if k != "hold"}
            meta["released_from"] = message.meta.get("hold")
            if delay:
                meta["send_at"] = (now + delay).isoformat()
            message.meta = meta
            await uow.messages.save(message)
            provider = self.ctx.sending_account(conv.account).provider
            await self._emit(uow, [send_message(provider, conv.id, message.id, delay)])
            await self._audit(uow, conv.id, "held_message_sent", actor, message_id=message.id)
            await self._notify(uow, "message_changed", conv.id, message_id=message.id)
            await self._answered_by_staff(uow, conv, actor, now)
            await uow.commit()
        return message

    async def retry_failed_send(self, message_id: int, actor: Actor) -> Message:
        """Staff asked to send a reply the provider refused or gave up on once more."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            if not message.leaves_inbox or message.delivery_status is not DeliveryStatus.FAILED:
                raise InvalidInput("only a reply that failed can be sent again")
            conv = await self._conversation(uow, message.conversation_id)
            if not message.template_name:  # templates may go outside the WhatsApp window
                require_free_form_allowed(conv, self.clock.now())
            provider = self.ctx.sending_account(conv.account).provider
            message.delivery_status, message.error_code, message.error_text = (
                DeliveryStatus.QUEUED, None, None)
            retries = int(message.meta.get("retried", 0)) + 1
            message.meta = {**{k: v for k, v in message.meta.items()
                               if k not in (SENDING, "send_at")}, "retried": retries}
            await uow.messages.save(message)
            await self._emit(uow, [send_message(provider, conv.id, message.id, timedelta(0))])
            await self._audit(uow, conv.id, "send_retried", actor, message_id=message.id)
            await self._notify(uow, "message_changed", conv.id, message_id=message.id)
            await uow.commit()
        return message

    def _recorded(self, message: Message) -> Recorded:
        if message.kind is not MessageKind.MESSAGE:
            return Recorded.HELD if held_reason(message) is not None else Recorded.NOTE
        if why_unchangeable(message, self.clock.now()) is None:
            return Recorded.QUEUED_REPLY
        return Recorded.SENT_REPLY
