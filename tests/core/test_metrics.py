from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.metrics import compute_metrics
from core.model import Actor, Channel, Conversation, Direction, Message, MessageKind, Status
from core.ports import MetricsFacts

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def msg(conv_id, direction, at, actor):
    return Message(conv_id, direction, MessageKind.MESSAGE, actor, "x", at)


def test_metrics_over_a_range():
    ana, bob = Actor.agent(1), Actor.agent(2)
    convs = [
        Conversation(
            Channel.EMAIL,
            "m",
            1,
            T0,
            id=1,
            first_response_at=T0 + H,
            status=Status.RESOLVED,
            resolved_at=T0 + 4 * H,
        ),
        Conversation(Channel.WHATSAPP, "w", 2, T0 + H, id=2, first_response_at=T0 + 4 * H),
        Conversation(Channel.WHATSAPP, "w", 3, T0 + 2 * H, id=3),  # never answered
        # started by staff: first_response_at == created_at, no customer wait to measure
        Conversation(Channel.WHATSAPP, "w", 4, T0 + 2 * H, id=4, first_response_at=T0 + 2 * H),
    ]
    messages = [
        msg(1, Direction.IN, T0, Actor.contact(1)),
        msg(1, Direction.OUT, T0 + H, ana),
        msg(1, Direction.IN, T0 + 2 * H, Actor.contact(1)),
        msg(1, Direction.IN, T0 + 2.5 * H, Actor.contact(1)),
        msg(1, Direction.OUT, T0 + 3 * H, ana),  # answers the wait that began at +2h
        msg(2, Direction.IN, T0 + H, Actor.contact(2)),
        msg(2, Direction.OUT, T0 + 4 * H, bob),
        msg(3, Direction.IN, T0 + 2 * H, Actor.contact(3)),
        Message(1, Direction.OUT, MessageKind.NOTE, ana, "note", T0 + 3 * H),
    ]
    m = compute_metrics(
        MetricsFacts(convs, messages, backlog=3), T0, T0 + 24 * H, ZoneInfo("Europe/Madrid")
    )
    assert m.conversations_created == 4
    assert m.conversations_resolved == 1
    assert m.first_response_avg_s == (3600 + 3 * 3600) / 2
    assert m.response_avg_s == (3600 + 3600 + 3 * 3600) / 3
    assert m.resolution_avg_s == 4 * 3600
    assert m.resolution_rate == 0.25
    assert m.by_channel == {"email": 1, "whatsapp": 3}
    assert m.by_day == {"2026-05-04": 5}
    assert m.replies_by_agent == {"1": 2, "2": 1}
    assert m.backlog == 3


def test_metrics_outside_range_are_ignored_and_empty_is_none():
    conv = Conversation(Channel.EMAIL, "m", 1, T0 - 48 * H, id=1)
    m = compute_metrics(MetricsFacts([conv], []), T0, T0 + H, ZoneInfo("UTC"))
    assert m.conversations_created == 0
    assert m.first_response_avg_s is None and m.resolution_rate is None
