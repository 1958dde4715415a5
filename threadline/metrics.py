"""Prometheus metrics. Each Runtime owns a registry, so several apps can live in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

OUTBOX_STATUSES = ("pending", "processing", "done", "failed")


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.outbox_rows = Gauge(
            "threadline_outbox_rows", "Outbox rows by status", ["status"], registry=self.registry)
        self.dispatched = Counter(
            "threadline_dispatcher_processed", "Outbox rows handled by this process",
            ["kind", "outcome"], registry=self.registry)
        self.dispatch_failed = Counter(
            "threadline_dispatcher_failed", "Outbox rows that failed permanently in this process",
            ["kind"], registry=self.registry)
        self.inbound = Counter(
            "threadline_inbound_messages", "Customer messages received", ["channel", "provider"],
            registry=self.registry)
        self.analyses = Counter(
            "threadline_ai_analyses", "AI triage results recorded, by the engine that made "
            "them (offline also when a model failed)", ["engine"], registry=self.registry)
        self.is_leader = Gauge(
            "threadline_scheduler_leader", "1 if this process runs the periodic jobs",
            registry=self.registry)
        for status in OUTBOX_STATUSES:
            self.outbox_rows.labels(status=status).set(0)

    # DispatchStats protocol
    def processed(self, kind: str, outcome: str) -> None:
        self.dispatched.labels(kind=kind, outcome=outcome).inc()
        if outcome == "failed":
            self.dispatch_failed.labels(kind=kind).inc()

    def received(self, channel: str, provider: str) -> None:
        self.inbound.labels(channel=channel, provider=provider).inc()

    def analysed(self, engine: str) -> None:
        self.analyses.labels(engine=engine.split(":", 1)[0]).inc()

    def set_outbox_counts(self, counts: dict[str, int]) -> None:
        for status in set(OUTBOX_STATUSES) | set(counts):
            self.outbox_rows.labels(status=status).set(counts.get(status, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
