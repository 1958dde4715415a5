"""Inbox.receive_many: one delivery's messages in one transaction, each handled as
`receive` would, in order. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from core.errors import InvalidInput, UnknownAccount
from core.model import Channel
from core.ports import ViewQuery
from tests.core.conftest import T0, H, email_msg, wa_msg


async def kinds(outbox):
    return [r["kind"] for r in await outbox.rows()]


async def test_messages_of_one_new_contact_share_a_conversation(inbox, outbox):
    first, second = await inbox.receive_many([wa_msg("hola"), wa_msg("¿hay alguien?",
                                                                     at=T0 + H)])
    assert first.created_conversation and not second.created_conversation
    assert first.conversation_id == second.conversation_id
    details = await inbox.conversation(first.conversation_id)
    assert [m.body for m in details.messages] == ["hola", "¿hay alguien?"]
    assert details.conversation.last_customer_message_at == T0 + H
    assert await kinds(outbox) == ["slack:conversation_opened", "slack:message_added",
                                   "slack:message_added"]


async def test_a_duplicate_inside_the_batch_keeps_the_first(inbox, outbox):
    a, b, again = await inbox.receive_many([
        wa_msg("first", mid="wamid.x"), wa_msg("other", sender="+34600999888"),
        wa_msg("changed", mid="wamid.x")])
    assert again.duplicate and (again.conversation_id, again.message_id) == (
        a.conversation_id, a.message_id)
    assert not b.duplicate and b.conversation_id != a.conversation_id
    assert [m.body for m in await inbox.thread(a.conversation_id)] == ["first"]
    assert len(await kinds(outbox)) == 4  # two opened, two added: none for the duplicate


async def test_a_message_stored_before_is_a_duplicate_and_the_rest_is_stored(inbox):
    earlier = await inbox.receive(wa_msg("before", mid="wamid.old"))
    old, new = await inbox.receive_many([wa_msg("again", mid="wamid.old"),
                                         wa_msg("new", at=T0 + H)])
    assert old.duplicate and old.message_id == earlier.message_id
    assert new.conversation_id == earlier.conversation_id and not new.duplicate
    assert [m.body for m in await inbox.thread(earlier.conversation_id)] == ["before", "new"]


async def test_a_refused_message_gets_its_error_and_the_others_go_on(inbox):
    results = await inbox.receive_many([
        wa_msg("one"), wa_msg("no sender", sender="whatsapp:"),
        replace(wa_msg("no id"), provider_message_id=" "),
        replace(email_msg(), account="wa"), wa_msg("two", at=T0 + H)])
    one, no_sender, no_id, wrong_channel, two = results
    assert isinstance(no_sender, InvalidInput) and "sender" in str(no_sender)
    assert isinstance(no_id, InvalidInput) and isinstance(wrong_channel, InvalidInput)
    assert one.conversation_id == two.conversation_id
    assert [m.body for m in await inbox.thread(one.conversation_id)] == ["one", "two"]


async def test_an_unknown_account_fails_the_batch_as_receive_does(inbox):
    with pytest.raises(UnknownAccount):
        await inbox.receive_many([wa_msg("kept?"), replace(wa_msg(), account="nope")])
    assert await inbox.list_conversations(ViewQuery()) == []


async def test_an_empty_batch_is_nothing(inbox):
    assert await inbox.receive_many([]) == []


async def test_email_batches_thread_by_headers(inbox):
    first, reply = await inbox.receive_many([
        email_msg("question", mid="<q@x>"),
        email_msg("more", mid="<r@x>", sender="bob@example.com", in_reply_to="<q@x>",
                  subject="Re: Order question")])
    assert reply.conversation_id == first.conversation_id
    assert first.created_conversation and not reply.created_conversation


async def test_two_batches_of_the_same_people_in_opposite_order_do_not_deadlock(inbox):
    # Every contact lock of a batch is taken up front in sorted order: on PostgreSQL two
    # batches locking message by message would wait on each other here.
    msgs = [wa_msg(f"m{i}", sender=f"+3460011{i:04d}", mid=f"wamid.o{i}") for i in range(12)]
    forward, backward = await asyncio.wait_for(asyncio.gather(
        inbox.receive_many(msgs), inbox.receive_many(msgs[::-1])), timeout=60)
    results = forward + backward
    assert sum(not r.duplicate for r in results) == 12
    assert {r.message_id for r in results} == {r.message_id for r in forward}
    convs = await inbox.list_conversations(ViewQuery())
    assert len(convs) == 12 and {c.channel for c in convs} == {Channel.WHATSAPP}


async def test_a_long_batch_is_split_and_dedupes_across_the_split(inbox, monkeypatch):
    from core.usecases import inbound

    monkeypatch.setattr(inbound, "MAX_BATCH", 4)
    msgs = [wa_msg(f"m{i}", mid=f"wamid.s{i}", at=T0 + i * H) for i in range(9)]
    results = await inbox.receive_many([*msgs, msgs[1], msgs[7]])
    assert [r.duplicate for r in results] == [False] * 9 + [True, True]
    assert results[9].message_id == results[1].message_id
    assert results[10].message_id == results[7].message_id
    assert len(await inbox.thread(results[0].conversation_id)) == 9
