from datetime import timedelta

import pytest

from core.errors import (
    InvalidInput,
    NotFound,
    TemplateRequired,
    TemplateVariablesMissing,
    WhatsAppWindowClosed,
)
from core.model import Actor, Agent, Channel, DeliveryStatus, MessageKind, Status, Template
from tests.core.conftest import T0, H, email_msg, wa_msg

ANA = Actor.system()


@pytest.fixture
async def agent(inbox):
    return await inbox.upsert_agent(Agent("Ana", "ana@shop.test", slack_user_id="U1"), ANA)


@pytest.fixture
async def templates(inbox):
    await inbox.upsert_template(
        Template(
            "order_update",
            Channel.WHATSAPP,
            "Hola {{name}}, tu pedido {{order}} salió",
            provider_name="order_update",
            language="es",
        ),
        ANA,
    )
    await inbox.upsert_template(Template("thanks", Channel.EMAIL, "Thanks {{name}}!"), ANA)


async def send_rows(outbox):
    return [r for r in await outbox.rows() if r["kind"].startswith("send:")]


async def test_reply_queues_a_send_and_marks_pending(inbox, outbox, agent, clock):
    r = await inbox.receive(wa_msg())
    clock.advance(timedelta(minutes=30))
    msg = await inbox.reply(
        r.conversation_id, "¡Hola!", Actor.agent(agent.id), delay=timedelta(seconds=10)
    )
    assert msg.delivery_status is DeliveryStatus.QUEUED and msg.leaves_inbox
    (send,) = await send_rows(outbox)
    assert send["kind"] == "send:whatsapp_cloud"
    assert send["payload"] == {"conversation_id": r.conversation_id, "message_id": msg.id}
    assert send["available_at"] - T0 == timedelta(minutes=30, seconds=10)  # undo window
    conv = (await inbox.conversation(r.conversation_id)).conversation
    assert conv.status is Status.PENDING
    assert conv.first_response_at == T0 + timedelta(minutes=30)


async def test_free_form_whatsapp_outside_24h_is_refused_without_writes(inbox, outbox, clock):
    r = await inbox.receive(wa_msg())
    before = await outbox.rows()
    clock.advance(25 * H)
    with pytest.raises(WhatsAppWindowClosed, match="send an approved template"):
        await inbox.reply(r.conversation_id, "late", ANA)
    assert await outbox.rows() == before
    assert len(await inbox.thread(r.conversation_id)) == 1


async def test_template_outside_window_with_variables(inbox, outbox, clock, templates):
    r = await inbox.receive(wa_msg())
    clock.advance(30 * H)
    with pytest.raises(TemplateVariablesMissing, match="order"):
        await inbox.send_template(r.conversation_id, "order_update", {"name": "Ana"}, ANA)
    with pytest.raises(NotFound, match="template 'nope'"):
        await inbox.send_template(r.conversation_id, "nope", {}, ANA)
    msg = await inbox.send_template(
        r.conversation_id, "order_update", {"name": "Ana", "order": "A-7"}, ANA
    )
    assert msg.body == "Hola Ana, tu pedido A-7 salió"
    assert msg.template_name == "order_update"
    assert msg.template_values == {"name": "Ana", "order": "A-7"}
    assert len(await send_rows(outbox)) == 1


async def test_note_never_reaches_the_channel(inbox, outbox):
    r = await inbox.receive(email_msg())
    note = await inbox.add_note(r.conversation_id, "VIP customer", ANA)
    assert note.kind is MessageKind.NOTE and not note.leaves_inbox
    assert await send_rows(outbox) == []
    with pytest.raises(NotFound, match="conversation 999"):
        await inbox.add_note(999, "lost", ANA)
    with pytest.raises(InvalidInput):
        await inbox.add_note(r.conversation_id, "  ", ANA)


async def test_reply_to_missing_conversation_and_empty_reply(inbox):
    with pytest.raises(NotFound):
        await inbox.reply(12345, "hi", ANA)
    r = await inbox.receive(email_msg())
    with pytest.raises(InvalidInput, match="text or an attachment"):
        await inbox.reply(r.conversation_id, " ", ANA)


async def test_new_whatsapp_conversation_must_start_with_a_template(inbox, outbox, templates):
    with pytest.raises(TemplateRequired):
        await inbox.start_conversation("wa", "+34600111333", ANA, body="hi")
    with pytest.raises(InvalidInput, match="E.164"):
        await inbox.start_conversation("wa", "12", ANA, template_name="order_update")
    conv, msg = await inbox.start_conversation(
        "wa",
        "+34 600 111 333",
        ANA,
        template_name="order_update",
        values={"name": "Luis", "order": "B-1"},
    )
    assert conv.status is Status.PENDING and msg.body.startswith("Hola Luis")
    assert [r["kind"] for r in await outbox.rows()] == [
        "slack:conversation_opened",
        "send:whatsapp_cloud",
        "slack:message_added",
    ]


async def test_new_email_conversation(inbox):
    conv, msg = await inbox.start_conversation(
        "mail", "Luis@Example.com", ANA, subject="Your quote", body="Attached."
    )
    details = await inbox.conversation(conv.id)
    assert details.contact.address == "luis@example.com"
    assert details.conversation.subject == "Your quote"


async def test_delivery_status_is_monotone_and_failed_keeps_the_error(inbox):
    r = await inbox.receive(wa_msg())
    m1 = await inbox.reply(r.conversation_id, "one", ANA)
    await inbox.mark_sent(m1.id, "whatsapp_cloud", "wamid.out1")
    assert await inbox.record_delivery_by_provider_id(
        "whatsapp_cloud", "wamid.out1", DeliveryStatus.READ
    )
    assert not await inbox.record_delivery_by_provider_id(
        "whatsapp_cloud", "wamid.out1", DeliveryStatus.DELIVERED
    )
    m2 = await inbox.reply(r.conversation_id, "two", ANA)
    await inbox.record_delivery(m2.id, DeliveryStatus.FAILED, "131026", "Message undeliverable")
    thread = {m.id: m for m in await inbox.thread(r.conversation_id)}
    assert thread[m1.id].delivery_status is DeliveryStatus.READ
    assert thread[m2.id].delivery_status is DeliveryStatus.FAILED
    assert (thread[m2.id].error_code, thread[m2.id].error_text) == (
        "131026",
        "Message undeliverable",
    )



async def test_report_before_the_send_is_recorded_is_applied_by_mark_sent(inbox):
    r = await inbox.receive(wa_msg())
    m = await inbox.reply(r.conversation_id, "fast", ANA)
    early = inbox.record_delivery_by_provider_id
    assert not await early("whatsapp_cloud", "wamid.fast", DeliveryStatus.DELIVERED)
    assert not await early("whatsapp_cloud", "wamid.fast", DeliveryStatus.DELIVERED)  # again
    await inbox.mark_sent(m.id, "whatsapp_cloud", "wamid.fast")
    (sent,) = [x for x in await inbox.thread(r.conversation_id) if x.id == m.id]
    assert sent.delivery_status is DeliveryStatus.DELIVERED
    assert await early("whatsapp_cloud", "wamid.fast", DeliveryStatus.READ)


async def test_outbound_context_for_an_email_reply(inbox):
    root = await inbox.receive(email_msg(mid="<root@x>"))
    await inbox.receive(email_msg(mid="<r1@x>", in_reply_to="<root@x>"))
    m = await inbox.reply(root.conversation_id, "Thanks", ANA)
    ctx = await inbox.outbound_context(m.id)
    assert ctx.still_queued and ctx.account.id == "mail"
    assert ctx.contact.address == "ana@example.com"
    assert ctx.thread_ids == ["<root@x>", "<r1@x>"]
    await inbox.mark_sent(m.id, "email", "<out1@shop.test>")
    assert not (await inbox.outbound_context(m.id)).still_queued
    note = await inbox.add_note(root.conversation_id, "internal", ANA)
    assert not (await inbox.outbound_context(note.id)).still_queued
    with pytest.raises(NotFound):
        await inbox.outbound_context(9999)


async def test_sync_state_round_trip(inbox):
    assert await inbox.load_sync_state("mail", "INBOX") is None
    await inbox.save_sync_state("mail", "INBOX", {"uidvalidity": 7, "last_uid": 40})
    await inbox.save_sync_state("mail", "INBOX", {"uidvalidity": 7, "last_uid": 41})
    assert await inbox.load_sync_state("mail", "INBOX") == {"uidvalidity": 7, "last_uid": 41}
