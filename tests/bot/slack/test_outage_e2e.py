"""Slack failing never loses a post: outage, 429 Retry-After, permanent errors."""

import json

from tests.bot.slack.harness import INBOX


def bodies(h, thread_ts):
    return [json.dumps(m.blocks) for m in h.slack.thread_replies(INBOX, thread_ts)]


async def test_outage_then_recovery_drains_everything_in_order(h):
    first = await h.customer_writes("uno")
    card = h.card(first.conversation_id)
    h.slack.set_down(True)
    for word in ("dos", "tres", "cuatro"):
        await h.customer_writes(word)
    other = await h.customer_writes("otra persona", sender="+34600999888", name="Marco")
    counts = await h.runtime.outbox.counts()
    assert counts["pending"] >= 5 and counts["failed"] == 0
    h.slack.set_down(False)
    for _ in range(20):  # let backoff expire, as time passes
        h.advance(60)
        await h.drain()
    # Messages queued during the outage may be coalesced into one post, in order.
    text = " ".join(bodies(h, card.ts))
    positions = [text.find(w) for w in ("uno", "dos", "tres", "cuatro")]
    assert -1 not in positions and positions == sorted(positions)
    assert len(h.slack.thread_replies(INBOX, card.ts)) < 4  # the backlog was coalesced
    assert h.card(other.conversation_id)
    counts = await h.runtime.outbox.counts()
    assert counts["pending"] == counts["processing"] == counts["failed"] == 0


async def test_rate_limit_honours_retry_after(h):
    r = await h.customer_writes("uno")
    card = h.card(r.conversation_id)
    h.slack.rate_limit_next("chat.postMessage", retry_after=30)
    await h.customer_writes("dos")
    assert len(h.slack.thread_replies(INBOX, card.ts)) == 1
    h.advance(29)
    await h.drain()
    assert len(h.slack.thread_replies(INBOX, card.ts)) == 1  # still waiting, as told
    h.advance(2)
    await h.drain()
    assert len(h.slack.thread_replies(INBOX, card.ts)) == 2
    assert h.slack.rate_limited_count == 1


async def test_permanent_slack_error_is_recorded_not_retried_forever(h):
    h.slack.forbid_channel(INBOX, "not_in_channel")
    await h.customer_writes("hola")
    rows = await h.runtime.outbox.rows("failed")
    assert rows and "not_in_channel" in rows[0]["last_error"]


async def test_a_post_whose_answer_was_lost_is_found_again_not_repeated(h):
    """Slack carried out the post but the answer never came back (a timeout, or the worker
    dying between the post and its link): the retry finds the post by its metadata."""
    h.slack.lose_answer_next("chat.postMessage")  # the card
    first = await h.customer_writes("uno")
    for _ in range(3):
        h.advance(60)
        await h.drain()
    assert len(h.slack.parents_in(INBOX)) == 1  # one card, not two
    card = h.card(first.conversation_id)
    (link,) = await h.inbox.links_of(first.conversation_id, "slack:card")
    assert link.external_id == f"{INBOX}:{card.ts}"
    h.slack.lose_answer_next("chat.postMessage", times=2)  # a coalesced customer post
    await h.customer_writes("dos")
    await h.customer_writes("tres")
    for _ in range(3):
        h.advance(60)
        await h.drain()
    replies = bodies(h, card.ts)
    assert sum("dos" in b for b in replies) == 1 and sum("tres" in b for b in replies) == 1
    assert len(await h.inbox.links_of(first.conversation_id, "slack:msg")) == 3


async def test_a_staff_marker_whose_answer_was_lost_is_not_posted_twice(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    h.slack.lose_answer_next("chat.postMessage")
    event = h.req.message_event(INBOX, "note: check the stock", user="UANA", thread_ts=card.ts)
    await h.post(h.req.event(event))

    async def noted():
        return any(m.body == "check the stock" for m in await h.inbox.thread(r.conversation_id))
    await h.wait(noted)
    for _ in range(3):
        h.advance(60)
        await h.drain()
    markers = [b for b in bodies(h, card.ts) if "Internal note" in b]
    assert len(markers) == 1


async def test_a_reply_in_a_second_card_of_the_same_conversation_is_not_dropped(h):
    r = await h.customer_writes()
    # a second card, as older versions could leave after a crash: same metadata, no link
    key = f"card:{r.conversation_id}"
    dup = await h.runtime.slack.gateway.client.chat_postMessage(
        channel=INBOX, text="card",
        metadata={"event_type": "threadline_post", "event_payload": {"key": key}})
    event = h.req.message_event(INBOX, "respondo aquí", user="UANA", thread_ts=dup["ts"])
    assert (await h.post(h.req.event(event))).status_code == 200

    async def stored():
        return any(m.body == "respondo aquí" for m in await h.inbox.thread(r.conversation_id))
    await h.wait(stored)
    chatter = h.req.message_event(INBOX, "hilo normal", user="UANA",
                                  thread_ts=h.slack.add_message(INBOX, "x", user="UBOB").ts)
    await h.post(h.req.event(chatter))
    unknown = h.runtime.slack.unknown_threads
    await h.wait(lambda: f"{INBOX}:{chatter['thread_ts']}" in unknown)
    await h.post(h.req.event({**chatter, "ts": h.req.next_ts()}))
    await h.post(h.req.event(h.req.app_home_opened_event("UANA")))  # a later request
    await h.wait(lambda: "UANA" in h.slack.home_views)
    assert len(h.slack.calls("conversations.history")) == 2  # each thread asked about once


async def test_a_file_whose_upload_answer_was_lost_is_found_again_not_shared_twice(h):
    """files.completeUploadExternal shared the file but its answer never came back: the
    retry finds the file in the thread (by name and size) instead of sharing it again."""
    from core.model import Attachment

    first = await h.customer_writes("hola")
    card = h.card(first.conversation_id)
    key = await h.runtime.files.put(b"%PDF-1.7 albaran", "albarán 7.pdf", "application/pdf")
    h.slack.lose_answer_next("files.completeUploadExternal")
    await h.customer_writes("el albarán", attachments=[
        Attachment("albarán 7.pdf", "application/pdf", 16, key)])
    for _ in range(3):
        h.advance(60)
        await h.drain()
    assert [u.content for u in h.slack.uploads_in(INBOX, card.ts)] == [b"%PDF-1.7 albaran"]


async def test_a_file_whose_upload_failed_after_its_post_is_uploaded_on_the_retry(h):
    from core.model import Attachment

    first = await h.customer_writes("hola")
    card = h.card(first.conversation_id)
    key = await h.runtime.files.put(b"GIF89a mapa", "mapa.gif", "image/gif")
    h.slack.fail_next("files.completeUploadExternal")  # nothing shared this time
    await h.customer_writes("el mapa", attachments=[Attachment("mapa.gif", "image/gif", 11, key)])
    assert h.slack.uploads_in(INBOX, card.ts) == []
    for _ in range(3):
        h.advance(60)
        await h.drain()
    assert [u.content for u in h.slack.uploads_in(INBOX, card.ts)] == [b"GIF89a mapa"]
