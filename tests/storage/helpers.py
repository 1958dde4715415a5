"""Builders for storage tests: small valid entities with aware UTC times."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from core.model import (
    Actor,
    Channel,
    Contact,
    Conversation,
    Direction,
    Message,
    MessageKind,
)

_numbers = itertools.count(1)
T0 = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def new_contact(uow, address: str | None = None, channel=Channel.EMAIL) -> Contact:
    address = address or f"person{next(_numbers)}@example.com"
    return await uow.contacts.add(Contact(channel=channel, address=address, name="Ana"))


async def new_conversation(uow, contact: Contact | None = None, **fields) -> Conversation:
    if contact is None:
        contact = await new_contact(uow)
    values = {
        "channel": contact.channel,
        "account": "support",
        "contact_id": contact.id,
        "created_at": T0,
    } | fields
    return await uow.conversations.add(Conversation(**values))


async def new_message(uow, conversation_id: int, body: str = "hola", **fields) -> Message:
    values = {
        "conversation_id": conversation_id,
        "direction": Direction.IN,
        "kind": MessageKind.MESSAGE,
        "author": Actor.contact(1),
        "body": body,
        "created_at": T0,
    } | fields
    return await uow.messages.add(Message(**values))
