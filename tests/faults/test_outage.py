"""Slack, then Meta, Twilio and the SMTP server, down for longer than the old attempt budget
(12 attempts), then back: nothing is given up on, everything goes out once, in order, promptly.

Retries are made fast (THREADLINE_DISPATCH_MAX_DELAY_SECONDS) so that far more than twelve
attempts fit in a few seconds; the horizon (hours) is what ends retrying now.
"""

from __future__ import annotations

from collections import Counter

from tests.faults.system import System
from tests.faults.test_kill_each_step import check, customers

OLD_BUDGET = 12


async def attempts_beyond(system: System, kind: str, n: int) -> bool:
    rows = await system.rows(f"SELECT max(attempts) AS m FROM outbox WHERE kind LIKE '{kind}%' "
                             "AND status = 'pending'")
    return (rows[0]["m"] or 0) > n


async def test_providers_down_past_the_old_budget_then_up(pg_url, tmp_path):
    people = customers()
    async with System(pg_url, tmp_path) as system:
        await system.start(THREADLINE_DISPATCH_MAX_DELAY_SECONDS="0.05")
        system.slack.set_down(True)
        for _ in range(2):
            for who in people:
                await system.customer_writes(who)
        await system.wait_for(lambda: attempts_beyond(system, "slack:", OLD_BUDGET))
        assert "failed" not in await system.outbox_left()  # still trying, none given up
        system.slack.set_down(False)

        async def all_posted() -> bool:
            posts = system.slack_posts()
            return all(any(system.shows(p, t) for p in posts)
                       for who in people for t in who.sent)

        await system.settle(all_posted)

        system.graph.down = system.twilio.down = True
        await system.smtp.stop()
        for _ in range(2):
            for who in people:
                await system.staff_replies(who)
        await system.wait_for(lambda: attempts_beyond(system, "send:", OLD_BUDGET))
        assert "failed" not in await system.outbox_left()
        system.graph.down = system.twilio.down = False
        await system.smtp.start()

        async def all_sent() -> bool:
            rows = await system.rows("SELECT delivery_status FROM messages "
                                     "WHERE direction = 'out'")
            return len(rows) == 2 * len(people) and all(
                r["delivery_status"] == "sent" for r in rows)

        await system.settle(all_sent)
        assert system.kills == []
        await check(system, people)
        sends = Counter(body for _, body in system.graph_sends() + system.twilio_sends()
                        + system.smtp_sends())
        assert all(n == 1 for n in sends.values()), sends  # nothing went twice
