"""The live countdown on "→ to customer in N s" markers under queued replies.

Cosmetic and per process: the marker's final state (sent, withdrawn, kept as a note) is
written by the mirror's outbox handlers whatever happens here. Updates and the mirror's
refreshes of one marker take turns through a per-message lock, and the countdown stops a
moment before the send time, so it never writes over a newer state written here.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.slack.presenter import Presenter
from bot.slack.views import thread as thread_views
from core.clock import Clock
from core.model import DeliveryStatus, MessageKind
from core.usecases import Inbox

log = logging.getLogger("threadline.slack.countdown")

STOP_BEFORE = timedelta(seconds=1)


@dataclass
class _Marker:
    channel: str
    ts: str
    send_at: datetime
    conversation_channel: str  # email | whatsapp, for the wording
    updated_at: datetime


class Countdown:
    def __init__(self, inbox: Inbox, gateway, presenter: Presenter, clock: Clock,
                 every_seconds: float) -> None:
        self.inbox, self.gateway, self.presenter, self.clock = inbox, gateway, presenter, clock
        self.every = timedelta(seconds=every_seconds)
        self._markers: dict[int, _Marker] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def lock(self, message_id: int) -> asyncio.Lock:
        return self._locks.setdefault(message_id, asyncio.Lock())

    def track(self, message_id: int, channel: str, ts: str, send_at: datetime,
              conversation_channel: str) -> None:
        if self.every and send_at - STOP_BEFORE > self.clock.now():
            self._markers[message_id] = _Marker(channel, ts, send_at, conversation_channel,
                                                self.clock.now())

    def forget(self, message_id: int) -> None:
        self._markers.pop(message_id, None)
        self._locks.pop(message_id, None)

    @property
    def tracked(self) -> tuple[int, ...]:
        return tuple(self._markers)

    async def tick(self) -> int:
        """Refresh the markers that are due; returns how many were updated."""
        updated = 0
        for message_id, marker in list(self._markers.items()):
            now = self.clock.now()
            if marker.send_at - STOP_BEFORE <= now:
                self.forget(message_id)
                continue
            if now - marker.updated_at < self.every:
                continue
            async with self.lock(message_id):
                if message_id not in self._markers:
                    continue  # a refresh by the mirror ended it meanwhile
                message = await self.inbox.message(message_id)
                if (message.kind is not MessageKind.MESSAGE
                        or message.delivery_status is not DeliveryStatus.QUEUED):
                    self.forget(message_id)
                    continue
                view = self.presenter.send_status(message, marker.conversation_channel)
                try:
                    await self.gateway.update(marker.channel, marker.ts,
                                              **thread_views.send_status_message(view))
                except Exception as exc:  # rate limited or Slack away: the next tick tries
                    log.debug("countdown update of message %s skipped: %s", message_id, exc)
                    continue
                marker.updated_at = now
                updated += 1
        return updated

    async def run(self, stop: asyncio.Event) -> None:
        period = max(0.5, min(1.0, self.every.total_seconds() / 2))
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.warning("countdown tick failed", exc_info=True)
            try:
                await asyncio.wait_for(stop.wait(), timeout=period)
            except TimeoutError:
                pass
