"""Round robin stays fair when two processes assign at once (PostgreSQL: real concurrency;
the cursor is read and moved under one lock, so the turns interleave but never repeat)."""

import subprocess
import sys
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from core.model import Actor, Agent
from core.usecases import Inbox
from storage.engine import create_engine
from storage.uow import SqlUnitOfWorkFactory
from tests.core.conftest import ACCOUNTS

SCRIPT = Path(__file__).with_name("round_robin_proc.py")
PER_PROCESS = 30


async def test_two_processes_share_the_turns_evenly(pg_url, clock):
    engine = create_engine(pg_url)
    inbox = Inbox(SqlUnitOfWorkFactory(engine), clock, ACCOUNTS, ZoneInfo("Europe/Madrid"))
    members = [await inbox.upsert_agent(Agent(n, f"{n.lower()}@shop.test"), Actor.system())
               for n in ("Ana", "Ben", "Cai")]
    await inbox.upsert_team("Billing", [a.id for a in members], Actor.system())
    procs = [subprocess.Popen([sys.executable, str(SCRIPT), pg_url, prefix, str(PER_PROCESS)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for prefix in ("6001", "6002")]
    for proc in procs:
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, out
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT c.assignee_id, a.at FROM conversations c JOIN activity a"
            " ON a.conversation_id = c.id AND a.action = 'assigned' ORDER BY a.id"))).all()
    await engine.dispose()
    assert len(rows) == 2 * PER_PROCESS
    # every third pick goes to the same member, whichever process made it
    assert Counter(r.assignee_id for r in rows) == Counter({a.id: 20 for a in members})
    order = [r.assignee_id for r in rows]
    assert all(order[i] != order[i + 1] for i in range(len(order) - 1))
