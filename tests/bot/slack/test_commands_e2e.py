"""/inbox, App Home, bot mentions, snooze wake-up, request verification, event dedupe."""

import json
import time

from core.model import Status
from core.snooze import SnoozePreset
from tests.bot.slack.harness import ANA, BOSS, INBOX, command


def dump(x) -> str:
    return json.dumps(x, ensure_ascii=False)


async def test_inbox_lists_with_filters_and_links(h):
    a = await h.customer_writes(sender="+34600111222", name="Lucía")
    b = await h.customer_writes(sender="+34600999888", name="Marco")
    await h.inbox.add_tags(b.conversation_id, ["vip"], _sys())
    call = await command(h, "all")
    text = dump(call.args)
    assert "Lucía" in text and "Marco" in text
    assert "threadline-test.slack.com/archives" in text  # rows link to their threads
    call = await command(h, "all tag:vip")
    assert "Marco" in dump(call.args) and "Lucía" not in dump(call.args)
    call = await command(h, "")  # Mine: nothing assigned to Ana yet
    assert "Lucía" not in dump(call.args)
    assert a.conversation_id != b.conversation_id


async def test_bad_arguments_get_an_ephemeral_usage(h):
    call = await command(h, "status:closed")
    text = dump(call.args)
    assert "unknown status" in text and "/inbox" in text
    assert call.args["response_type"] == "ephemeral"


async def test_inbox_answers_in_a_dm_and_in_channels_the_bot_is_not_in(h):
    await h.customer_writes(name="Lucía")
    h.slack.forbid_channel("C0ELSEWHERE", "not_in_channel")
    for channel in ("D0ANA", "C0ELSEWHERE"):
        answer = await command(h, "all", channel=channel)
        assert "Lucía" in dump(answer.args)
        assert (await command(h, "help", channel=channel)).args["text"]
    assert h.slack.calls("chat.postEphemeral") == []  # it would fail there


async def test_lists_show_who_is_assigned(h):
    r = await h.customer_writes(name="Lucía")
    agent = await h.runtime.slack.identity.agent(h.runtime.slack.gateway.client, ANA)
    from core.model import Actor

    await h.inbox.assign(r.conversation_id, Actor.agent(agent.id), agent_id=agent.id)
    for text in ("all", "search pedido", ""):
        answer = dump((await command(h, text)).args)
        assert "Ana Agent" in answer and "unassigned" not in answer.lower()


async def test_search_stats_help_and_new(h):
    await h.customer_writes("La factura INV-2231 está mal")
    call = await command(h, "search factura")
    assert "INV-2231" in dump(call.args)
    h.slack.reset_calls()
    call = await command(h, "stats 7d")  # the team's numbers: managers and admins only
    assert "Only managers and admins" in dump(call.args) and "7 days" not in dump(call.args)
    call = await command(h, "stats 7d", user=BOSS)
    assert "7 days" in dump(call.args)
    h.slack.reset_calls()
    call = await command(h, "help")
    assert "search" in dump(call.args)
    await h.post(h.req.slash_command("/inbox", "new", user_id=ANA, channel_id=INBOX))
    (opened,) = await h.wait(lambda: h.slack.calls("views.open"))
    view = opened.args["view"]
    assert view["callback_id"] == "tl_new_conversation_modal"
    submit = h.req.view_submission(view, user=ANA, values={
        "new_account": {"account": {"type": "static_select", "selected_option": {
            "value": "mail"}}},
        "new_recipient": {"recipient": {"type": "plain_text_input", "value": "luis@ex.test"}},
        "new_subject": {"subject": {"type": "plain_text_input", "value": "Your quote"}},
        "new_body": {"body": {"type": "plain_text_input", "value": "Attached, Luis."}}})
    assert (await h.post(submit)).status_code == 200
    from core.ports import ViewQuery

    convs = await h.wait(lambda: _subject(h, "Your quote"))
    assert convs.status is Status.PENDING
    bad = h.req.view_submission(view, user=ANA, values={
        "new_account": {"account": {"type": "static_select", "selected_option": {
            "value": "wa"}}},
        "new_recipient": {"recipient": {"type": "plain_text_input", "value": "+34600111333"}},
        "new_body": {"body": {"type": "plain_text_input", "value": "hi"}}})
    body = (await h.post(bad)).json()
    assert body["response_action"] == "errors" and "template" in dump(body["errors"])
    # the customer's conversation and the new email one; the refused WhatsApp one is not there
    assert len(await h.inbox.list_conversations(ViewQuery(include_resolved=True))) == 2


async def test_app_home_publish_and_tabs(h):
    r = await h.customer_writes()
    await h.post(h.req.event(h.req.app_home_opened_event(ANA)))
    await h.wait(lambda: ANA in h.slack.home_views)
    home = dump(h.slack.home_views[ANA])
    assert "Mine" in home and "Unassigned" in home
    assert "Lucía" not in home  # Mine is empty
    tab = h.req.block_actions(h.req.action("tl_home_tab:unassigned", value="unassigned"),
                              user=ANA,
                              view={"id": "VHOME", "type": "home"})
    await h.post(tab)
    await h.wait(lambda: "Lucía" in dump(h.slack.home_views[ANA]))
    assert r.conversation_id


async def test_mentions_in_a_thread(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)

    async def mention(text):
        event = h.req.app_mention_event(INBOX, f"{h.req.mention()} {text}", user=ANA,
                                        thread_ts=card.ts)
        assert (await h.post(h.req.event(event))).status_code == 200
        return event

    await mention("assign me")
    await h.wait(lambda: _assignee(h, r.conversation_id))
    await mention("tag urgent vip")
    await h.wait(lambda: _tags_are(h, r.conversation_id, ["urgent", "vip"]))
    event = await mention("snooze tomorrow")
    await h.wait(lambda: _status(h, r.conversation_id, Status.SNOOZED))
    await h.wait(lambda: "white_check_mark" in h.slack.reactions_on(INBOX, event["ts"]))
    await mention("snooze someday")
    await h.wait(lambda: "unknown snooze" in dump(h.slack.ephemerals_for(ANA)))
    await mention("resolve")
    await h.wait(lambda: _status(h, r.conversation_id, Status.RESOLVED))


async def test_snooze_wake_up_mentions_the_assignee_and_updates_the_card(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    agent = await h.runtime.slack.identity.agent(h.runtime.slack.gateway.client, ANA)
    from core.model import Actor

    await h.inbox.assign(r.conversation_id, Actor.agent(agent.id), agent_id=agent.id)
    await h.inbox.snooze(r.conversation_id, Actor.agent(agent.id), preset=SnoozePreset.ONE_HOUR)
    await h.drain()
    h.advance(3601)
    assert await h.inbox.wake_due_snoozes() == 1
    await h.drain()
    woke = [m for m in h.slack.thread_replies(INBOX, card.ts) if f"<@{ANA}>" in dump(
        m.blocks) + (m.text or "")]
    assert woke, "the assignee is mentioned in the thread"
    assert "snoozed" not in dump(h.slack.message(INBOX, card.ts).blocks).lower() or \
        (await h.inbox.conversation(r.conversation_id)).conversation.status is Status.OPEN


async def test_bad_and_stale_signatures_are_refused_and_nothing_happens(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    event = h.req.event(h.req.message_event(INBOX, "hi", user=ANA, thread_ts=card.ts))
    assert (await h.post(event.tampered())).status_code == 401
    stale = h.req.event(h.req.message_event(INBOX, "hi", user=ANA, thread_ts=card.ts),
                        timestamp=int(time.time()) - 600)
    assert (await h.post(stale)).status_code == 401
    assert len(await h.inbox.thread(r.conversation_id)) == 1


async def test_redelivered_events_are_processed_once(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    event = h.req.message_event(INBOX, "hola", user=ANA, thread_ts=card.ts)
    first = h.req.event(event, event_id="Ev0000000042")
    retry = h.req.event(event, event_id="Ev0000000042", retry_num=1)
    await h.post(first)
    await h.post(retry)
    await h.wait(lambda: _count(h, r.conversation_id, 2))
    await h.drain()
    assert len(await h.inbox.thread(r.conversation_id)) == 2


def _sys():
    from core.model import Actor

    return Actor.system()


async def _subject(h, subject):
    from core.ports import ViewQuery

    for c in await h.inbox.list_conversations(ViewQuery(include_resolved=True)):
        if c.subject == subject:
            return c
    return None


async def _assignee(h, conv_id):
    return (await h.inbox.conversation(conv_id)).assignee


async def _tags_are(h, conv_id, tags):
    return (await h.inbox.conversation(conv_id)).conversation.tags == tags


async def _status(h, conv_id, status):
    return (await h.inbox.conversation(conv_id)).conversation.status is status


async def _count(h, conv_id, n):
    return len(await h.inbox.thread(conv_id)) == n


async def test_signed_but_malformed_body_is_a_400(h):
    signed = h.req.sign(b'{"type": "event_callback", "event": ', "application/json")
    response = await h.post(signed)
    assert response.status_code == 400 and "malformed" in response.json()["error"]
