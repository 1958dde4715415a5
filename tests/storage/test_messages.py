"""MessageRepository contract, including full-text search with hostile input."""

from __future__ import annotations

import pytest

from core.model import (
    Actor,
    Attachment,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    Status,
)
from storage.repositories import fts5_query
from tests.storage.helpers import at, new_conversation, new_message


async def test_add_get_round_trip(uow_factory):
    async with uow_factory() as uow:
        conv = await new_conversation(uow)
        message = Message(
            conversation_id=conv.id,
            direction=Direction.OUT,
            kind=MessageKind.MESSAGE,
            author=Actor.agent(7),
            body="Hola, ¿qué tal?",
            created_at=at(3),
            body_html="<p>Hola</p>",
            subject="Re: pedido",
            attachments=[Attachment("factura.pdf", "application/pdf", 1234, "key-1")],
            delivery_status=DeliveryStatus.QUEUED,
            template_name="welcome",
            template_values={"name": "Ana"},
            meta={"message_id": "<abc@example.com>", "references": ["<x@y>"]},
        )
        await uow.messages.add(message)
        assert message.id is not None
        await uow.commit()
    async with uow_factory() as uow:
        loaded = await uow.messages.get(message.id)
    assert loaded == message
    assert loaded.author == Actor.agent(7) and isinstance(loaded.author.id, int)


async def test_authors_keep_their_id_types(uow_factory):
    async with uow_factory() as uow:
        conv = await new_conversation(uow)
        automation = await new_message(uow, conv.id, author=Actor.automation("rule-9"))
        system = await new_message(uow, conv.id, author=Actor.system())
        assert (await uow.messages.get(automation.id)).author == Actor.automation("rule-9")
        assert (await uow.messages.get(system.id)).author == Actor.system()
        assert await uow.messages.get(123_456) is None


async def test_save_and_thread_order(uow_factory):
    async with uow_factory() as uow:
        conv = await new_conversation(uow)
        other = await new_conversation(uow)
        first = await new_message(uow, conv.id, "one")
        await new_message(uow, other.id, "elsewhere")
        second = await new_message(uow, conv.id, "two", kind=MessageKind.NOTE)
        first.delivery_status = DeliveryStatus.FAILED
        first.error_code, first.error_text = "131047", "window closed"
        await uow.messages.save(first)
        thread = await uow.messages.thread(conv.id)
    assert [m.id for m in thread] == [first.id, second.id]
    assert thread[0].delivery_status is DeliveryStatus.FAILED
    assert thread[0].error_code == "131047"


@pytest.fixture
async def corpus(uow_factory):
    async with uow_factory() as uow:
        open_conv = await new_conversation(uow)
        resolved = await new_conversation(uow, status=Status.RESOLVED)
        ids = {
            "refund": await new_message(uow, open_conv.id, "Quiero un reembolso del pedido 42"),
            "invoice": await new_message(uow, open_conv.id, "Where is my invoice for order 42?"),
            "old": await new_message(uow, resolved.id, "Old invoice question"),
            "quote": await new_message(uow, open_conv.id, 'He said "hello" AND( left * here'),
        }
        await uow.commit()
    return {k: v.id for k, v in ids.items()} | {"open": open_conv.id, "resolved": resolved.id}


async def _search(uow_factory, text: str, include_resolved: bool = False, limit: int = 20):
    async with uow_factory() as uow:
        return await uow.messages.search(text, include_resolved, limit)


async def test_search_finds_words_newest_first(uow_factory, corpus):
    hits = await _search(uow_factory, "42")
    assert [h.message_id for h in hits] == [corpus["invoice"], corpus["refund"]]
    assert hits[0].conversation_id == corpus["open"]
    assert hits[0].status is Status.OPEN
    assert "invoice" in hits[0].body
    assert [h.message_id for h in await _search(uow_factory, "INVOICE order")] == [
        corpus["invoice"]
    ]
    assert await _search(uow_factory, "42", limit=1) == hits[:1]


async def test_search_hides_resolved_unless_asked(uow_factory, corpus):
    assert [h.message_id for h in await _search(uow_factory, "invoice")] == [corpus["invoice"]]
    hits = await _search(uow_factory, "invoice", include_resolved=True)
    assert [h.message_id for h in hits] == [corpus["old"], corpus["invoice"]]
    assert hits[0].status is Status.RESOLVED


@pytest.mark.parametrize(
    "hostile",
    ['"', '""', "AND(", "*", "AND", "OR NOT", "NEAR(a b)", "a:b", "^x", "(", ")", "'", "-", "\\"],
)
async def test_search_never_fails_on_hostile_input(uow_factory, corpus, hostile):
    hits = await _search(uow_factory, hostile)
    assert isinstance(hits, list)


async def test_search_hostile_words_still_match_literally(uow_factory, corpus):
    hits = await _search(uow_factory, '"hello" AND(')
    assert [h.message_id for h in hits] == [corpus["quote"]]


async def test_empty_search_is_empty(uow_factory, corpus):
    assert await _search(uow_factory, "") == []
    assert await _search(uow_factory, "   \t") == []


async def test_search_follows_body_updates(uow_factory, corpus):
    async with uow_factory() as uow:
        message = await uow.messages.get(corpus["refund"])
        message.body = "Cambio de dirección"
        await uow.messages.save(message)
        await uow.commit()
    assert await _search(uow_factory, "reembolso") == []
    assert [h.message_id for h in await _search(uow_factory, "dirección")] == [corpus["refund"]]


def test_fts5_query_quotes_every_token():
    assert fts5_query('a "b" AND(') == '"a" """b""" "AND("'
    assert fts5_query("  ") == ""
