"""Per-channel post pacing: a token bucket, so bursts never meet Slack's 429 wall."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class ChannelPacer:
    def __init__(
        self,
        per_second: float,
        burst: int,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        self.rate, self.burst = per_second, burst
        self._monotonic, self._sleep = monotonic, sleep
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, updated)
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, channel: str) -> None:
        """Take one token for `channel`, sleeping until one is there."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:  # FIFO among waiters of one channel: keeps their order
            while True:
                tokens = self._refill(channel)
                if tokens >= 1:
                    self._buckets[channel] = (tokens - 1, self._monotonic())
                    return
                await self._sleep((1 - tokens) / self.rate)

    def penalise(self, channel: str, seconds: float) -> None:
        """Slack said 429: drain the bucket so the next post waits `seconds`."""
        self._buckets[channel] = (-seconds * self.rate, self._monotonic())

    def _refill(self, channel: str) -> float:
        now = self._monotonic()
        tokens, updated = self._buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated) * self.rate)
        self._buckets[channel] = (tokens, now)
        return tokens
