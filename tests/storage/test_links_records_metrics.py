"""Links, the outbox writer, the activity log and metrics facts."""

from __future__ import annotations

from datetime import timedelta

from core.effects import Effect
from core.model import Activity, Actor, MessageKind, Status
from core.ports import Link
from storage.outbox_store import OutboxStore
from tests.storage.helpers import at, new_conversation, new_message


async def test_link_claim_dedupes(uow_factory):
    async with uow_factory() as uow:
        assert await uow.links.claim(Link("email", "<m1@x>", 1, 10)) is True
        assert await uow.links.claim(Link("email", "<m1@x>", 2, 20)) is False
        assert await uow.links.claim(Link("slack", "<m1@x>", 3, None)) is True
        # The transaction is still usable after a refused claim.
        assert await uow.links.find("email", "<m1@x>") == Link("email", "<m1@x>", 1, 10)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.links.claim(Link("email", "<m1@x>", 9, 9)) is False
        assert await uow.links.find("email", "<nope>") is None


async def test_link_find_any_honours_the_given_order(uow_factory):
    async with uow_factory() as uow:
        await uow.links.claim(Link("email", "a", 1, None))
        await uow.links.claim(Link("email", "b", 2, None))
        await uow.links.claim(Link("gmail", "c", 3, None))
        assert (await uow.links.find_any("email", ["zz", "b", "a"])).conversation_id == 2
        assert (await uow.links.find_any("email", ["a", "b"])).conversation_id == 1
        assert await uow.links.find_any("email", ["c"]) is None
        assert await uow.links.find_any("email", []) is None


async def test_outbox_add_writes_pending_rows(uow_factory, engine):
    async with uow_factory() as uow:
        await uow.outbox.add(Effect("slack:message", "slack:1", {"conversation_id": 1}), at(0))
        await uow.outbox.add(Effect("send:smtp", "send:1", {}, timedelta(seconds=30)), at(0))
        await uow.commit()
    rows = await OutboxStore(engine).rows()
    assert [(r["kind"], r["order_key"], r["status"], r["attempts"]) for r in rows] == [
        ("slack:message", "slack:1", "pending", 0),
        ("send:smtp", "send:1", "pending", 0),
    ]
    assert rows[0]["payload"] == {"conversation_id": 1}
    assert rows[0]["available_at"] == at(0)
    assert rows[1]["available_at"] == at(0) + timedelta(seconds=30)


async def test_uncommitted_work_is_rolled_back(uow_factory, engine):
    async with uow_factory() as uow:
        await uow.outbox.add(Effect("slack:message", "slack:1"), at(0))
    async with uow_factory() as uow:
        await uow.outbox.add(Effect("slack:message", "slack:2"), at(0))
        await uow.rollback()
    assert await OutboxStore(engine).rows() == []


async def test_activity_log(uow_factory):
    async with uow_factory() as uow:
        conv = await new_conversation(uow)
        first = Activity(conv.id, "assign", Actor.agent(3), at(1), {"to": 4})
        second = Activity(conv.id, "tag", Actor.automation("vip-rule"), at(2))
        await uow.activity.add(first)
        await uow.activity.add(second)
        await uow.activity.add(Activity(None, "login", Actor.system(), at(3)))
        assert await uow.activity.for_conversation(conv.id) == [first, second]


async def test_metrics_facts(uow_factory):
    async with uow_factory() as uow:
        before = await new_conversation(uow, created_at=at(-60))
        created = await new_conversation(uow, created_at=at(10))
        resolved_in = await new_conversation(
            uow, created_at=at(-60), status=Status.RESOLVED, resolved_at=at(20)
        )
        await new_conversation(uow, created_at=at(-60), status=Status.RESOLVED, resolved_at=at(-1))
        await new_conversation(uow, created_at=at(60))  # at the end: outside [start, end)
        inside = await new_message(uow, created.id, created_at=at(5))
        await new_message(uow, created.id, created_at=at(6), kind=MessageKind.NOTE)
        await new_message(uow, created.id, created_at=at(60))
        await new_message(uow, before.id, created_at=at(-1))
        facts = await uow.metrics.facts(at(0), at(60))
    assert [c.id for c in facts.conversations] == [created.id, resolved_in.id]
    assert [m.id for m in facts.messages] == [inside.id]
    assert facts.backlog == 3
