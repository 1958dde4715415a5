"""kill -9 of a whole Threadline process at each step of ingest and dispatch, on PostgreSQL.

Per run: customers write through the Meta and Twilio webhooks (redelivered until
acknowledged), the mirror posts to Slack, staff reply in the threads, the replies go out.
The process dies once at the chosen step and a clean one takes over. Then:
every inbound message is stored once, every Slack post exists once, every reply reached its
customer at least once and twice only inside Meta's documented window (Meta accepted a send
whose answer the dying process never recorded, and Meta has no lookup; the message is then
marked "may have been sent twice"; a kill anywhere in the send phase can land in that
window for a send in flight beside the one at the chosen step), order is kept per
conversation, and nothing is left pending or failed.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.faults.system import Customer, System

# (point, which time it is reached). Hit numbers put the kill mid-run.
POINTS = [
    ("ingest.before_commit", 3),
    ("ingest.after_commit", 3),
    ("staff.before_commit", 2),
    ("staff.after_commit", 2),
    ("slack_post.before_call", 3),
    ("slack_post.after_call", 3),
    ("slack_post.after_call", 8),
    ("graph_send.before_call", 2),
    ("graph_send.after_call", 2),
    ("twilio_send.before_call", 1),
    ("twilio_send.after_call", 2),
    ("smtp_send.before_call", 1),
    ("smtp_send.after_call", 2),
    ("slack_link.carried", 1),
    ("dispatch.before_complete", 4),
    ("dispatch.before_complete", 14),
]


def customers() -> list[Customer]:
    return [Customer("meta", "16505550101"), Customer("twilio", "16505550102"),
            Customer("meta", "5215512345678"),  # Mexico's 521 form, as Meta sends it
            Customer("email", "lucia@cliente.example")]


async def run_conversations(system: System, people: list[Customer]) -> None:
    for _ in range(2):
        for who in people:
            await system.customer_writes(who)

    async def all_posted() -> bool:
        posts = system.slack_posts()
        return all(any(system.shows(p, t) for p in posts) for who in people for t in who.sent)

    await system.settle(all_posted)
    for _ in range(2):
        for who in people:
            await system.staff_replies(who)

    async def all_sent() -> bool:
        rows = await system.rows("SELECT delivery_status FROM messages WHERE direction = 'out'")
        return len(rows) == 2 * len(people) and all(
            r["delivery_status"] in ("sent", "delivered") for r in rows)

    await system.settle(all_sent)


async def check(system: System, people: list[Customer]) -> None:
    inbound = await system.rows("SELECT body FROM messages WHERE direction = 'in'")
    tokens = [t for who in people for t in who.sent]
    assert sorted(t for r in inbound for t in tokens if t in r["body"]) == sorted(tokens)
    assert len(inbound) == len(tokens)

    posts = system.slack_posts()
    keys = Counter(p.metadata["event_payload"]["key"] for p in posts if p.metadata)
    assert not [k for k, n in keys.items() if n > 1], keys  # no card, post or marker twice
    assert sum(k.startswith("card:") for k in keys) == len(people)
    mirrored = [p for p in posts if p.is_reply and system.key(p).startswith("msg:")]
    for token in tokens:
        assert sum(system.shows(p, token) for p in mirrored) == 1, f"{token} posted twice"
    for who in people:  # one thread per customer, their messages in order
        root = system.thread_of(who)
        shown = [t for p in mirrored if p.thread_ts == root for t in who.sent
                 if system.shows(p, t)]
        assert shown == who.sent

    out = await system.rows("SELECT body, meta FROM messages WHERE direction = 'out'")
    marked = {t for r in out for t in (w for p in people for w in p.replies)
              if t in r["body"] and "maybe_sent_twice" in (r["meta"] or "")}
    for who in people:
        sends = system.sends_to(who)
        mine = [t for to, body in sends if to == who.number for t in who.replies if t in body]
        first = list(dict.fromkeys(mine))
        assert first == who.replies, f"{who.number}: sent {mine}, wrote {who.replies}"
        for token, n in Counter(mine).items():
            if n > 1:  # only where the provider cannot tell us, and then staff are told
                assert who.provider != "twilio", f"{token} went twice through Twilio"
                assert token in marked, f"{token} went twice without the marker"
    assert await system.outbox_left() == {}


@pytest.mark.parametrize(("point", "hit"), POINTS, ids=[f"{p}-{h}" for p, h in POINTS])
async def test_a_kill_at_each_step_loses_nothing_and_doubles_nothing(pg_url, tmp_path,
                                                                      point, hit):
    people = customers()
    async with System(pg_url, tmp_path) as system:
        if point == "slack_link.carried":  # a slow Slack: the burst is coalesced
            system.slack.set_latency(0.5, "chat.postMessage")
        await system.start(point, hit)
        await run_conversations(system, people)
        assert system.faults_hit() == [f"killed {point}"], system.faults_hit()
        assert system.kills == [-9]
        await check(system, people)
