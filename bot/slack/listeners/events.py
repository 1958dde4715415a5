"""Events: staff messages in conversation threads (written, edited, deleted), bot
mentions, the App Home, and membership changes of the inbox channels."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners import thread
from bot.slack.listeners.home import publish_home
from bot.slack.listeners.mentions import run_mention
from bot.slack.services import SlackServices

STAFF_SUBTYPES = (None, "file_share", "thread_broadcast")


def register(app: AsyncApp, s: SlackServices) -> None:
    def bot_id(context) -> str | None:
        return context.get("bot_user_id") or s.identity.bot_user_id

    @app.event("message")
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
