"""Slack Web API calls used by the mirror, with Slack's errors mapped to the dispatcher's.

A 429 becomes RetryAfter (with Slack's Retry-After), 5xx and network trouble become
TransientError, everything else (bad channel, revoked token, invalid blocks) is permanent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.pacing import ChannelPacer
from bot.slack.workspace import AUTH_ERRORS
from core.delivery import PermanentError, RetryAfter, TransientError

log = logging.getLogger("threadline.slack")

_TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
AUTH_RETRY_SECONDS = 300.0
POST_EVENT = "threadline_post"  # message metadata event type of every post the mirror makes
LOOKUP_PAGES = 10


def slack_error_code(exc: BaseException) -> str | None:
    if isinstance(exc, SlackApiError) and hasattr(exc.response, "get"):
        return exc.response.get("error")
    return None


def post_payload(message: dict) -> dict:
    """The metadata payload of a post the mirror made ({} for anyone else's message)."""
    meta = message.get("metadata") or {}
    return (meta.get("event_payload") or {}) if meta.get("event_type") == POST_EVENT else {}


def map_slack_error(exc: BaseException) -> Exception:
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        error = (exc.response.get("error") if hasattr(exc.response, "get") else None) or "error"
        headers = getattr(exc.response, "headers", {}) or {}
        if error in AUTH_ERRORS:
            # The token stopped working: nothing will succeed until an operator fixes it.
            # Rows wait (not failed) so nothing is lost once it is fixed.
            return RetryAfter(AUTH_RETRY_SECONDS, f"Slack refused the bot token: {error}", error)
        if status == 429 or error == "ratelimited":
            retry_after = headers.get("Retry-After") or headers.get("retry-after") or 1
            return RetryAfter(float(retry_after), "Slack rate limit", "429")
        if status >= 500 or error in _TRANSIENT_ERRORS:
            return TransientError(f"Slack answered {status}: {error}", str(status))
        return PermanentError(f"Slack refused the call: {error}", error)
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return TransientError(f"Slack unreachable: {type(exc).__name__}: {exc}", "network")
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


class SlackGateway:
    def __init__(self, client: AsyncWebClient, pacer: ChannelPacer,
                 on_auth_failure: Callable[[str], None] | None = None) -> None:
        self.client, self.pacer = client, pacer
        self.on_auth_failure = on_auth_failure

    async def _call(self, fn: Callable[..., Awaitable[Any]], paced: str | None = None, **kw):
        try:
            return await fn(**kw)
        except Exception as exc:
            mapped = map_slack_error(exc)
            code = getattr(mapped, "code", None)
            if code in AUTH_ERRORS and self.on_auth_failure is not None:
                self.on_auth_failure(code)
            elif isinstance(mapped, RetryAfter) and paced:
                self.pacer.penalise(paced, mapped.seconds)
            raise mapped from exc

    async def post(self, channel: str, *, text: str, blocks: list | None = None,
                   thread_ts: str | None = None, **extra) -> str:
        return (await self.post_where(channel, text=text, blocks=blocks, thread_ts=thread_ts,
                                      **extra))[1]

    async def post_where(self, channel: str, *, text: str, blocks: list | None = None,
                         thread_ts: str | None = None, **extra) -> tuple[str, str]:
        """Post and return (channel id, ts): Slack answers with the id even when it was
        given a name, and links must be stored under the id that events carry."""
        await self.pacer.wait(channel)
        response = await self._call(
            self.client.chat_postMessage, channel, channel=channel, text=text, blocks=blocks,
            thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, **extra,
        )
        return response.get("channel") or channel, response["ts"]

    async def find_posted(self, channel: str, key: str, thread_ts: str | None = None
                          ) -> dict | None:
        """Our post carrying this key in its metadata, if Slack has it: after an attempt
        whose answer never came back (a crash, a timeout), so the post is not repeated.
        Reads recent history (or the thread); only ever called on such a retry."""
        async for message in self._recent(channel, thread_ts):
            if post_payload(message).get("key") == key:
                return message
        return None

    async def find_file_post(self, channel: str, thread_ts: str, *, file_ids=(),
                             filename: str | None = None, size: int | None = None
                             ) -> dict | None:
        """Our post in the thread that shares one of these files, or a file of this name and
        size: an upload whose answer never came back. Files carry no metadata, so without
        their ids name and size are what tells (two identical files in one thread can only
        mislead this after a lost answer: the second is then taken for the first)."""
        wanted = set(file_ids)
        async for message in self._recent(channel, thread_ts):
            if message.get("bot_id") and any(
                    isinstance(shared, dict) and (
                        shared.get("id") in wanted
                        or (filename is not None and shared.get("name") == filename
                            and shared.get("size") == size))
                    for shared in message.get("files") or []):
                return message
        return None

    async def _recent(self, channel: str, thread_ts: str | None) -> AsyncIterator[dict]:
        """The thread's messages (or the channel's recent history), up to LOOKUP_PAGES."""
        cursor = None
        for _ in range(LOOKUP_PAGES):
            if thread_ts:
                page = await self._call(self.client.conversations_replies, channel=channel,
                                        ts=thread_ts, limit=200, cursor=cursor,
                                        include_all_metadata=True)
            else:
                page = await self._call(self.client.conversations_history, channel=channel,
                                        limit=100, cursor=cursor, include_all_metadata=True)
            for message in page.get("messages") or []:
                yield message
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return

    async def post_key(self, channel: str, ts: str) -> str | None:
        """The key our post at `ts` carries (e.g. "card:12"), or None when it is not ours."""
        page = await self._call(self.client.conversations_history, channel=channel, latest=ts,
                                inclusive=True, limit=1, include_all_metadata=True)
        for message in page.get("messages") or []:
            if message.get("ts") == ts:
                return post_payload(message).get("key")
        return None

    async def update(self, channel: str, ts: str, *, text: str, blocks: list | None) -> None:
        await self._call(self.client.chat_update, channel=channel, ts=ts, text=text,
                         blocks=blocks)

    async def react(self, channel: str, ts: str, name: str) -> None:
        try:
            await self._call(self.client.reactions_add, channel=channel, timestamp=ts, name=name)
        except PermanentError as exc:
            if exc.code != "already_reacted":
                raise

    async def share(self, channel: str, thread_ts: str, files: list[tuple[bytes, str]],
                    blocks: list[dict]) -> list[str]:
        """Upload the files and share them in the thread as one post showing `blocks` (a
        message with its files). Returns the file ids; `share_ts` finds the post.

        The completion goes as a JSON body: the SDK's helper puts every argument in the
        query string, where a long message's blocks do not fit."""
        await self.pacer.wait(channel)
        ids = []
        for data, filename in files:
            slot = await self._call(self.client.files_getUploadURLExternal, filename=filename,
                                    length=len(data))
            await self._send_bytes(slot["upload_url"], data)
            ids.append(slot["file_id"])
        body = {"files": [{"id": i, "title": name} for i, (_, name) in zip(ids, files,
                                                                           strict=True)],
                "channel_id": channel, "thread_ts": thread_ts, "blocks": blocks}
        await self._call(self.client.api_call, channel,
                         api_method="files.completeUploadExternal", json=body)
        return ids

    async def share_ts(self, channel: str, thread_ts: str, file_id: str) -> str | None:
        """The ts of the post sharing this file in the thread, once Slack lists it in the
        file's `shares` (it fills them asynchronously, so a fresh share may be missing)."""
        info = await self._call(self.client.files_info, file=file_id)
        shares = (info.get("file") or {}).get("shares") or {}
        for kind in ("public", "private"):
            for entry in (shares.get(kind) or {}).get(channel) or []:
                if entry.get("thread_ts") == thread_ts and entry.get("ts"):
                    return str(entry["ts"])
        return None

    async def _send_bytes(self, url: str, data: bytes) -> None:
        """POST a file's bytes to the upload URL Slack issued."""
        timeout = aiohttp.ClientTimeout(total=max(30, self.client.timeout * 4))
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                    url, data=data, proxy=self.client.proxy, ssl=self.client.ssl) as response:
                if response.status >= 500 or response.status == 429:
                    raise TransientError(f"Slack's file upload answered {response.status}",
                                         str(response.status))
                if response.status != 200:
                    raise PermanentError(f"Slack's file upload refused the file: "
                                         f"{response.status}", "upload_refused")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise TransientError(f"Slack's file upload is unreachable: {exc}", "network") from exc

    async def permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = await self._call(self.client.chat_getPermalink, channel=channel,
                                        message_ts=ts)
        except (PermanentError, TransientError):
            return None
        return response.get("permalink")
