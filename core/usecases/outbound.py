"""Staff writing to customers: replies, templates, notes, new conversations, delivery."""

from __future__ import annotations

from datetime import timedelta

from core.addresses import normalize_address
from core.automation.state import status_changed
from core.effects import send_message
from core.errors import (
    AlreadyRecorded,
    InvalidInput,
    NotFound,
    TemplateRequired,
    TemplateVariablesMissing,
)
from core.model import (
    Actor,
    Attachment,
    Channel,
    Contact,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    Status,
)
from core.ports import EarlyReport, Link, UnitOfWork
from core.reply_policy import HoldReason
from core.rules import next_delivery_status, on_staff_reply, require_free_form_allowed
from core.templates import missing_values, render
from core.usecases.base import UseCaseBase
from core.usecases.delivery import SENDING
from core.usecases.inbound import contact_lock


class OutboundUseCases(UseCaseBase):
    async def reply(
        self,
        conversation_id: int,
        body: str,
        actor: Actor,
        attachments: list[Attachment] | None = None,
        delay: timedelta = timedelta(0),
        origin: tuple[str, str] | None = None,
    ) -> Message:
        """Queue a free-form reply. `delay` holds it back (Slack's undo-send window).

        `origin` is the (surface, external id) of where staff wrote it, e.g. a Slack message:
        linked in the same transaction, so a redelivered event cannot send twice.
        """
        if not (body or "").strip() and not attachments:
            raise InvalidInput("a reply needs text or an attachment")
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            require_free_form_allowed(conv, self.clock.now())
            message = await self._queue(
                uow, conv, body, actor, attachments or [], delay, origin=origin
            )
            await self._claim_origin(uow, origin, message)
            await self._audit(uow, conv.id, "replied", actor, message_id=message.id)
            await uow.commit()
        return message

    async def send_template(
        self,
        conversation_id: int,
        template_name: str,
        values: dict[str, str],
        actor: Actor,
        delay: timedelta = timedelta(0),
    ) -> Message:
        """Templates are allowed whatever the WhatsApp window says."""
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            body = await self._render_template(uow, conv, template_name, values)
            message = await self._queue(
                uow, conv, body, actor, [], delay, template=(template_name, values)
            )
            await self._audit(uow, conv.id, "template_sent", actor, template=template_name)
            await uow.commit()
        return message

    async def add_note(
        self,
        conversation_id: int,
        body: str,
        actor: Actor,
        origin: tuple[str, str] | None = None,
        attachments: list[Attachment] | None = None,
        hold: HoldReason | None = None,
    ) -> Message:
        """A private note: stored and shown to staff, never sent to the customer. `hold`:
        the reply policy kept a thread message internal for this reason."""
        if not (body or "").strip() and not attachments:
            raise InvalidInput("a note needs text")
        meta: dict = {"origin": origin[0]} if origin else {}
        if hold is not None:
            meta["hold"] = hold.value
        async with self.ctx.uow_factory() as uow:
            conv = await self._conversation(uow, conversation_id)
            note = await uow.messages.add(
                Message(
                    conv.id,
                    Direction.OUT,
                    MessageKind.NOTE,
                    actor,
                    body or "",
                    self.clock.now(),
                    attachments=list(attachments or []),
                    meta=meta,
                )
            )
            await self._claim_origin(uow, origin, note)
            await self._notify(uow, "message_added", conv.id, message_id=note.id)
            await uow.commit()
        return note

    async def start_conversation(
        self,
        account_id: str,
        recipient: str,
        actor: Actor,
        *,
        body: str | None = None,
        subject: str | None = None,
        template_name: str | None = None,
        values: dict[str, str] | None = None,
        recipient_name: str = "",
    ) -> tuple[Conversation, Message]:
        account = self.ctx.account(account_id)
        address = normalize_address(account.channel, recipient)
        if account.channel is Channel.WHATSAPP and not template_name:
            raise TemplateRequired("a new WhatsApp conversation")
        if not template_name and not (body or "").strip():
            raise InvalidInput("a new conversation needs a message body or a template")
        now = self.clock.now()
        async with self.ctx.uow_factory() as uow:
            # the same lock inbound takes: a customer writing in at this moment cannot
            # create the same contact twice
            await uow.lock(contact_lock(account.channel, address))
            contact = await uow.contacts.by_address(account.channel, address)
            if contact is None:
                contact = await uow.contacts.add(Contact(account.channel, address, recipient_name))
            assert contact.id is not None
            conv = await uow.conversations.add(
                Conversation(
                    channel=account.channel,
                    account=account.id,
                    contact_id=contact.id,
                    created_at=now,
                    subject=subject,
                    status=Status.PENDING,  # staff wrote first: waiting on the customer
                    customer_id=contact.customer_id,
                    last_activity_at=now,
                )
            )
            template = None
            if template_name:
                body = await self._render_template(uow, conv, template_name, values or {})
                template = (template_name, values or {})
            await self._notify(uow, "conversation_opened", conv.id)
            message = await self._queue(uow, conv, body or "", actor, [], timedelta(0), template)
            await self._audit(uow, conv.id, "started", actor, recipient=address)
            await uow.commit()
        return conv, message

    async def record_delivery(
        self,
        message_id: int,
        status: DeliveryStatus,
        error_code: str | None = None,
        error_text: str | None = None,
    ) -> bool:
        """Apply a delivery report. Returns False when it changes nothing (late or repeated)."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            changed = await self._apply_delivery(uow, message, status, error_code, error_text)
            await uow.commit()
        return changed

    async def record_delivery_by_provider_id(
        self,
        surface: str,
        provider_message_id: str,
        status: DeliveryStatus,
        error_code: str | None = None,
        error_text: str | None = None,
    ) -> bool:
        """Returns False when nothing changed; a report for an id not recorded yet (the
        provider can be faster than our commit) is kept and applied by mark_sent."""
        async with self.ctx.uow_factory() as uow:
            link = await uow.links.find(surface, provider_message_id)
            if link is None or link.message_id is None:
                report = EarlyReport(surface, provider_message_id, status, error_code, error_text)
                await uow.early_reports.add(report, self.clock.now())
                await uow.commit()
                return False
            message = await self._message(uow, link.message_id, lock=True)
            changed = await self._apply_delivery(uow, message, status, error_code, error_text)
            await uow.commit()
        return changed

    async def record_sent_part(self, message_id: int, surface: str, provider_id: str) -> None:
        """One part of a multi-part send went out: remember it, so a retry after a failure
        on a later part continues from there instead of sending this one again."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            if await uow.links.claim(
                Link(surface, provider_id, message.conversation_id, message.id)
            ):
                parts = [*message.meta.get("sent_parts", []), provider_id]
                message.meta = {**message.meta, "sent_parts": parts}
                await uow.messages.save(message)
            await uow.commit()

    async def mark_sent(
        self,
        message_id: int,
        surface: str,
        provider_message_id: str,
        extra_ids: tuple[str, ...] = (),
        maybe_twice: bool = False,
    ) -> None:
        """Record the provider's ids for a sent message (status reports and echo
        suppression). `extra_ids`: the further parts when one message went out as several
        (e.g. WhatsApp carries one attachment per message). `maybe_twice`: an earlier
        attempt may also have reached the customer and the provider cannot tell us."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            meta = {k: v for k, v in message.meta.items() if k != SENDING}
            if maybe_twice:
                meta["maybe_sent_twice"] = True
            message.meta = meta
            if not await self._apply_delivery(uow, message, DeliveryStatus.SENT, None, None):
                await uow.messages.save(message)  # the meta changed even so
            for provider_id in (provider_message_id, *extra_ids):
                await uow.links.claim(
                    Link(surface, provider_id, message.conversation_id, message.id)
                )
                for early in await uow.early_reports.take(surface, provider_id):
                    await self._apply_delivery(
                        uow, message, early.status, early.error_code, early.error_text
                    )
            await uow.commit()

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    async def _claim_origin(
        uow: UnitOfWork, origin: tuple[str, str] | None, message: Message
    ) -> None:
        if origin and not await uow.links.claim(
            Link(origin[0], origin[1], message.conversation_id, message.id)
        ):
            raise AlreadyRecorded(origin[0], origin[1])

    async def _apply_delivery(
        self,
        uow: UnitOfWork,
        message: Message,
        status: DeliveryStatus,
        error_code: str | None,
        error_text: str | None,
    ) -> bool:
        new = next_delivery_status(message.delivery_status, status)
        if new is None:
            return False
        message.delivery_status = new
        if new is DeliveryStatus.FAILED:
            message.error_code, message.error_text = error_code, error_text
        await uow.messages.save(message)
        await self._notify(
            uow, "delivery_status", message.conversation_id, message_id=message.id, status=new.value
        )
        return True

    async def _render_template(
        self, uow: UnitOfWork, conv: Conversation, name: str, values: dict[str, str]
    ) -> str:
        template = await uow.templates.find(name, conv.channel, conv.account)
        if template is None:
            raise NotFound(f"{conv.channel} template", name)
        missing = missing_values(template.variables, values)
        if missing:
            raise TemplateVariablesMissing(name, missing)
        return render(template.body, values)

    async def _queue(
        self,
        uow: UnitOfWork,
        conv: Conversation,
        body: str,
        actor: Actor,
        attachments: list[Attachment],
        delay: timedelta,
        template: tuple[str, dict[str, str]] | None = None,
        origin: tuple[str, str] | None = None,
        automatic: str | None = None,
        auto_reply: bool = False,
    ) -> Message:
        """`automatic`: the rule or auto-reply sending it. Its mail carries the RFC 3834
        headers, and it neither counts as the first response nor leaves the conversation
        waiting on the customer: a person still owes them an answer."""
        now = self.clock.now()
        meta: dict = {"origin": origin[0]} if origin else {}
        if automatic:
            meta["automatic"] = automatic
            if auto_reply:
                meta["auto_reply"] = True
        if delay:
            # The undo-send window: until then staff may undo, edit or make it a note.
            meta["send_at"] = (now + delay).isoformat()
        assert conv.id is not None
        message = await uow.messages.add(
            Message(
                conversation_id=conv.id,
                direction=Direction.OUT,
                kind=MessageKind.MESSAGE,
                author=actor,
                body=body,
                created_at=now,
                attachments=attachments,
                delivery_status=DeliveryStatus.QUEUED,
                template_name=template[0] if template else None,
                template_values=dict(template[1]) if template else {},
                meta=meta,
            )
        )
        assert message.id is not None
        provider = self.ctx.sending_account(conv.account).provider
        await self._emit(uow, [send_message(provider, conv.id, message.id, delay)])
        await self._notify(uow, "message_added", conv.id, message_id=message.id)
        if not automatic:
            await self._answered_by_staff(uow, conv, actor, now)
        return message

    async def _answered_by_staff(self, uow: UnitOfWork, conv: Conversation, actor: Actor,
                                 now) -> None:
        """A reply from staff: first response, and waiting on the customer now."""
        before = conv.status
        on_staff_reply(conv, now)
        await uow.conversations.save(conv)
        if before is not conv.status and before is Status.OPEN:
            assert conv.id is not None
            await self._notify(uow, "conversation_changed", conv.id, action="pending")
            await self._automate(uow, conv, [status_changed(Status.PENDING, actor)])
