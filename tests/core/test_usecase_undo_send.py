from datetime import timedelta

import pytest

from core.errors import InvalidInput, TooLateToChange
from core.model import Actor, DeliveryStatus, MessageKind
from tests.core.conftest import wa_msg

ANA = Actor.system()
WINDOW = timedelta(seconds=10)


async def queued(inbox):
    r = await inbox.receive(wa_msg())
    return await inbox.reply(r.conversation_id, "first draft", ANA, delay=WINDOW)


async def test_undo_within_the_window_means_it_is_never_sent(inbox, clock):
    m = await queued(inbox)
    clock.advance(timedelta(seconds=9))
    withdrawn = await inbox.withdraw_reply(m.id, ANA)
    assert withdrawn.kind is MessageKind.NOTE and withdrawn.meta["withdrawn"] is True
    assert not (await inbox.outbound_context(m.id)).still_queued  # the send handler skips


async def test_make_it_a_note_and_edit(inbox, outbox):
    m = await queued(inbox)
    edited = await inbox.edit_queued_reply(m.id, "second draft", ANA)
    assert edited.body == "second draft"
    assert (await inbox.outbound_context(m.id)).message.body == "second draft"
    note = await inbox.reply_to_note(m.id, ANA)
    assert note.kind is MessageKind.NOTE and note.delivery_status is None
    kinds = [r["kind"] for r in await outbox.rows()]
    assert kinds.count("slack:message_changed") == 2
    with pytest.raises(TooLateToChange, match="not a queued reply"):
        await inbox.edit_queued_reply(m.id, "third", ANA)


async def test_after_the_window_nothing_changes(inbox, clock):
    m = await queued(inbox)
    clock.advance(WINDOW)
    with pytest.raises(TooLateToChange, match="on its way"):
        await inbox.withdraw_reply(m.id, ANA)
    with pytest.raises(InvalidInput):
        await inbox.edit_queued_reply(m.id, " ", ANA)
    ctx = await inbox.outbound_context(m.id)
    assert ctx.still_queued and ctx.message.delivery_status is DeliveryStatus.QUEUED


async def test_reply_without_window_cannot_be_undone(inbox):
    r = await inbox.receive(wa_msg())
    m = await inbox.reply(r.conversation_id, "now", ANA)
    with pytest.raises(TooLateToChange):
        await inbox.withdraw_reply(m.id, ANA)


async def test_links_claim_find_and_list(inbox):
    r = await inbox.receive(wa_msg())
    assert await inbox.claim_link("slack:card", "C1:1.0001", r.conversation_id, None)
    assert not await inbox.claim_link("slack:card", "C1:1.0001", r.conversation_id, None)
    found = await inbox.find_link("slack:card", "C1:1.0001")
    assert found.conversation_id == r.conversation_id
    assert [x.external_id for x in await inbox.links_of(r.conversation_id, "slack:card")] == [
        "C1:1.0001"]
    assert await inbox.find_link("slack:card", "nope") is None


async def test_origin_is_linked_with_the_reply_and_a_redelivery_is_refused(inbox, outbox):
    from core.errors import AlreadyRecorded

    r = await inbox.receive(wa_msg())
    m = await inbox.reply(r.conversation_id, "hi", ANA, origin=("slack:msg", "C1:2.0001"))
    assert m.meta["origin"] == "slack:msg"
    assert (await inbox.find_link("slack:msg", "C1:2.0001")).message_id == m.id
    before = await outbox.rows()
    with pytest.raises(AlreadyRecorded):
        await inbox.reply(r.conversation_id, "hi", ANA, origin=("slack:msg", "C1:2.0001"))
    assert await outbox.rows() == before
    assert [x.id for x in await inbox.thread(r.conversation_id)][-1] == m.id
    note = await inbox.add_note(r.conversation_id, "n", ANA, origin=("slack:msg", "C1:2.0002"))
    assert (await inbox.message(note.id)).meta == {"origin": "slack:msg"}


async def test_undo_unwinds_first_response_and_pending(inbox, clock):
    from core.model import Status

    r = await inbox.receive(wa_msg())
    clock.advance(timedelta(minutes=5))
    m = await inbox.reply(r.conversation_id, "oops", ANA, delay=WINDOW)
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.status is Status.PENDING and conv.first_response_at is not None
    await inbox.withdraw_reply(m.id, ANA)
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.status is Status.OPEN and conv.first_response_at is None
    clock.advance(timedelta(minutes=5))
    kept = await inbox.reply(r.conversation_id, "real answer", ANA)
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.first_response_at == kept.created_at and conv.status is Status.PENDING
