"""A WhatsApp customer changed their number (Meta's `user_changed_number` notice): the
contact moves to the new number, so their history stays one person and replies reach the
new phone. If the new number wrote first (a contact of its own already), the two contacts
become one: the new number's contact is kept and the old one's conversations join it."""

from __future__ import annotations

import dataclasses

from core.addresses import normalize_phone
from core.errors import InvalidPhoneNumber
from core.model import Actor, Channel
from core.usecases.base import UseCaseBase


class ContactNumberUseCases(UseCaseBase):
    async def contact_changed_number(self, account: str, old: str, new: str) -> bool:
        """Move the contact at `old` to `new` (raw numbers, as the provider sends them).
        False when there is nothing to do: an unknown old number, the same number, or a
        number that is not one."""
        try:
            old_address, new_address = normalize_phone(old), normalize_phone(new)
        except InvalidPhoneNumber:
            return False
        if old_address == new_address:
            return False
        async with self.ctx.uow_factory() as uow:
            moved = await uow.contacts.by_address(Channel.WHATSAPP, old_address)
            if moved is None or moved.id is None:
                return False
            existing = await uow.contacts.by_address(Channel.WHATSAPP, new_address)
            if existing is not None and existing.id is not None:
                await uow.conversations.reassign_contact(moved.id, existing.id)
                kept = dataclasses.replace(existing, name=existing.name or moved.name,
                                           customer_id=existing.customer_id
                                           or moved.customer_id)
                await uow.contacts.merge(moved.id, kept)
            else:
                kept = dataclasses.replace(moved, address=new_address)
                await uow.contacts.save(kept)
            assert kept.id is not None
            latest = await uow.conversations.latest_for_contact(account, kept.id)
            if latest is not None and latest.id is not None:
                latest.provider_thread_id = new.strip().lstrip("+")  # replies go there now
                await uow.conversations.save(latest)
                await self._audit(uow, latest.id, "contact_changed_number",
                                  Actor.contact(kept.id), old=old_address, new=new_address)
                await self._notify(uow, "conversation_changed", latest.id,
                                   action="contact_changed_number")
            await uow.commit()
        return True
