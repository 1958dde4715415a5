"""Per-channel post pacing: a token bucket, so bursts never meet Slack's 429 wall.

Short waits are slept in place; a long one (after Slack said 429) becomes RetryAfter, so
the dispatcher reschedules the row instead of holding a worker slot while it waits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from core.delivery import RetryAfter


class ChannelPacer:
    def __init__(
        self,
        per_second: float,
        burst: int,
        seconds: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        max_wait: float = 2.0,
    ) -> None:
        self.rate, self.burst, self.max_wait = per_second, burst, max_wait
        self._seconds, self._sleep = seconds, sleep
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, updated)
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, channel: str) -> None:
        """Take one token for `channel`, sleeping briefly if needed."""
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:  # FIFO among waiters of one channel: keeps their order
            tokens = self._refill(channel)
            if tokens < 1:
                delay = (1 - tokens) / self.rate
                if delay > self.max_wait:
                    raise RetryAfter(delay, f"pacing posts to {channel}")
                await self._sleep(delay)
                tokens = self._refill(channel)
            self._buckets[channel] = (tokens - 1, self._seconds())

    def penalise(self, channel: str, seconds: float) -> None:
        """Slack said 429: empty the bucket so nothing is posted there for `seconds`."""
        self._buckets[channel] = (1 - seconds * self.rate, self._seconds())

    def _refill(self, channel: str) -> float:
        now = self._seconds()
        tokens, updated = self._buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - updated) * self.rate)
        self._buckets[channel] = (tokens, now)
        return tokens
