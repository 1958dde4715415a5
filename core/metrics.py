"""Support metrics over a date range, computed from plain facts (no I/O here)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean, median
from zoneinfo import ZoneInfo

from core.model import ActorType, Direction, MessageKind, Status
from core.ports import MetricsFacts


@dataclass(frozen=True)
class Metrics:
    start: datetime
    end: datetime
    conversations_created: int
    conversations_resolved: int
    first_response_avg_s: float | None
    first_response_median_s: float | None
    response_avg_s: float | None
    resolution_avg_s: float | None
    resolution_rate: float | None
    by_channel: dict[str, int] = field(default_factory=dict)
    by_day: dict[str, int] = field(default_factory=dict)
    replies_by_agent: dict[str, int] = field(default_factory=dict)
    backlog: int = 0


def _avg(values: list[float]) -> float | None:
    return mean(values) if values else None


def compute_metrics(facts: MetricsFacts, start: datetime, end: datetime, tz: ZoneInfo) -> Metrics:
    def in_range(t: datetime | None) -> bool:
        return t is not None and start <= t < end

    created = [c for c in facts.conversations if in_range(c.created_at)]
    resolved = [c for c in facts.conversations if in_range(c.resolved_at)]
    # Conversations staff started have no "first response" to a customer: leave them out.
    first = [
        (c.first_response_at - c.created_at).total_seconds()
        for c in created
        if c.first_response_at is not None and c.first_response_at > c.created_at
    ]
    resolution = [(c.resolved_at - c.created_at).total_seconds() for c in resolved if c.resolved_at]
    created_and_resolved = sum(1 for c in created if c.status is Status.RESOLVED)

    by_conv = defaultdict(list)
    by_day: Counter[str] = Counter()
    by_agent: Counter[str] = Counter()
    for m in facts.messages:
        if m.kind is not MessageKind.MESSAGE or not in_range(m.created_at):
            continue
        by_conv[m.conversation_id].append(m)
        if m.direction is Direction.IN:
            by_day[m.created_at.astimezone(tz).date().isoformat()] += 1
        elif m.author.type is ActorType.AGENT:
            by_agent[str(m.author.id)] += 1

    responses: list[float] = []
    for messages in by_conv.values():
        waiting_since = None
        for m in sorted(messages, key=lambda m: (m.created_at, m.id or 0)):
            if m.direction is Direction.IN:
                waiting_since = waiting_since or m.created_at
            elif m.author.type is ActorType.AGENT and waiting_since is not None:
                responses.append((m.created_at - waiting_since).total_seconds())
                waiting_since = None

    return Metrics(
        start=start,
        end=end,
        conversations_created=len(created),
        conversations_resolved=len(resolved),
        first_response_avg_s=_avg(first),
        first_response_median_s=median(first) if first else None,
        response_avg_s=_avg(responses),
        resolution_avg_s=_avg(resolution),
        resolution_rate=(created_and_resolved / len(created)) if created else None,
        by_channel=dict(Counter(c.channel.value for c in created)),
        by_day=dict(sorted(by_day.items())),
        replies_by_agent=dict(by_agent),
        backlog=facts.backlog,
    )
