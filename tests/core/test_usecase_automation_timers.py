"""Timer rules and auto-replies, through the real storage on SQLite and PostgreSQL."""

from datetime import timedelta

from core.automation.contract import AddTags, AutoReply, Notify, ReplyWhen
from core.model import Actor, Agent, Channel, MessageKind, Role, Status, Template
from tests.core.automation_helpers import automations, inbox_with, rule
from tests.core.conftest import T0, H, email_msg, wa_msg

SYS = Actor.system()
M = timedelta(minutes=1)
EVENING = T0 + 10 * H  # 20:00 in Madrid, a Monday: closed


def sla(after=30 * M, **conditions):
    return rule("first response SLA", "no_first_response", Notify(role=Role.MANAGER),
                AddTags(("sla-breached",)), after=after, **conditions)


async def _timers(uow_factory, conv_id):
    """(trigger, due time, status, outcome) of the timers that fell due."""
    async with uow_factory() as uow:
        return [(t.trigger, t.due_at, status, outcome)
                for t, status, outcome in await uow.timers.for_conversation(conv_id)]


async def _started(inbox, clock, at=T0):
    """A first scan: a rule counts from the first time the loop sees it."""
    clock.set(at)
    assert await inbox.fire_due_timers() == 0


async def test_no_first_response_fires_once_when_due(uow_factory, clock, outbox):
    inbox = inbox_with(uow_factory, clock, automations(sla()))
    await _started(inbox, clock)
    r = await inbox.receive(wa_msg(at=T0))
    clock.set(T0 + 29 * M)
    assert await inbox.fire_due_timers() == 0
    clock.set(T0 + 31 * M)
    assert await inbox.fire_due_timers() == 1
    assert await inbox.fire_due_timers() == 0  # fired once
    restarted = inbox_with(uow_factory, clock, automations(sla()))
    clock.set(T0 + 40 * M)
    assert await restarted.fire_due_timers() == 0
    assert await _timers(uow_factory, r.conversation_id) == [
        ("no_first_response", T0 + 30 * M, "fired", "fired")]
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.tags == ["sla-breached"]
    kinds = [row["kind"] for row in await outbox.rows(limit=500)]
    assert kinds.count("slack:notify") == 1
    lines = [m.body for m in await inbox.thread(conv.id) if m.kind is MessageKind.SYSTEM]
    assert lines == ["⚙️ first response SLA: notified the managers, tagged sla-breached"]


async def test_a_staff_reply_in_time_skips_the_timer(uow_factory, clock):
    boot = inbox_with(uow_factory, clock, automations())
    ana = await boot.upsert_agent(Agent("Ana", "ana@shop.test"), SYS)
    inbox = inbox_with(uow_factory, clock, automations(sla()))
    await _started(inbox, clock)
    r = await inbox.receive(wa_msg(at=T0))
    clock.set(T0 + 5 * M)
    await inbox.reply(r.conversation_id, "on it", Actor.agent(ana.id))
    clock.set(T0 + H)
    assert await inbox.fire_due_timers() == 0
    assert await _timers(uow_factory, r.conversation_id) == []  # nobody was waiting
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.tags == []


async def test_no_reply_is_rescheduled_by_each_customer_message(uow_factory, clock):
    boot = inbox_with(uow_factory, clock, automations())
    ana = await boot.upsert_agent(Agent("Ana", "ana@shop.test"), SYS)
    inbox = inbox_with(uow_factory, clock, automations(
        rule("chase", "no_reply", AddTags(("waiting",)), after=H)))
    await _started(inbox, clock, T0 - 2 * H)
    r = await inbox.receive(wa_msg(at=T0))
    clock.set(T0 + 10 * M)
    await inbox.reply(r.conversation_id, "checking", Actor.agent(ana.id))
    clock.set(T0 + 20 * M)
    await inbox.receive(wa_msg("¿y?", at=T0 + 20 * M))
    clock.set(T0 + 70 * M)  # an hour after the first message, but it was answered
    assert await inbox.fire_due_timers() == 0
    clock.set(T0 + 81 * M)
    assert await inbox.fire_due_timers() == 1
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.tags == ["waiting"]
    assert await _timers(uow_factory, r.conversation_id) == [
        ("no_reply", T0 + 80 * M, "fired", "fired")]


async def test_timers_skip_resolved_conversations_and_check_conditions_when_due(
        uow_factory, clock):
    inbox = inbox_with(uow_factory, clock, automations(sla(after=H, business_hours=True)))
    await _started(inbox, clock)
    resolved = await inbox.receive(wa_msg(at=T0, sender="+34600000001"))
    await inbox.resolve(resolved.conversation_id, SYS)
    late = await inbox.receive(wa_msg(at=EVENING - 30 * M, sender="+34600000002"))
    clock.set(EVENING + H)  # both due; the second falls due after closing time
    assert await inbox.fire_due_timers() == 0
    for r in (resolved, late):
        assert (await inbox.conversation(r.conversation_id)).conversation.tags == []
    assert await _timers(uow_factory, resolved.conversation_id) == []
    assert await _timers(uow_factory, late.conversation_id) == [
        ("no_first_response", EVENING + 30 * M, "skipped", "its conditions did not hold")]


async def test_automated_mail_starts_no_timer_and_a_removed_rule_never_fires(
        uow_factory, clock):
    inbox = inbox_with(uow_factory, clock, automations(sla()))
    await _started(inbox, clock)
    bounce = await inbox.receive(email_msg("Delivery failed", automated=True))
    r = await inbox.receive(wa_msg(at=T0))
    later = inbox_with(uow_factory, clock, automations())  # restarted without the rule
    clock.set(T0 + 2 * H)
    assert await later.fire_due_timers() == 0
    assert await _timers(uow_factory, r.conversation_id) == []
    assert await inbox.fire_due_timers() == 1  # the rule back: only r; a bounce waits on nobody
    assert await _timers(uow_factory, bounce.conversation_id) == []
    assert (await inbox.conversation(r.conversation_id)).conversation.tags == ["sla-breached"]


# -- auto-replies ------------------------------------------------------------------------

OUT_OF_HOURS = AutoReply("out of hours", "out_of_hours", once_per=12 * H)


async def _with_templates(uow_factory, clock, *replies):
    inbox = inbox_with(uow_factory, clock, automations(auto_replies=replies))
    await inbox.upsert_template(Template(
        "out_of_hours", Channel.EMAIL, "Hi {{first_name}}, we are closed until 09:00."), SYS)
    await inbox.upsert_template(Template(
        "out_of_hours", Channel.WHATSAPP, "Cerrado, {{name}}", ["name"],
        provider_name="closed_v1", language="es"), SYS)
    return inbox


async def _auto_replies(inbox, conv_id):
    return [m for m in await inbox.thread(conv_id) if m.leaves_inbox]


async def test_out_of_hours_auto_reply_once_per_window(uow_factory, clock):
    inbox = await _with_templates(uow_factory, clock, OUT_OF_HOURS)
    clock.set(EVENING)
    r = await inbox.receive(email_msg("Where is my order?", at=EVENING))
    [sent] = await _auto_replies(inbox, r.conversation_id)
    assert sent.body == "Hi Ana, we are closed until 09:00."
    assert sent.meta == {"automatic": "out of hours", "auto_reply": True}
    assert sent.author == Actor.automation("out of hours")
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.status is Status.OPEN and conv.first_response_at is None  # still owed
    clock.set(EVENING + H)
    await inbox.receive(email_msg("Hello??", at=EVENING + H, in_reply_to=None,
                                  subject="Re: Order question"))
    assert len(await _auto_replies(inbox, r.conversation_id)) == 1  # within once_per
    clock.set(EVENING + 13 * H)  # Tuesday 09:00: open again
    await inbox.receive(email_msg("again", at=EVENING + 13 * H, subject="Re: Order question"))
    assert len(await _auto_replies(inbox, r.conversation_id)) == 1
    clock.set(EVENING + 24 * H)  # Tuesday evening, 24 h after the first one
    await inbox.receive(email_msg("again", at=EVENING + 24 * H, subject="Re: Order question"))
    assert len(await _auto_replies(inbox, r.conversation_id)) == 2


async def test_no_auto_reply_to_automated_own_old_or_inside_hours(uow_factory, clock):
    inbox = await _with_templates(uow_factory, clock, OUT_OF_HOURS)
    clock.set(EVENING)
    cases = [
        email_msg("Out of office", sender="a@example.com", at=EVENING, automated=True),
        email_msg("loop", sender="help@shop.test", at=EVENING),  # our own account
        email_msg("from last week", sender="b@example.com", at=EVENING - 48 * H),
        email_msg("in hours", sender="c@example.com", at=T0),
    ]
    for msg in cases:
        r = await inbox.receive(msg)
        assert await _auto_replies(inbox, r.conversation_id) == [], msg.body


async def test_whatsapp_auto_reply_filters(uow_factory, clock):
    email_only = AutoReply("mail", "out_of_hours", channels=frozenset({Channel.EMAIL}))
    wa_always = AutoReply("wa", "out_of_hours", when=ReplyWhen.ALWAYS,
                          channels=frozenset({Channel.WHATSAPP}), accounts=frozenset({"wa"}))
    inbox = await _with_templates(uow_factory, clock, email_only, wa_always)
    r = await inbox.receive(wa_msg("hola", at=T0))
    [sent] = await _auto_replies(inbox, r.conversation_id)
    assert (sent.template_name, sent.template_values["name"]) == ("out_of_hours", "Ana")
    assert sent.meta["automatic"] == "wa"
    system = await inbox.receive(wa_msg("[WhatsApp] number changed", sender="+34600000005",
                                        at=T0, meta={"type": "system"}))
    assert await _auto_replies(inbox, system.conversation_id) == []


async def test_missing_template_is_reported_in_the_thread(uow_factory, clock):
    reply = AutoReply("ack", "nope", when=ReplyWhen.ALWAYS)
    inbox = inbox_with(uow_factory, clock, automations(auto_replies=(reply,)))
    r = await inbox.receive(email_msg("hello"))
    lines = [m.body for m in await inbox.thread(r.conversation_id)
             if m.kind is MessageKind.SYSTEM]
    assert lines == ["⚙️ ack: auto-reply not sent: email template 'nope' does not exist"]


async def test_one_delivery_of_two_messages_gets_one_auto_reply(uow_factory, clock):
    inbox = await _with_templates(uow_factory, clock, OUT_OF_HOURS)
    clock.set(EVENING)
    results = await inbox.receive_many([wa_msg("hola", at=EVENING),
                                        wa_msg("¿hay alguien?", at=EVENING)])
    assert results[0].conversation_id == results[1].conversation_id
    assert len(await _auto_replies(inbox, results[0].conversation_id)) == 1


async def test_an_account_that_cannot_send_gets_a_line_not_a_stuck_reply(uow_factory, clock):
    from core.usecases import Inbox
    from tests.core.automation_helpers import MADRID, automations
    from tests.core.conftest import ACCOUNTS

    reply = AutoReply("ack", "out_of_hours", when=ReplyWhen.ALWAYS)
    inbox = Inbox(uow_factory, clock, ACCOUNTS, MADRID, frontends=("slack",),
                  can_send=lambda provider: False, automations=automations(auto_replies=(reply,)))
    await inbox.upsert_template(Template("out_of_hours", Channel.EMAIL, "closed"), SYS)
    r = await inbox.receive(email_msg("hello"))
    thread = await inbox.thread(r.conversation_id)
    assert not [m for m in thread if m.leaves_inbox]
    [line] = [m.body for m in thread if m.kind is MessageKind.SYSTEM]
    assert line.startswith("⚙️ ack: auto-reply not sent: ") and "email" in line
