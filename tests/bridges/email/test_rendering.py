"""Mail rendered as the customer wrote it: HTML as Slack text, no stray spaces before
punctuation, binary junk never posted as text, a missing MIME boundary still shows its
text — parsed alone and through real IMAP (Dovecot)."""

from __future__ import annotations

from bridges.email.parsing import JUNK_NOTE, parse_email
from tests.bridges.email.conftest import all_messages, eventually, start_sync


def raw_mail(headers: str, body: bytes, mid: str) -> bytes:
    return (f"From: Carla Gómez <carla@customer.example>\r\nTo: help@acme.example\r\n"
            f"Subject: Pedido 45821\r\nMessage-ID: <{mid}@customer.example>\r\n"
            f"MIME-Version: 1.0\r\n{headers}\r\n\r\n").encode() + body


MISSING_BOUNDARY = raw_mail('Content-Type: multipart/alternative; boundary="never-seen"',
                            b"Hola, el pedido 45821 no ha llegado.\r\n", "nb1")
JUNK = raw_mail("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit",
                bytes(range(256)) * 8, "junk1")
OUTLOOK_HTML = raw_mail(
    "Content-Type: text/html; charset=utf-8",
    (b'<html><body><p><span>Hola</span>\n<span>,</span> el <b>pedido</b>\n<span>.</span></p>'
     b'<ul><li>2 bisagras</li><li>4 tornillos</li></ul>'
     b'<p>Ver <a href="https://shop.example/o/45821">mi pedido</a> . Merci !</p>'
     b'</body></html>'), "html1")


def test_a_missing_boundary_still_shows_the_text():
    parsed = parse_email(MISSING_BOUNDARY)
    assert parsed.new_text == "Hola, el pedido 45821 no ha llegado."
    assert parsed.attachments == []


def test_binary_junk_is_kept_as_a_file_not_posted_as_text():
    parsed = parse_email(JUNK)
    assert parsed.new_text == JUNK_NOTE
    assert [a.filename for a in parsed.attachments] == ["unreadable-text-1.bin"]
    assert "\x00" not in parsed.new_text + parsed.full_text


def test_html_reads_as_slack_text_without_stray_spaces():
    text = parse_email(OUTLOOK_HTML).new_text
    assert "**" not in text and "](" not in text
    assert "Hola, el *pedido*." in text
    assert "• 2 bisagras\n• 4 tornillos" in text
    assert "mi pedido (https://shop.example/o/45821). Merci !" in text  # French "!" kept


async def test_through_imap_each_shape_is_stored_readable(make_runtime, dovecot, mailbox_user):
    rt = await make_runtime()
    await start_sync(rt)
    for raw in (MISSING_BOUNDARY, JUNK, OUTLOOK_HTML):
        dovecot.append(mailbox_user, raw.replace(b"help@acme.example", mailbox_user.encode()))

    async def three() -> bool:
        return len(await all_messages(rt)) == 3
    await eventually(three, "the three mails")
    bodies = {m.body for _, m in await all_messages(rt)}
    assert "Hola, el pedido 45821 no ha llegado." in bodies
    assert JUNK_NOTE in bodies
    assert any(b.startswith("Hola, el *pedido*.") for b in bodies)
    assert not any("\x00" in b or "\ufffd" in b for b in bodies)
