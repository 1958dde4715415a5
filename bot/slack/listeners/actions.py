"""Buttons and menus on cards, undo-send controls, App Home tabs, message shortcuts.

Every listener acks first (Slack wants an answer within 3 s), then does the work. Who may
click what was already decided by the gate (bot/slack/access.py) before any of this runs.
"""

from __future__ import annotations

import json
import re

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners.common import conversation_for, guarded, tell
from bot.slack.listeners.home import publish_home, set_available
from bot.slack.listeners.modals import build_modal, open_modal
from bot.slack.services import SlackServices
from bot.slack.views import ids
from bot.slack.views import thread as thread_views
from core.errors import DomainError, InvalidInput
from core.snooze import parse_preset

CARD_MODALS = {
    ids.ASSIGN_OPEN: "assign",
    ids.TAGS_OPEN: "tags",
    ids.TEMPLATE_OPEN: "template",
    ids.NOTE_OPEN: "note",
    ids.LINK_CUSTOMER_OPEN: "link_customer",
    ids.PROFILE_OPEN: "profile",
}
SHORTCUTS = {
    ids.SHORTCUT_NOTE: "note",
    ids.SHORTCUT_SNOOZE: "snooze",
    ids.SHORTCUT_TAGS: "tags",
    ids.SHORTCUT_TEMPLATE: "template",
}


def _where(body: dict) -> tuple[str | None, str, str | None]:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id")
    message = body.get("message") or {}
    return channel, body["user"]["id"], message.get("thread_ts") or message.get("ts")


def register(app: AsyncApp, s: SlackServices) -> None:
    async def assign_me(conv_id, actor, user, client, body, role):
        return await s.inbox.assign(conv_id, actor, agent_id=actor.id)

    async def resolve(conv_id, actor, user, client, body, role):
        return await s.inbox.resolve(conv_id, actor)

    async def reopen(conv_id, actor, user, client, body, role):
        return await s.inbox.reopen(conv_id, actor)

    async def undo(message_id, actor, user, client, body, role):
        return await s.inbox.withdraw_reply(message_id, actor)

    async def make_note(message_id, actor, user, client, body, role):
        return await s.inbox.reply_to_note(message_id, actor)

    async def send_held(message_id, actor, user, client, body, role):
        return await s.inbox.send_held(message_id, actor, s.undo_window)

    async def retry_send(message_id, actor, user, client, body, role):
        return await s.inbox.retry_failed_send(message_id, actor)

    for action_id, run in ((ids.ASSIGN_ME, assign_me), (ids.RESOLVE, resolve),
                           (ids.REOPEN, reopen), (ids.UNDO_SEND, undo),
                           (ids.MAKE_NOTE, make_note), (ids.SEND_HELD, send_held),
                           (ids.RETRY_SEND, retry_send)):
        _register_simple(app, s, action_id, run)

    for action_id, modal in CARD_MODALS.items():
        _register_simple(app, s, action_id, _opener(s, modal))

    @app.action(ids.SNOOZE_MENU)
    async def snooze_menu(ack, body: dict, action: dict, client: AsyncWebClient,
                          context) -> None:
        await ack()
        channel, user, thread_ts = _where(body)
        conv_id, _, choice = action["selected_option"]["value"].partition(":")
        if choice == "pick":
            await guarded(client, channel, user, open_modal(
                s, client, body["trigger_id"], "snooze", int(conv_id), user,
                context.get("staff_role")), thread_ts)
            return
        actor = await s.identity.actor(client, user)
        await guarded(client, channel, user, s.inbox.snooze(
            int(conv_id), actor, preset=parse_preset(choice)), thread_ts)

    @app.action(ids.SHOW_FULL)
    async def show_full(ack, body: dict, action: dict, client: AsyncWebClient) -> None:
        await ack()
        message = await s.inbox.message(int(action["value"]))
        await client.views_open(trigger_id=body["trigger_id"], view=thread_views.full_message_modal(
            message.subject or "Full message", message.body, message.id))

    @app.action(re.compile(ids.HOME_TAB_PATTERN))
    async def home_tab(ack, body: dict, action: dict, client: AsyncWebClient,
                       context) -> None:
        await ack()
        user = body["user"]["id"]
        s.home_state.setdefault(user, {})["tab"] = action["value"]
        await publish_home(s, client, user, context.get("staff_role"))

    for action_id, key in ((ids.HOME_FILTER_STATUS, "status"),
                           (ids.HOME_FILTER_CHANNEL, "channel"), (ids.HOME_FILTER_TAG, "tag")):
        _register_home_filter(app, s, action_id, key)

    @app.action(ids.HOME_AVAILABILITY)
    async def home_availability(ack, body: dict, action: dict, client: AsyncWebClient,
                                context) -> None:
        await ack()
        user = body["user"]["id"]
        await guarded(client, None, user, set_available(s, client, user,
                                                        action.get("value") == "back"))
        await publish_home(s, client, user, context.get("staff_role"))

    @app.action(ids.OPEN_THREAD)
    async def open_thread(ack) -> None:
        await ack()  # a link button: Slack opens the URL itself

    @app.action(re.compile(ids.AI_LOOKUP_PATTERN))
    async def ai_lookup(ack) -> None:
        await ack()  # a link button to the customer system

    @app.action(re.compile(ids.AI_ACTION_PATTERN))
    async def ai_action(ack, body: dict, action: dict, client: AsyncWebClient,
                        context) -> None:
        """A quick action of an AI note, done through the core as the person who clicks
        it (so with their permissions), never as the AI."""
        await ack()
        channel, user, thread_ts = _where(body)
        await guarded(client, channel, user, _ai_action(
            s, client, body, action.get("value") or "", user, context.get("staff_role")),
            thread_ts)

    for callback_id, modal in SHORTCUTS.items():
        _register_shortcut_modal(app, s, callback_id, modal)
    for callback_id in (ids.SHORTCUT_ASSIGN_ME, ids.SHORTCUT_RESOLVE):
        _register_shortcut_direct(app, s, callback_id)


async def _ai_action(s: SlackServices, client: AsyncWebClient, body: dict, value: str,
                     user: str, role) -> None:
    try:
        choice = json.loads(value)
        conv_id, kind, name = int(choice["c"]), str(choice["k"]), str(choice["v"])
    except (ValueError, TypeError, KeyError):
        raise InvalidInput("this button is damaged; use the card's buttons instead") from None
    if kind == "send_template":  # the template modal, with this one chosen: staff send it
        await client.views_open(trigger_id=body["trigger_id"], view=await build_modal(
            s, "template", conv_id, user, selected=name, role=role))
        return
    actor = await s.identity.actor(client, user)
    if kind == "assign_team":
        team = next((t for t in await s.inbox.teams() if t.name == name), None)
        if team is None:
            raise DomainError(f"there is no team {name!r} any more")
        await s.inbox.assign(conv_id, actor, team_id=team.id)
    elif kind == "add_tag":
        await s.inbox.add_tags(conv_id, [name], actor)
    else:
        raise InvalidInput(f"unknown quick action {kind!r}")


def _register_simple(app, s, action_id, run) -> None:
    @app.action(action_id)
    async def handler(ack, body: dict, action: dict, client: AsyncWebClient,
                      context) -> None:
        await ack()
        channel, user, thread_ts = _where(body)
        actor = await s.identity.actor(client, user)
        await guarded(client, channel, user, run(int(action["value"]), actor, user, client,
                                                 body, context.get("staff_role")), thread_ts)


def _opener(s, modal: str):
    async def run(conv_id, actor, user, client, body, role):
        await open_modal(s, client, body["trigger_id"], modal, conv_id, user, role)
    return run


def _register_home_filter(app, s, action_id: str, key: str) -> None:
    @app.action(action_id)
    async def handler(ack, body: dict, action: dict, client: AsyncWebClient,
                      context) -> None:
        await ack()
        user = body["user"]["id"]
        selected = (action.get("selected_option") or {}).get("value")
        s.home_state.setdefault(user, {"tab": "mine"})[key] = (
            None if selected in (None, "any") else selected)
        await publish_home(s, client, user, context.get("staff_role"))


async def _shortcut_conversation(s, client, shortcut: dict) -> tuple[int | None, str, str | None]:
    channel = (shortcut.get("channel") or {}).get("id")
    message = shortcut.get("message") or {}
    user = shortcut["user"]["id"]
    conv_id = await conversation_for(s, channel or "", message.get("ts", ""),
                                     message.get("thread_ts"))
    if conv_id is None:
        await tell(client, channel, user, "This message is not part of a Threadline "
                   "conversation.", message.get("thread_ts"))
    return conv_id, user, channel


def _register_shortcut_modal(app, s, callback_id: str, modal: str) -> None:
    @app.shortcut(callback_id)
    async def handler(ack, shortcut: dict, client: AsyncWebClient, context) -> None:
        await ack()
        conv_id, user, channel = await _shortcut_conversation(s, client, shortcut)
        if conv_id is not None:
            await guarded(client, channel, user, open_modal(
                s, client, shortcut["trigger_id"], modal, conv_id, user,
                context.get("staff_role")))


def _register_shortcut_direct(app, s, callback_id: str) -> None:
    @app.shortcut(callback_id)
    async def handler(ack, shortcut: dict, client: AsyncWebClient) -> None:
        await ack()
        conv_id, user, channel = await _shortcut_conversation(s, client, shortcut)
        if conv_id is None:
            return
        actor = await s.identity.actor(client, user)
        call = (s.inbox.assign(conv_id, actor, agent_id=actor.id)
                if callback_id == ids.SHORTCUT_ASSIGN_ME else s.inbox.resolve(conv_id, actor))
        await guarded(client, channel, user, call)
