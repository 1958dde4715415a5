"""`@Threadline snooze 2h` and friends inside a conversation thread (slash commands cannot
run in threads)."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners.common import (
    conversation_for,
    ephemeral,
    guarded,
    staff_agent,
    tell,
)
from bot.slack.mirror import MSG, ref
from bot.slack.parsing import UsageError, parse_mention
from bot.slack.services import SlackServices
from bot.slack.views import lists as list_views

DONE = "white_check_mark"


async def run_mention(s: SlackServices, client: AsyncWebClient, event: dict,
                      bot_user_id: str | None) -> None:
    channel, ts, user = event.get("channel"), event.get("ts"), event.get("user")
    thread_ts = event.get("thread_ts")
    if not channel or not ts or not user:
        return
    try:
        cmd = parse_mention(event.get("text", ""), bot_user_id)
    except UsageError as exc:
        await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                        **ephemeral(list_views.usage_error(str(exc))))
        return
    if cmd.verb == "help":
        await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                        **ephemeral(list_views.help_message()))
        return
    conv_id = await conversation_for(s, channel, ts, thread_ts)
    if conv_id is None:
        await tell(client, channel, user, "Mention me inside a conversation thread to act on "
                   "it (try `@Threadline help`).", thread_ts)
        return
    actor = await s.identity.actor(client, user)
    inbox = s.inbox
    if cmd.verb == "snooze":
        call = inbox.snooze(conv_id, actor, preset=cmd.preset)
    elif cmd.verb == "assign":
        call = _assign(s, client, conv_id, actor, cmd.user_id or user)
    elif cmd.verb == "unassign":
        call = inbox.unassign(conv_id, actor)
    elif cmd.verb == "tag":
        call = inbox.add_tags(conv_id, cmd.tags, actor)
    elif cmd.verb == "untag":
        call = inbox.remove_tags(conv_id, cmd.tags, actor)
    elif cmd.verb == "resolve":
        call = inbox.resolve(conv_id, actor)
    elif cmd.verb == "reopen":
        call = inbox.reopen(conv_id, actor)
    else:  # note: linked to this Slack message, so editing it edits the note
        call = inbox.add_note(conv_id, cmd.text, actor, origin=(MSG, ref(channel, ts)))
    if await guarded(client, channel, user, call, thread_ts) is not None:
        try:
            await client.reactions_add(channel=channel, timestamp=ts, name=DONE)
        except Exception:
            pass  # the card update shows the result anyway


async def _assign(s: SlackServices, client: AsyncWebClient, conv_id: int, actor, target: str):
    agent = await staff_agent(s, client, target)
    return await s.inbox.assign(conv_id, actor, agent_id=agent.id)
