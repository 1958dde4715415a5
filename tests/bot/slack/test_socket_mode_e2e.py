"""Socket Mode (the default for a first install): no public URL, events over a WebSocket."""

from tests.bot.slack.harness import ANA, INBOX, running_harness


async def test_socket_mode_delivers_thread_replies(engine, slack, tmp_path):
    async with running_harness(
            engine, slack, tmp_path,
            SLACK_SIGNING_SECRET=None, SLACK_APP_TOKEN="xapp-test") as h:
        await h.wait(lambda: slack.socket_connections)
        r = await h.customer_writes()
        card = h.card(r.conversation_id)
        event = h.req.message_event(INBOX, "por socket", user=ANA, thread_ts=card.ts)
        ack = await slack.socket_send(h.req.socket_event(event))
        assert ack.get("envelope_id")

        async def queued():
            return any(m.body == "por socket" for m in await h.inbox.thread(r.conversation_id))

        await h.wait(queued)
        # without a signing secret there is no HTTP endpoint to forge requests against
        response = await h.http.post("/slack/events", content=b"{}")
        assert response.status_code == 404


async def test_slack_down_at_start_does_not_stop_threadline(engine, slack, tmp_path):
    slack.set_down(True)
    async with running_harness(
            engine, slack, tmp_path,
            SLACK_SIGNING_SECRET=None, SLACK_APP_TOKEN="xapp-test") as h:
        r = await h.customer_writes()  # stored; the mirror waits in the outbox
        assert r.conversation_id and not slack.socket_connections
        slack.set_down(False)
        await h.wait(lambda: slack.socket_connections, timeout=15)
