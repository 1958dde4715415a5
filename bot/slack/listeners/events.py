"""Events: staff messages in a conversation thread, edits and deletes during the undo
window, bot mentions, App Home."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlparse

import httpx
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners.common import conversation_for, tell
from bot.slack.listeners.home import publish_home
from bot.slack.mirror import MSG, ref
from bot.slack.parsing import slack_to_plain
from bot.slack.services import SlackServices
from bot.slack.views import thread as thread_views
from core.errors import (
    AlreadyRecorded,
    DomainError,
    InvalidInput,
    TooLateToChange,
    WhatsAppWindowClosed,
)
from core.model import Attachment

log = logging.getLogger("threadline.slack.events")

NOTE_PREFIX = "note:"
MAX_FILE_BYTES = 100 * 1024 * 1024


def register(app: AsyncApp, s: SlackServices) -> None:
    @app.event("message")
    async def on_message(event: dict, client: AsyncWebClient, context) -> None:
        subtype = event.get("subtype")
        if event.get("bot_id") or subtype == "bot_message":
            return  # our own posts (and other bots') come back as events
        if subtype == "message_changed":
            await _edited(s, client, event)
        elif subtype == "message_deleted":
            await _deleted(s, client, event)
        elif subtype in (None, "file_share", "thread_broadcast"):
            await _staff_message(s, client, event)

    @app.event("app_mention")
    async def on_mention(event: dict, client: AsyncWebClient, context) -> None:
        from bot.slack.listeners.mentions import run_mention

        await run_mention(s, client, event, context.get("bot_user_id"))

    @app.event("app_home_opened")
    async def on_home(event: dict, client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home":
            await publish_home(s, client, event["user"])


async def _staff_message(s: SlackServices, client: AsyncWebClient, event: dict) -> None:
    channel, ts, thread_ts = event.get("channel"), event.get("ts"), event.get("thread_ts")
    if not channel or not ts or not thread_ts or thread_ts == ts:
        return  # only replies inside a conversation thread are for the customer
    conv_id = await conversation_for(s, channel, ts, thread_ts)
    if conv_id is None or not event.get("user"):
        return
    user = event["user"]
    if reason := s.identity.refusal(user, channel):
        await tell(client, channel, user, reason, thread_ts)
        return
    actor = await s.identity.actor(client, user)
    names = await s.identity.names(client, _mentioned(event.get("text", "")))
    text = slack_to_plain(event.get("text", ""), names)
    origin = (MSG, ref(channel, ts))
    try:
        if text.lower().startswith(NOTE_PREFIX):
            await s.inbox.add_note(conv_id, text[len(NOTE_PREFIX):].strip(), actor, origin=origin)
            return
        attachments = await _download_files(s, client, event.get("files") or [])
        await s.inbox.reply(conv_id, text, actor, attachments=attachments,
                            delay=s.undo_window, origin=origin)
    except AlreadyRecorded:
        return  # Slack redelivered the event
    except WhatsAppWindowClosed:
        details = await s.inbox.conversation(conv_id)
        await s.gateway.post(channel, thread_ts=thread_ts, **thread_views.window_closed_message(
            conv_id, details.conversation.last_customer_message_at, s.clock.now()))
    except DomainError as exc:
        await tell(client, channel, user, f"Not sent: {exc}", thread_ts)


async def _edited(s: SlackServices, client: AsyncWebClient, event: dict) -> None:
    message = event.get("message") or {}
    channel, ts = event.get("channel"), message.get("ts")
    if not channel or not ts or message.get("bot_id"):
        return
    link = await s.inbox.find_link(MSG, ref(channel, ts))
    if link is None or link.message_id is None:
        return
    user = message.get("user", "")
    actor = await s.identity.actor(client, user)
    text = slack_to_plain(message.get("text", ""))
    try:
        await s.inbox.edit_queued_reply(link.message_id, text, actor)
    except TooLateToChange:
        await tell(client, channel, user, "That reply was already sent: the customer got the "
                   "original text, not your edit.", message.get("thread_ts"))


async def _deleted(s: SlackServices, client: AsyncWebClient, event: dict) -> None:
    channel, ts = event.get("channel"), event.get("deleted_ts")
    previous = event.get("previous_message") or {}
    if not channel or not ts:
        return
    link = await s.inbox.find_link(MSG, ref(channel, ts))
    if link is None or link.message_id is None:
        return
    user = previous.get("user", "")
    actor = await s.identity.actor(client, user) if user else None
    if actor is None:
        return
    try:
        await s.inbox.withdraw_reply(link.message_id, actor)
    except TooLateToChange:
        await tell(client, channel, user, "That reply was already sent; deleting it in Slack "
                   "does not unsend it.", previous.get("thread_ts"))


def _mentioned(text: str) -> list[str]:
    return re.findall(r"<@([UW][A-Z0-9]+)", text or "")


async def _download_files(s: SlackServices, client: AsyncWebClient, files: list[dict]
                          ) -> list[Attachment]:
    """Files staff attach travel to the customer; fetched with the bot token, only from
    Slack's own file hosts (the token must never go anywhere else)."""
    out: list[Attachment] = []
    async with httpx.AsyncClient(timeout=60, follow_redirects=False) as http:
        for f in files:
            url = f.get("url_private_download") or f.get("url_private")
            if not url or urlparse(url).hostname not in s.file_hosts:
                log.warning("ignoring a Slack file from an unexpected host: %s", url)
                continue
            if int(f.get("size") or 0) > MAX_FILE_BYTES:
                raise InvalidInput(f"{f.get('name')} is larger than 100 MB")
            response = await http.get(url, headers={"Authorization": f"Bearer {client.token}"})
            response.raise_for_status()
            name = f.get("name") or "file"
            mime = f.get("mimetype") or "application/octet-stream"
            key = await s.files.put(response.content, name, mime)
            out.append(Attachment(name, mime, len(response.content), key))
    return out

