"""Staff messages are stored before Slack gets its answer: a failure is answered 500 and the
redelivery is handled (not dropped as a duplicate), and one thread's messages are stored in
the order they arrived even when the first is slower to handle."""

from __future__ import annotations

import asyncio

from core.model import Direction
from tests.bot.slack.harness import ANA, INBOX


async def _staff_bodies(h, conv_id: int) -> list[str]:
    return [m.body for m in await h.inbox.thread(conv_id) if m.direction is Direction.OUT]


async def test_a_staff_reply_is_stored_when_slack_gets_its_200(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    answer = await h.post(h.req.event(
        h.req.message_event(INBOX, "Sale mañana", user=ANA, thread_ts=card.ts)))
    assert answer.status_code == 200
    assert await _staff_bodies(h, r.conversation_id) == ["Sale mañana"]  # no waiting


async def test_a_failure_is_answered_500_and_the_redelivery_is_handled(h, monkeypatch):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    real = h.inbox.write_in_thread
    calls = 0

    async def database_down_once(*args, **kw):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("connection refused")
        return await real(*args, **kw)

    monkeypatch.setattr(h.inbox, "write_in_thread", database_down_once)
    event = h.req.message_event(INBOX, "Ya está en camino", user=ANA, thread_ts=card.ts)
    first = await h.post(h.req.event(event, event_id="Ev0000000077"))
    assert first.status_code == 500
    assert await _staff_bodies(h, r.conversation_id) == []
    retry = await h.post(h.req.event(event, event_id="Ev0000000077", retry_num=1))
    assert retry.status_code == 200
    again = await h.post(h.req.event(event, event_id="Ev0000000077", retry_num=2))
    assert again.status_code == 200
    assert await _staff_bodies(h, r.conversation_id) == ["Ya está en camino"]


async def test_one_threads_messages_are_stored_in_arrival_order(h, monkeypatch):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    real = h.runtime.slack.identity.actor
    slow_once = asyncio.Event()

    async def slow_first(client, user):
        if not slow_once.is_set():
            slow_once.set()
            await asyncio.sleep(0.3)  # e.g. a users.info lookup that takes a while
        return await real(client, user)

    monkeypatch.setattr(h.runtime.slack.identity, "actor", slow_first)
    first = h.req.event(h.req.message_event(INBOX, "primero", user=ANA, thread_ts=card.ts))
    second = h.req.event(h.req.message_event(INBOX, "segundo", user=ANA, thread_ts=card.ts))
    task = asyncio.create_task(h.post(first))
    await asyncio.wait_for(slow_once.wait(), 5)
    answers = await asyncio.gather(task, h.post(second))
    assert [a.status_code for a in answers] == [200, 200]
    assert await _staff_bodies(h, r.conversation_id) == ["primero", "segundo"]


async def test_a_deterministic_failure_is_not_answered_500(h, monkeypatch):
    """A body the handler cannot read would fail the same way on every redelivery: it is
    logged and acknowledged, never a 5xx."""
    r = await h.customer_writes()
    card = h.card(r.conversation_id)

    async def unreadable(*args, **kw):
        raise TypeError("an unexpected shape")

    monkeypatch.setattr(h.inbox, "write_in_thread", unreadable)
    event = h.req.message_event(INBOX, "hola", user=ANA, thread_ts=card.ts)
    answer = await h.post(h.req.event(event))
    assert answer.status_code == 200
    assert await _staff_bodies(h, r.conversation_id) == []
