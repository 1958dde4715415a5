"""Inbox.record_unreadable: parts a bridge could not read, kept with the time received."""

from __future__ import annotations

from core.ports import UnreadableInbound
from tests.core.conftest import T0


def part(digest: str) -> UnreadableInbound:
    return UnreadableInbound("whatsapp_cloud", "entry[0]", "must be an object", "3", digest)


async def test_parts_are_kept_once_with_the_clock_time(inbox):
    assert await inbox.record_unreadable([part("a"), part("b")]) == 2
    assert await inbox.record_unreadable([part("b"), part("c")]) == 1  # b is a redelivery
    assert await inbox.record_unreadable([]) == 0
    kept = await inbox.unreadable_inbound("whatsapp_cloud")
    assert [p.digest for p in kept] == ["c", "b", "a"]
    assert {p.received_at for p in kept} == {T0}
    assert await inbox.unreadable_inbound("twilio") == []
