from datetime import timedelta

import pytest

from core.errors import InvalidInput, InvalidTransition, NotFound, SnoozeInPast
from core.model import Actor, Agent, Channel, Customer, MessageKind, Status
from core.ports import ViewQuery
from core.snooze import SnoozePreset
from tests.core.conftest import T0, H, email_msg, wa_msg

SYS = Actor.system()


@pytest.fixture
async def ana(inbox):
    return await inbox.upsert_agent(Agent("Ana", "ana@shop.test", slack_user_id="U1"), SYS)


async def test_assign_unassign_agent_and_team(inbox, ana):
    r = await inbox.receive(wa_msg())
    team = await inbox.upsert_team("Billing", [ana.id], SYS)
    await inbox.upsert_team("Aftersales", [], SYS)
    assert [(t.name, t.member_ids) for t in await inbox.teams()] == [
        ("Aftersales", []), ("Billing", [ana.id])]
    conv = await inbox.assign(
        r.conversation_id, Actor.agent(ana.id), agent_id=ana.id, team_id=team.id
    )
    assert (conv.assignee_id, conv.team_id) == (ana.id, team.id)
    mine = await inbox.list_conversations(ViewQuery("mine", agent_id=ana.id))
    assert [c.id for c in mine] == [r.conversation_id]
    await inbox.unassign(r.conversation_id, SYS)
    assert await inbox.list_conversations(ViewQuery("mine", agent_id=ana.id)) == []
    details = await inbox.conversation(r.conversation_id)
    assert details.conversation.team_id == team.id
    assert [(a.action, a.actor.type.value) for a in details.activity] == [
        ("assigned", "agent"),
        ("unassigned", "system"),
    ]
    with pytest.raises(NotFound, match="agent 404"):
        await inbox.assign(r.conversation_id, SYS, agent_id=404)
    with pytest.raises(NotFound, match="team"):
        await inbox.assign(r.conversation_id, SYS, team_id=404)
    with pytest.raises(InvalidInput):
        await inbox.assign(r.conversation_id, SYS)


async def test_tags_created_inline_and_filtered(inbox):
    a = await inbox.receive(wa_msg())
    b = await inbox.receive(email_msg())
    conv = await inbox.add_tags(a.conversation_id, ["Urgent", " #refund "], SYS)
    assert conv.tags == ["refund", "urgent"]
    assert {t.name for t in await inbox.tags()} == {"refund", "urgent"}
    await inbox.add_tags(b.conversation_id, ["urgent"], SYS)
    both = await inbox.list_conversations(ViewQuery(tags=("urgent",)))
    only_a = await inbox.list_conversations(ViewQuery(tags=("urgent", "refund")))
    assert {c.id for c in both} == {a.conversation_id, b.conversation_id}
    assert [c.id for c in only_a] == [a.conversation_id]
    conv = await inbox.remove_tags(a.conversation_id, ["URGENT"], SYS)
    assert conv.tags == ["refund"]
    with pytest.raises(InvalidInput):
        await inbox.add_tags(a.conversation_id, [" "], SYS)


async def test_snooze_presets_wake_and_past_time(inbox, clock):
    r = await inbox.receive(wa_msg())
    conv = await inbox.snooze(r.conversation_id, SYS, preset=SnoozePreset.TOMORROW)
    assert conv.snoozed_until == T0 + timedelta(hours=23)  # 09:00 Madrid = 08:00 UTC
    with pytest.raises(SnoozeInPast):
        await inbox.snooze(r.conversation_id, SYS, until=T0 - H)
    clock.advance(22 * H)
    assert await inbox.wake_due_snoozes() == 0
    clock.advance(2 * H)
    assert await inbox.wake_due_snoozes() == 1
    assert await inbox.wake_due_snoozes() == 0
    details = await inbox.conversation(r.conversation_id)
    assert details.conversation.status is Status.OPEN
    assert details.messages[-1].kind is MessageKind.SYSTEM
    assert details.activity[-1].action == "snooze_ended"


async def test_resolve_reopen_and_views_hide_resolved(inbox):
    r = await inbox.receive(email_msg())
    await inbox.resolve(r.conversation_id, SYS)
    with pytest.raises(InvalidTransition):
        await inbox.resolve(r.conversation_id, SYS)
    with pytest.raises(InvalidTransition):
        await inbox.snooze(r.conversation_id, SYS, preset=SnoozePreset.ONE_HOUR)
    assert await inbox.list_conversations(ViewQuery()) == []
    assert len(await inbox.list_conversations(ViewQuery(include_resolved=True))) == 1
    resolved = await inbox.list_conversations(ViewQuery(statuses=(Status.RESOLVED,)))
    assert len(resolved) == 1
    await inbox.reopen(r.conversation_id, SYS)
    assert [c.status for c in await inbox.list_conversations(ViewQuery())] == [Status.OPEN]


async def test_views_filter_and_order_oldest_waiting_first(inbox, ana):
    late = await inbox.receive(wa_msg(at=T0 + 2 * H))
    early = await inbox.receive(email_msg(at=T0))
    await inbox.assign(early.conversation_id, SYS, agent_id=ana.id)
    all_ = await inbox.list_conversations(ViewQuery())
    assert [c.id for c in all_] == [early.conversation_id, late.conversation_id]
    unassigned = await inbox.list_conversations(ViewQuery("unassigned"))
    assert [c.id for c in unassigned] == [late.conversation_id]
    assert [c.id for c in await inbox.list_conversations(ViewQuery(channel=Channel.EMAIL))] == [
        early.conversation_id
    ]
    assert [c.id for c in await inbox.list_conversations(ViewQuery(account="wa"))] == [
        late.conversation_id
    ]
    assert await inbox.count_conversations(ViewQuery()) == 2
    with pytest.raises(InvalidInput, match="Mine view"):
        await inbox.list_conversations(ViewQuery("mine"))
    with pytest.raises(InvalidInput, match="unknown view"):
        await inbox.list_conversations(ViewQuery("everything"))


async def test_link_customer_history_and_later_conversations(inbox):
    first = await inbox.receive(wa_msg())
    customer = await inbox.create_customer(Customer("ACME", email="buy@acme.test"), SYS)
    await inbox.link_customer(first.conversation_id, customer.id, SYS)
    await inbox.resolve(first.conversation_id, SYS)
    later = await inbox.receive(wa_msg(at=T0 + 10 * 24 * H))  # a new conversation
    assert later.created_conversation
    cust, history = await inbox.customer_history(customer.id)
    assert cust.name == "ACME"
    assert {c.id for c in history} == {first.conversation_id, later.conversation_id}
    await inbox.unlink_customer(later.conversation_id, SYS)
    assert (await inbox.conversation(later.conversation_id)).conversation.customer_id is None
    with pytest.raises(NotFound, match="customer 77"):
        await inbox.link_customer(first.conversation_id, 77, SYS)
    with pytest.raises(NotFound):
        await inbox.customer_history(77)


async def test_slack_user_links_to_the_configured_agent_keeping_its_role(inbox):
    from core.model import Role

    boss = await inbox.upsert_agent(Agent("Boss", "boss@shop.test", role=Role.MANAGER), SYS)
    linked = await inbox.provision_slack_agent("U77", "Boss B.", "boss@shop.test")
    assert linked.id == boss.id and linked.role is Role.MANAGER
    assert (await inbox.agent_by_slack_id("U77")).id == boss.id
    fresh = await inbox.provision_slack_agent("U78", "New Person", None)
    assert fresh.id != boss.id and fresh.role is Role.AGENT
    assert (await inbox.provision_slack_agent("U78", "x", None)).id == fresh.id


async def test_closed_whatsapp_windows_are_announced_once(inbox, clock, outbox):
    early = await inbox.receive(wa_msg(at=T0))
    late = await inbox.receive(wa_msg(sender="+34600999888", at=T0 + 2 * H))
    await inbox.receive(email_msg(at=T0))  # email has no window
    clock.set(T0 + 25 * H)
    assert await inbox.announce_closed_windows(since=T0 + 23 * H) == 1  # only `early`
    clock.set(T0 + 27 * H)
    assert await inbox.announce_closed_windows(since=T0 + 25 * H) == 1  # now `late`
    rows = [r for r in await outbox.rows(limit=500) if r["payload"].get("action")
            == "window_closed"]
    assert [r["payload"]["conversation_id"] for r in rows] == [
        early.conversation_id, late.conversation_id]
