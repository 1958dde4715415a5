"""Periodic jobs on APScheduler 3. Only loops live here: every due time (snooze wake-ups,
SLA checks, retries) is a column in the database, so a restart or a change of leader never
loses one. Jobs run only in the process that holds leadership."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from threadline.leader import LeaderElector

log = logging.getLogger("threadline.scheduler")

JobFn = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    fn: JobFn
    seconds: float


def wake_snoozes_job(inbox, limit: int = 100) -> JobFn:
    """Wake every due snooze, a page at a time."""

    async def run() -> int:
        total = 0
        while True:
            woken = await inbox.wake_due_snoozes(limit)
            total += woken
            if woken < limit:
                break
        if total:
            log.info("woke %d snoozed conversation(s)", total)
        return total

    return run


def rule_timers_job(inbox, limit: int = 500) -> JobFn:
    """Fire the due timers of timer rules (no_first_response, no_reply); a longer backlog
    continues at the next run."""

    async def run() -> int:
        total = await inbox.fire_due_timers(limit)
        if total:
            log.info("fired %d rule timer(s)", total)
        return total

    return run


class LeaderScheduler:
    """Owns the APScheduler instance, the leader elector and the leader-only jobs."""

    def __init__(self, leader: LeaderElector, jobs: list[PeriodicJob],
                 leader_check_seconds: float = 10.0) -> None:
        self.leader = leader
        self.jobs = list(jobs)
        self.leader_check_seconds = leader_check_seconds
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    async def start(self) -> None:
        """Start the loop in the running event loop; try to lead straight away."""
        await self.check_leadership()
        sched = AsyncIOScheduler(timezone="UTC")
        sched.add_job(self.check_leadership, "interval", seconds=self.leader_check_seconds,
                      id="leader", name="leader election", max_instances=1, coalesce=True)
        for job in self.jobs:
            sched.add_job(self._guarded(job), "interval", seconds=job.seconds, id=job.name,
                          name=job.name, max_instances=1, coalesce=True, misfire_grace_time=None)
        sched.start()
        self._scheduler = sched

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        await self.leader.release()

    async def check_leadership(self) -> bool:
        try:
            return await self.leader.try_acquire()
        except Exception:
            log.exception("leader election failed; will retry")
            return False

    async def run_jobs_now(self) -> None:
        """Run every job once if leader (tests, and right after startup)."""
        for job in self.jobs:
            await self._guarded(job)()

    def _guarded(self, job: PeriodicJob) -> JobFn:
        async def run() -> None:
            if not self.leader.is_leader:
                return
            try:
                await job.fn()
            except Exception:
                log.exception("periodic job %s failed; it runs again in %ss", job.name, job.seconds)

        run.__name__ = f"job_{job.name}"
        return run
