"""Start-up of the Slack front end: channel names become ids, a token Slack refuses stops
the front end with one clear error (and /readyz says so) without losing what waits for it,
and the countdown under a queued reply counts down."""

import json
from datetime import timedelta

from tests.bot.slack.harness import ANA, INBOX, running_harness
from threadline.integrations._sending import send_handlers


async def test_a_channel_name_is_resolved_to_its_id_at_start(engine, slack, tmp_path):
    slack.add_channel("C0OTHER", "general")
    async with running_harness(engine, slack, tmp_path, SLACK_CHANNEL="#support") as h:
        assert slack.calls("conversations.list")
        r = await h.customer_writes()
        card = h.card(r.conversation_id)  # posted in C0INBOX, the id of #support
        (link,) = await h.inbox.links_of(r.conversation_id, "slack:card")
        assert link.external_id == f"{INBOX}:{card.ts}"
        event = h.req.message_event(INBOX, "hola desde #support", user=ANA, thread_ts=card.ts)
        assert (await h.post(h.req.event(event))).status_code == 200

        async def replied():
            return any(m.body == "hola desde #support"
                       for m in await h.inbox.thread(r.conversation_id))
        await h.wait(replied)


async def test_an_unknown_channel_name_stops_slack_with_a_clear_error(engine, slack, tmp_path):
    async with running_harness(engine, slack, tmp_path, SLACK_CHANNEL="#nowhere") as h:
        health = h.runtime.health.get("slack")
        assert health.state == "failed" and "#nowhere" in health.detail
        ready = await h.http.get("/readyz")
        assert ready.status_code == 503 and "nowhere" in ready.text
        r = await h.customer_writes()
        assert slack.calls("chat.postMessage") == []
        counts = await h.runtime.outbox.counts()
        assert counts.get("pending", 0) >= 1 and counts.get("failed", 0) == 0  # kept
        assert r.conversation_id


async def test_a_refused_bot_token_stops_slack_and_keeps_the_rows(engine, slack, tmp_path):
    async with running_harness(engine, slack, tmp_path, SLACK_BOT_TOKEN="xoxb-revoked") as h:
        health = h.runtime.health.get("slack")
        assert health.state == "failed"
        assert "SLACK_BOT_TOKEN" in health.detail and "invalid_auth" in health.detail
        ready = (await h.http.get("/readyz"))
        assert ready.status_code == 503 and "SLACK_BOT_TOKEN" in ready.text
        await h.customer_writes()
        counts = await h.runtime.outbox.counts()
        assert counts.get("failed", 0) == 0 and counts.get("pending", 0) >= 1
        assert len(slack.calls("auth.test")) == 1  # one clear error, no retry loop


async def test_a_token_revoked_while_running_stops_slack_without_losing_posts(h):
    r = await h.customer_writes("primero")
    h.slack.token = "xoxb-rotated"  # the old token is revoked
    await h.customer_writes("segundo")
    health = h.runtime.health.get("slack")
    assert health.state == "failed" and "SLACK_BOT_TOKEN" in health.detail
    counts = await h.runtime.outbox.counts()
    assert counts.get("failed", 0) == 0 and counts.get("pending", 0) >= 1
    assert not any(k.startswith("slack:") for k in h.runtime.dispatcher.kinds)
    assert r.conversation_id


async def test_swapped_tokens_are_refused_before_anything_starts(engine, slack, tmp_path):
    async with running_harness(
            engine, slack, tmp_path,
            SLACK_BOT_TOKEN="xapp-1-A0-1-x", SLACK_SIGNING_SECRET=None,
            SLACK_APP_TOKEN="xoxb-test") as h:
        assert not any(i.name == "slack" for i in h.runtime.integrations)
        detail = h.runtime.health.get("slack").detail
        assert "SLACK_APP_TOKEN" in detail and "SLACK_BOT_TOKEN" in detail
        assert slack.recorded == []  # nothing was even tried
        assert (await h.http.get("/readyz")).status_code == 503


async def test_a_refused_app_token_stops_socket_mode(engine, slack, tmp_path):
    async with running_harness(
            engine, slack, tmp_path,
            SLACK_SIGNING_SECRET=None, SLACK_APP_TOKEN="xapp-wrong") as h:
        health = await h.wait(lambda: h.runtime.health.get("slack").state == "failed"
                              and h.runtime.health.get("slack"))
        assert "SLACK_APP_TOKEN" in health.detail
        assert len(slack.calls("apps.connections.open")) == 1


async def test_the_marker_counts_down_and_stops_at_the_send(h):
    countdown = h.runtime.slack.mirror.countdown
    countdown.every = timedelta(seconds=3)  # the harness turns the live countdown off

    async def send(ctx):
        return "wamid.out1"
    h.runtime.dispatcher.register("send:whatsapp_cloud", *send_handlers(
        h.inbox, "whatsapp_cloud", send))
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    event = h.req.message_event(INBOX, "Sale hoy", user=ANA, thread_ts=card.ts)
    await h.post(h.req.event(event))

    async def queued():
        return next((m for m in await h.inbox.thread(r.conversation_id)
                     if m.body == "Sale hoy"), None)
    reply = await h.wait(queued)
    await h.drain()
    assert reply.id in countdown.tracked
    marker = next(m for m in h.slack.thread_replies(INBOX, card.ts)
                  if "To the customer in 10 s" in json.dumps(m.blocks))
    h.advance(3)
    assert await countdown.tick() == 1
    assert "To the customer in 7 s" in json.dumps(h.slack.message(INBOX, marker.ts).blocks)
    h.advance(1)
    assert await countdown.tick() == 0  # not due yet
    h.advance(5)  # 1 s before the send: the countdown stops, the send updates the line
    assert await countdown.tick() == 0 and reply.id not in countdown.tracked
    h.advance(2)
    await h.drain()
    final = json.dumps(h.slack.message(INBOX, marker.ts).blocks)
    assert "To the customer" not in final and "Sent" in final
