"""Conversation state machine and the channel rules the core enforces."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.errors import InvalidTransition, SnoozeInPast, WhatsAppWindowClosed
from core.model import Channel, Conversation, DeliveryStatus, Status

WHATSAPP_WINDOW = timedelta(hours=24)

_DELIVERY_RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
}


def _cid(conv: Conversation) -> int:
    return conv.id if conv.id is not None else -1


def on_customer_message(conv: Conversation, at: datetime, automated: bool = False) -> bool:
    """A customer wrote: wake or reopen the conversation. Returns True if the status changed.
    Mail written by a machine (an out-of-office, list mail, a bounce) changes no status: a
    resolved or snoozed conversation stays so, and it is no answer from the customer."""
    conv.last_activity_at = max(conv.last_activity_at or at, at)
    if automated:
        return False
    conv.last_customer_message_at = max(conv.last_customer_message_at or at, at)
    if conv.status is Status.OPEN:
        return False
    conv.status = Status.OPEN
    conv.snoozed_until = None
    conv.resolved_at = None
    return True


def on_staff_reply(conv: Conversation, at: datetime) -> None:
    """A staff reply leaves the conversation waiting on the customer."""
    if conv.first_response_at is None:
        conv.first_response_at = at
    conv.last_activity_at = at
    if conv.status is Status.OPEN:
        conv.status = Status.PENDING


def snooze(conv: Conversation, until: datetime, now: datetime) -> None:
    if conv.status is Status.RESOLVED:
        raise InvalidTransition(_cid(conv), conv.status, "snooze (reopen it first)")
    if until <= now:
        raise SnoozeInPast(until, now)
    conv.status = Status.SNOOZED
    conv.snoozed_until = until


def wake(conv: Conversation, now: datetime) -> bool:
    """End a due snooze. Returns False when there was nothing to wake."""
    if conv.status is not Status.SNOOZED or conv.snoozed_until is None:
        return False
    if conv.snoozed_until > now:
        return False
    conv.status = Status.OPEN
    conv.snoozed_until = None
    return True


def resolve(conv: Conversation, now: datetime) -> None:
    if conv.status is Status.RESOLVED:
        raise InvalidTransition(_cid(conv), conv.status, "resolve")
    conv.status = Status.RESOLVED
    conv.snoozed_until = None
    conv.resolved_at = now


def reopen(conv: Conversation) -> None:
    if conv.status is Status.OPEN:
        raise InvalidTransition(_cid(conv), conv.status, "reopen")
    conv.status = Status.OPEN
    conv.snoozed_until = None
    conv.resolved_at = None


def whatsapp_window_closes_at(conv: Conversation) -> datetime | None:
    if conv.channel is not Channel.WHATSAPP or conv.last_customer_message_at is None:
        return None
    return conv.last_customer_message_at + WHATSAPP_WINDOW


def whatsapp_window_open(conv: Conversation, now: datetime) -> bool:
    closes = whatsapp_window_closes_at(conv)
    return closes is not None and now < closes


def require_free_form_allowed(conv: Conversation, now: datetime) -> None:
    if conv.channel is Channel.WHATSAPP and not whatsapp_window_open(conv, now):
        raise WhatsAppWindowClosed(_cid(conv), conv.last_customer_message_at)


def next_delivery_status(
    current: DeliveryStatus | None, reported: DeliveryStatus
) -> DeliveryStatus | None:
    """Statuses only move forward. Returns the new status, or None if the report changes nothing.

    `failed` is final, and it cannot undo a message the customer already received or read.
    """
    if current is None:
        return reported
    if current is DeliveryStatus.FAILED or current is reported:
        return None
    if reported is DeliveryStatus.FAILED:
        delivered = _DELIVERY_RANK[DeliveryStatus.DELIVERED]
        return reported if _DELIVERY_RANK[current] < delivered else None
    return reported if _DELIVERY_RANK[reported] > _DELIVERY_RANK[current] else None
