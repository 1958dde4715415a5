"""What a channel bridge needs to send one queued message, and its sync cursors."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import NotFound
from core.model import Account, Contact, Conversation, DeliveryStatus, Message, Template
from core.usecases.base import UseCaseBase


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

    @property
    def still_queued(self) -> bool:
        """False once sent, failed or withdrawn (undo): a retried handler must not resend."""
        return self.message.leaves_inbox and self.message.delivery_status is DeliveryStatus.QUEUED


class DeliveryUseCases(UseCaseBase):
    async def outbound_context(self, message_id: int) -> OutboundContext:
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id)
            conv = await self._conversation(uow, message.conversation_id)
            contact = await uow.contacts.get(conv.contact_id)
            if contact is None:  # pragma: no cover - a foreign key guarantees it
                raise NotFound("contact", conv.contact_id)
            account = self.ctx.account(conv.account)
            template = None
            if message.template_name:
                template = await uow.templates.find(
                    message.template_name, conv.channel, conv.account
                )
            links = await uow.links.for_conversation(conv.id, account.provider)
            thread_ids = [link.external_id for link in links if link.message_id != message.id]
        return OutboundContext(message, conv, contact, account, template, thread_ids)

    async def load_sync_state(self, account: str, key: str) -> dict | None:
        async with self.ctx.uow_factory() as uow:
            return await uow.sync_state.get(account, key)

    async def save_sync_state(self, account: str, key: str, value: dict) -> None:
        async with self.ctx.uow_factory() as uow:
            await uow.sync_state.put(account, key, value, self.clock.now())
            await uow.commit()
