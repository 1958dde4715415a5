"""The outbox dispatcher: claims due rows, runs their handlers, records the outcome.

Every worker process runs one. The store's claim hands out at most the head row of each
order key and skips rows other workers hold (SKIP LOCKED on PostgreSQL), so handlers of one
batch touch different order keys and may run concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from core.clock import Clock
from core.delivery import PermanentError, RetryAfter, TransientError

log = logging.getLogger("threadline.dispatcher")

Handler = Callable[[Any], Awaitable[None]]
FailureHook = Callable[[Any, PermanentError], Awaitable[None]]


class OutboxStorePort(Protocol):
    async def claim(self, kinds, worker_id, now, lease, limit) -> list: ...
    async def complete(self, row_id, worker_id, now) -> Any: ...
    async def retry(self, row_id, worker_id, available_at, error, now) -> Any: ...
    async def fail(self, row_id, worker_id, error, now) -> Any: ...


class DispatchStats(Protocol):
    """Optional observer (Prometheus counters in production)."""

    def processed(self, kind: str, outcome: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _Registration:
    handler: Handler
    on_permanent_failure: FailureHook | None


def _error_text(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    text = getattr(exc, "text", None) or str(exc) or type(exc).__name__
    if not isinstance(exc, TransientError | PermanentError):
        text = f"{type(exc).__name__}: {text}"
    return f"[{code}] {text}" if code else text


class Dispatcher:
    def __init__(
        self,
        store: OutboxStorePort,
        clock: Clock,
        worker_id: str,
        handlers: dict[str, Handler] | None = None,
        *,
        lease: timedelta | float = timedelta(minutes=2),
        batch: int = 20,
        max_attempts: int = 12,
        base_delay: timedelta | float = timedelta(seconds=1),
        max_delay: timedelta | float = timedelta(minutes=15),
        rng: random.Random | None = None,
        stats: DispatchStats | None = None,
    ) -> None:
        self.store, self.clock, self.worker_id = store, clock, worker_id
        self.lease = _td(lease)
        self.batch, self.max_attempts = batch, max_attempts
        self.base_delay, self.max_delay = _td(base_delay), _td(max_delay)
        self.rng = rng or random.Random()
        self.stats = stats
        self._registry: dict[str, _Registration] = {}
        for kind, handler in (handlers or {}).items():
            self.register(kind, handler)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._registry))

    def register(
        self, kind: str, handler: Handler, on_permanent_failure: FailureHook | None = None
    ) -> None:
        """Handle outbox rows of `kind` (`<target>:<event>`); the last registration wins."""
        self._registry[kind] = _Registration(handler, on_permanent_failure)

    def unregister(self, kinds) -> None:
        """Stop handling these kinds (a front end that stopped): their rows wait, untouched,
        until a process that handles them runs."""
        for kind in kinds:
            self._registry.pop(kind, None)

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter: uniform(0, min(max, base * 2**(n-1)))."""
        exponent = min(max(attempts, 1) - 1, 60)
        cap = min(self.max_delay.total_seconds(), self.base_delay.total_seconds() * 2**exponent)
        return timedelta(seconds=self.rng.uniform(0, cap))

    async def run_once(self) -> int:
        """Claim one batch of due rows and process it. Returns how many rows were handled."""
        if not self._registry:
            return 0
        now = self.clock.now()
        rows = await self.store.claim(self.kinds, self.worker_id, now, self.lease, self.batch)
        if not rows:
            return 0
        await asyncio.gather(*(self._process(row) for row in rows))
        return len(rows)

    async def drain(self, max_rounds: int = 1000) -> int:
        """Run batches until nothing is due (tests, CLI). Returns rows handled."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_once()
            if not n:
                break
            total += n
        return total

    async def run_forever(self, stop: asyncio.Event, idle_sleep: float = 1.0) -> None:
        """Loop until `stop` is set: busy while there is work, `idle_sleep` between polls."""
        log.info("dispatcher %s started for kinds: %s", self.worker_id,
                 ", ".join(self.kinds) or "(none)")
        failures = 0
        while not stop.is_set():
            try:
                handled = await self.run_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                handled = 0
                log.exception("dispatcher %s: claiming from the outbox failed", self.worker_id)
            if handled:
                continue
            delay = idle_sleep if not failures else min(30.0, idle_sleep * 2**min(failures, 5))
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                pass
        log.info("dispatcher %s stopped", self.worker_id)

    # -- one row -------------------------------------------------------------------------
    async def _process(self, row) -> None:
        reg = self._registry.get(row.kind)
        if reg is None:  # the kind was unregistered between claim and now
            now = self.clock.now()
            await self.store.retry(row.id, self.worker_id, now, "no handler", now)
            return
        attempt = int(getattr(row, "attempts", 0) or 0) + 1  # the store counts past failures
        try:
            await reg.handler(row)
        except asyncio.CancelledError:
            raise
        except PermanentError as exc:
            await self._fail(row, reg, exc, _error_text(exc))
            return
        except RetryAfter as exc:
            await self._retry(row, attempt, exc, timedelta(seconds=exc.seconds))
            return
        except Exception as exc:  # TransientError or a bug: both are retried with backoff
            if not isinstance(exc, TransientError):
                log.exception("outbox row %s (%s) raised unexpectedly", row.id, row.kind)
            await self._retry(row, attempt, exc, None)
            return
        await self.store.complete(row.id, self.worker_id, self.clock.now())
        self._count(row.kind, "completed")

    async def _retry(self, row, attempt: int, exc: Exception, wait: timedelta | None) -> None:
        """`attempt` is the number of the attempt that just failed (1 for the first)."""
        text = _error_text(exc)
        if attempt >= self.max_attempts:
            log.error("outbox row %s (%s) failed after %d attempts: %s",
                      row.id, row.kind, attempt, text)
            reg = self._registry.get(row.kind)
            err = PermanentError(f"gave up after {attempt} attempts: {text}", "max_attempts")
            await self._fail(row, reg, err, err.text, already_logged=True)
            return
        now = self.clock.now()
        delay = wait if wait is not None else self.backoff(attempt)
        log.warning("outbox row %s (%s) attempt %d failed, retrying in %.1fs: %s",
                    row.id, row.kind, attempt, delay.total_seconds(), text)
        await self.store.retry(row.id, self.worker_id, now + delay, text, now)
        self._count(row.kind, "retried")

    async def _fail(self, row, reg: _Registration | None, exc: PermanentError, text: str,
                    already_logged: bool = False) -> None:
        if not already_logged:
            log.error("outbox row %s (%s) failed permanently: %s", row.id, row.kind, text)
        await self.store.fail(row.id, self.worker_id, text, self.clock.now())
        self._count(row.kind, "failed")
        if reg is not None and reg.on_permanent_failure is not None:
            try:
                await reg.on_permanent_failure(row, exc)
            except Exception:
                log.exception("permanent-failure hook for outbox row %s (%s) raised",
                              row.id, row.kind)

    def _count(self, kind: str, outcome: str) -> None:
        if self.stats is not None:
            self.stats.processed(kind, outcome)


def _td(value: timedelta | float) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))
