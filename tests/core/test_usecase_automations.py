"""Rules run inside the use case of the event: triggers, conditions and actions, through
the real storage on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest

from core.automation.contract import (
    AddTags,
    Assign,
    Note,
    Notify,
    RemoveTags,
    Reply,
    SetStatus,
    Snooze,
    Strategy,
)
from core.model import Actor, Agent, Customer, MessageKind, Role, Status, Template
from core.snooze import SnoozePreset
from tests.core.automation_helpers import automations, inbox_with, rule
from tests.core.conftest import T0, H, email_msg, wa_msg

SYS = Actor.system()
EVENING = T0 + 10 * H  # 20:00 in Madrid: closed


async def _fired(inbox, conv_id) -> list[str]:
    details = await inbox.conversation(conv_id)
    return [a.detail["rule"] for a in details.activity if a.action == "rule_fired"]


async def _system_lines(inbox, conv_id) -> list[str]:
    return [m.body for m in await inbox.thread(conv_id) if m.kind is MessageKind.SYSTEM]


async def _staff(inbox, *names_roles):
    out = []
    for i, (name, role) in enumerate(names_roles):
        out.append(await inbox.upsert_agent(
            Agent(name, f"{name.lower()}@shop.test", role=role, slack_user_id=f"U{i}"), SYS))
    return out


async def test_opened_fires_once_received_fires_every_time(uow_factory, clock):
    inbox = inbox_with(uow_factory, clock, automations(
        rule("first", "conversation_opened", AddTags(("new",))),
        rule("every", "message_received", Note("seen"))))
    r = await inbox.receive(wa_msg("hola"))
    await inbox.receive(wa_msg("otra vez"))
    assert await _fired(inbox, r.conversation_id) == ["first", "every", "every"]
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.tags == ["new"]
    notes = [m for m in await inbox.thread(r.conversation_id) if m.kind is MessageKind.NOTE]
    assert [(n.body, n.author) for n in notes] == [("seen", Actor.automation("every"))] * 2
    assert await _system_lines(inbox, r.conversation_id) == [
        "⚙️ first: tagged new", "⚙️ every: added a note", "⚙️ every: added a note"]


@pytest.mark.parametrize("conditions, matches", [
    ({"channel": "email"}, False),
    ({"channel": ["whatsapp", "email"]}, True),
    ({"account": "mail"}, False),
    ({"account": "wa"}, True),
    ({"text_matches": "(?i)factura|invoice"}, True),
    ({"text_matches": "^refund$"}, False),
    ({"tags_any": ["vip"]}, False),
    ({"tags_none": ["spam"]}, True),
    ({"status": "open"}, True),
    ({"status": ["pending", "resolved"]}, False),
    ({"assigned": False}, True),
    ({"assigned": True}, False),
    ({"business_hours": True}, True),
    ({"business_hours": False}, False),
    ({"contact_is_customer": True}, False),
])
async def test_each_condition(uow_factory, clock, conditions, matches):
    inbox = inbox_with(uow_factory, clock, automations(
        rule("r", "message_received", AddTags(("hit",)), **conditions)))
    r = await inbox.receive(wa_msg("Necesito la FACTURA de marzo"))
    assert (await _fired(inbox, r.conversation_id) == ["r"]) is matches


async def test_subject_counts_for_text_and_hours_are_judged_at_the_message_time(
        uow_factory, clock):
    inbox = inbox_with(uow_factory, clock, automations(
        rule("invoice out of hours", "message_received", AddTags(("billing",)),
             text_matches="(?i)invoice", business_hours=False)))
    clock.set(EVENING + H)  # processed later; the message itself came in the evening
    inside = await inbox.receive(email_msg("see subject", subject="Invoice 4411", at=T0))
    outside = await inbox.receive(email_msg("see subject", sender="bo@example.com",
                                            subject="Invoice 4412", at=EVENING))
    assert await _fired(inbox, inside.conversation_id) == []
    assert await _fired(inbox, outside.conversation_id) == ["invoice out of hours"]


async def test_contact_is_customer(uow_factory, clock):
    inbox = inbox_with(uow_factory, clock, automations(
        rule("known", "message_received", AddTags(("customer",)), contact_is_customer=True)))
    r = await inbox.receive(wa_msg("hola"))
    customer = await inbox.create_customer(Customer("Acme"), SYS)
    await inbox.link_customer(r.conversation_id, customer.id, SYS)
    await inbox.receive(wa_msg("soy cliente"))
    assert await _fired(inbox, r.conversation_id) == ["known"]


async def test_tag_status_and_assigned_triggers(uow_factory, clock):
    ana, = await _staff(inbox_with(uow_factory, clock, automations()), ("Ana", Role.AGENT))
    inbox = inbox_with(uow_factory, clock, automations(
        rule("on refund", "tag_added", Note("refund tagged"), tag="refund"),
        rule("off refund", "tag_removed", Note("refund removed"), tag=["refund"]),
        rule("on resolved", "status_changed", AddTags(("done",)), to="resolved"),
        rule("on assigned", "assigned", RemoveTags(("new",)))))
    r = await inbox.receive(wa_msg())
    cid = r.conversation_id
    await inbox.add_tags(cid, ["new", "other"], SYS)
    await inbox.add_tags(cid, ["refund"], SYS)
    await inbox.remove_tags(cid, ["refund"], SYS)
    await inbox.assign(cid, SYS, agent_id=ana.id)
    await inbox.resolve(cid, SYS)
    assert await _fired(inbox, cid) == ["on refund", "off refund", "on assigned", "on resolved"]
    conv = (await inbox.conversation(cid)).conversation
    assert conv.tags == ["done", "other"] and conv.status is Status.RESOLVED


async def test_assign_round_robin_skips_away_agents_and_survives_restarts(uow_factory, clock):
    boot = inbox_with(uow_factory, clock, automations())
    ana, ben, cai = await _staff(boot, ("Ana", Role.AGENT), ("Ben", Role.AGENT),
                                 ("Cai", Role.AGENT))
    await boot.upsert_team("Billing", [ana.id, ben.id, cai.id], SYS)
    await boot.set_availability(ben.id, False, Actor.agent(ben.id))
    autos = automations(rule("rr", "conversation_opened",
                             Assign(team="billing", strategy=Strategy.ROUND_ROBIN)))
    picked = []
    for n in range(4):
        inbox = inbox_with(uow_factory, clock, autos)  # a new process each time
        r = await inbox.receive(wa_msg(sender=f"+3460000000{n}"))
        picked.append((await inbox.conversation(r.conversation_id)).conversation.assignee_id)
    assert picked == [ana.id, cai.id, ana.id, cai.id]
    lines = await _system_lines(inbox, r.conversation_id)
    assert lines == ["⚙️ rr: assigned to Billing (Cai)"]


async def test_assign_least_open_and_nobody_available(uow_factory, clock):
    boot = inbox_with(uow_factory, clock, automations())
    ana, ben = await _staff(boot, ("Ana", Role.AGENT), ("Ben", Role.AGENT))
    team = await boot.upsert_team("Billing", [ana.id, ben.id], SYS)
    busy = await boot.receive(wa_msg(sender="+34600000009"))
    await boot.assign(busy.conversation_id, SYS, agent_id=ana.id)
    inbox = inbox_with(uow_factory, clock, automations(
        rule("lo", "conversation_opened", Assign(team="Billing", strategy=Strategy.LEAST_OPEN))))
    r1 = await inbox.receive(wa_msg(sender="+34600000001"))
    r2 = await inbox.receive(wa_msg(sender="+34600000002"))
    got = [(await inbox.conversation(r.conversation_id)).conversation.assignee_id
           for r in (r1, r2)]
    assert got[0] == ben.id and set(got) == {ana.id, ben.id}  # then one each: a tie
    await inbox.set_availability(ana.id, False, Actor.agent(ana.id))
    await inbox.set_availability(ben.id, False, Actor.agent(ben.id))
    r3 = await inbox.receive(wa_msg(sender="+34600000003"))
    conv = (await inbox.conversation(r3.conversation_id)).conversation
    assert (conv.team_id, conv.assignee_id) == (team.id, None)
    assert await _system_lines(inbox, r3.conversation_id) == [
        "⚙️ lo: assigned to Billing (nobody in it is available)"]


async def test_assign_to_agent_and_unknown_names_are_reported(uow_factory, clock):
    boot = inbox_with(uow_factory, clock, automations())
    ana, = await _staff(boot, ("Ana", Role.AGENT))
    inbox = inbox_with(uow_factory, clock, automations(
        rule("direct", "conversation_opened", Assign(agent="ana@shop.test"),
             Assign(team="Nope"), Assign(agent="gone@shop.test"), AddTags(("ok",)))))
    r = await inbox.receive(wa_msg())
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.assignee_id == ana.id and conv.tags == ["ok"]
    assert await _system_lines(inbox, r.conversation_id) == [
        "⚙️ direct: assigned to Ana, not assigned: there is no team Nope, "
        "not assigned: no active agent gone@shop.test, tagged ok"]


async def test_notify_reply_status_and_snooze_actions(uow_factory, clock, outbox):
    boot = inbox_with(uow_factory, clock, automations())
    await boot.upsert_template(Template("thanks", Channel_email(), "Hi {{name}}, thanks!"), SYS)
    inbox = inbox_with(uow_factory, clock, automations(
        rule("ack", "conversation_opened", Reply("thanks"), Notify(role=Role.MANAGER),
             SetStatus(Status.PENDING)),
        rule("park", "status_changed", Snooze(preset=SnoozePreset.TOMORROW), to="pending")))
    r = await inbox.receive(email_msg("where is my order?"))
    details = await inbox.conversation(r.conversation_id)
    conv = details.conversation
    reply = next(m for m in details.messages if m.leaves_inbox)
    assert reply.body == "Hi Ana, thanks!" and reply.author == Actor.automation("ack")
    assert reply.meta["automatic"] == "ack" and "auto_reply" not in reply.meta
    assert conv.first_response_at is None  # an automatic reply is not a response
    assert conv.status is Status.SNOOZED
    assert conv.snoozed_until == T0.replace(hour=8) + timedelta(days=1)  # 09:00 Madrid
    rows = await outbox.rows(limit=500)
    notify = [row for row in rows if row["kind"] == "slack:notify"]
    assert [row["payload"] for row in notify] == [
        {"conversation_id": conv.id, "rule": "ack", "role": "manager", "agent_id": None}]
    assert [row["kind"] for row in rows].count("send:email") == 1
    assert await _system_lines(inbox, conv.id) == [
        "⚙️ ack: replied with template thanks, notified the managers, set status to pending",
        "⚙️ park: snoozed until Tue 03 Mar 09:00"]


def Channel_email():
    from core.model import Channel

    return Channel.EMAIL


async def test_reply_is_never_sent_to_automated_mail(uow_factory, clock, outbox):
    boot = inbox_with(uow_factory, clock, automations())
    await boot.upsert_template(Template("thanks", Channel_email(), "Thanks!"), SYS)
    inbox = inbox_with(uow_factory, clock, automations(
        rule("ack", "message_received", Reply("thanks"))))
    r = await inbox.receive(email_msg("I am out of the office", automated=True))
    assert not [m for m in await inbox.thread(r.conversation_id) if m.leaves_inbox]
    assert await _system_lines(inbox, r.conversation_id) == [
        "⚙️ ack: no reply: the message is automated mail"]


async def test_cascade_and_no_self_retrigger(uow_factory, clock):
    boot = inbox_with(uow_factory, clock, automations())
    ana, = await _staff(boot, ("Ana", Role.AGENT))
    await boot.upsert_team("VIP desk", [ana.id], SYS)
    inbox = inbox_with(uow_factory, clock, automations(
        rule("spot vip", "message_received", AddTags(("vip",)), text_matches="(?i)ceo"),
        rule("vip desk", "tag_added", Assign(team="VIP desk"), AddTags(("vip2",)), tag="vip"),
        # would loop forever on its own tag if a rule could re-trigger itself
        rule("self", "tag_added", AddTags(("vip2", "self")), tag=["vip2", "self"])))
    r = await inbox.receive(wa_msg("Soy el CEO"))
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.assignee_id == ana.id and conv.tags == ["self", "vip", "vip2"]
    assert await _fired(inbox, conv.id) == ["spot vip", "vip desk", "self"]


async def test_depth_limit_stops_rules_feeding_each_other(uow_factory, clock):
    inbox = inbox_with(uow_factory, clock, automations(
        rule("a", "tag_added", RemoveTags(("y",)), AddTags(("x",)), tag="y"),
        rule("b", "tag_added", RemoveTags(("x",)), AddTags(("y",)), tag="x"),
        max_depth=3))
    r = await inbox.receive(wa_msg())
    await inbox.add_tags(r.conversation_id, ["x"], SYS)  # depth 0: b, 1: a, 2: b, 3: a
    fired = await _fired(inbox, r.conversation_id)
    assert fired == ["b", "a", "b", "a"]
    details = await inbox.conversation(r.conversation_id)
    assert [a.detail for a in details.activity if a.action == "automation_depth_limit"] == [
        {"dropped": 2}]  # the last one's untag and tag


async def test_urgent_builtin_pings_each_time_the_tag_is_added(uow_factory, clock, outbox):
    inbox = inbox_with(uow_factory, clock, automations())
    r = await inbox.receive(wa_msg())
    await inbox.add_tags(r.conversation_id, ["urgent"], SYS)
    await inbox.add_tags(r.conversation_id, ["urgent"], SYS)  # already there: nothing
    await inbox.remove_tags(r.conversation_id, ["urgent"], SYS)
    await inbox.add_tags(r.conversation_id, ["urgent"], SYS)
    kinds = [row["kind"] for row in await outbox.rows(limit=500)]
    assert kinds.count("slack:notify") == 2
    off = inbox_with(uow_factory, clock, automations(builtin=False))
    r2 = await off.receive(wa_msg(sender="+34600000077"))
    await off.add_tags(r2.conversation_id, ["urgent"], SYS)
    assert [row["kind"] for row in await outbox.rows(limit=500)].count("slack:notify") == 2


async def test_staff_reply_snooze_and_wake_are_status_changes(uow_factory, clock):
    boot = inbox_with(uow_factory, clock, automations())
    ana, = await _staff(boot, ("Ana", Role.AGENT))
    inbox = inbox_with(uow_factory, clock, automations(
        rule("log", "status_changed", Note("status changed"))))
    r = await inbox.receive(wa_msg())
    await inbox.reply(r.conversation_id, "hola", Actor.agent(ana.id))  # open -> pending
    await inbox.snooze(r.conversation_id, SYS, until=T0 + H)
    clock.set(T0 + 2 * H)
    assert await inbox.wake_due_snoozes() == 1  # snoozed -> open
    await inbox.receive(wa_msg("gracias", at=T0 + 2 * H))  # already open: no change
    await inbox.resolve(r.conversation_id, SYS)
    await inbox.receive(wa_msg("una cosa más", at=T0 + 3 * H))  # resolved -> open
    details = await inbox.conversation(r.conversation_id)
    fired = [a.detail for a in details.activity if a.action == "rule_fired"]
    assert len(fired) == 5 and all(f["trigger"] == "status_changed" for f in fired)


async def test_undoing_a_reply_ignores_automatic_ones(uow_factory, clock):
    boot = inbox_with(uow_factory, clock, automations())
    ana, = await _staff(boot, ("Ana", Role.AGENT))
    await boot.upsert_template(Template("thanks", Channel_email(), "Thanks!"), SYS)
    inbox = inbox_with(uow_factory, clock, automations(
        rule("ack", "conversation_opened", Reply("thanks"))))
    r = await inbox.receive(email_msg("hello"))
    reply = await inbox.reply(r.conversation_id, "Looking", Actor.agent(ana.id),
                              delay=timedelta(seconds=30))
    await inbox.withdraw_reply(reply.id, Actor.agent(ana.id))
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.first_response_at is None and conv.status is Status.OPEN
