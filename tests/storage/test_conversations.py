"""ConversationRepository contract, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.model import Agent, Channel, Conversation, Status, Tag
from core.ports import ViewQuery
from storage.repositories import UnknownTags
from tests.storage.helpers import T0, at, new_contact, new_conversation


async def test_add_get_round_trip_with_aware_datetimes(uow_factory):
    madrid = timezone(timedelta(hours=1))
    async with uow_factory() as uow:
        agent = await uow.agents.add(Agent(name="Bea"))
        contact = await new_contact(uow)
        conv = Conversation(
            channel=Channel.WHATSAPP,
            account="wa-main",
            contact_id=contact.id,
            created_at=datetime(2025, 3, 10, 10, 30, tzinfo=madrid),
            subject="Pedido 42",
            status=Status.SNOOZED,
            assignee_id=agent.id,
            snoozed_until=at(60),
            last_customer_message_at=at(1),
            last_activity_at=at(2),
            first_response_at=at(3),
            provider_thread_id="thr-1",
        )
        added = await uow.conversations.add(conv)
        assert added.id is not None
        await uow.commit()

    async with uow_factory() as uow:
        loaded = await uow.conversations.get(added.id)
    assert loaded == conv
    assert loaded.created_at == datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
    assert loaded.created_at.tzinfo is UTC
    assert loaded.snoozed_until.tzinfo is UTC


async def test_naive_datetimes_are_refused(uow_factory):
    async with uow_factory() as uow:
        contact = await new_contact(uow)
        with pytest.raises(Exception, match="naive datetime"):
            await new_conversation(uow, contact, created_at=datetime(2025, 1, 1))


async def test_get_missing_is_none(uow_factory):
    async with uow_factory() as uow:
        assert await uow.conversations.get(999_999) is None


async def test_save_updates_fields_and_syncs_tags(uow_factory):
    async with uow_factory() as uow:
        for name in ("vip", "billing", "urgent"):
            await uow.tags.add(Tag(name))
        conv = await new_conversation(uow, tags=["vip", "billing"])
        await uow.commit()

    async with uow_factory() as uow:
        conv = await uow.conversations.get(conv.id)
        assert conv.tags == ["billing", "vip"]
        conv.tags = ["urgent", "vip"]
        conv.status = Status.RESOLVED
        conv.resolved_at = at(30)
        await uow.conversations.save(conv)
        await uow.commit()

    async with uow_factory() as uow:
        conv = await uow.conversations.get(conv.id)
        assert conv.tags == ["urgent", "vip"]
        assert conv.status is Status.RESOLVED and conv.resolved_at == at(30)
        # A conversation object not loaded through this unit of work syncs too.
    async with uow_factory() as uow:
        conv.tags = []
        await uow.conversations.save(conv)
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.conversations.get(conv.id)).tags == []


async def test_unknown_tag_is_refused(uow_factory):
    async with uow_factory() as uow:
        conv = await new_conversation(uow)
        conv.tags = ["nope"]
        with pytest.raises(UnknownTags, match="nope"):
            await uow.conversations.save(conv)


async def test_latest_for_contact_is_the_newest_of_that_account(uow_factory):
    async with uow_factory() as uow:
        contact = await new_contact(uow)
        older = await new_conversation(uow, contact, account="a")
        newest = await new_conversation(uow, contact, account="a", status=Status.RESOLVED)
        await new_conversation(uow, contact, account="b")
        await new_conversation(uow, account="a")  # another contact
        found = await uow.conversations.latest_for_contact("a", contact.id)
        assert found.id == newest.id != older.id
        assert await uow.conversations.latest_for_contact("zzz", contact.id) is None


async def test_reassign_contact_moves_every_account_and_nothing_else(uow_factory):
    async with uow_factory() as uow:
        dup, kept = await new_contact(uow), await new_contact(uow)
        a = await new_conversation(uow, dup, account="a")
        b = await new_conversation(uow, dup, account="b", status=Status.RESOLVED)
        own = await new_conversation(uow, kept, account="a")
        other = await new_conversation(uow, account="a")
        assert await uow.conversations.reassign_contact(dup.id, kept.id) == [a.id, b.id]
        assert await uow.conversations.reassign_contact(dup.id, kept.id) == []
        assert (await uow.conversations.latest_for_contact("b", kept.id)).id == b.id
        assert await uow.conversations.latest_for_contact("a", dup.id) is None
        assert (await uow.conversations.get(own.id)).contact_id == kept.id
        assert (await uow.conversations.get(other.id)).contact_id == other.contact_id


async def test_saving_a_conversation_loaded_before_a_move_keeps_the_move(uow_factory):
    async with uow_factory() as uow:
        dup, kept = await new_contact(uow), await new_contact(uow)
        conv = await new_conversation(uow, dup)
        loaded = await uow.conversations.get(conv.id)
        await uow.conversations.reassign_contact(dup.id, kept.id)
        loaded.subject = "changed after the move"
        await uow.conversations.save(loaded)  # still names dup: must not move it back
        again = await uow.conversations.get(conv.id)
        assert (again.contact_id, again.subject) == (kept.id, "changed after the move")


async def test_due_snoozes(uow_factory):
    async with uow_factory() as uow:
        due = await new_conversation(uow, status=Status.SNOOZED, snoozed_until=at(10))
        exactly_now = await new_conversation(uow, status=Status.SNOOZED, snoozed_until=at(20))
        await new_conversation(uow, status=Status.SNOOZED, snoozed_until=at(21))
        await new_conversation(uow, status=Status.OPEN, snoozed_until=at(5))
        found = await uow.conversations.due_snoozes(at(20), limit=10)
        assert [c.id for c in found] == [due.id, exactly_now.id]
        assert len(await uow.conversations.due_snoozes(at(20), limit=1)) == 1


async def test_for_customer_newest_first(uow_factory):
    from core.model import Customer

    async with uow_factory() as uow:
        customer = await uow.customers.add(Customer(name="Acme"))
        first = await new_conversation(uow, customer_id=customer.id)
        second = await new_conversation(uow, customer_id=customer.id)
        await new_conversation(uow)
        found = await uow.conversations.for_customer(customer.id)
        assert [c.id for c in found] == [second.id, first.id]


@pytest.fixture
async def inbox(uow_factory):
    """A small inbox covering every filter dimension."""
    async with uow_factory() as uow:
        ana = await uow.agents.add(Agent(name="Ana"))
        bob = await uow.agents.add(Agent(name="Bob"))
        for name in ("vip", "billing"):
            await uow.tags.add(Tag(name))
        made = {
            "mine_old": await new_conversation(
                uow, assignee_id=ana.id, last_customer_message_at=at(1), tags=["vip", "billing"]
            ),
            "mine_new": await new_conversation(
                uow, assignee_id=ana.id, last_customer_message_at=at(5), tags=["vip"]
            ),
            "bobs": await new_conversation(uow, assignee_id=bob.id, last_customer_message_at=at(2)),
            "unassigned_never": await new_conversation(uow, channel=Channel.WHATSAPP, account="wa"),
            "unassigned": await new_conversation(
                uow, last_customer_message_at=at(3), status=Status.PENDING
            ),
            "resolved": await new_conversation(
                uow, assignee_id=ana.id, last_customer_message_at=at(0), status=Status.RESOLVED
            ),
            "snoozed": await new_conversation(
                uow, last_customer_message_at=at(4), status=Status.SNOOZED, snoozed_until=at(90)
            ),
        }
        await uow.commit()
    return {"ana": ana.id, "bob": bob.id} | {k: v.id for k, v in made.items()}


async def _view(uow_factory, **query) -> list[int]:
    q = ViewQuery(**query)
    async with uow_factory() as uow:
        found = [c.id for c in await uow.conversations.list_view(q)]
        total = await uow.conversations.count_view(q)
    if q.offset == 0 and len(found) < q.limit:
        assert total == len(found)
    return found


async def test_view_all_orders_oldest_waiting_first_and_hides_resolved(uow_factory, inbox):
    assert await _view(uow_factory) == [
        inbox[k]
        for k in ("mine_old", "bobs", "unassigned", "snoozed", "mine_new", "unassigned_never")
    ]


async def test_view_mine_and_unassigned(uow_factory, inbox):
    assert await _view(uow_factory, view="mine", agent_id=inbox["ana"]) == [
        inbox["mine_old"],
        inbox["mine_new"],
    ]
    assert await _view(uow_factory, view="unassigned") == [
        inbox["unassigned"],
        inbox["snoozed"],
        inbox["unassigned_never"],
    ]
    with pytest.raises(ValueError):
        await _view(uow_factory, view="mine")
    with pytest.raises(ValueError):
        await _view(uow_factory, view="everything")


async def test_view_resolved_only_when_asked(uow_factory, inbox):
    mine = await _view(uow_factory, view="mine", agent_id=inbox["ana"], include_resolved=True)
    assert mine == [inbox["resolved"], inbox["mine_old"], inbox["mine_new"]]
    assert await _view(uow_factory, statuses=(Status.RESOLVED,)) == [inbox["resolved"]]
    assert await _view(uow_factory, statuses=(Status.PENDING, Status.SNOOZED)) == [
        inbox["unassigned"],
        inbox["snoozed"],
    ]


async def test_view_channel_account_and_all_tags(uow_factory, inbox):
    assert await _view(uow_factory, channel=Channel.WHATSAPP) == [inbox["unassigned_never"]]
    assert await _view(uow_factory, account="wa") == [inbox["unassigned_never"]]
    assert await _view(uow_factory, tags=("vip",)) == [inbox["mine_old"], inbox["mine_new"]]
    assert await _view(uow_factory, tags=("vip", "billing")) == [inbox["mine_old"]]
    assert await _view(uow_factory, tags=("vip", "unknown")) == []


async def test_view_limit_offset_and_count(uow_factory, inbox):
    everything = await _view(uow_factory, include_resolved=True)
    assert len(everything) == 7
    assert await _view(uow_factory, include_resolved=True, limit=3, offset=2) == everything[2:5]
    async with uow_factory() as uow:
        assert await uow.conversations.count_view(ViewQuery(include_resolved=True, limit=2)) == 7
        assert await uow.conversations.count_view(ViewQuery(tags=("vip",))) == 2


async def test_created_at_is_kept_exactly(uow_factory):
    async with uow_factory() as uow:
        conv = await new_conversation(uow, created_at=T0 + timedelta(microseconds=123456))
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.conversations.get(conv.id)).created_at == conv.created_at
