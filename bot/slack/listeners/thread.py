"""Staff messages in a conversation's thread: written, edited, deleted. The core's reply
policy decides what each becomes; this module only translates Slack events for it and
tells staff what became of what they wrote when the thread's marker cannot."""

from __future__ import annotations

import logging
from urllib.parse import urlparse

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners.common import conversation_for, tell
from bot.slack.mirror import MSG, ref
from bot.slack.parsing import UsageError, mentioned_users, parse_mention, staff_text
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
from core.reply_policy import Change, StaffText

log = logging.getLogger("threadline.slack.thread")

MAX_FILE_BYTES = 100 * 1024 * 1024
TOO_LATE_EDIT = ("That reply had already gone to the customer: they have the original text. "
                 "Your edit changed only what Slack shows.")
TOO_LATE_DELETE = "That reply was already sent; deleting it in Slack does not unsend it."


async def _staff_text(s: SlackServices, client: AsyncWebClient, text: str, bot: str | None,
                      **kw) -> StaffText:
    names = await s.identity.names(client, [u for u in mentioned_users(text) if u != bot])
    return staff_text(text, bot_user_id=bot, names=names, **kw)


async def written(s: SlackServices, client: AsyncWebClient, event: dict,
                  bot: str | None) -> None:
    channel, ts, thread_ts = event.get("channel"), event.get("ts"), event.get("thread_ts")
    user = event.get("user")
    if not channel or not ts or not thread_ts or thread_ts == ts or not user:
        return  # only replies inside a conversation thread concern the customer
    conv_id = await conversation_for(s, channel, ts, thread_ts)
    if conv_id is None:
        return
    files = event.get("files") or []
    text = await _staff_text(s, client, event.get("text", ""), bot,
                             broadcast=event.get("subtype") == "thread_broadcast",
                             has_files=bool(files))
    if text.addresses_bot:
        return  # a command: the app_mention event for this same message runs it
    actor = await s.identity.actor(client, user)
    try:
        attachments = await _download_files(s, client, files)
    except (httpx.HTTPError, OSError, InvalidInput) as exc:
        log.warning("could not fetch a file staff shared in Slack: %s", exc)
        why = str(exc) if isinstance(exc, InvalidInput) else type(exc).__name__
        await tell(client, channel, user, "Not sent: Threadline could not take your file "
                   f"from Slack ({why}). Nothing went to the customer.", thread_ts)
        return
    try:
        await s.inbox.write_in_thread(conv_id, text, actor, delay=s.undo_window,
                                      attachments=attachments, origin=(MSG, ref(channel, ts)))
    except AlreadyRecorded:
        return  # Slack redelivered the event
    except WhatsAppWindowClosed:
        details = await s.inbox.conversation(conv_id)
        await s.gateway.post(channel, thread_ts=thread_ts, **thread_views.window_closed_message(
            conv_id, details.conversation.last_customer_message_at, s.clock.now()))
    except DomainError as exc:
        await tell(client, channel, user, f"Not sent: {exc}", thread_ts)


async def edited(s: SlackServices, client: AsyncWebClient, event: dict,
                 bot: str | None) -> None:
    message = event.get("message") or {}
    previous = event.get("previous_message") or {}
    channel, ts = event.get("channel"), message.get("ts")
    if not channel or not ts or message.get("bot_id") or not message.get("user"):
        return
    if message.get("text") == previous.get("text"):
        return  # an unfurl or a reply count changed, not the words
    link = await s.inbox.find_link(MSG, ref(channel, ts))
    if link is None or link.message_id is None:
        return  # never recorded (a command, or not in a conversation): an edit sends nothing
    user = message["user"]
    text = await _staff_text(s, client, message.get("text", ""), bot,
                             broadcast=message.get("subtype") == "thread_broadcast",
                             has_files=bool(message.get("files")))
    if text.addresses_bot:
        text = _mention_note_text(message.get("text", ""), bot, text)
    actor = await s.identity.actor(client, user)
    try:
        outcome = await s.inbox.edit_in_thread(link.message_id, text, actor)
    except (InvalidInput, DomainError) as exc:
        await tell(client, channel, user, f"Edit not applied: {exc}", message.get("thread_ts"))
        return
    if outcome.decision.change is Change.TOO_LATE:
        await tell(client, channel, user, TOO_LATE_EDIT, message.get("thread_ts"))


def _mention_note_text(raw: str, bot: str | None, fallback: StaffText) -> StaffText:
    """`@Threadline note …` edited: the new text is a note's (marked as one for the policy,
    so a queued reply or a held message edited this way becomes a note)."""
    try:
        cmd = parse_mention(raw, bot)
    except UsageError:
        return fallback
    if cmd.verb != "note":
        return fallback
    return StaffText(text=f"note: {cmd.text}", has_files=fallback.has_files)


async def deleted(s: SlackServices, client: AsyncWebClient, event: dict) -> None:
    channel, ts = event.get("channel"), event.get("deleted_ts")
    previous = event.get("previous_message") or {}
    user = previous.get("user")
    if not channel or not ts or not user:
        return
    link = await s.inbox.find_link(MSG, ref(channel, ts))
    if link is None or link.message_id is None:
        return
    actor = await s.identity.actor(client, user)
    try:
        await s.inbox.delete_in_thread(link.message_id, actor)
    except TooLateToChange:
        await tell(client, channel, user, TOO_LATE_DELETE, previous.get("thread_ts"))


async def _download_files(s: SlackServices, client: AsyncWebClient, files: list[dict]
                          ) -> list[Attachment]:
    """Files staff attach travel with the message; fetched with the bot token, only from
    Slack's own file hosts (the token must never go anywhere else)."""
    out: list[Attachment] = []
    if not files:
        return out
    async with httpx.AsyncClient(timeout=60, follow_redirects=False) as http:
        for f in files:
            url = f.get("url_private_download") or f.get("url_private")
            if not url or urlparse(url).hostname not in s.file_hosts:
                # The bot token goes only to Slack's file hosts: refuse, never drop silently.
                raise InvalidInput(f"{f.get('name') or 'a file'} is not on Slack's file servers")
            if int(f.get("size") or 0) > MAX_FILE_BYTES:
                raise InvalidInput(f"{f.get('name')} is larger than 100 MB")
            response = await http.get(url, headers={"Authorization": f"Bearer {client.token}"})
            response.raise_for_status()
            name = f.get("name") or "file"
            mime = f.get("mimetype") or "application/octet-stream"
            key = await s.files.put(response.content, name, mime)
            out.append(Attachment(name, mime, len(response.content), key))
    return out
