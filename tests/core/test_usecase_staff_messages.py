"""Staff messages written in a thread, through the real storage on both databases: what the
policy decides is what gets queued for the customer, and nothing else."""

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from core.errors import InvalidInput, PermissionDenied, TooLateToChange
from core.model import Actor, Agent, DeliveryStatus, MessageKind, Role, Status
from core.permissions import ROLE_PERMISSIONS, Permission, allows, require
from core.reply_policy import Change, Disposition, StaffText, ThreadReplies
from core.usecases import Inbox
from tests.core.conftest import ACCOUNTS, wa_msg

WINDOW = timedelta(seconds=10)
SYSTEM = Actor.system()


async def sends(outbox) -> list[int]:
    return [r["payload"]["message_id"] for r in await outbox.rows()
            if r["kind"].startswith("send:")]


async def conversation(inbox):
    return (await inbox.receive(wa_msg())).conversation_id


async def write(inbox, conv_id, text, **kw):
    return await inbox.write_in_thread(conv_id, StaffText(text, **kw), SYSTEM, delay=WINDOW,
                                       origin=("slack:msg", f"C1:{text}:{kw}"))


async def test_a_reply_is_queued_and_a_note_is_not(inbox, outbox):
    conv_id = await conversation(inbox)
    reply = await write(inbox, conv_id, "Sale mañana")
    note = await write(inbox, conv_id, "*note:* customer is a known fraudster")
    assert reply.decision.is_reply and reply.message.kind is MessageKind.MESSAGE
    assert note.message.kind is MessageKind.NOTE
    assert note.message.body == "customer is a known fraudster"
    assert await sends(outbox) == [reply.message.id]


async def test_commands_and_empty_messages_store_nothing(inbox, outbox):
    conv_id = await conversation(inbox)
    command = await write(inbox, conv_id, "@Threadline note x", addresses_bot=True)
    empty = await write(inbox, conv_id, "   ")
    assert command.message is None and command.decision.disposition is Disposition.COMMAND
    assert empty.message is None
    assert len(await inbox.thread(conv_id)) == 1 and await sends(outbox) == []


async def test_held_message_goes_out_only_on_request(inbox, outbox, clock):
    conv_id = await conversation(inbox)
    held = await write(inbox, conv_id, "@Ben can you check the refund policy?",
                       mentions_people=True)
    assert held.message.kind is MessageKind.NOTE and held.message.meta["hold"] == "mention"
    assert await sends(outbox) == []
    released = await inbox.send_held(held.message.id, SYSTEM, WINDOW)
    assert released.kind is MessageKind.MESSAGE
    assert released.delivery_status is DeliveryStatus.QUEUED
    assert await sends(outbox) == [held.message.id]
    assert (await inbox.conversation(conv_id)).conversation.status is Status.PENDING
    with pytest.raises(InvalidInput, match="held back"):
        await inbox.send_held(held.message.id, SYSTEM, WINDOW)


async def test_notes_withdrawn_and_deleted_messages_cannot_be_sent_on_request(inbox):
    conv_id = await conversation(inbox)
    note = await write(inbox, conv_id, "note: private")
    with pytest.raises(InvalidInput):
        await inbox.send_held(note.message.id, SYSTEM)
    held = await write(inbox, conv_id, "ask @Ben", mentions_people=True)
    await inbox.delete_in_thread(held.message.id, SYSTEM)
    with pytest.raises(InvalidInput):
        await inbox.send_held(held.message.id, SYSTEM)
    reply = await write(inbox, conv_id, "hola")
    await inbox.withdraw_reply(reply.message.id, SYSTEM)
    with pytest.raises(InvalidInput):
        await inbox.send_held(reply.message.id, SYSTEM)


async def test_a_held_message_edited_into_a_note_can_no_longer_be_sent(inbox, outbox):
    conv_id = await conversation(inbox)
    held = await write(inbox, conv_id, "ask @Ben", mentions_people=True)
    edited = await inbox.edit_in_thread(held.message.id, StaffText("note: he is lying"),
                                        SYSTEM)
    assert edited.decision.change is Change.EDIT_NOTE
    with pytest.raises(InvalidInput):
        await inbox.send_held(held.message.id, SYSTEM)
    again = await write(inbox, conv_id, "ask @Eva", mentions_people=True)
    await inbox.edit_in_thread(again.message.id, StaffText("Your refund is on its way"), SYSTEM)
    sent = await inbox.send_held(again.message.id, SYSTEM)  # still held: may go on request
    assert sent.body == "Your refund is on its way" and await sends(outbox) == [sent.id]


async def test_editing_a_queued_reply_into_a_note_withdraws_it(inbox, outbox):
    conv_id = await conversation(inbox)
    reply = await write(inbox, conv_id, "Refund approved")
    edited = await inbox.edit_in_thread(
        reply.message.id, StaffText("note: refund denied, he is lying"), SYSTEM)
    assert edited.decision.change is Change.TO_NOTE
    ctx = await inbox.outbound_context(reply.message.id)
    assert not ctx.still_queued  # the send handler will skip it
    assert ctx.message.kind is MessageKind.NOTE
    assert ctx.message.body == "refund denied, he is lying"
    conv = (await inbox.conversation(conv_id)).conversation
    assert conv.status is Status.OPEN and conv.first_response_at is None  # unwound


async def test_editing_a_note_edits_the_note_and_never_sends(inbox, outbox):
    conv_id = await conversation(inbox)
    note = await write(inbox, conv_id, "note: first")
    edited = await inbox.edit_in_thread(note.message.id, StaffText("Hola, looks like a reply"),
                                        SYSTEM)
    assert edited.decision.change is Change.EDIT_NOTE
    stored = await inbox.message(note.message.id)
    assert stored.kind is MessageKind.NOTE and stored.body == "Hola, looks like a reply"
    assert await sends(outbox) == []


async def test_edit_after_the_window_is_too_late_and_changes_nothing(inbox, clock):
    conv_id = await conversation(inbox)
    reply = await write(inbox, conv_id, "original")
    clock.advance(WINDOW - timedelta(milliseconds=200))  # inside the safety margin
    late = await inbox.edit_in_thread(reply.message.id, StaffText("note: x"), SYSTEM)
    assert late.decision.change is Change.TOO_LATE
    stored = await inbox.message(reply.message.id)
    assert stored.body == "original" and stored.kind is MessageKind.MESSAGE
    with pytest.raises(TooLateToChange):
        await inbox.delete_in_thread(reply.message.id, SYSTEM)


@pytest.mark.parametrize(("mode", "expected"), [
    (ThreadReplies.SEND, True), (ThreadReplies.EXPLICIT, False), (ThreadReplies.OFF, False)])
async def test_thread_reply_mode_comes_from_the_account(uow_factory, clock, outbox, mode,
                                                        expected):
    accounts = {k: replace(v, thread_replies=mode) for k, v in ACCOUNTS.items()}
    inbox = Inbox(uow_factory, clock, accounts, ZoneInfo("UTC"), frontends=("slack",))
    conv_id = await conversation(inbox)
    out = await write(inbox, conv_id, "Your order left today")
    assert out.decision.is_reply is expected
    assert bool(await sends(outbox)) is expected
    explicit = await write(inbox, conv_id, ">> Tracking: 123")
    assert explicit.decision.is_reply is (mode is not ThreadReplies.OFF)


def test_role_table():
    assert not any(allows(None, p) for p in Permission)
    assert ROLE_PERMISSIONS[Role.AGENT] < ROLE_PERMISSIONS[Role.MANAGER] \
        < ROLE_PERMISSIONS[Role.ADMIN]
    assert allows(Role.AGENT, Permission.ACT) and not allows(Role.AGENT, Permission.REASSIGN)
    assert allows(Role.MANAGER, Permission.TEAM_STATS)
    assert not allows(Role.MANAGER, Permission.MANAGE_TAGS)
    assert allows(Role.ADMIN, Permission.MANAGE_TEMPLATES)
    with pytest.raises(PermissionDenied, match="only managers and admins may reassign"):
        require(Role.AGENT, Permission.REASSIGN, "reassign")


async def agents(inbox):
    ana = await inbox.upsert_agent(Agent("Ana", "ana@shop.test"), SYSTEM)
    bob = await inbox.upsert_agent(Agent("Bob", "bob@shop.test"), SYSTEM)
    boss = await inbox.upsert_agent(Agent("Boss", "boss@shop.test", Role.MANAGER), SYSTEM)
    admin = await inbox.upsert_agent(Agent("Ada", "ada@shop.test", Role.ADMIN), SYSTEM)
    return (Actor.agent(ana.id), Actor.agent(bob.id), Actor.agent(boss.id),
            Actor.agent(admin.id))


async def test_taking_over_a_colleagues_conversation_needs_a_manager(inbox):
    ana, bob, boss, _ = await agents(inbox)
    conv_id = await conversation(inbox)
    await inbox.assign(conv_id, ana, agent_id=ana.id)  # unassigned: anyone takes it
    await inbox.assign(conv_id, ana, agent_id=bob.id)  # Ana hands her own one over
    with pytest.raises(PermissionDenied):
        await inbox.assign(conv_id, ana, agent_id=ana.id)  # Bob's now
    with pytest.raises(PermissionDenied):
        await inbox.unassign(conv_id, ana)
    assert (await inbox.conversation(conv_id)).conversation.assignee_id == bob.id
    await inbox.assign(conv_id, boss, agent_id=ana.id)
    await inbox.unassign(conv_id, ana)  # her own again
    await inbox.assign(conv_id, Actor.automation("rule"), agent_id=bob.id)  # rules may


async def test_only_admins_create_tags(inbox):
    ana, _, boss, admin = await agents(inbox)
    await inbox.upsert_tag("vip", "#000000", SYSTEM)
    conv_id = await conversation(inbox)
    await inbox.add_tags(conv_id, ["vip"], ana)
    with pytest.raises(PermissionDenied, match="admins may create new tags \\(brand-new\\)"):
        await inbox.add_tags(conv_id, ["brand-new"], boss)
    assert (await inbox.conversation(conv_id)).conversation.tags == ["vip"]
    await inbox.add_tags(conv_id, ["brand-new"], admin)
    assert {t.name for t in await inbox.tags()} == {"vip", "brand-new"}


async def test_an_inactive_agent_may_do_nothing_role_bound(inbox):
    ana, *_ = await agents(inbox)
    agent = await inbox.upsert_agent(Agent("Ana", "ana@shop.test", active=False), SYSTEM)
    assert agent.id == ana.id
    conv_id = await conversation(inbox)
    with pytest.raises(PermissionDenied):
        await inbox.add_tags(conv_id, ["new-one"], ana)
