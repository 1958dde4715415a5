"""Default deny, per entry point: every action id, modal callback, options request, message
shortcut, `/inbox` verb and event of the app is tried by an outsider (a workspace member
who is neither in the inbox channel nor a configured agent) and by staff. The outsider gets
a refusal and changes nothing and sees nothing; staff get the feature."""

import json
from dataclasses import dataclass, field

import pytest

from bot.slack.access import REQUIRED
from bot.slack.views import ids
from core.model import Actor, Customer, DeliveryStatus
from tests.bot.slack.harness import ANA, BOB, BOSS, INBOX, OUTSIDER

SYS = Actor.system()
QUIET = {"auth.test", "users.info", "conversations.members"}  # lookups, not effects


@dataclass
class World:
    conv_id: int
    card_ts: str
    queued_id: int  # a reply in its undo window
    held_id: int  # a message held back (it mentions a colleague)
    failed_id: int  # a reply the provider refused
    inbound_id: int
    customer_id: int
    extra: dict = field(default_factory=dict)


async def world(h) -> World:
    r = await h.customer_writes("¿Dónde está mi pedido 4521?")
    card = h.card(r.conversation_id)
    queued = await h.inbox.reply(r.conversation_id, "Sale hoy", SYS,
                                 delay=h.runtime.slack.undo_window)
    from core.reply_policy import HoldReason

    held = await h.inbox.add_note(r.conversation_id, "@Bob please check", SYS,
                                  hold=HoldReason.MENTION)
    failed = await h.inbox.reply(r.conversation_id, "Refused", SYS)
    await h.inbox.record_delivery(failed.id, DeliveryStatus.FAILED, "131026", "undeliverable")
    customer = await h.inbox.create_customer(Customer("ACME", email="buy@acme.test"), SYS)
    await h.drain()
    thread = await h.inbox.thread(r.conversation_id)
    return World(r.conversation_id, card.ts, queued.id, held.id, failed.id, thread[0].id,
                 customer.id)


async def snapshot(h, w: World):
    details = await h.inbox.conversation(w.conv_id)
    c = details.conversation
    return (c.status, c.assignee_id, tuple(c.tags), c.customer_id, c.snoozed_until,
            tuple((m.id, m.kind, m.body, m.delivery_status) for m in details.messages),
            len(await h.inbox.list_conversations(_all())),
            tuple((a.id, a.available) for a in await h.inbox.agents()))


def _all():
    from core.ports import ViewQuery

    return ViewQuery("all", include_resolved=True, limit=100)


def _modal(callback_id: str, w: World, blocks=("x",)) -> dict:
    return {"id": "V0TEST", "type": "modal", "callback_id": callback_id,
            "private_metadata": json.dumps({"conversation_id": w.conv_id}),
            "blocks": [{"type": "input", "block_id": b, "label": {"type": "plain_text",
                                                                  "text": b},
                        "element": {"type": "plain_text_input", "action_id": "v"}}
                       for b in blocks]}


def _option(value: str) -> dict:
    return {"value": value, "text": {"type": "plain_text", "text": value}}


def card_click(action_id, value_of):
    def build(h, w, user):
        return h.req.block_actions(h.req.action(action_id, value=value_of(w)), user=user,
                                   channel=INBOX, message_ts=w.card_ts)
    return build


def menu(action_id, value_of, kind="static_select"):
    def build(h, w, user):
        return h.req.block_actions(h.req.action(action_id, type=kind,
                                                selected_option=_option(value_of(w))),
                                   user=user, channel=INBOX, message_ts=w.card_ts)
    return build


def home_click(action_id, value):
    def build(h, w, user):
        buttons = (ids.HOME_TAB, ids.HOME_AVAILABILITY)
        act = (h.req.action(action_id, value=value) if action_id.startswith(buttons)
               else h.req.action(action_id, type="static_select",
                                 selected_option=_option(value)))
        return h.req.block_actions(act, user=user, view={"id": "VHOME", "type": "home"})
    return build


def submit(callback_id, values_of, blocks=("x",)):
    def build(h, w, user):
        return h.req.view_submission(_modal(callback_id, w, blocks), user=user,
                                     values=values_of(w))
    return build


def shortcut(callback_id):
    def build(h, w, user):
        return h.req.interactive(h.req.message_action_payload(
            callback_id, user=user, channel=INBOX, message_ts=w.card_ts))
    return build


def slash(text, channel=INBOX):
    def build(h, w, user):
        return h.req.slash_command("/inbox", text, user_id=user, channel_id=channel)
    return build


def event(kind):
    def build(h, w, user):
        if kind == "message":
            e = h.req.message_event(INBOX, "Sale mañana sin falta", user=user,
                                    thread_ts=w.card_ts)
        elif kind == "app_mention":
            e = h.req.app_mention_event(INBOX, f"{h.req.mention()} tag vip", user=user,
                                        thread_ts=w.card_ts)
        else:
            e = h.req.app_home_opened_event(user)
        return h.req.event(e)
    return build


def text(v):
    return {"type": "plain_text_input", "value": v}


CONV = lambda w: str(w.conv_id)  # noqa: E731
ENTRY_POINTS = {
    ("action", ids.ASSIGN_ME): card_click(ids.ASSIGN_ME, CONV),
    ("action", ids.ASSIGN_OPEN): card_click(ids.ASSIGN_OPEN, CONV),
    ("action", ids.TAGS_OPEN): card_click(ids.TAGS_OPEN, CONV),
    ("action", ids.SNOOZE_MENU): menu(ids.SNOOZE_MENU, lambda w: f"{w.conv_id}:2h"),
    ("action", ids.RESOLVE): card_click(ids.RESOLVE, CONV),
    ("action", ids.REOPEN): card_click(ids.REOPEN, CONV),  # open: staff get a clear error
    ("action", ids.TEMPLATE_OPEN): card_click(ids.TEMPLATE_OPEN, CONV),
    ("action", ids.NOTE_OPEN): card_click(ids.NOTE_OPEN, CONV),
    ("action", ids.LINK_CUSTOMER_OPEN): card_click(ids.LINK_CUSTOMER_OPEN, CONV),
    ("action", ids.PROFILE_OPEN): card_click(ids.PROFILE_OPEN, CONV),
    ("action", ids.SHOW_FULL): card_click(ids.SHOW_FULL, lambda w: str(w.inbound_id)),
    ("action", ids.UNDO_SEND): card_click(ids.UNDO_SEND, lambda w: str(w.queued_id)),
    ("action", ids.MAKE_NOTE): card_click(ids.MAKE_NOTE, lambda w: str(w.queued_id)),
    ("action", ids.SEND_HELD): card_click(ids.SEND_HELD, lambda w: str(w.held_id)),
    ("action", ids.RETRY_SEND): card_click(ids.RETRY_SEND, lambda w: str(w.failed_id)),
    ("action", ids.TEMPLATE_PICK[1]): None,  # below: needs an open template modal
    ("action", ids.HOME_TAB): home_click(ids.HOME_TAB + ":all", "all"),
    ("action", ids.HOME_FILTER_STATUS): home_click(ids.HOME_FILTER_STATUS, "open"),
    ("action", ids.HOME_FILTER_CHANNEL): home_click(ids.HOME_FILTER_CHANNEL, "whatsapp"),
    ("action", ids.HOME_FILTER_TAG): home_click(ids.HOME_FILTER_TAG, "vip"),
    ("action", ids.OPEN_THREAD): card_click(ids.OPEN_THREAD, lambda w: ""),
    ("action", ids.HOME_AVAILABILITY): home_click(ids.HOME_AVAILABILITY, "away"),
    # An AI note's quick action (tag vip) and its link button to the customer system.
    ("action", ids.AI_ACTION): lambda h, w, user: h.req.block_actions(h.req.action(
        ids.AI_ACTION + ":0", value=json.dumps({"c": w.conv_id, "k": "add_tag", "v": "vip"})),
        user=user, channel=INBOX, message_ts=w.card_ts),
    ("action", ids.AI_LOOKUP): card_click(ids.AI_LOOKUP + ":1", lambda w: ""),
    ("view", ids.ASSIGN_MODAL): submit(ids.ASSIGN_MODAL, lambda w: {
        "assign_user": {"user": {"type": "users_select", "selected_user": BOB}}}),
    ("view", ids.TAGS_MODAL): submit(ids.TAGS_MODAL, lambda w: {"tags_select": {"tags": {
        "type": "multi_static_select", "selected_options": [_option("vip")]}}}),
    ("view", ids.SNOOZE_MODAL): submit(ids.SNOOZE_MODAL, lambda w: {"snooze_at": {"when": {
        "type": "datetimepicker", "selected_date_time": 1_900_000_000}}}),
    ("view", ids.TEMPLATE_MODAL): submit(ids.TEMPLATE_MODAL, lambda w: {
        "template_pick": {"template": {"type": "static_select",
                                       "selected_option": _option("order_update")}},
        "template_var:name": {"value": text("Lucía")},
        "template_var:order": {"value": text("A-7")}}),
    ("view", ids.NOTE_MODAL): submit(ids.NOTE_MODAL, lambda w: {
        "note_text": {"text": text("internal only")}}),
    ("view", ids.LINK_CUSTOMER_MODAL): submit(ids.LINK_CUSTOMER_MODAL, lambda w: {
        "customer_search": {"customer": {"type": "external_select",
                                         "selected_option": _option(str(w.customer_id))}}}),
    ("view", ids.NEW_CONVERSATION_MODAL): submit(ids.NEW_CONVERSATION_MODAL, lambda w: {
        "new_account": {"account": {"type": "static_select", "selected_option": _option(
            "mail")}},
        "new_recipient": {"recipient": text("someone@else.test")},
        "new_subject": {"subject": text("Hello from us")},
        "new_body": {"body": text("We owe you money")}}),
    ("options", ids.CUSTOMER_SEARCH[1]): lambda h, w, user: h.req.interactive(
        h.req.block_suggestion_payload(ids.CUSTOMER_SEARCH[1], "acme", user=user,
                                       block_id=ids.CUSTOMER_SEARCH[0])),
    **{("shortcut", c): shortcut(c) for c in (
        ids.SHORTCUT_ASSIGN_ME, ids.SHORTCUT_NOTE, ids.SHORTCUT_SNOOZE, ids.SHORTCUT_RESOLVE,
        ids.SHORTCUT_TAGS, ids.SHORTCUT_TEMPLATE)},
    ("command", "/inbox list"): slash("all"),
    ("command", "/inbox search"): slash("search pedido"),
    ("command", "/inbox help"): slash("help", channel="D0SOMEONE"),
    ("command", "/inbox new"): slash("new"),
    ("command", "/inbox stats"): slash("stats 30d"),
    ("command", "/inbox away"): slash("away"),
    ("command", "/inbox back"): slash("back", channel="D0SOMEONE"),
    ("event", "message"): event("message"),
    ("event", "app_mention"): event("app_mention"),
    ("event", "app_home_opened"): event("app_home_opened"),
}
# Staff who may use it: an agent, except where the role table asks for more.
STAFF = {("command", "/inbox stats"): BOSS}
SYSTEM_EVENTS = {k for k, v in REQUIRED.items() if v is None}


def test_every_entry_point_of_the_gate_is_tried_here():
    assert set(ENTRY_POINTS) | SYSTEM_EVENTS == set(REQUIRED)


def test_every_id_the_views_use_is_an_entry_point():
    """An id in the builders but not in REQUIRED would be refused to everyone."""
    names = {name for _, name in REQUIRED}
    for attr in dir(ids):
        value = getattr(ids, attr)
        if attr.isupper() and isinstance(value, str) and value.startswith("tl_") and (
                attr not in {"HOME_TAB_PATTERN", "AI_ACTION_PATTERN", "AI_LOOKUP_PATTERN",
                             "TEMPLATE_VAR_PREFIX", "FULL_MESSAGE_MODAL",
                             "PROFILE_MODAL"}):
            assert value in names, attr


def refusals(h, user) -> list[str]:
    out = [json.dumps(r) for r in h.slack.responses]
    out += [json.dumps(e["args"]) for e in h.slack.ephemerals if e["user"] == user]
    out += [json.dumps(v) for u, v in h.slack.home_views.items() if u == user]
    out += [json.dumps(c.args) for c in h.slack.calls("views.update")]
    return [o for o in out if "not on it" in o or "Only " in o]


def effects(h, since: int) -> list[str]:
    """Slack calls after `since` that are not lookups and not refusals."""
    out = []
    for call in h.slack.recorded[since:]:
        if call.method in QUIET:
            continue
        dumped = json.dumps(call.args, ensure_ascii=False)
        if "not on it" in dumped or "Only " in dumped:
            continue
        out.append(call.method)
    return out


async def prepare(h, w, key, user):
    """The signed request for this entry point (opening a modal first where it needs one)."""
    build = ENTRY_POINTS[key]
    if build is None:  # the template pick inside an open template modal
        modal = {k: v for k, v in _modal(ids.TEMPLATE_MODAL, w).items() if k != "id"}
        modal["title"] = {"type": "plain_text", "text": "Template"}
        opened = await h.runtime.slack.gateway.client.views_open(trigger_id="1.2.3", view=modal)
        view = opened["view"]
        signed = h.req.block_actions(h.req.action(
            ids.TEMPLATE_PICK[1], type="static_select", block_id=ids.TEMPLATE_PICK[0],
            selected_option=_option("order_update")), user=user, view=view)
    else:
        signed = build(h, w, user)
    return signed


async def attempt(h, signed, key):
    response = await h.post(signed)
    assert response.status_code == 200, (key, response.status_code, response.text)
    return response


@pytest.mark.only_backend("sqlite")  # the gate is the same on both; use cases run on both
@pytest.mark.parametrize("key", sorted(ENTRY_POINTS), ids=lambda k: f"{k[0]}:{k[1]}")
async def test_an_outsider_is_refused_and_changes_nothing(h, key):
    w = await world(h)
    signed = await prepare(h, w, key, OUTSIDER)
    before = await snapshot(h, w)
    since = len(h.slack.recorded)
    response = await attempt(h, signed, key)
    await h.runtime.slack.gate.settle()
    await h.drain()
    assert await snapshot(h, w) == before, key
    assert effects(h, since) == [], key
    body = response.text
    assert "Lucía" not in body and "4521" not in body and "ACME" not in body
    if key[0] == "options":
        assert response.json() == {"options": []}
    elif key[0] == "view":
        assert response.json()["response_action"] == "errors"
        assert "not on it" in response.text
    elif key[0] == "command":
        assert "not on it" in response.json()["text"]
    elif key != ("event", "message"):  # chatter in threads is ignored without a word
        assert refusals(h, OUTSIDER), key


@pytest.mark.only_backend("sqlite")  # the gate is the same on both; use cases run on both
@pytest.mark.parametrize("key", sorted(ENTRY_POINTS), ids=lambda k: f"{k[0]}:{k[1]}")
async def test_staff_are_let_through(h, key):
    w = await world(h)
    user = STAFF.get(key, ANA)
    signed = await prepare(h, w, key, user)
    before = await snapshot(h, w)
    since = len(h.slack.recorded)
    response = await attempt(h, signed, key)

    async def something_happened():
        await h.drain()
        return (await snapshot(h, w) != before or effects(h, since)
                or (key[0] in ("command", "options", "view") and response.content
                    and "not on it" not in response.text and "Only " not in response.text))

    if key == ("action", ids.OPEN_THREAD):  # a link button: Slack opens the URL itself
        await h.runtime.slack.gate.settle()
    else:
        assert await h.wait(something_happened), key
    assert not refusals(h, user), key


async def test_channel_members_are_staff_and_leaving_the_channel_ends_it(h):
    await world(h)
    members = h.runtime.slack.identity.members

    async def command_answer():
        return await h.post(h.req.slash_command("/inbox", "all", user_id=OUTSIDER,
                                                channel_id=INBOX))

    assert "not on it" in (await command_answer()).json()["text"]  # the list is now cached
    reads = len(h.slack.calls("conversations.members"))
    h.slack.join(INBOX, OUTSIDER)
    joined = h.req.member_joined_channel_event(INBOX, OUTSIDER)
    assert (await h.post(h.req.event(joined))).status_code == 200
    await h.wait(lambda: members.is_member(OUTSIDER))
    assert "not on it" not in (await command_answer()).text
    h.slack.leave(INBOX, OUTSIDER)
    left = h.req.member_left_channel_event(INBOX, OUTSIDER)
    assert (await h.post(h.req.event(left))).status_code == 200

    async def gone():
        return not await members.is_member(OUTSIDER)
    await h.wait(gone)
    assert "not on it" in (await command_answer()).json()["text"]
    assert len(h.slack.calls("conversations.members")) == reads  # the events did it


async def test_allowed_users_narrow_staff_further(engine, slack, tmp_path):
    from tests.bot.slack.harness import running_harness

    async with running_harness(engine, slack, tmp_path, SLACK_ALLOWED_USERS=BOSS) as h:
        answer = await h.post(h.req.slash_command("/inbox", "all", user_id=ANA,
                                                  channel_id=INBOX))
        assert "not on it" in answer.json()["text"]  # a member, but not on the list
        answer = await h.post(h.req.slash_command("/inbox", "all", user_id=BOSS,
                                                  channel_id=INBOX))
        assert "not on it" not in answer.text


def test_the_manifest_subscribes_to_every_event_the_gate_lets_in():
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[3] / "manifest.yml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    subscribed = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    wanted = {name for kind, name in REQUIRED if kind == "event"}
    # `message` arrives through message.channels (public) and message.groups (private)
    assert {e.split(".")[0] for e in subscribed} >= wanted
    assert {"message.channels", "message.groups"} <= subscribed
