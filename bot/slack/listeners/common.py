"""Helpers shared by listeners: find the conversation behind a Slack message, report errors."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.mirror import CARD, ref
from bot.slack.services import SlackServices
from bot.slack.views import thread as thread_views
from core.errors import AlreadyRecorded, DomainError, InvalidInput
from core.model import Agent

log = logging.getLogger("threadline.slack")


async def conversation_for(
    services: SlackServices, channel: str, ts: str, thread_ts: str | None
) -> int | None:
    """The conversation whose card is this message or the parent of its thread."""
    for candidate in (thread_ts, ts):
        if candidate:
            link = await services.inbox.find_link(CARD, ref(channel, candidate))
            if link is not None:
                return link.conversation_id
    if thread_ts:
        return await _unlinked_card(services, channel, thread_ts)
    return None


async def _unlinked_card(services: SlackServices, channel: str, thread_ts: str) -> int | None:
    """A thread under a card of ours that has no link (a duplicate card posted before
    posts were made idempotent, or links lost): recognise it by the card's metadata and
    link it, so what staff write there is not dropped. Each thread is asked about once."""
    key = ref(channel, thread_ts)
    if key in services.unknown_threads or channel not in services.identity.members.channels:
        return None
    try:
        post_key = await services.gateway.post_key(channel, thread_ts)
    except Exception:
        log.warning("could not look up the parent of thread %s", key, exc_info=True)
        return None
    kind, _, number = (post_key or "").partition(":")
    if kind != "card" or not number.isdigit():
        if len(services.unknown_threads) > 10_000:
            services.unknown_threads.clear()  # a bound, not a cache that must be right
        services.unknown_threads.add(key)
        return None
    await services.inbox.claim_link(CARD, key, int(number), None)
    log.warning("linked a second card thread %s to conversation %s", key, number)
    return int(number)


def ephemeral(payload: dict) -> dict:
    """Builders mark responses ephemeral for response_url use; chat.postEphemeral does not
    take that field."""
    return {k: v for k, v in payload.items() if k != "response_type"}


async def tell(client: AsyncWebClient, channel: str | None, user: str, text: str,
               thread_ts: str | None = None) -> None:
    """An ephemeral note to one user (errors, refusals, confirmations)."""
    if not channel:
        try:
            opened = await client.conversations_open(users=user)
            channel = opened["channel"]["id"]
        except Exception:
            log.warning("could not tell %s: %s", user, text)
            return
    try:
        await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts,
                                        **ephemeral(thread_views.error_message(text)))
    except Exception:
        log.warning("could not post an ephemeral note to %s in %s", user, channel,
                    exc_info=True)


async def staff_agent(services: SlackServices, client: AsyncWebClient, user_id: str) -> Agent:
    """The agent record of someone picked in Slack (an assignee): only staff qualify."""
    if await services.identity.role_of(client, user_id) is None:
        raise InvalidInput(f"<@{user_id}> is not on the support team, so they cannot be "
                           "assigned conversations")
    return await services.identity.agent(client, user_id)


async def guarded(client: AsyncWebClient, channel: str | None, user: str, coro,
                  thread_ts: str | None = None):
    """Run a core call; a domain error becomes an ephemeral explanation, not a crash."""
    try:
        return await coro
    except AlreadyRecorded:
        return None  # the same Slack message delivered again: already done
    except DomainError as exc:
        await tell(client, channel, user, str(exc), thread_ts)
        return None
