from datetime import UTC, datetime, timedelta

import pytest

from core import rules
from core.errors import InvalidTransition, SnoozeInPast, WhatsAppWindowClosed
from core.model import Channel, Conversation, DeliveryStatus, Status

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def conv(channel=Channel.WHATSAPP, **kw) -> Conversation:
    return Conversation(channel=channel, account="wa", contact_id=1, created_at=T0, id=7, **kw)


def test_customer_message_reopens_resolved_and_wakes_snoozed():
    c = conv(status=Status.RESOLVED, resolved_at=T0)
    assert rules.on_customer_message(c, T0 + timedelta(hours=1))
    assert c.status is Status.OPEN and c.resolved_at is None
    c = conv(status=Status.SNOOZED, snoozed_until=T0 + timedelta(days=1))
    assert rules.on_customer_message(c, T0)
    assert c.status is Status.OPEN and c.snoozed_until is None
    assert not rules.on_customer_message(c, T0)


def test_customer_message_time_never_moves_backwards():
    c = conv(last_customer_message_at=T0)
    rules.on_customer_message(c, T0 - timedelta(hours=3))  # a late, older delivery
    assert c.last_customer_message_at == T0


def test_staff_reply_sets_first_response_once_and_pending():
    c = conv()
    rules.on_staff_reply(c, T0)
    rules.on_staff_reply(c, T0 + timedelta(minutes=5))
    assert c.first_response_at == T0 and c.status is Status.PENDING


def test_snooze_needs_future_time_and_unresolved():
    with pytest.raises(SnoozeInPast):
        rules.snooze(conv(), T0, T0)
    with pytest.raises(InvalidTransition, match="resolved: cannot snooze"):
        rules.snooze(conv(status=Status.RESOLVED), T0 + timedelta(hours=1), T0)


def test_wake_only_when_due():
    c = conv()
    rules.snooze(c, T0 + timedelta(hours=1), T0)
    assert not rules.wake(c, T0 + timedelta(minutes=59))
    assert rules.wake(c, T0 + timedelta(hours=1))
    assert c.status is Status.OPEN


def test_resolve_twice_and_reopen_open_are_refused():
    c = conv()
    rules.resolve(c, T0)
    with pytest.raises(InvalidTransition):
        rules.resolve(c, T0)
    rules.reopen(c)
    with pytest.raises(InvalidTransition, match="cannot reopen"):
        rules.reopen(c)


def test_whatsapp_window():
    c = conv(last_customer_message_at=T0)
    rules.require_free_form_allowed(c, T0 + timedelta(hours=23, minutes=59))
    with pytest.raises(WhatsAppWindowClosed, match="template"):
        rules.require_free_form_allowed(c, T0 + timedelta(hours=24))
    with pytest.raises(WhatsAppWindowClosed):
        rules.require_free_form_allowed(conv(), T0)  # customer never wrote
    rules.require_free_form_allowed(conv(Channel.EMAIL), T0)  # email has no window


D = DeliveryStatus


@pytest.mark.parametrize(
    "current, reported, expected",
    [
        (None, D.SENT, D.SENT),
        (D.QUEUED, D.SENT, D.SENT),
        (D.SENT, D.READ, D.READ),
        (D.READ, D.DELIVERED, None),  # late delivered never overwrites read
        (D.DELIVERED, D.SENT, None),
        (D.SENT, D.SENT, None),
        (D.SENT, D.FAILED, D.FAILED),
        (D.FAILED, D.DELIVERED, None),  # failed is final
        (D.READ, D.FAILED, None),
    ],
)
def test_delivery_status_is_monotone(current, reported, expected):
    assert rules.next_delivery_status(current, reported) == expected
