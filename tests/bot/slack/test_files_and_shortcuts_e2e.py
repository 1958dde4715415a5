"""Attachments both ways, long messages, message shortcuts."""

import json

from core.model import Attachment, Status
from tests.bot.slack.harness import ANA, INBOX
from threadline.integrations._sending import send_handlers


async def test_customer_attachment_is_uploaded_into_the_thread(h):
    key = await h.runtime.files.put(b"%PDF-1.7 factura", "factura año.pdf", "application/pdf")
    r = await h.customer_writes("adjunto la factura", attachments=[
        Attachment("factura año.pdf", "application/pdf", 16, key),
        Attachment("video.mp4", "video/mp4", 90_000_000, None)])  # too large: not stored
    card = h.card(r.conversation_id)
    (upload,) = h.slack.uploads_in(INBOX, card.ts)
    assert upload.content == b"%PDF-1.7 factura" and upload.name == "factura año.pdf"
    (reply,) = h.slack.thread_replies(INBOX, card.ts)  # the file and its text: one post
    assert [f.id for f in reply.files] == [upload.id]
    shown = json.dumps(reply.blocks, ensure_ascii=False)
    assert "*Lucía*" in shown and "adjunto la factura" in shown  # who sent it, with what
    assert "video.mp4" in shown  # said, not lost
    await h.drain()  # a retry of the row does not upload twice
    assert len(h.slack.uploads_in(INBOX, card.ts)) == 1


async def test_staff_file_travels_to_the_customer(h):
    got = []

    async def send(ctx):
        got.append([(a.filename, await h.runtime.files.get(a.storage_key))
                    for a in ctx.message.attachments])
        return "wamid.file"

    h.runtime.dispatcher.register("send:whatsapp_cloud", *send_handlers(
        h.inbox, "whatsapp_cloud", send))
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    shared = h.slack.add_file(b"\x89PNG map", "mapa.png", mimetype="image/png", user=ANA)
    event = h.req.message_event(INBOX, "aquí el mapa", user=ANA, thread_ts=card.ts,
                                files=[shared.to_api()])
    await h.post(h.req.event(event))

    async def queued():
        return any(m.attachments for m in await h.inbox.thread(r.conversation_id))

    await h.wait(queued)
    h.advance(11)
    await h.drain()
    assert got == [[("mapa.png", b"\x89PNG map")]]


async def test_long_email_is_truncated_with_show_full(h):
    from core.inbound import InboundMessage
    from core.model import Channel

    body = "\n\n".join(f"Párrafo {n}: " + "texto " * 150 for n in range(40))
    r = await h.runtime.receive(InboundMessage(
        channel=Channel.EMAIL, account="mail", provider="email", provider_message_id="<l@x>",
        sender="ana@example.com", body=body, subject="Contrato", received_at=h.clock.now()))
    await h.drain()
    card = h.card(r.conversation_id)
    (reply,) = h.slack.thread_replies(INBOX, card.ts)
    blocks = json.dumps(reply.blocks, ensure_ascii=False)
    assert "tl_show_full" in blocks and "Párrafo 39" not in blocks
    (message,) = await h.inbox.thread(r.conversation_id)
    await h.post(h.req.block_actions(h.req.action("tl_show_full", value=str(message.id)),
                                     user=ANA, channel=INBOX, message_ts=reply.ts))
    (opened,) = await h.wait(lambda: h.slack.calls("views.open"))
    assert "Párrafo 10" in json.dumps(opened.args["view"], ensure_ascii=False)


async def test_message_shortcuts_on_a_thread_message(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    (reply,) = h.slack.thread_replies(INBOX, card.ts)
    message = {"type": "message", "ts": reply.ts, "thread_ts": card.ts, "text": ""}
    await h.post(h.req.interactive(h.req.message_action_payload(
        "tl_shortcut_resolve", user=ANA, channel=INBOX, message=message)))

    async def resolved():
        conv = (await h.inbox.conversation(r.conversation_id)).conversation
        return conv.status is Status.RESOLVED

    await h.wait(resolved)
    await h.post(h.req.interactive(h.req.message_action_payload(
        "tl_shortcut_note", user=ANA, channel=INBOX, message=message)))
    (opened,) = await h.wait(lambda: h.slack.calls("views.open"))
    assert opened.args["view"]["callback_id"] == "tl_note_modal"
    await h.post(h.req.interactive(h.req.message_action_payload(
        "tl_shortcut_assign_me", user=ANA, channel=INBOX,
        message={"type": "message", "ts": "1.0", "text": "elsewhere"})))
    await h.wait(lambda: "not part of a Threadline conversation" in json.dumps(
        h.slack.ephemerals_for(ANA)))
