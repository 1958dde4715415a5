"""The unreadable-inbound log and looking up many links at once, SQLite and PostgreSQL."""

from __future__ import annotations

from core.ports import Link, UnreadableInbound
from tests.storage.helpers import at


def part(surface: str = "whatsapp_cloud", digest: str = "d1", raw: str = '{"a": 1}'
         ) -> UnreadableInbound:
    return UnreadableInbound(surface, "entry[0].changes[1].value", "must be an object", raw,
                             digest)


async def test_a_part_is_stored_once_per_surface_and_digest(uow_factory):
    async with uow_factory() as uow:
        assert await uow.unreadable.add(part(), at(0)) is True
        assert await uow.unreadable.add(part(raw="again"), at(1)) is False
        assert await uow.unreadable.add(part(surface="twilio"), at(2)) is True
        assert await uow.unreadable.add(part(digest="d2", raw="é" * 70_000), at(3)) is True
        await uow.commit()
    async with uow_factory() as uow:
        newest, twilio, oldest = await uow.unreadable.recent(None, 10)
        assert [p.surface for p in await uow.unreadable.recent("whatsapp_cloud", 10)] == [
            "whatsapp_cloud", "whatsapp_cloud"]
        assert await uow.unreadable.recent(None, 1) == [newest]
    assert newest.raw == "é" * 70_000 and newest.received_at == at(3)
    assert twilio.surface == "twilio"
    assert (oldest.raw, oldest.path, oldest.reason, oldest.digest, oldest.received_at) == (
        '{"a": 1}', "entry[0].changes[1].value", "must be an object", "d1", at(0))
    assert oldest.id is not None and oldest.id < newest.id


async def test_rolled_back_parts_are_gone(uow_factory):
    async with uow_factory() as uow:
        await uow.unreadable.add(part(), at(0))
    async with uow_factory() as uow:
        assert await uow.unreadable.recent(None, 10) == []


async def test_find_many_returns_the_links_that_exist(uow_factory):
    ids = [f"wamid.{i}" for i in range(1200)]  # more than one query's worth
    async with uow_factory() as uow:
        for i, external_id in enumerate(ids[::2]):
            await uow.links.claim(Link("whatsapp_cloud", external_id, i, i))
        await uow.links.claim(Link("twilio", "wamid.1", 1, 1))
        found = await uow.links.find_many("whatsapp_cloud", [*ids, "", "wamid.0"])
        assert sorted(link.external_id for link in found) == sorted(ids[::2])
        assert await uow.links.find_many("whatsapp_cloud", []) == []
