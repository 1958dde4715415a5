"""Who is in the inbox channels: Slack's member lists, cached for a short time and kept
current by member_joined_channel / member_left_channel events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("threadline.slack.members")


class ChannelMembers:
    def __init__(self, client: AsyncWebClient, channels: Iterable[str], ttl_seconds: float,
                 seconds: Callable[[], float]) -> None:
        self.client = client
        self.channels = set(channels)
        self.ttl = ttl_seconds
        self._seconds = seconds
        self._members: dict[str, set[str]] = {}
        self._read_at: dict[str, float] = {}
        self._lock = asyncio.Lock()

    def set_channels(self, channels: Iterable[str]) -> None:
        """The inbox channels changed (names resolved to ids at start-up)."""
        self.channels = set(channels)
        for gone in set(self._members) - self.channels:
            self._members.pop(gone, None)
            self._read_at.pop(gone, None)

    async def is_member(self, user: str) -> bool:
        """In any inbox channel. When Slack cannot be asked, the last list read counts; with
        none, the answer is no (nobody gets in because Slack was down)."""
        for channel in sorted(self.channels):
            if user in await self._of(channel):
                return True
        return False

    def joined(self, channel: str, user: str) -> None:
        if channel in self._members:
            self._members[channel].add(user)

    def left(self, channel: str, user: str) -> None:
        if channel in self._members:
            self._members[channel].discard(user)

    async def _of(self, channel: str) -> set[str]:
        now = self._seconds()
        if channel in self._members and now - self._read_at[channel] < self.ttl:
            return self._members[channel]
        async with self._lock:
            if channel in self._members and self._seconds() - self._read_at[channel] < self.ttl:
                return self._members[channel]
            try:
                members = await self._read(channel)
            except Exception as exc:
                log.warning("cannot read the members of %s (%s); using the last list read",
                            channel, exc)
                return self._members.get(channel, set())
            self._members[channel], self._read_at[channel] = members, self._seconds()
            return members

    async def _read(self, channel: str) -> set[str]:
        members: set[str] = set()
        cursor = None
        while True:
            response = await self.client.conversations_members(
                channel=channel, limit=1000, cursor=cursor)
            members.update(response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members
