"""Both ways through real servers: Dovecot in, aiosmtpd out, the core in between."""

from __future__ import annotations

from core.model import Actor, Agent, DeliveryStatus, Status
from tests.bridges.email.conftest import (
    all_messages,
    customer_mail,
    eventually,
    inbound_count,
    start_sync,
)

PDF = b"%PDF-1.4\n% a tiny pdf\n%%EOF\n"


async def _first_conversation(rt, dovecot, user, raw: bytes):
    dovecot.append(user, raw)
    await eventually(lambda: _count_is(rt, 1), "the customer's mail")
    (conv, message), = await all_messages(rt)
    return conv, message


async def test_reply_threading_both_ways(make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    await start_sync(rt)
    first = customer_mail(mailbox_user, message_id="<first-1@customer.example>")
    conv, inbound = await _first_conversation(rt, dovecot, mailbox_user, first)
    assert inbound.subject == "Where is my parcel?" and conv.status is Status.OPEN

    reply = await rt.inbox.reply(conv.id, "It ships tomorrow.\n\nSee https://acme.example/t/1",
                                 Actor.system())
    assert await rt.dispatcher.run_once() == 1
    sent = smtp.messages[-1].parsed
    assert sent["In-Reply-To"] == "<first-1@customer.example>"
    assert sent["References"] == "<first-1@customer.example>"
    assert sent["Subject"] == "Re: Where is my parcel?"
    assert sent["From"].addresses[0].display_name == "Acme Support"
    assert sent["From"].addresses[0].addr_spec == mailbox_user
    assert smtp.messages[-1].rcpt_tos == ["carla@customer.example"]
    assert smtp.messages[-1].login == "smtp-user"  # AUTH with the SMTP credentials
    assert sent.get_body(("plain",)).get_content().startswith("It ships tomorrow.")
    assert '<a href="https://acme.example/t/1">' in sent.get_body(("html",)).get_content()
    assert sent["Auto-Submitted"] is None  # a person wrote it
    our_id = sent["Message-ID"]
    assert (await rt.inbox.message(reply.id)).delivery_status is DeliveryStatus.SENT
    # A copy of the reply went to the Sent folder, already read.
    copies = dovecot.fetch_all(mailbox_user, "Sent")
    assert len(copies) == 1 and b"\\Seen" in copies[0][1]
    assert our_id.encode() in copies[0][0]

    await rt.inbox.resolve(conv.id, Actor.system())
    answer = customer_mail(mailbox_user, subject="Re: Where is my parcel?",
                           body="Great, thanks!\n\nOn Mon, Acme wrote:\n> It ships tomorrow.",
                           in_reply_to=our_id, references=["<first-1@customer.example>", our_id])
    dovecot.append(mailbox_user, answer)
    await eventually(lambda: _count_is(rt, 2), "the customer's answer")
    messages = await rt.inbox.thread(conv.id)
    assert [m.body for m in messages if m.direction.value == "in"] == [
        inbound.body, "Great, thanks!"]
    assert (await rt.inbox.conversation(conv.id)).conversation.status is Status.OPEN  # reopened

    # The second reply names the whole chain, oldest first.
    await rt.inbox.reply(conv.id, "You're welcome.", Actor.system())
    await rt.dispatcher.run_once()
    second = smtp.messages[-1].parsed
    assert second["Subject"] == "Re: Where is my parcel?"
    chain = second["References"].split()
    assert chain[:2] == ["<first-1@customer.example>", our_id]
    assert second["In-Reply-To"] == chain[-1]


async def test_attachments_both_ways(make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    await start_sync(rt)
    raw = customer_mail(mailbox_user, attachments=[("recibo nº 7.pdf", "application/pdf", PDF)])
    conv, inbound = await _first_conversation(rt, dovecot, mailbox_user, raw)
    (attachment,) = inbound.attachments
    assert attachment.filename == "recibo nº 7.pdf" and attachment.size == len(PDF)
    assert await rt.files.get(attachment.storage_key) == PDF

    key = await rt.files.put(b"label bytes", "etiqueta envío.png", "image/png")
    from core.model import Attachment

    await rt.inbox.reply(conv.id, "Here is the label.", Actor.system(),
                         attachments=[Attachment("etiqueta envío.png", "image/png", 11, key)])
    await rt.dispatcher.run_once()
    sent = smtp.messages[-1].parsed
    (part,) = list(sent.iter_attachments())
    assert part.get_filename() == "etiqueta envío.png"
    assert part.get_content() == b"label bytes"


async def test_new_conversation_mail_has_no_reply_headers(make_runtime, smtp):
    rt = await make_runtime()
    conv, message = await rt.inbox.start_conversation(
        "email", "new.customer@customer.example", Actor.system(), body="Your quote is ready.",
        subject="Quote 2025-114")
    await rt.dispatcher.run_once()
    sent = smtp.messages[-1].parsed
    assert sent["Subject"] == "Quote 2025-114"
    assert sent["In-Reply-To"] is None and sent["References"] is None
    assert (await rt.inbox.message(message.id)).delivery_status is DeliveryStatus.SENT


async def test_smtp_rejection_is_a_visible_permanent_failure(make_runtime, smtp):
    rt = await make_runtime()
    _, message = await rt.inbox.start_conversation(
        "email", "reject@customer.example", Actor.system(), body="Hello", subject="Hi")
    await rt.dispatcher.run_once()
    failed = await rt.inbox.message(message.id)
    assert failed.delivery_status is DeliveryStatus.FAILED
    assert failed.error_code == "550" and "no such user" in failed.error_text
    assert smtp.messages == []


async def test_bounce_marks_our_message_failed_and_lands_in_its_thread(
        make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    await start_sync(rt)
    conv, message = await rt.inbox.start_conversation(
        "email", "gone@customer.example", Actor.system(), body="Hello", subject="Hi")
    await rt.dispatcher.run_once()
    our_id = smtp.messages[-1].parsed["Message-ID"]
    dsn = (_BOUNCE.replace("{OUR_ID}", our_id).replace("{TO}", mailbox_user)).encode()
    dovecot.append(mailbox_user, dsn)
    await eventually(lambda: _count_is(rt, 1), "the bounce")
    bounced = await rt.inbox.message(message.id)
    assert bounced.delivery_status is DeliveryStatus.FAILED
    assert bounced.error_code == "5.1.1" and "User unknown" in bounced.error_text
    thread = await rt.inbox.thread(conv.id)
    report = [m for m in thread if m.direction.value == "in"]
    assert len(report) == 1 and report[0].meta["automated"] is True


async def _count_is(rt, expected: int) -> bool:
    return await inbound_count(rt) == expected


_BOUNCE = """\
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.acme.example>
To: {TO}
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-of-ours@mx.acme.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.acme.example

Final-Recipient: rfc822; gone@customer.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--b1
Content-Type: text/rfc822-headers

From: Acme Support <{TO}>
To: gone@customer.example
Subject: Hi
Message-ID: {OUR_ID}

--b1--
"""


async def test_from_shows_the_agent_at_the_account_when_configured(make_runtime, dovecot,
                                                                     mailbox_user, smtp):
    rt = await make_runtime(EMAIL_FROM_STYLE="agent")
    await start_sync(rt)
    conv, _ = await _first_conversation(rt, dovecot, mailbox_user, customer_mail(
        mailbox_user, message_id="<from-1@customer.example>"))
    ana = await rt.inbox.upsert_agent(Agent("Ana Ruiz", "ana@acme.example"), Actor.system())
    await rt.inbox.reply(conv.id, "Sale mañana.", Actor.agent(ana.id))
    await rt.dispatcher.run_once()
    sender = smtp.messages[-1].parsed["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Ana Ruiz at Acme Support", mailbox_user)
    # Not a person: the account's name alone.
    await rt.inbox.reply(conv.id, "Automatic update", Actor.system())
    await rt.dispatcher.run_once()
    assert smtp.messages[-1].parsed["From"].addresses[0].display_name == "Acme Support"


async def test_without_a_name_the_from_is_the_bare_address_never_email(make_runtime, dovecot,
                                                                        mailbox_user, smtp):
    rt = await make_runtime(EMAIL_FROM_NAME=None)
    await start_sync(rt)
    conv, _ = await _first_conversation(rt, dovecot, mailbox_user, customer_mail(
        mailbox_user, message_id="<from-2@customer.example>"))
    await rt.inbox.reply(conv.id, "Hola", Actor.system())
    await rt.dispatcher.run_once()
    raw_from = smtp.messages[-1].parsed["From"]
    assert raw_from.addresses[0].display_name == "" and "Email" not in str(raw_from)
    assert raw_from.addresses[0].addr_spec == mailbox_user


def _with_cc(raw: bytes, cc: str) -> bytes:
    head, sep, rest = raw.partition(b"\n")
    return head + sep + f"Cc: {cc}\n".encode() + rest


async def test_a_colleague_in_cc_answers_under_their_own_name_and_stays_copied(
        make_runtime, dovecot, mailbox_user, smtp):
    """Reply-all over real IMAP and SMTP: Carla writes with her colleague Luis in Cc; our
    reply copies Luis; Luis answers himself and is its author (a contact of his own); the
    next reply goes To Carla, the conversation's contact, and Cc Luis again."""
    rt = await make_runtime()
    await start_sync(rt)
    first = _with_cc(customer_mail(mailbox_user, message_id="<cc-1@customer.example>"),
                     "Luis Pardo <luis@customer.example>, " + mailbox_user)
    conv, _ = await _first_conversation(rt, dovecot, mailbox_user, first)
    await rt.inbox.reply(conv.id, "Mañana sale.", Actor.system())
    await rt.dispatcher.run_once()
    sent = smtp.messages[-1]
    assert [a.addr_spec for a in sent.parsed["Cc"].addresses] == ["luis@customer.example"]
    assert sorted(sent.rcpt_tos) == ["carla@customer.example", "luis@customer.example"]

    luis = customer_mail(mailbox_user, subject="Re: Where is my parcel?",
                         sender="Luis Pardo <luis@customer.example>", body="Gracias, Luis.",
                         in_reply_to=sent.parsed["Message-ID"],
                         references=["<cc-1@customer.example>", sent.parsed["Message-ID"]])
    dovecot.append(mailbox_user, luis)
    await eventually(lambda: _count_is(rt, 2), "Luis's answer")
    details = await rt.inbox.conversation(conv.id)
    answer = [m for m in details.messages if m.body == "Gracias, Luis."][0]
    authors = await rt.inbox.contacts([answer.author.id])
    assert authors[answer.author.id].address == "luis@customer.example"
    assert details.contact.address == "carla@customer.example"  # still Carla's conversation
    others = (await rt.inbox.conversation_summary(conv.id)).participants
    assert [c.address for c in others] == ["luis@customer.example"]  # a contact of it now

    await rt.inbox.reply(conv.id, "De nada.", Actor.system())
    await rt.dispatcher.run_once()
    again = smtp.messages[-1].parsed
    assert again["To"].addresses[0].addr_spec == "carla@customer.example"
    assert [a.addr_spec for a in again["Cc"].addresses] == ["luis@customer.example"]


async def test_reply_all_can_be_turned_off(make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime(EMAIL_REPLY_ALL=False)
    await start_sync(rt)
    first = _with_cc(customer_mail(mailbox_user, message_id="<cc-2@customer.example>"),
                     "luis@customer.example")
    conv, _ = await _first_conversation(rt, dovecot, mailbox_user, first)
    await rt.inbox.reply(conv.id, "Ok", Actor.system())
    await rt.dispatcher.run_once()
    assert smtp.messages[-1].parsed["Cc"] is None
    assert smtp.messages[-1].rcpt_tos == ["carla@customer.example"]
