"""Events: staff messages in conversation threads (written, edited, deleted), bot
mentions, the App Home, and membership changes of the inbox channels."""

from __future__ import annotations

import asyncio
import logging
import weakref

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners import thread
from bot.slack.listeners.home import publish_home
from bot.slack.listeners.mentions import run_mention
from bot.slack.services import SlackServices

log = logging.getLogger("threadline.slack.events")

STAFF_SUBTYPES = (None, "file_share", "thread_broadcast")
# Errors a body of an unexpected shape raises: deterministic, so a 500 (and Slack's
# redeliveries) would not help; an outage (database, Slack API) is anything else.
CONTENT_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError)


def thread_of(event: dict) -> str:
    """The thread a message event belongs to (edits and deletions name it inside)."""
    inner = event.get("message") or event.get("previous_message") or event
    inner = inner if isinstance(inner, dict) else event
    return f"{event.get('channel')}:{inner.get('thread_ts') or inner.get('ts') or ''}"


class ThreadTurns:
    """One message event per thread at a time, in arrival order (asyncio locks are fair):
    a reply and its quick edit, or two quick replies, are stored in the order written."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary())

    def of(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock


def register(app: AsyncApp, s: SlackServices) -> None:
    turns = ThreadTurns()

    def bot_id(context) -> str | None:
        return context.get("bot_user_id") or s.identity.bot_user_id

    @app.middleware
    async def messages_before_ack(body: dict, client: AsyncWebClient, context, next):
        """Staff messages are handled before Slack gets its answer, not after an early ack:
        a process that dies in between then gets the event again (Slack redelivers what
        was not acknowledged) instead of losing what staff wrote. Runs after the gate."""
        event = body.get("event") if body.get("type") == "event_callback" else None
        if not isinstance(event, dict) or event.get("type") != "message":
            await next()
            return None
        try:
            async with turns.of(thread_of(event)):
                await on_message(event, client, context)
        except CONTENT_ERRORS as exc:  # the same body would fail again: no redelivery
            log.error("a Slack message event could not be read: %r", exc, exc_info=exc)
            return BoltResponse(status=200, body="")
        except Exception as exc:  # an outage: Slack redelivers what got no 2xx
            log.error("a Slack message event could not be handled; Slack will deliver it "
                      "again: %r", exc, exc_info=exc)
            forget = context.get("forget_event")
            if forget is not None:
                forget()
            return BoltResponse(status=500, body="could not store the event; please retry")
        return BoltResponse(status=200, body="")

    async def on_message(event: dict, client: AsyncWebClient, context) -> None:
        subtype = event.get("subtype")
        if event.get("bot_id") or subtype == "bot_message":
            return  # our own posts (and other bots') come back as events
        if subtype == "message_changed":
            await thread.edited(s, client, event, bot_id(context))
        elif subtype == "message_deleted":
            await thread.deleted(s, client, event)
        elif subtype in STAFF_SUBTYPES:
            await thread.written(s, client, event, bot_id(context))

    @app.event("app_mention")
    async def on_mention(event: dict, client: AsyncWebClient, context) -> None:
        await run_mention(s, client, event, bot_id(context))

    @app.event("app_home_opened")
    async def on_home(event: dict, client: AsyncWebClient, context) -> None:
        if event.get("tab", "home") == "home":
            await publish_home(s, client, event["user"], context.get("staff_role"))

    @app.event("member_joined_channel")
    async def on_join(event: dict) -> None:
        s.identity.members.joined(event.get("channel", ""), event.get("user", ""))

    @app.event("member_left_channel")
    async def on_leave(event: dict) -> None:
        s.identity.members.left(event.get("channel", ""), event.get("user", ""))
