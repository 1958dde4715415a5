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
