"""What a channel bridge needs to send one queued message, and its sync cursors."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import NotFound
from core.model import (
    Account,
    ActorType,
    Contact,
    Conversation,
    DeliveryStatus,
    Message,
    Template,
)
from core.usecases.base import UseCaseBase

SENDING = "sending_since"  # meta: an attempt to send began at this time, outcome not known


@dataclass(frozen=True)
class OutboundContext:
    message: Message
    conversation: Conversation
    contact: Contact
    account: Account
    template: Template | None
    # Provider ids of the conversation's earlier messages on this account's surface, oldest
    # first: email's In-Reply-To / References.
    thread_ids: list[str]
    attempt: int = 0  # the number of this send attempt (0: not begun through begin_send)
    # An earlier attempt began and its outcome is unknown (the worker stopped during it):
    # the provider may have the message already.
    unsure: bool = False
    author_name: str | None = None  # the agent who wrote it (None: an automation, the system)
    # The customer message this answers (the latest before it) and its sender's address:
    # email's reply-all takes the others it was sent to from there.
    last_inbound: Message | None = None
    last_inbound_sender: str | None = None

    @property
    def still_queued(self) -> bool:
        """False once sent, failed or withdrawn (undo): a retried handler must not resend."""
        return self.message.leaves_inbox and self.message.delivery_status is DeliveryStatus.QUEUED


class DeliveryUseCases(UseCaseBase):
    async def outbound_context(self, message_id: int) -> OutboundContext:
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id)
            return await self._context(uow, message)

    async def begin_send(self, message_id: int) -> OutboundContext | None:
        """Record, before the provider is called, that an attempt to send starts: once
        begun, the reply can no longer be withdrawn or edited, and a later attempt knows
        whether an earlier one may have reached the provider. None: nothing to send
        (withdrawn, made a note, already sent)."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            if not message.leaves_inbox or message.delivery_status is not DeliveryStatus.QUEUED:
                return None
            unsure = SENDING in message.meta
            attempt = int(message.meta.get("send_attempts", 0)) + 1
            message.meta = {**message.meta, "send_attempts": attempt,
                            SENDING: self.clock.now().isoformat()}
            await uow.messages.save(message)
            context = await self._context(uow, message, attempt=attempt, unsure=unsure)
            await uow.commit()
        return context

    async def send_attempt_failed(self, message_id: int) -> None:
        """The provider answered with an error: that attempt did not send the message."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            if SENDING in message.meta:
                message.meta = {k: v for k, v in message.meta.items() if k != SENDING}
                await uow.messages.save(message)
                await uow.commit()

    async def _context(self, uow, message: Message, **extra) -> OutboundContext:
        conv = await self._conversation(uow, message.conversation_id)
        contact = await uow.contacts.get(conv.contact_id)
        if contact is None:  # pragma: no cover - a foreign key guarantees it
            raise NotFound("contact", conv.contact_id)
        account = self.ctx.account(conv.account)
        template = None
        if message.template_name:
            template = await uow.templates.find(message.template_name, conv.channel,
                                                conv.account)
        links = await uow.links.for_conversation(conv.id, account.provider)
        thread_ids = [link.external_id for link in links if link.message_id != message.id]
        author_name = None
        if message.author.type is ActorType.AGENT and isinstance(message.author.id, int):
            agent = await uow.agents.get(message.author.id)
            author_name = agent.name if agent else None
        last = await uow.messages.last_inbound_before(conv.id, message.id)
        sender = None
        if last is not None and last.author.type is ActorType.CONTACT and isinstance(
                last.author.id, int):
            author = await uow.contacts.get(last.author.id)
            sender = author.address if author else None
        return OutboundContext(message, conv, contact, account, template, thread_ids,
                               author_name=author_name, last_inbound=last,
                               last_inbound_sender=sender, **extra)

    async def load_sync_state(self, account: str, key: str) -> dict | None:
        async with self.ctx.uow_factory() as uow:
            return await uow.sync_state.get(account, key)

    async def save_sync_state(self, account: str, key: str, value: dict) -> None:
        async with self.ctx.uow_factory() as uow:
            await uow.sync_state.put(account, key, value, self.clock.now())
            await uow.commit()
