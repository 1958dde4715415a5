"""Inbound messages from numbers providers really send: stored, never dropped; contacts
that turn out to be one person are merged in the message's transaction."""

import pytest
from sqlalchemy import select

from core.model import (
    Actor,
    Channel,
    Contact,
    Conversation,
    Customer,
    Direction,
    Message,
    MessageKind,
    Template,
)
from storage.repositories.people import SqlContactRepository
from storage.tables import activity
from tests.core.conftest import T0, H, wa_msg


@pytest.mark.parametrize(
    "sender, address",
    [
        ("5215512345678", "+525512345678"),  # Mexico, WhatsApp's 521 form
        ("551187654321", "+5511987654321"),  # Brazil, account older than the ninth digit
        ("15550001234", "+15550001234"),  # a test number: not valid, kept as the wa_id
        ("US.1349120865530274", "US.1349120865530274"),  # an id that is not a number
    ],
)
async def test_numbers_providers_send_are_stored(inbox, outbox, sender, address):
    r = await inbox.receive(wa_msg("hola", sender=sender))
    details = await inbox.conversation(r.conversation_id)
    assert details.contact.address == address
    assert [m.body for m in details.messages] == ["hola"]
    # Replies must go to the chat the provider knows, which the address may not name.
    assert details.conversation.provider_thread_id == sender
    assert [row["kind"] for row in await outbox.rows()] == [
        "slack:conversation_opened", "slack:message_added"]


async def test_both_forms_of_a_mexican_number_are_one_conversation(inbox):
    first = await inbox.receive(wa_msg(sender="5215512345678"))
    second = await inbox.receive(wa_msg(sender="+52 55 1234 5678", at=T0 + H))
    assert second.conversation_id == first.conversation_id and not second.created_conversation
    conv = (await inbox.conversation(first.conversation_id)).conversation
    assert conv.provider_thread_id == "+52 55 1234 5678"  # the latest form the provider used


async def test_a_reply_to_a_staff_started_conversation_finds_it(inbox):
    await inbox.upsert_template(
        Template("hello", Channel.WHATSAPP, "Hola", provider_name="hello", language="es"),
        Actor.system())
    conv, _ = await inbox.start_conversation("wa", "+52 55 1234 5678", Actor.system(),
                                             template_name="hello")
    r = await inbox.receive(wa_msg(sender="5215512345678", at=T0 + H))
    assert r.conversation_id == conv.id


async def seed(uow_factory, address: str, name: str = "", customer: str | None = None,
               body: str | None = None) -> tuple[Contact, Conversation]:
    """A contact with one open WhatsApp conversation (and a message it wrote)."""
    async with uow_factory() as uow:
        customer_id = (await uow.customers.add(Customer(customer))).id if customer else None
        contact = await uow.contacts.add(Contact(Channel.WHATSAPP, address, name, customer_id))
        conv = await uow.conversations.add(Conversation(
            channel=Channel.WHATSAPP, account="wa", contact_id=contact.id, created_at=T0,
            customer_id=customer_id, last_activity_at=T0))
        if body:
            await uow.messages.add(Message(conv.id, Direction.IN, MessageKind.MESSAGE,
                                           Actor.contact(contact.id), body, T0))
        await uow.commit()
    return contact, conv


async def test_a_contact_under_the_raw_id_is_merged_into_the_e164_one(inbox, uow_factory,
                                                                      outbox):
    # Stored under the wa_id when the number could not be normalised yet (e.g. before the
    # number metadata knew its range); the same person also has an E.164 contact.
    raw, old = await seed(uow_factory, "+5215512345678", "Ana WhatsApp", "Acme", "antes")
    kept, newer = await seed(uow_factory, "+525512345678")
    r = await inbox.receive(wa_msg("hola", sender="5215512345678", at=T0 + H))

    assert r.conversation_id == newer.id  # the latest conversation of the person
    moved = await inbox.conversation(old.id)
    assert moved.contact.id == kept.id and moved.contact.address == "+525512345678"
    assert moved.contact.name == "Ana WhatsApp"  # kept had none: the name moved
    assert moved.contact.customer_id == raw.customer_id  # so did the customer link
    assert moved.messages[0].author == Actor.contact(kept.id)
    (merged,) = [a for a in moved.activity if a.action == "contact_merged"]
    assert merged.actor == Actor.system()
    assert merged.detail["from_contact"] == raw.id and merged.detail["into_contact"] == kept.id
    async with uow_factory() as uow:
        assert await uow.contacts.get(raw.id) is None
        assert await uow.contacts.by_address(Channel.WHATSAPP, "+5215512345678") is None
    changed = [row["payload"] for row in await outbox.rows()
               if row["kind"] == "slack:conversation_changed"]
    assert {"conversation_id": old.id, "action": "contact_merged"} in changed


async def test_a_merge_keeps_what_the_kept_contact_has(inbox, uow_factory):
    await seed(uow_factory, "+5215512345678", "From WhatsApp", "Other Co")
    kept, conv = await seed(uow_factory, "+525512345678", "Ana López", "Acme")
    await inbox.receive(wa_msg(sender="5215512345678", at=T0 + H))
    contact = (await inbox.conversation(conv.id)).contact
    assert (contact.name, contact.customer_id) == ("Ana López", kept.customer_id)


async def test_only_the_raw_id_known_the_contact_takes_the_e164_address(inbox, uow_factory,
                                                                        engine):
    raw, conv = await seed(uow_factory, "+5215512345678", "Ana")
    r = await inbox.receive(wa_msg(sender="5215512345678", at=T0 + H))
    assert r.conversation_id == conv.id and not r.created_conversation
    contact = (await inbox.conversation(conv.id)).contact
    assert (contact.id, contact.address) == (raw.id, "+525512345678")
    async with engine.connect() as conn:
        rows = (await conn.execute(select(activity.c.action, activity.c.detail).where(
            activity.c.conversation_id.is_(None)))).all()
    assert [(a, d["previous"], d["address"]) for a, d in rows] == [
        ("contact_readdressed", "+5215512345678", "+525512345678")]


async def test_a_failed_merge_changes_nothing(inbox, uow_factory, monkeypatch):
    raw, old = await seed(uow_factory, "+5215512345678", "Ana", body="antes")
    kept, _ = await seed(uow_factory, "+525512345678")
    real = SqlContactRepository.merge

    async def merge_then_crash(self, duplicate_id, into):
        await real(self, duplicate_id, into)
        raise RuntimeError("the worker died here")

    monkeypatch.setattr(SqlContactRepository, "merge", merge_then_crash)
    with pytest.raises(RuntimeError):
        await inbox.receive(wa_msg(sender="5215512345678", at=T0 + H))
    details = await inbox.conversation(old.id)
    assert details.contact == raw and details.messages[0].author == Actor.contact(raw.id)
    assert [a.action for a in details.activity] == []
    async with uow_factory() as uow:
        assert await uow.contacts.get(kept.id) == kept
