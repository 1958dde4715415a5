"""Every card action changes the core state and the card follows (chat.update)."""

import json

import pytest

from core.model import Customer, DeliveryStatus, Status
from tests.bot.slack.harness import ADA, ANA, BOB, INBOX
from threadline.integrations._sending import send_handlers

SYS = None


def blocks_text(message) -> str:
    return json.dumps(message.blocks or [])


async def click(h, action_id: str, card, user: str = ANA, **kw):
    kw.setdefault("value", None)
    signed = h.req.block_actions(h.req.action(action_id, **kw), user=user, channel=INBOX,
                                 message_ts=card.ts)
    response = await h.post(signed)
    assert response.status_code == 200, response.text
    return signed


async def conversation(h, conv_id):
    return (await h.inbox.conversation(conv_id)).conversation


async def card_updates(h, card) -> int:
    return len([c for c in h.slack.calls("chat.update") if c.args.get("ts") == card.ts])


@pytest.fixture
async def conv(h):
    r = await h.customer_writes()
    return r.conversation_id, h.card(r.conversation_id)


async def test_assign_to_me_resolve_and_reopen(h, conv):
    conv_id, card = conv
    await click(h, "tl_assign_me", card, value=str(conv_id))
    await h.wait(lambda: _assignee_is(h, conv_id, ANA))
    await h.drain()
    assert f"<@{ANA}>" in blocks_text(h.slack.message(INBOX, card.ts))
    await click(h, "tl_resolve", card, value=str(conv_id))
    await h.wait(lambda: _status_is(h, conv_id, Status.RESOLVED))
    await h.drain()
    assert "tl_reopen" in blocks_text(h.slack.message(INBOX, card.ts))
    await click(h, "tl_reopen", card, value=str(conv_id))
    await h.wait(lambda: _status_is(h, conv_id, Status.OPEN))
    await h.drain()
    assert await card_updates(h, card) == 3


async def test_snooze_preset_and_pick_a_time(h, conv):
    conv_id, card = conv
    await click(h, "tl_snooze", card, type="static_select",
                selected_option={"value": f"{conv_id}:2h", "text": {"type": "plain_text",
                                                                    "text": "2 hours"}})
    await h.wait(lambda: _status_is(h, conv_id, Status.SNOOZED))
    await h.drain()
    assert "snooze" in blocks_text(h.slack.message(INBOX, card.ts)).lower()
    await click(h, "tl_snooze", card, type="static_select",
                selected_option={"value": f"{conv_id}:pick", "text": {"type": "plain_text",
                                                                      "text": "Pick"}})
    opened = await h.wait(lambda: h.slack.calls("views.open"))
    view = opened[-1].args["view"]
    when = int(h.clock.now().timestamp()) + 3 * 86400
    submit = h.req.view_submission(view, user=ANA, values={
        "snooze_at": {"when": {"type": "datetimepicker", "selected_date_time": when}}})
    assert (await h.post(submit)).status_code == 200
    await h.wait(lambda: _snoozed_until(h, conv_id, when))


async def test_past_snooze_time_is_a_field_error(h, conv):
    conv_id, _ = conv
    view = {"type": "modal", "callback_id": "tl_snooze_modal", "id": "V1",
            "private_metadata": json.dumps({"conversation_id": conv_id}),
            "blocks": [{"type": "input", "block_id": "snooze_at", "label": {
                "type": "plain_text", "text": "When"}, "element": {
                "type": "datetimepicker", "action_id": "when"}}]}
    past = int(h.clock.now().timestamp()) - 60
    response = await h.post(h.req.view_submission(view, user=ANA, values={
        "snooze_at": {"when": {"type": "datetimepicker", "selected_date_time": past}}}))
    body = response.json()
    assert body["response_action"] == "errors" and "snooze_at" in body["errors"]
    assert (await conversation(h, conv_id)).status is Status.OPEN


async def test_tags_modal_adds_new_and_removes(h, conv):
    conv_id, card = conv
    await h.inbox.add_tags(conv_id, ["vip"], _agent())
    await click(h, "tl_tags_open", card, value=str(conv_id))
    view = (await h.wait(lambda: h.slack.calls("views.open")))[-1].args["view"]
    assert "vip" in json.dumps(view) and "only admins create new tags" in json.dumps(view)
    values = {
        "tags_select": {"tags": {"type": "multi_static_select", "selected_options": [
            {"value": "urgent", "text": {"type": "plain_text", "text": "urgent"}}]}},
        "tags_new": {"new_tags": {"type": "plain_text_input", "value": "Refund, late"}}}
    # An agent may apply tags but not create them: the modal says so and keeps the input.
    refused = (await h.post(h.req.view_submission(view, user=ANA, values=values))).json()
    assert refused["response_action"] == "errors"
    assert "only admins may create new tags" in json.dumps(refused)
    assert (await conversation(h, conv_id)).tags == ["vip"]
    await click(h, "tl_tags_open", card, user=ADA, value=str(conv_id))
    view = (await h.wait(lambda: len(h.slack.calls("views.open")) == 2
                         and h.slack.calls("views.open")))[-1].args["view"]
    assert "Created if they do not exist" in json.dumps(view)
    submit = h.req.view_submission(view, user=ADA, values=values)
    assert (await h.post(submit)).status_code == 200
    await h.wait(lambda: _tags_are(h, conv_id, ["late", "refund", "urgent"]))
    await h.drain()
    assert "refund" in blocks_text(h.slack.message(INBOX, card.ts))


async def test_urgent_tag_pings_the_managers_once(h, conv):
    conv_id, card = conv
    await h.inbox.add_tags(conv_id, ["urgent"], _agent())
    await h.drain()
    pings = [m for m in h.slack.thread_replies(INBOX, card.ts) if "<@UBOSS>" in blocks_text(m)
             + (m.text or "")]
    assert len(pings) == 1
    await h.inbox.add_tags(conv_id, ["vip"], _agent())
    await h.drain()
    assert len([m for m in h.slack.thread_replies(INBOX, card.ts)
                if "<@UBOSS>" in blocks_text(m) + (m.text or "")]) == 1


async def test_assign_modal_note_modal_and_link_customer(h, conv):
    conv_id, card = conv
    team = await h.inbox.upsert_team("Billing", [], _agent())
    await click(h, "tl_assign_open", card, value=str(conv_id))
    view = (await h.wait(lambda: h.slack.calls("views.open")))[-1].args["view"]
    assert "Billing" in json.dumps(view)
    await h.post(h.req.view_submission(view, user=ANA, values={
        "assign_user": {"user": {"type": "users_select", "selected_user": BOB}},
        "assign_team": {"team": {"type": "static_select", "selected_option": {
            "value": str(team.id)}}}}))
    await h.wait(lambda: _assignee_is(h, conv_id, BOB))
    assert (await conversation(h, conv_id)).team_id == team.id
    await h.drain()
    assert "Billing" in blocks_text(h.slack.message(INBOX, card.ts))

    await click(h, "tl_note_open", card, value=str(conv_id))
    view = (await h.wait(lambda: len(h.slack.calls("views.open")) == 2 and
                         h.slack.calls("views.open")))[-1].args["view"]
    await h.post(h.req.view_submission(view, user=ANA, values={
        "note_text": {"text": {"type": "plain_text_input", "value": "Called, no answer"}}}))
    await h.wait(lambda: _has_body(h, conv_id, "Called, no answer"))

    customer = await h.inbox.create_customer(Customer("ACME Corp", email="buy@acme.test"),
                                             _agent())
    suggestion = h.req.interactive(h.req.block_suggestion_payload(
        "customer", "acme", user=ANA, block_id="customer_search"))
    options = (await h.post(suggestion)).json()["options"]
    assert options[0]["value"] == str(customer.id) and "ACME" in options[0]["text"]["text"]
    await click(h, "tl_link_customer_open", card, value=str(conv_id))
    view = (await h.wait(lambda: len(h.slack.calls("views.open")) == 3 and
                         h.slack.calls("views.open")))[-1].args["view"]
    await h.post(h.req.view_submission(view, user=ANA, values={"customer_search": {"customer": {
        "type": "external_select", "selected_option": options[0]}}}))
    await h.wait(lambda: _customer_is(h, conv_id, customer.id))
    await h.drain()
    assert "ACME Corp" in blocks_text(h.slack.message(INBOX, card.ts))
    await click(h, "tl_profile_open", card, value=str(conv_id))
    profile = (await h.wait(lambda: len(h.slack.calls("views.open")) == 4 and
                            h.slack.calls("views.open")))[-1].args["view"]
    assert "ACME Corp" in json.dumps(profile)


async def test_template_modal_pick_fill_preview_send(h, conv):
    conv_id, card = conv
    sent = []

    async def send(ctx):
        sent.append((ctx.template.provider_name, ctx.message.template_values))
        return "wamid.tpl"

    h.runtime.dispatcher.register("send:whatsapp_cloud", *send_handlers(
        h.inbox, "whatsapp_cloud", send))
    await click(h, "tl_template_open", card, value=str(conv_id))
    view = (await h.wait(lambda: h.slack.calls("views.open")))[-1].args["view"]
    view = {**view, "id": h.slack.calls("views.open")[-1].response["view"]["id"]}
    pick = h.req.block_actions(h.req.action("template", type="static_select", block_id=
                                            "template_pick", selected_option={
                                                "value": "order_update", "text": {
                                                    "type": "plain_text", "text": "x"}}),
                               user=ANA, view=view)
    await h.post(pick)
    updated = (await h.wait(lambda: h.slack.calls("views.update")))[-1].args["view"]
    assert "template_var:name" in json.dumps(updated)
    await h.post(h.req.view_submission(updated, user=ANA, values={
        "template_pick": {"template": {"type": "static_select", "selected_option": {
            "value": "order_update"}}},
        "template_var:name": {"value": {"type": "plain_text_input", "value": "Lucía"}},
        "template_var:order": {"value": {"type": "plain_text_input", "value": "A-7"}}}))
    message = await h.wait(lambda: _has_body(h, conv_id, "Hola Lucía, tu pedido A-7 salió"))
    await h.drain()
    assert sent == [("order_update", {"name": "Lucía", "order": "A-7"})]
    assert (await h.inbox.message(message.id)).delivery_status is DeliveryStatus.SENT


async def test_actions_from_users_outside_the_allowed_list_are_refused(engine, slack, tmp_path):
    from tests.bot.slack.harness import running_harness

    async with running_harness(engine, slack, tmp_path, SLACK_ALLOWED_USERS="UBOSS") as h:
        r = await h.customer_writes()
        card = h.card(r.conversation_id)
        await click(h, "tl_resolve", card, user=ANA, value=str(r.conversation_id))
        await h.wait(lambda: slack.responses_to("/actions/"))
        assert "not on it" in json.dumps(slack.responses_to("/actions/"))
        assert (await conversation(h, r.conversation_id)).status is Status.OPEN


def _agent():
    from core.model import Actor

    return Actor.system()


async def _status_is(h, conv_id, status):
    return (await conversation(h, conv_id)).status is status


async def _snoozed_until(h, conv_id, epoch):
    conv = await conversation(h, conv_id)
    return conv.snoozed_until and int(conv.snoozed_until.timestamp()) == epoch


async def _assignee_is(h, conv_id, slack_id):
    details = await h.inbox.conversation(conv_id)
    return details.assignee is not None and details.assignee.slack_user_id == slack_id


async def _tags_are(h, conv_id, tags):
    return (await conversation(h, conv_id)).tags == tags


async def _customer_is(h, conv_id, customer_id):
    return (await conversation(h, conv_id)).customer_id == customer_id


async def _has_body(h, conv_id, body):
    return next((m for m in await h.inbox.thread(conv_id) if m.body == body), None)


async def test_home_tab_shows_nothing_to_users_outside_the_allowed_list(engine, slack,
                                                                         tmp_path):
    from tests.bot.slack.harness import running_harness

    async with running_harness(engine, slack, tmp_path, SLACK_ALLOWED_USERS="UBOSS") as h:
        await h.customer_writes()
        await h.post(h.req.event(h.req.app_home_opened_event(ANA)))
        await h.wait(lambda: ANA in slack.home_views)
        home = json.dumps(slack.home_views[ANA], ensure_ascii=False)
        assert "ask a Slack admin" in home and "Lucía" not in home
