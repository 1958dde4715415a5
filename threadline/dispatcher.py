"""The outbox dispatcher: claims due rows, runs their handlers, records the outcome.

Every worker process runs one. The store's claim hands out at most the head row of each
order key and skips rows other workers hold (SKIP LOCKED on PostgreSQL), so handlers of one
batch touch different order keys and may run concurrently.

What each outcome does:
  success            done; rows of the same target waiting on a transient failure are
                     woken (the target works again), so a backlog drains at once
  TransientError     retried with capped exponential backoff while the row is inside its
                     target's retry horizon (counted from its creation); failed after it
  RetryAfter         waits as long as the provider asked; never an attempt, never fails
  PermanentError     failed at once (the failure hook shows it)
  anything else      a bug: retried with backoff, failed after `max_attempts` of them
  worker died        the lease expires and the row is claimed again; after `max_crashes`
                     such expiries it is failed instead of run again (a poison row)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from core.clock import Clock
from core.delivery import PermanentError, RetryAfter, TransientError

log = logging.getLogger("threadline.dispatcher")

Handler = Callable[[Any], Awaitable[None]]
FailureHook = Callable[[Any, PermanentError], Awaitable[None]]

DEFAULT_HORIZON = timedelta(hours=24)
# Failure kinds as the store records them (storage.outbox_store names the same strings).
TRANSIENT, RETRY_AFTER, UNEXPECTED, CRASH = "transient", "retry_after", "unexpected", "crash"


class OutboxStorePort(Protocol):
    async def claim(self, kinds, worker_id, now, lease, limit) -> list: ...
    async def complete(self, row_id, worker_id, now) -> bool: ...
    async def retry(self, row_id, worker_id, available_at, error, now, failure=...) -> bool: ...
    async def fail(self, row_id, worker_id, error, now, failure=...) -> bool: ...
    async def renew(self, row_id, worker_id, locked_until) -> bool: ...
    async def wake(self, target, now) -> int: ...


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


def target_of(kind: str) -> str:
    return kind.split(":", 1)[0]


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
        max_crashes: int = 3,
        base_delay: timedelta | float = timedelta(seconds=1),
        max_delay: timedelta | float = timedelta(minutes=15),
        horizons: dict[str, timedelta | float] | None = None,
        default_horizon: timedelta | float = DEFAULT_HORIZON,
        wake_interval: timedelta | float = timedelta(seconds=1),
        rng: random.Random | None = None,
        stats: DispatchStats | None = None,
    ) -> None:
        """`max_attempts` caps unexpected exceptions (bugs), `max_crashes` lease expiries;
        `horizons` maps a target (`slack`, `send`...) to how long its rows keep retrying
        transient failures, `default_horizon` for the rest. A success wakes its target's
        transiently failed rows at most once per `wake_interval`, unless the row that
        succeeded had failed itself (the clearest sign of a recovery)."""
        self.store, self.clock, self.worker_id = store, clock, worker_id
        self.lease = _td(lease)
        self.batch, self.max_attempts, self.max_crashes = batch, max_attempts, max_crashes
        self.base_delay, self.max_delay = _td(base_delay), _td(max_delay)
        self.horizons = {t: _td(h) for t, h in (horizons or {}).items()}
        self.default_horizon = _td(default_horizon)
        self.wake_interval = _td(wake_interval)
        self.rng = rng or random.Random()
        self.stats = stats
        self._registry: dict[str, _Registration] = {}
        self._last_wake: dict[str, datetime] = {}
        self._nudged: asyncio.Event | None = None  # made by run_forever, in its own loop
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

    def handles(self, kind: str) -> bool:
        return kind in self._registry

    def unregister(self, kinds) -> None:
        """Stop handling these kinds (a front end that stopped): their rows wait, untouched,
        until a process that handles them runs."""
        for kind in kinds:
            self._registry.pop(kind, None)

    def horizon(self, kind: str) -> timedelta:
        return self.horizons.get(target_of(kind), self.default_horizon)

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter: uniform(0, min(max, base * 2**(n-1)))."""
        exponent = min(max(attempts, 1) - 1, 60)
        cap = min(self.max_delay.total_seconds(), self.base_delay.total_seconds() * 2**exponent)
        return timedelta(seconds=self.rng.uniform(0, cap))

    def nudge(self) -> None:
        """Make an idle `run_forever` loop poll now instead of after its idle sleep."""
        if self._nudged is not None:
            self._nudged.set()

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
        nudged = self._nudged = asyncio.Event()
        stopper = asyncio.create_task(self._nudge_on(stop, nudged))
        try:
            while not stop.is_set():
                try:
                    handled = await self.run_once()
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception:
                    failures += 1
                    handled = 0
                    log.exception("dispatcher %s: claiming from the outbox failed",
                                  self.worker_id)
                if handled:
                    continue
                delay = idle_sleep if not failures else min(30.0, idle_sleep * 2**min(failures, 5))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(nudged.wait(), timeout=delay)
                nudged.clear()
        finally:
            stopper.cancel()
        log.info("dispatcher %s stopped", self.worker_id)

    @staticmethod
    async def _nudge_on(stop: asyncio.Event, nudged: asyncio.Event) -> None:
        await stop.wait()
        nudged.set()

    # -- one row -------------------------------------------------------------------------
    async def _process(self, row) -> None:
        reg = self._registry.get(row.kind)
        if reg is None:  # the kind was unregistered between claim and now
            now = self.clock.now()
            await self.store.retry(row.id, self.worker_id, now, "no handler", now, failure=None)
            return
        crashes = int(getattr(row, "crashes", 0) or 0)
        if crashes >= self.max_crashes:
            err = PermanentError(f"its handler stopped the worker {crashes} times", "crashed")
            await self._fail(row, reg, err, err.text, failure=CRASH)
            return
        renewer = asyncio.create_task(self._renew(row))
        try:
            await reg.handler(row)
            error: BaseException | None = None
        except asyncio.CancelledError:
            renewer.cancel()  # before the release below, which awaits
            await self._release(row)
            raise
        except Exception as exc:
            error = exc
        finally:
            renewer.cancel()
        if isinstance(error, PermanentError):
            await self._fail(row, reg, error, _error_text(error))
        elif isinstance(error, RetryAfter):
            await self._defer(row, error)
        elif isinstance(error, TransientError):
            await self._retry(row, reg, error, TRANSIENT)
        elif error is not None:  # a bug: retried with backoff, but not forever
            log.error("outbox row %s (%s) raised unexpectedly", row.id, row.kind,
                      exc_info=error)
            await self._retry(row, reg, error, UNEXPECTED)
        else:
            now = self.clock.now()
            applied = await self.store.complete(row.id, self.worker_id, now)
            self._count(row.kind, "completed" if applied else "late")
            await self._wake(row, now)

    async def _renew(self, row) -> None:
        """Keep the lease of a running row (a long send must not be claimed twice)."""
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                held = await self.store.renew(row.id, self.worker_id,
                                              self.clock.now() + self.lease)
            except Exception:
                log.warning("outbox row %s: renewing its lease failed", row.id, exc_info=True)
                continue
            if not held:
                log.warning("outbox row %s (%s): lease lost while its handler runs",
                            row.id, row.kind)
                return

    async def _release(self, row) -> None:
        # Cancelled (shutdown): give the row back now, so a restart is not counted as a crash.
        # The engine may already be closing, hence best effort.
        now = self.clock.now()
        with contextlib.suppress(Exception):
            await self.store.retry(row.id, self.worker_id, now, "released by a stopping worker",
                                   now, failure=None)

    async def _wake(self, row, now: datetime) -> None:
        target = target_of(row.kind)
        last = self._last_wake.get(target)
        recovered = getattr(row, "last_failure", None) == TRANSIENT
        if not recovered and last is not None and now - last < self.wake_interval:
            return
        self._last_wake[target] = now
        try:
            woken = await self.store.wake(target, now)
        except Exception:
            log.warning("waking %s rows failed", target, exc_info=True)
            return
        if woken:
            log.info("%s works again: %d waiting outbox row(s) are due now", target, woken)

    async def _defer(self, row, exc: RetryAfter) -> None:
        now = self.clock.now()
        text = _error_text(exc)
        log.info("outbox row %s (%s) deferred %.1fs: %s", row.id, row.kind, exc.seconds, text)
        applied = await self.store.retry(row.id, self.worker_id,
                                         now + timedelta(seconds=exc.seconds), text, now,
                                         failure=RETRY_AFTER)
        self._count(row.kind, "retried" if applied else "late")

    async def _retry(self, row, reg: _Registration, exc: Exception, failure: str) -> None:
        text = _error_text(exc)
        attempt = int(getattr(row, "attempts", 0) or 0) + 1  # this failure included
        if failure == UNEXPECTED:
            bugs = int(getattr(row, "unexpected_errors", 0) or 0) + 1
            if bugs >= self.max_attempts:
                err = PermanentError(f"gave up after {bugs} unexpected errors: {text}",
                                     "max_attempts")
                await self._fail(row, reg, err, err.text, failure=UNEXPECTED)
                return
        now = self.clock.now()
        horizon = self.horizon(row.kind)
        deadline = _since(row) + horizon
        due = now + self.backoff(attempt)
        if due > deadline:
            if now >= deadline:
                hours = f"{horizon.total_seconds() / 3600:g}"
                err = PermanentError(f"gave up after {hours} h of retries: {text}", "horizon")
                await self._fail(row, reg, err, err.text, failure=failure)
                return
            due = deadline  # one last try at the horizon itself
        log.warning("outbox row %s (%s) attempt %d failed, retrying in %.1fs: %s",
                    row.id, row.kind, attempt, (due - now).total_seconds(), text)
        applied = await self.store.retry(row.id, self.worker_id, due, text, now,
                                         failure=failure)
        self._count(row.kind, "retried" if applied else "late")

    async def _fail(self, row, reg: _Registration | None, exc: PermanentError, text: str,
                    failure: str = "permanent") -> None:
        log.error("outbox row %s (%s) failed permanently: %s", row.id, row.kind, text)
        applied = await self.store.fail(row.id, self.worker_id, text, self.clock.now(),
                                        failure=failure)
        self._count(row.kind, "failed" if applied else "late")
        if not applied:  # someone else holds the row now: its outcome is theirs to report
            return
        if reg is not None and reg.on_permanent_failure is not None:
            try:
                await reg.on_permanent_failure(row, exc)
            except Exception:
                log.exception("permanent-failure hook for outbox row %s (%s) raised",
                              row.id, row.kind)

    def _count(self, kind: str, outcome: str) -> None:
        if self.stats is not None:
            self.stats.processed(kind, outcome)


def _since(row) -> datetime:
    return getattr(row, "retried_at", None) or row.created_at


def _td(value: timedelta | float) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))
