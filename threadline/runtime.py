"""The composition root: settings + config -> engine, unit of work, Inbox, dispatcher,
scheduler. The FastAPI app, the CLI and the worker process all build one of these."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.inbound import InboundMessage, InboundResult
from core.usecases import Inbox
from storage.engine import create_engine
from storage.files import LocalFileStore
from storage.outbox_store import OutboxStore
from storage.uow import SqlUnitOfWorkFactory
from threadline import migrations
from threadline.config import (
    ThreadlineConfig,
    automations_of,
    build_accounts,
    effective_timezone,
    load_config,
    sync_config,
)
from threadline.config_ai import ai_accounts
from threadline.dispatcher import Dispatcher
from threadline.health import Health
from threadline.integrations import Integration, build_integrations
from threadline.leader import make_leader
from threadline.metrics import Metrics
from threadline.scheduler import (
    LeaderScheduler,
    PeriodicJob,
    rule_timers_job,
    wake_snoozes_job,
)
from threadline.settings import Settings

log = logging.getLogger("threadline.runtime")
RUNTIME_STATE = "_threadline"  # sync_state "account" for the runtime's own cursors


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def frontends_for(settings: Settings) -> tuple[str, ...]:
    """Slack is the primary surface: its outbox rows are always written, so threads appear
    as soon as Slack is configured. Telegram is opt-in and only fed when configured."""
    out = ["slack"]
    if settings.feature("telegram").enabled:
        out.append("telegram")
    return tuple(out)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        config: ThreadlineConfig | None = None,
        *,
        engine: AsyncEngine | None = None,
        clock=None,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.config = config if config is not None else load_config(settings.config_path)
        self.clock = clock or SystemClock()
        self.worker_id = worker_id or make_worker_id()
        self.accounts = build_accounts(self.config, settings)
        self.timezone = effective_timezone(self.config, settings)
        self.engine = engine or create_engine(settings.database_url)
        self._owns_engine = engine is None
        self.uow_factory = SqlUnitOfWorkFactory(self.engine)
        self.automations = automations_of(self.config, settings)
        self.inbox = Inbox(self.uow_factory, self.clock, self.accounts, self.timezone,
                           frontends_for(settings), can_send=self._can_send,
                           automations=self.automations,
                           ai_accounts=ai_accounts(self.config, settings, self.accounts))
        self.metrics = Metrics()
        self.health = Health()
        self.outbox = OutboxStore(self.engine)
        self.dispatcher = Dispatcher(
            self.outbox, self.clock, self.worker_id,
            lease=timedelta(seconds=settings.dispatch_lease_seconds),
            batch=settings.dispatch_batch,
            max_attempts=settings.dispatch_max_attempts,
            max_crashes=settings.dispatch_max_crashes,
            max_delay=timedelta(seconds=settings.dispatch_max_delay_seconds),
            horizons={
                "slack": timedelta(hours=settings.retry_horizon_slack_hours),
                "telegram": timedelta(hours=settings.retry_horizon_telegram_hours),
                "send": timedelta(hours=settings.retry_horizon_send_hours),
            },
            stats=self.metrics,
        )
        self.leader = make_leader(self.engine, settings.database_url)
        interval = settings.scheduler_interval_seconds
        self.scheduler = LeaderScheduler(self.leader, [
            PeriodicJob("wake_snoozes", wake_snoozes_job(self.inbox), interval),
            PeriodicJob("rule_timers", rule_timers_job(self.inbox), interval),
            PeriodicJob("dispatch_sweep", self.dispatch_sweep, interval),
            PeriodicJob("outbox_prune", self.prune_outbox, max(interval, 3600.0)),
            PeriodicJob("whatsapp_windows", self.announce_closed_windows, max(interval, 60.0)),
        ], leader_check_seconds=max(1.0, interval))
        self._stop = asyncio.Event()
        self._dispatch_task: asyncio.Task | None = None
        self.files = LocalFileStore(settings.files_dir)
        self.integrations: list[Integration] = build_integrations(self)
        for integration in self.integrations:
            for kind, handler in integration.handlers.items():
                self.dispatcher.register(kind, handler, integration.failure_hooks.get(kind))

    def _can_send(self, provider: str) -> bool:
        """A bridge that is not configured registers no send handler: its replies would
        wait forever."""
        return self.dispatcher.handles(f"send:{provider}")

    # -- features -----------------------------------------------------------------------
    def features(self):
        has_channels = bool(self.accounts) and all(a.slack_channel for a in self.accounts.values())
        return self.settings.features(accounts_have_slack_channels=has_channels)

    # -- inbound entry point for bridges (counts for /metrics) ----------------------------
    async def receive(self, message: InboundMessage) -> InboundResult:
        result = await self.inbox.receive(message)
        if not result.duplicate:
            self.metrics.received(str(message.channel), message.provider)
        return result

    async def receive_many(self, messages: list[InboundMessage]) -> list:
        """One provider delivery's messages in one transaction (see Inbox.receive_many)."""
        results = await self.inbox.receive_many(messages)
        for message, result in zip(messages, results, strict=True):
            if isinstance(result, InboundResult) and not result.duplicate:
                self.metrics.received(str(message.channel), message.provider)
        return results

    # -- periodic jobs ---------------------------------------------------------------------
    async def dispatch_sweep(self) -> None:
        """Leader-only: refresh the outbox gauges and nudge this process's dispatch loop.
        It never claims itself: a second pass under the loop's worker id could settle or
        renew rows the loop holds."""
        await self.refresh_outbox_metrics()
        self.dispatcher.nudge()

    async def announce_closed_windows(self) -> int:
        """Leader-only: cards of WhatsApp conversations whose 24 h window just closed are
        refreshed. The last check time is stored, so a restart misses none."""
        now = self.clock.now()
        state = await self.inbox.load_sync_state(RUNTIME_STATE, "whatsapp_windows")
        since = datetime.fromisoformat(state["checked_at"]) if state else now
        announced = await self.inbox.announce_closed_windows(since)
        await self.inbox.save_sync_state(RUNTIME_STATE, "whatsapp_windows",
                                         {"checked_at": now.isoformat()})
        return announced

    async def prune_outbox(self) -> int:
        """Leader-only: drop delivered rows past the retention period (the table would
        otherwise grow forever; failed rows stay for `threadline outbox status`)."""
        cut = self.clock.now() - timedelta(days=self.settings.outbox_retention_days)
        pruned = await self.outbox.prune(cut)
        if pruned:
            log.info("pruned %d delivered outbox rows older than %s", pruned, cut.date())
        return pruned

    async def refresh_outbox_metrics(self) -> dict[str, int]:
        counts = await self.outbox.counts()
        self.metrics.set_outbox_counts(counts)
        self.metrics.is_leader.set(1 if self.leader.is_leader else 0)
        return counts

    # -- health ----------------------------------------------------------------------------
    async def database_ok(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def migration_state(self) -> migrations.MigrationState:
        return await migrations.state(self.engine)

    # -- lifecycle --------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Write the config file's agents, teams, tags and templates into the database."""
        cfg = self.config
        if cfg.agents or cfg.teams or cfg.tags or cfg.templates:
            counts = await sync_config(cfg, self.inbox)
            log.info("config synced: %s", ", ".join(f"{v} {k}" for k, v in counts.items()))

    async def start_workers(self, *, scheduler: bool = True) -> None:
        """Start the dispatcher loop (every process) and the leader-only periodic jobs."""
        self._stop.clear()
        if self._dispatch_task is None:
            self._dispatch_task = asyncio.create_task(
                self.dispatcher.run_forever(self._stop, self.settings.dispatch_idle_seconds),
                name="threadline-dispatcher")
        if scheduler and not self.scheduler.running:
            await self.scheduler.start()
        for integration in self.integrations:
            if integration.start is not None:
                await integration.start()

    async def stop_workers(self) -> None:
        self._stop.set()
        for integration in reversed(self.integrations):
            if integration.stop is not None:
                try:
                    await integration.stop()
                except Exception:
                    log.exception("stopping integration %s failed", integration.name)
        task, self._dispatch_task = self._dispatch_task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=30)
            except TimeoutError:
                task.cancel()
        await self.scheduler.stop()

    async def close(self) -> None:
        await self.stop_workers()
        if self._owns_engine:
            await self.engine.dispose()

    def log_features(self) -> None:
        for feature in self.features():
            (log.info if feature.enabled else log.warning)("%s", feature.describe())
        if not self.accounts:
            log.warning("no customer accounts: configure EMAIL_ADDRESS, "
                        "WHATSAPP_CLOUD_PHONE_NUMBER_ID, TWILIO_WHATSAPP_FROM or `accounts` "
                        "in THREADLINE_CONFIG")
