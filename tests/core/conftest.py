"""Use-case tests run through the real storage adapters, on SQLite and on PostgreSQL."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.clock import FixedClock
from core.inbound import InboundMessage
from core.model import Account, Channel
from core.usecases import Inbox

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ACCOUNTS = {
    "mail": Account("mail", Channel.EMAIL, "email", "help@shop.test", "Shop help"),
    "wa": Account("wa", Channel.WHATSAPP, "whatsapp_cloud", "+34910000000", "Shop WhatsApp"),
}


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def inbox(uow_factory, clock):
    return Inbox(uow_factory, clock, ACCOUNTS, ZoneInfo("Europe/Madrid"), frontends=("slack",))


@pytest.fixture
def outbox(engine):
    from storage.outbox_store import OutboxStore

    return OutboxStore(engine)


_seq = iter(range(1, 10**9))


def wa_msg(body="hola", sender="+34600111222", at=None, mid=None, **kw) -> InboundMessage:
    return InboundMessage(
        channel=Channel.WHATSAPP,
        account="wa",
        provider="whatsapp_cloud",
        provider_message_id=mid or f"wamid.{next(_seq)}",
        sender=sender,
        body=body,
        received_at=at or T0,
        sender_name="Ana",
        **kw,
    )


def email_msg(body="hello", sender="ana@example.com", at=None, mid=None, **kw) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL,
        account="mail",
        provider="email",
        provider_message_id=mid or f"<m{next(_seq)}@example.com>",
        sender=sender,
        body=body,
        received_at=at or T0,
        sender_name="Ana",
        subject=kw.pop("subject", "Order question"),
        **kw,
    )


H = timedelta(hours=1)
