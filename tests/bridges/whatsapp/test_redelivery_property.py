"""Property: any sequence of duplicated and reordered deliveries of the same messages,
reactions and statuses leaves the same stored state as one clean, in-order delivery."""

from __future__ import annotations

import asyncio
import shutil
import uuid

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.clock import FixedClock
from core.inbound import InboundMessage
from core.model import Actor, Channel
from storage.engine import create_engine
from tests.bridges.whatsapp.conftest import APP_SECRET, TOKEN, VERIFY
from tests.bridges.whatsapp.helpers import all_messages, post_meta
from tests.bridges.whatsapp.payloads import PHONE_ID, T0, change, delivery, message, status
from threadline.app import create_app
from threadline.config import parse_config
from threadline.runtime import Runtime
from threadline.settings import Settings


def _ts(seconds: int) -> str:
    return str(int(T0.timestamp()) + seconds)


# Each event is one webhook item: (kind, payload), in the order Meta produced them.
EVENTS = [
    ("message", message("text", {"body": "first"}, wamid="p.1", ts=_ts(10))),
    ("message", message("location", {"latitude": 1.5, "longitude": 2.5, "name": "Here"},
                        wamid="p.2", ts=_ts(20))),
    ("message", message("text", {"body": "third"}, wamid="p.3", ts=_ts(30),
                        context={"id": "wamid.OUT"})),
    ("status", status("wamid.OUT", "sent", ts=_ts(11))),
    ("status", status("wamid.OUT", "delivered", ts=_ts(12))),
    ("status", status("wamid.OUT", "read", ts=_ts(13))),
    ("message", message("reaction", {"message_id": "wamid.OUT", "emoji": "👍"}, wamid="p.r1",
                        ts=_ts(14))),
    ("message", message("reaction", {"message_id": "wamid.OUT", "emoji": ""}, wamid="p.r2",
                        ts=_ts(15))),
    ("message", message("reaction", {"message_id": "wamid.OUT", "emoji": "❤️"}, wamid="p.r3",
                        ts=_ts(16))),
]


def _payload(events: list[int]) -> dict:
    msgs = [EVENTS[i][1] for i in events if EVENTS[i][0] == "message"]
    stats = [EVENTS[i][1] for i in events if EVENTS[i][0] == "status"]
    return delivery(change(msgs, stats))


async def _scenario(url: str, tmp: str, deliveries: list[list[int]]) -> list:
    engine = create_engine(url)
    settings_ = Settings(
        _env_file=None, THREADLINE_DATABASE_URL=url, THREADLINE_FILES_DIR=tmp,
        WHATSAPP_CLOUD_TOKEN=TOKEN, WHATSAPP_CLOUD_APP_SECRET=APP_SECRET,
        WHATSAPP_CLOUD_VERIFY_TOKEN=VERIFY, WHATSAPP_CLOUD_PHONE_NUMBER_ID=PHONE_ID,
        WHATSAPP_GRAPH_URL="http://127.0.0.1:9", THREADLINE_AI="off")
    config = parse_config({"accounts": [{"id": "wa", "channel": "whatsapp",
                                         "provider": "whatsapp_cloud", "address": PHONE_ID}]})
    rt = Runtime(settings_, config, engine=engine, clock=FixedClock(T0))
    try:
        first = await rt.receive(InboundMessage(Channel.WHATSAPP, "wa", "whatsapp_cloud",
                                                "p.0", "+16505551234", "hello", T0))
        out = await rt.inbox.reply(first.conversation_id, "our answer", Actor.agent(1))
        await rt.inbox.mark_sent(out.id, "whatsapp_cloud", "wamid.OUT")
        app = create_app(rt.settings, rt, start_workers=False)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as client:
            for events in deliveries:
                r = await post_meta(client, _payload(events))
                assert r.status_code == 200, r.text
        conv = (await rt.inbox.conversation(first.conversation_id)).conversation
        state = sorted(
            (m.direction.value, m.body, m.created_at.isoformat(), str(m.delivery_status),
             repr(sorted((m.meta.get("reactions") or {}).items())))
            for m in await all_messages(rt.inbox))
        return [state, conv.last_customer_message_at, conv.status.value]
    finally:
        await rt.close()
        await engine.dispose()


@st.composite
def shuffled_deliveries(draw):
    """Every event at least once, some repeated, in any order, split into deliveries."""
    order = draw(st.permutations(range(len(EVENTS))))
    extra = draw(st.lists(st.integers(0, len(EVENTS) - 1), max_size=8))
    items = list(order)
    for event in extra:
        items.insert(draw(st.integers(0, len(items))), event)
    cuts = sorted(set(draw(st.lists(st.integers(1, len(items) - 1), max_size=5))))
    bounds = [0, *cuts, len(items)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if items[a:b]]


def _run_on_fresh_db(backend, request, tmp_path, deliveries) -> list:
    if backend == "sqlite":
        target = tmp_path / f"{uuid.uuid4().hex}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return asyncio.run(_scenario(f"sqlite+aiosqlite:///{target}", str(tmp_path / "f"),
                                     deliveries))
    server = request.getfixturevalue("pg_server")
    name = server.new_name("prop")
    url = server.create_database(name, template=request.getfixturevalue("pg_template"))
    try:
        return asyncio.run(_scenario(url, str(tmp_path / "f"), deliveries))
    finally:
        server.drop_database(name)


def test_redeliveries_converge_to_the_clean_state(backend, request, tmp_path):
    clean = _run_on_fresh_db(backend, request, tmp_path, [list(range(len(EVENTS)))])
    assert len(clean[0]) == 5  # hello, our answer and three customer messages
    reactions = [s for s in clean[0] if "❤️" in s[4]]
    assert len(reactions) == 1 and "read" in reactions[0][3]

    @settings(max_examples=20, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(shuffled_deliveries())
    def check(deliveries):
        assert _run_on_fresh_db(backend, request, tmp_path, deliveries) == clean

    check()
