"""One Meta delivery's messages go through one transaction: dedupe across and inside
deliveries, contacts shared within a batch, quotes among a batch, all-or-nothing on a
storage failure (500, then a redelivery stores everything once). SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from storage.repositories.messages import SqlMessageRepository
from storage.uow import SqlUnitOfWork
from tests.bridges.whatsapp.helpers import all_messages, counts, post_meta
from tests.bridges.whatsapp.payloads import change, delivery, message


def text_msg(wamid: str, body: str, sender: str = "16505551234", **kw) -> dict:
    return message("text", {"body": body}, wamid=wamid, sender=sender, **kw)


def fifty() -> dict:
    return delivery(*[change([text_msg(f"wamid.B{i}", f"message {i}", f"3460{i % 7:07d}")],
                             sender=f"3460{i % 7:07d}") for i in range(50)], entries=5)


@pytest.fixture
def commits(monkeypatch) -> list[int]:
    seen: list[int] = []
    real = SqlUnitOfWork.commit

    async def commit(self) -> None:
        seen.append(1)
        await real(self)

    monkeypatch.setattr(SqlUnitOfWork, "commit", commit)
    return seen


async def test_fifty_messages_commit_once(client, runtime, commits):
    r = await post_meta(client, fifty())
    assert r.status_code == 200 and r.json()["stored"] == 50, r.text
    assert len(commits) == 1
    assert len(await all_messages(runtime.inbox)) == 50


async def test_the_same_delivery_twice_is_stored_once(client, runtime, engine):
    first = await post_meta(client, fifty())
    before = await counts(engine)
    again = await post_meta(client, fifty())
    assert first.json()["stored"] == 50
    assert again.json()["stored"] == 0 and again.json()["duplicates"] == 50
    assert await counts(engine) == before


async def test_a_message_twice_in_one_delivery_is_stored_once(client, runtime, engine):
    twice = text_msg("wamid.TWICE", "only once")
    r = await post_meta(client, delivery(change([twice, text_msg("wamid.OTHER", "other")]),
                                         change([twice])))
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 2 and r.json()["duplicates"] == 1
    assert sorted(m.body for m in await all_messages(runtime.inbox)) == ["only once", "other"]
    assert (await counts(engine))["links"] == 2


async def test_one_new_contact_in_a_batch_gets_one_conversation(client, runtime, engine):
    # The same Mexican number in WhatsApp's 521 form and in E.164: one person.
    r = await post_meta(client, delivery(
        change([text_msg("wamid.M1", "hola", "5215512345678")], sender="5215512345678"),
        change([text_msg("wamid.M2", "sigo aquí", "525512345678"),
                text_msg("wamid.M3", "¿hola?", "5215512345678")], sender="525512345678"),
    ))
    assert r.status_code == 200 and r.json()["stored"] == 3, r.text
    rows = await counts(engine)
    assert rows["contacts"] == 1 and rows["conversations"] == 1
    assert [m.body for m in await all_messages(runtime.inbox)] == ["hola", "sigo aquí", "¿hola?"]


async def test_a_quote_of_a_message_earlier_in_the_delivery(client, runtime):
    r = await post_meta(client, delivery(change([
        text_msg("wamid.Q", "Which sizes exist?"),
        text_msg("wamid.R", "I meant this one", context={"id": "wamid.Q"}),
    ])))
    assert r.status_code == 200 and r.json()["stored"] == 2, r.text
    bodies = [m.body for m in await all_messages(runtime.inbox)]
    assert bodies == ["Which sizes exist?", "> Which sizes exist?\nI meant this one"]


async def test_a_failure_stores_none_of_the_batch_and_the_redelivery_all(app, runtime, engine,
                                                                         monkeypatch):
    real = SqlMessageRepository.add

    async def add(self, msg):
        if msg.body == "message 30":
            raise OSError("disk full")
        return await real(self, msg)

    monkeypatch.setattr(SqlMessageRepository, "add", add)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://internal:8000") as c:
        failed = await post_meta(c, fifty())
        assert failed.status_code == 500 and "retry" in failed.json()["error"]
        assert (await counts(engine))["messages"] == 0  # one transaction: nothing half-done
        monkeypatch.setattr(SqlMessageRepository, "add", real)
        retried = await post_meta(c, fifty())
    assert retried.status_code == 200 and retried.json()["stored"] == 50
    async with engine.connect() as conn:
        orphans = (await conn.execute(text(
            "SELECT count(*) FROM links WHERE message_id IS NULL"))).scalar_one()
    assert orphans == 0


async def test_a_batch_counts_each_new_message_once_in_the_metrics(client, runtime):
    batch = delivery(change([text_msg("wamid.M1", "uno"), text_msg("wamid.M2", "dos"),
                             text_msg("wamid.M1", "uno")]))
    assert (await post_meta(client, batch)).status_code == 200
    assert (await post_meta(client, batch)).status_code == 200  # a redelivery
    metrics = (await client.get("/metrics")).text
    assert ('threadline_inbound_messages_total{channel="whatsapp",provider="whatsapp_cloud"} '
            '2.0') in metrics
