"""Auto-replies end to end: Dovecot in, the rules engine, SMTP out (RFC 3834 headers)."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

import pytest

from core.model import Actor, Status
from core.ports import ViewQuery
from tests.bridges.email.conftest import (
    customer_mail,
    email_of,
    email_settings,
    eventually,
    inbound_count,
    start_sync,
)
from threadline.config import parse_config
from threadline.runtime import Runtime

MADRID = ZoneInfo("Europe/Madrid")


def closed_today_config() -> dict:
    """Usual opening hours, but today (and tomorrow, should the test cross midnight) are
    holidays in Madrid: whatever the clock says, the team is not there."""
    today = datetime.now(MADRID).date()
    week = {day: ["09:00-18:00"] for day in ("monday", "tuesday", "wednesday", "thursday",
                                             "friday", "saturday", "sunday")}
    return {
        "timezone": "Europe/Madrid",
        "business_hours": {**week, "holidays": [str(today), str(today + timedelta(days=1))]},
        "templates": [{"name": "out_of_hours", "channel": "email",
                       "body": "Hi {{first_name}}, we are closed today. We answer from "
                               "09:00 tomorrow."}],
        "auto_replies": [{"name": "out of hours", "when": "outside_business_hours",
                          "channels": ["email"],
                          "template": "out_of_hours", "once_per": "12h"}],
    }


@pytest.fixture
async def runtime(db_url, engine, dovecot, mailbox_user, smtp, tmp_path):
    settings = email_settings(db_url, dovecot, mailbox_user, smtp.port, tmp_path / "files")
    rt = Runtime(settings, parse_config(closed_today_config()), engine=engine)
    for mailbox in email_of(rt).mailboxes.values():
        mailbox.config.wait_slice_seconds = 0.5
    assert await rt.leader.try_acquire()
    await rt.prepare()
    yield rt
    await rt.close()
    await rt.leader.release()


def out_of_office(to: str, in_reply_to: str) -> bytes:
    """What the customer's server sends back while they are away (RFC 3834)."""
    msg = EmailMessage()
    msg["From"] = "Dario Ruiz <dario@customer.example>"
    msg["To"] = to
    msg["Subject"] = "Automatic reply: Pedido 4411"
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = make_msgid("ooo", "customer.example")
    msg["In-Reply-To"] = in_reply_to
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content("Estoy fuera de la oficina hasta el lunes.")
    return msg.as_bytes()


async def _deliver(rt, dovecot, user, raw: bytes, expected_inbound: int) -> None:
    dovecot.append(user, raw)

    async def arrived() -> bool:
        return await inbound_count(rt) == expected_inbound
    await eventually(arrived, f"{expected_inbound} inbound mail(s)")
    await rt.dispatcher.drain()


async def test_one_auto_reply_per_window_and_none_to_automated_mail(
        runtime, dovecot, mailbox_user, smtp):
    await start_sync(runtime)
    first_id = "<pedido-4411@customer.example>"
    await _deliver(runtime, dovecot, mailbox_user, customer_mail(
        mailbox_user, subject="Pedido 4411", body="¿Cuándo llega mi pedido?",
        message_id=first_id), 1)
    assert len(smtp.messages) == 1
    sent = smtp.messages[0].parsed
    assert smtp.messages[0].rcpt_tos == ["carla@customer.example"]
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["X-Auto-Response-Suppress"] == "All"
    assert sent["In-Reply-To"] == first_id and sent["Subject"] == "Re: Pedido 4411"
    assert sent.get_body(("plain",)).get_content().startswith(
        "Hi Carla, we are closed today.")

    # the customer writes again within once_per (12 h): no second auto-reply
    await _deliver(runtime, dovecot, mailbox_user, customer_mail(
        mailbox_user, subject="Re: Pedido 4411", body="¿Hola?", in_reply_to=sent["Message-ID"],
        references=[first_id, sent["Message-ID"]]), 2)
    # another customer's server answers automatically: never answered
    await _deliver(runtime, dovecot, mailbox_user, out_of_office(mailbox_user, first_id), 3)
    assert len(smtp.messages) == 1


async def test_an_out_of_office_into_a_resolved_conversation_leaves_it_resolved(
        runtime, dovecot, mailbox_user, smtp):
    """Through real IMAP: the customer's server answers our reply automatically after the
    conversation was resolved; it is stored (marked automated) and reopens nothing."""
    await start_sync(runtime)
    first_id = "<pedido-5511@customer.example>"
    await _deliver(runtime, dovecot, mailbox_user, customer_mail(
        mailbox_user, subject="Pedido 5511", body="¿Cuándo llega?", message_id=first_id), 1)
    [conv] = await runtime.inbox.list_conversations(_all())
    await runtime.inbox.resolve(conv.id, Actor.system())
    await _deliver(runtime, dovecot, mailbox_user, out_of_office(mailbox_user, first_id), 2)
    details = await runtime.inbox.conversation(conv.id)
    assert details.conversation.status is Status.RESOLVED
    assert details.messages[-1].meta.get("automated") is True
    assert details.messages[-1].body.startswith("Estoy fuera de la oficina")


def _all() -> ViewQuery:
    return ViewQuery("all", include_resolved=True)
