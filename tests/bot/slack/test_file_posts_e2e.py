"""A customer's files are shared in the same Slack post as the message they came with, once:
Slack's answer lost, its share listed late, more files than one post holds, a redraw, and a
refusal each leave exactly one post per message and never share a file twice."""

from __future__ import annotations

import json

from bot.slack.file_posts import MAX_FILES_PER_POST
from core.model import Attachment
from tests.bot.slack.harness import INBOX

JPEG = b"\xff\xd8\xff\xe0" + b"j" * 120


def shown(h, ts: str) -> str:
    return json.dumps(h.slack.message(INBOX, ts).blocks, ensure_ascii=False)


async def photo(h, name: str = "foto.jpg", data: bytes = JPEG) -> Attachment:
    key = await h.runtime.files.put(data, name, "image/jpeg")
    return Attachment(name, "image/jpeg", len(data), key)


async def test_a_photo_and_its_caption_are_one_post_named_after_the_customer(h):
    r = await h.customer_writes("la bisagra rota", attachments=[await photo(h)],
                                meta={"type": "image"})
    card = h.card(r.conversation_id)
    [post] = h.slack.thread_replies(INBOX, card.ts)
    assert [f.content for f in post.files] == [JPEG]
    text = shown(h, post.ts)
    assert ":bust_in_silhouette: *Lucía*" in text and "la bisagra rota" in text
    complete = h.slack.last("files.completeUploadExternal")
    assert complete["thread_ts"] == card.ts and complete.get("initial_comment") is None
    assert len(h.slack.calls("chat.postMessage", ok=True)) == 1  # the card; no text post


async def test_a_share_slack_lists_late_is_found_in_the_thread_not_shared_again(h):
    h.slack.list_shares_late(1)
    r = await h.customer_writes("mira", attachments=[await photo(h)])
    card = h.card(r.conversation_id)
    for _ in range(3):
        h.advance(30)
        await h.drain()
    [post] = h.slack.thread_replies(INBOX, card.ts)
    assert post.files and "mira" in shown(h, post.ts)
    assert len(h.slack.calls("files.completeUploadExternal", ok=True)) == 1
    assert h.slack.calls("files.info") and h.slack.calls("conversations.replies")
    # the post is this message's: a reaction redraws it, sender line, text and file kept
    await h.inbox.react("whatsapp_cloud", "wamid.t1", "👍", "+34600111222")
    await h.drain()
    text = shown(h, post.ts)
    assert "Customer reacted 👍" in text and "*Lucía*" in text and "mira" in text
    assert [f.content for f in h.slack.message(INBOX, post.ts).files] == [JPEG]


async def test_a_share_whose_answer_was_lost_is_found_by_name_and_size(h):
    h.slack.lose_answer_next("files.completeUploadExternal")
    r = await h.customer_writes("el albarán", attachments=[await photo(h, "albarán.jpg")])
    card = h.card(r.conversation_id)
    for _ in range(3):
        h.advance(60)
        await h.drain()
    [post] = h.slack.thread_replies(INBOX, card.ts)
    assert [f.name for f in post.files] == ["albarán.jpg"] and "el albarán" in shown(h, post.ts)
    assert len(h.slack.uploads_in(INBOX)) == 1


async def test_files_past_what_one_post_holds_follow_it_each_named(h):
    count = MAX_FILES_PER_POST + 2
    files = [await photo(h, f"foto {n}.jpg", JPEG + bytes([n])) for n in range(count)]
    r = await h.customer_writes("todas las fotos", attachments=files)
    card = h.card(r.conversation_id)
    first, *rest = h.slack.thread_replies(INBOX, card.ts)
    assert [f.name for f in first.files] == [f"foto {n}.jpg" for n in range(MAX_FILES_PER_POST)]
    assert [[f.name for f in p.files] for p in rest] == [
        [f"foto {n}.jpg"] for n in range(MAX_FILES_PER_POST, count)]
    for post in rest:
        text = shown(h, post.ts)
        assert ":paperclip: *Lucía*" in text and "todas las fotos" in text
    await h.drain()
    assert len(h.slack.uploads_in(INBOX)) == count


async def test_files_slack_refuses_leave_the_text_posted_and_say_why(h):
    h.slack.error_next("files.getUploadURLExternal", "file_uploads_disabled")
    r = await h.customer_writes("¿os llega la foto?", attachments=[await photo(h)])
    card = h.card(r.conversation_id)
    post, why = h.slack.thread_replies(INBOX, card.ts)
    assert "¿os llega la foto?" in shown(h, post.ts) and not post.files
    assert "file_uploads_disabled" in shown(h, why.ts)
    assert f"threadline conversations show {r.conversation_id}" in shown(h, why.ts)
    h.advance(600)
    await h.drain()
    assert len(h.slack.thread_replies(INBOX, card.ts)) == 2  # not offered again
    assert h.slack.uploads_in(INBOX) == []
