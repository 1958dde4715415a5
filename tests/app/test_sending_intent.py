"""The shared send path records its intent before calling the provider: a crash anywhere
leaves "not begun" or "begun, outcome unknown", and the retry acts on which it was."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from core.clock import FixedClock
from core.delivery import TransientError
from core.errors import TooLateToChange
from core.model import Actor, DeliveryStatus
from core.usecases import Inbox
from tests.core.conftest import ACCOUNTS, T0, wa_msg
from threadline.integrations._sending import send_handlers


class Row:
    def __init__(self, message_id: int) -> None:
        self.payload = {"message_id": message_id}


class Provider:
    """A provider that accepts and numbers each send; `crash_after_accept` makes the next
    send raise after the provider accepted it (the worker dying before its commit)."""

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.crash_after_accept = False
        self.fail_next: Exception | None = None

    async def send(self, ctx) -> str:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        self.accepted.append(ctx.message.body)
        if self.crash_after_accept:
            self.crash_after_accept = False
            raise SystemExit("killed")  # nothing after this point runs in a real crash
        return f"id{len(self.accepted)}"


@pytest.fixture
def inbox(uow_factory):
    return Inbox(uow_factory, FixedClock(T0), ACCOUNTS, ZoneInfo("UTC"))


async def queued(inbox):
    r = await inbox.receive(wa_msg())
    return await inbox.reply(r.conversation_id, "hola", Actor.system())


async def test_a_crash_after_the_provider_accepted_is_marked_maybe_twice(inbox):
    provider, message = Provider(), await queued(inbox)
    handle, _ = send_handlers(inbox, "whatsapp_cloud", provider.send)
    provider.crash_after_accept = True
    with pytest.raises(SystemExit):
        await handle(Row(message.id))
    with pytest.raises(TooLateToChange):  # begun: staff can no longer withdraw it
        await inbox.withdraw_reply(message.id, Actor.system())
    await handle(Row(message.id))  # the retry after the restart
    stored = await inbox.message(message.id)
    assert provider.accepted == ["hola", "hola"]
    assert stored.delivery_status is DeliveryStatus.SENT and stored.meta["maybe_sent_twice"]


async def test_with_a_lookup_the_earlier_send_is_found_not_repeated(inbox):
    provider, message = Provider(), await queued(inbox)
    asked = []

    async def lookup(ctx):
        asked.append(ctx.attempt)
        return "id1" if provider.accepted else None

    handle, _ = send_handlers(inbox, "twilio", provider.send, lookup=lookup)
    provider.crash_after_accept = True
    with pytest.raises(SystemExit):
        await handle(Row(message.id))
    await handle(Row(message.id))
    stored = await inbox.message(message.id)
    assert provider.accepted == ["hola"] and asked == [2]
    assert stored.delivery_status is DeliveryStatus.SENT
    assert not stored.meta.get("maybe_sent_twice")
    assert (await inbox.message_by_provider_id("twilio", "id1")).id == message.id


async def test_a_provider_error_is_a_clean_attempt_not_an_unknown_one(inbox):
    provider, message = Provider(), await queued(inbox)
    handle, _ = send_handlers(inbox, "whatsapp_cloud", provider.send)
    provider.fail_next = TransientError("Graph answered 503", "503")
    with pytest.raises(TransientError):
        await handle(Row(message.id))
    await handle(Row(message.id))
    stored = await inbox.message(message.id)
    assert provider.accepted == ["hola"] and not stored.meta.get("maybe_sent_twice")
    assert stored.meta["send_attempts"] == 2


async def test_nothing_is_sent_for_a_withdrawn_reply(inbox):
    provider = Provider()
    r = await inbox.receive(wa_msg())
    message = await inbox.reply(r.conversation_id, "oops", Actor.system(),
                                delay=timedelta(seconds=10))
    await inbox.withdraw_reply(message.id, Actor.system())
    handle, _ = send_handlers(inbox, "whatsapp_cloud", provider.send)
    await handle(Row(message.id))
    assert provider.accepted == []
