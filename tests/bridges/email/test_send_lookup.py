"""A send a crash left unknown is looked up in the Sent folder (real Dovecot, real SMTP).

Each test stops a send at one point (as kill -9 would) by running the bridge's own steps up
to there, then lets the outbox run the row again. Spanish subject and body on purpose: the
lookup searches by Message-ID and must not care how the rest is encoded.
"""

from __future__ import annotations

import asyncio
import socket
from email import policy
from email.parser import BytesParser

from bridges.email.compose import build_mail
from bridges.email.sent_copy import SENDING
from bridges.email.smtp_sender import send_mail
from core.model import Actor, DeliveryStatus
from tests.bridges.email.conftest import email_of

SUBJECT = "Envío retrasado — ¿cuándo llega mi pedido nº 7?"
BODY = ("Hola Carla:\n\nSu pedido sale mañana por la mañana. ¡Gracias por su paciencia!\n\n"
        "Un saludo,\nAtención al cliente")
CUSTOMER = "carla.gomez@customer.example"


def _mailbox(rt):
    return next(iter(email_of(rt).mailboxes.values()))


async def _queued(rt):
    _, message = await rt.inbox.start_conversation(
        "email", CUSTOMER, Actor.system(), body=BODY, subject=SUBJECT,
        recipient_name="Carla Gómez")
    return message


async def _interrupted(rt, message_id: int, upto: str) -> tuple[str, bytes]:
    """Begin a send and stop it after `upto`: "begun", "copy" (placed, before SMTP),
    "smtp" (accepted, copy not confirmed) or "confirmed". Returns (Message-ID, raw mail)."""
    ctx = await rt.inbox.begin_send(message_id)
    bridge = _mailbox(rt).bridge
    outgoing = await bridge.build_outgoing(ctx)
    msg = build_mail(outgoing, reply=False)
    raw, mid = msg.as_bytes(), outgoing.message_id
    if upto == "begun":
        return mid, raw
    placed = None
    if bridge.config.sent_copies == "own":
        placed = await asyncio.to_thread(bridge.sent.prepare, raw, outgoing.date, mid, None)
    if upto in ("smtp", "confirmed"):
        await asyncio.to_thread(send_mail, bridge.config, msg, [outgoing.to_address])
    if placed is not None:
        if upto == "confirmed":
            await asyncio.to_thread(bridge.sent.confirm, placed, mid, raw, outgoing.date, None)
        else:
            placed.drop()  # the process died here: nothing more reaches IMAP
    return mid, raw


def _sent_copies(dovecot, user, mid: str) -> list[tuple[object, set[bytes]]]:
    out = []
    for raw, flags in dovecot.fetch_all(user, "Sent"):
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        if parsed["Message-ID"] == mid:
            out.append((parsed, {f.lower() for f in flags}))
    return out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _due_again(rt) -> None:
    """Skip the backoff of a transient failure (the target works again)."""
    await rt.outbox.wake("send", rt.clock.now())


async def test_a_send_whose_copy_is_confirmed_in_sent_is_not_repeated(
        make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    message = await _queued(rt)
    mid, _ = await _interrupted(rt, message.id, "confirmed")
    assert len(smtp.messages) == 1  # the SMTP server took it; then the worker died
    await rt.dispatcher.drain()
    assert len(smtp.messages) == 1  # found in Sent: not sent again
    stored = await rt.inbox.message(message.id)
    assert stored.delivery_status is DeliveryStatus.SENT
    assert not stored.meta.get("maybe_sent_twice")
    assert (await rt.inbox.find_link("email", mid)).message_id == message.id
    (copy, flags), = _sent_copies(dovecot, mailbox_user, mid)
    assert copy["Subject"] == SUBJECT and b"\\seen" in flags
    assert copy.get_body(("plain",)).get_content().startswith("Hola Carla:")


async def test_a_send_that_never_reached_sent_goes_out_once(
        make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    message = await _queued(rt)
    mid, _ = await _interrupted(rt, message.id, "begun")  # died before the copy went in
    # A later mail in Sent that names ours in its threading headers is not its copy.
    dovecot.append(mailbox_user, (f"From: {mailbox_user}\r\nTo: {CUSTOMER}\r\n"
                                  f"Subject: Re: pedido\r\nMessage-ID: <later@acme.example>\r\n"
                                  f"In-Reply-To: {mid}\r\nReferences: {mid}\r\n\r\nOtro.\r\n"
                                  ).encode(), folder="Sent")
    await rt.dispatcher.drain()
    assert len(smtp.messages) == 1
    assert smtp.messages[0].parsed["Message-ID"] == mid
    assert smtp.messages[0].parsed["Subject"] == SUBJECT
    stored = await rt.inbox.message(message.id)
    assert stored.delivery_status is DeliveryStatus.SENT
    assert not stored.meta.get("maybe_sent_twice")  # no copy: SMTP was never reached
    (copy, flags), = _sent_copies(dovecot, mailbox_user, mid)
    assert SENDING.lower() not in flags


async def test_a_copy_still_marked_sending_cannot_tell_so_it_is_resent_marked(
        make_runtime, dovecot, mailbox_user, smtp):
    """The window between the SMTP accept and confirming the copy: the customer may well
    get it twice, and the message says so."""
    rt = await make_runtime()
    message = await _queued(rt)
    mid, _ = await _interrupted(rt, message.id, "smtp")
    (_, flags), = _sent_copies(dovecot, mailbox_user, mid)
    assert SENDING.lower() in flags
    await rt.dispatcher.drain()
    assert [m.parsed["Message-ID"] for m in smtp.messages] == [mid, mid]
    stored = await rt.inbox.message(message.id)
    assert stored.delivery_status is DeliveryStatus.SENT
    assert stored.meta.get("maybe_sent_twice") is True
    (_, flags), = _sent_copies(dovecot, mailbox_user, mid)  # reused, now confirmed
    assert SENDING.lower() not in flags


async def test_a_copy_placed_but_smtp_not_reached_is_also_marked(
        make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    message = await _queued(rt)
    mid, _ = await _interrupted(rt, message.id, "copy")
    assert smtp.messages == []
    await rt.dispatcher.drain()
    assert len(smtp.messages) == 1
    assert (await rt.inbox.message(message.id)).meta.get("maybe_sent_twice") is True
    assert len(_sent_copies(dovecot, mailbox_user, mid)) == 1


async def test_imap_down_during_the_lookup_waits_instead_of_resending(
        make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    message = await _queued(rt)
    config = _mailbox(rt).config
    mid, _ = await _interrupted(rt, message.id, "confirmed")
    port, config.imap_port = config.imap_port, _closed_port()
    await rt.dispatcher.drain()
    assert len(smtp.messages) == 1  # not resent on a guess
    stored = await rt.inbox.message(message.id)
    assert stored.delivery_status is DeliveryStatus.QUEUED
    assert "sending_since" in stored.meta  # still unknown: the next try asks again
    config.imap_port = port
    await _due_again(rt)
    await rt.dispatcher.drain()
    assert len(smtp.messages) == 1
    stored = await rt.inbox.message(message.id)
    assert stored.delivery_status is DeliveryStatus.SENT
    assert not stored.meta.get("maybe_sent_twice")


async def test_a_send_waits_for_imap_because_the_copy_goes_first(
        make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    message = await _queued(rt)
    config = _mailbox(rt).config
    port, config.imap_port = config.imap_port, _closed_port()
    await rt.dispatcher.drain()
    assert smtp.messages == []
    stored = await rt.inbox.message(message.id)
    assert stored.delivery_status is DeliveryStatus.QUEUED
    assert "sending_since" not in stored.meta  # it certainly did not go out
    config.imap_port = port
    await _due_again(rt)
    await rt.dispatcher.drain()
    assert len(smtp.messages) == 1
    assert (await rt.inbox.message(message.id)).delivery_status is DeliveryStatus.SENT


async def test_a_refused_send_leaves_no_copy_in_sent(make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    _, message = await rt.inbox.start_conversation(
        "email", "reject@customer.example", Actor.system(), body=BODY, subject=SUBJECT)
    await rt.dispatcher.drain()
    assert (await rt.inbox.message(message.id)).delivery_status is DeliveryStatus.FAILED
    assert dovecot.fetch_all(mailbox_user, "Sent") == []


async def test_where_the_provider_files_sent_mail_a_copy_proves_the_send(
        make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    config = _mailbox(rt).config
    config.sent_by_provider, config.sent_settle_seconds = True, 0.2  # as Gmail's SMTP does
    message = await _queued(rt)
    mid, raw = await _interrupted(rt, message.id, "smtp")
    dovecot.append(mailbox_user, raw, folder="Sent", flags=[b"\\Seen"])  # the provider's copy
    await rt.dispatcher.drain()
    assert len(smtp.messages) == 1
    stored = await rt.inbox.message(message.id)
    assert stored.delivery_status is DeliveryStatus.SENT
    assert not stored.meta.get("maybe_sent_twice")


async def test_where_the_provider_files_sent_mail_no_copy_means_not_sent(
        make_runtime, dovecot, mailbox_user, smtp):
    rt = await make_runtime()
    config = _mailbox(rt).config
    config.sent_by_provider, config.sent_settle_seconds = True, 0.2
    message = await _queued(rt)
    await _interrupted(rt, message.id, "begun")
    await rt.dispatcher.drain()
    assert len(smtp.messages) == 1
    stored = await rt.inbox.message(message.id)
    assert stored.delivery_status is DeliveryStatus.SENT
    assert not stored.meta.get("maybe_sent_twice")
    assert dovecot.fetch_all(mailbox_user, "Sent") == []  # the provider files it, not us


async def test_a_mail_taken_before_the_line_broke_is_resent_marked_not_silently(
        make_runtime, dovecot, mailbox_user, smtp):
    """The SMTP server kept the mail but the connection broke before its 250: the attempt
    stays unknown (the copy still says "sending"), so the retry cannot claim it was never
    sent: it goes again and the message is marked."""
    rt = await make_runtime()
    message = await _queued(rt)
    smtp.drop_next_answer = True
    await rt.dispatcher.run_once()  # one attempt (a drain could already run the retry)
    assert len(smtp.messages) == 1
    (_, flags), = _sent_copies(dovecot, mailbox_user, smtp.messages[0].parsed["Message-ID"])
    assert SENDING.lower() in flags
    await _due_again(rt)
    await rt.dispatcher.drain()
    assert len(smtp.messages) == 2
    stored = await rt.inbox.message(message.id)
    assert stored.delivery_status is DeliveryStatus.SENT
    assert stored.meta.get("maybe_sent_twice") is True
