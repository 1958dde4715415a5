"""What the customer did to a message shows on its Slack post: an edit (with what it first
said), a deletion (struck), a voice note or sticker without text (named), the ad they came
from — and the messages coalesced into the same post stay visible."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.slack.file_posts import MEDIA_WAIT_SECONDS
from bot.slack.views import ids
from core.model import Attachment, DeliveryStatus
from core.ports import ViewQuery
from tests.bot.slack.harness import INBOX
from tests.bot.slack.test_mirror_e2e import sent, staff_says  # noqa: F401 - a fixture
from tests.bridges.whatsapp.payloads import change, delivery, message, signed_meta
from tests.bridges.whatsapp.test_audio_duration import opus

SURFACE = "whatsapp_cloud"


def shown(h, ts: str) -> str:
    return json.dumps(h.slack.message(INBOX, ts).blocks, ensure_ascii=False)


async def test_an_edit_and_a_deletion_redraw_the_post_and_keep_its_neighbours(h):
    h.slack.set_down(True)  # the two messages land in one post when Slack is back
    first = await h.customer_writes("Necesito 4 bisagras")
    await h.customer_writes("y 2 tiradores")
    h.slack.set_down(False)
    for _ in range(5):
        h.advance(60)
        await h.drain()
    card = h.card(first.conversation_id)
    [post] = h.slack.thread_replies(INBOX, card.ts)
    assert "Necesito 4 bisagras" in shown(h, post.ts) and "y 2 tiradores" in shown(h, post.ts)

    assert await h.inbox.revise(SURFACE, "wamid.t1", "Necesito 6 bisagras",
                                h.clock.now() + timedelta(minutes=1))
    await h.drain()
    after = shown(h, post.ts)
    assert "Necesito 6 bisagras" in after and "Edited by the customer" in after
    assert "it first said: Necesito 4 bisagras" in after
    assert "y 2 tiradores" in after  # the neighbour in the same post is still there

    assert await h.inbox.revise(SURFACE, "wamid.t2", None, h.clock.now() + timedelta(minutes=2))
    await h.drain()
    after = shown(h, post.ts)
    assert "~y 2 tiradores~" in after and "The customer deleted this message" in after
    assert "Necesito 6 bisagras" in after
    assert len(h.slack.thread_replies(INBOX, card.ts)) == 1  # redrawn, nothing new posted


async def test_media_without_text_says_what_it_is(h):
    voice = Attachment("voice.ogg", "audio/ogg; codecs=opus", 0, pending_ref="media-1")
    r = await h.customer_writes("", attachments=[voice], meta={"type": "audio", "voice": True})
    sticker = Attachment("sticker.webp", "image/webp", 0, pending_ref="media-2")
    await h.customer_writes("", attachments=[sticker], meta={"type": "sticker"})
    h.advance(MEDIA_WAIT_SECONDS)  # their files never come: posted without them
    await h.drain()
    text = " ".join(shown(h, m.ts) for m in h.slack.thread_replies(INBOX, h.card(
        r.conversation_id).ts))
    assert "🎤 Voice note" in text and "🏷️ Sticker" in text and "(no text)" not in text


async def test_the_ad_a_customer_came_from_is_shown(h):
    r = await h.customer_writes("¿Tenéis estas?", meta={"type": "text", "referral": {
        "source_type": "ad", "headline": "Bisagras -20%", "source_url": "https://fb.me/x1"}})
    [post] = h.slack.thread_replies(INBOX, h.card(r.conversation_id).ts)
    assert "Came from an ad: Bisagras -20% · https://fb.me/x1" in shown(h, post.ts)


@pytest.mark.usefixtures("sent")  # replies "sent" by a recording stand-in
@pytest.mark.parametrize(("surface", "code"), [("whatsapp_cloud", "131047"),
                                               ("twilio", "63016")])
async def test_a_later_window_failure_offers_the_template_like_a_send_time_one(
        h, surface, code):
    r = await h.customer_writes("¿Hola?")
    card = h.card(r.conversation_id)
    await staff_says(h, card.ts, "Ya salió")
    h.advance(11)
    await h.drain()
    out = next(m for m in await h.inbox.thread(r.conversation_id) if m.body == "Ya salió")
    await h.inbox.claim_link(surface, f"{surface}.late-1", r.conversation_id, out.id)
    await h.inbox.record_delivery_by_provider_id(surface, f"{surface}.late-1",
                                                 DeliveryStatus.FAILED, code, "window closed")
    await h.drain()
    status = [m for m in h.slack.thread_replies(INBOX, card.ts) if "Not delivered" in
              json.dumps(m.blocks, ensure_ascii=False)]
    assert len(status) == 1
    blocks = json.dumps(h.slack.message(INBOX, status[0].ts).blocks, ensure_ascii=False)
    assert "send an approved template" in blocks and ids.TEMPLATE_OPEN in blocks
    assert f'"value": "{r.conversation_id}"' in blocks


async def test_twilios_referral_fields_are_shown_too(h):
    r = await h.customer_writes("Info please", meta={
        "ReferralHeadline": "Spring sale", "ReferralSourceUrl": "https://fb.me/t2"})
    [post] = h.slack.thread_replies(INBOX, h.card(r.conversation_id).ts)
    assert "Came from an ad: Spring sale · https://fb.me/t2" in shown(h, post.ts)


async def test_a_voice_note_shows_its_length_once_fetched(hw, graph):
    """Through the real Meta bridge: the webhook carries no duration; once the file is
    fetched from the Graph API its Ogg header gives it, and the post is redrawn."""
    graph.add_media("media.voice.1", opus(14.2), "audio/ogg")
    payload = delivery(change([message("audio", {"id": "media.voice.1",
                                                 "mime_type": "audio/ogg; codecs=opus",
                                                 "voice": True}, wamid="wamid.voice1",
                                       ts=str(int(hw.clock.now().timestamp())))],
                              phone_id="1234567890"))
    body, headers = signed_meta("app-secret", payload)
    assert (await hw.http.post("/webhooks/whatsapp", content=body, headers=headers)
            ).status_code == 200
    for _ in range(3):
        await hw.drain()
    [conv] = await hw.inbox.list_conversations(ViewQuery())
    posts = hw.slack.thread_replies(INBOX, hw.card(conv.id).ts)
    assert any("🎤 Voice note 0:14" in shown(hw, p.ts) for p in posts), [
        shown(hw, p.ts) for p in posts]
