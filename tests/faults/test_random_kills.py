"""kill -9 at moments nobody chose: while customers write, the mirror posts, staff reply and
the replies go out, the process is killed several times (intervals from a seeded random
generator; where in the code each kill lands is up to the scheduler). The same guarantees
as at each chosen step must hold afterwards."""

from __future__ import annotations

import asyncio
import random

import pytest

from tests.faults.system import Customer, System
from tests.faults.test_kill_each_step import check


async def killer(system: System, rng: random.Random, kills: int) -> None:
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(0.4, 1.6))
        if system.proc is not None and system.proc.returncode is None:
            system.proc.kill()


@pytest.mark.parametrize("seed", [7, 2026])
async def test_random_kills_mid_burst_lose_and_double_nothing(pg_url, tmp_path, seed):
    rng = random.Random(seed)
    people = [Customer("meta", f"1650555{n:04d}") for n in range(3)] + [
        Customer("twilio", "16505559000"), Customer("email", "marta@cliente.example")]
    async with System(pg_url, tmp_path) as system:
        await system.start()
        chaos = asyncio.create_task(killer(system, rng, 3))
        for _ in range(4):
            for who in people:
                await system.customer_writes(who)

        async def all_posted() -> bool:
            posts = system.slack_posts()
            return all(any(system.shows(p, t) for p in posts)
                       for who in people for t in who.sent)

        await system.settle(all_posted, timeout=90)
        await chaos
        chaos = asyncio.create_task(killer(system, rng, 3))
        for _ in range(3):
            for who in people:
                await system.staff_replies(who)

        async def all_sent() -> bool:
            rows = await system.rows("SELECT delivery_status FROM messages "
                                     "WHERE direction = 'out'")
            return len(rows) == 3 * len(people) and all(
                r["delivery_status"] == "sent" for r in rows)

        await system.settle(all_sent, timeout=90)
        await chaos
        await system.settle(all_sent, timeout=90)  # a last kill may land after the sends
        assert system.kills, "no process was killed"
        await check(system, people)
