"""A Threadline runtime wired to a fake Slack Web API on a real socket, with the FastAPI app
reachable in-process, a fixed clock and a dispatcher drained on demand."""

from __future__ import annotations

import asyncio
import inspect
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

from core.clock import FixedClock
from core.inbound import InboundMessage
from core.model import Channel
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SignedRequest, SlackRequests
from threadline.app import create_app
from threadline.config import ThreadlineConfig
from threadline.runtime import Runtime
from threadline.settings import Settings

SECRET = "slack-signing-secret"
TOKEN = "xoxb-test"
INBOX = "C0INBOX"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ANA, BOB, BOSS, ADA = "UANA", "UBOB", "UBOSS", "UADA"
OUTSIDER = "UOUTSIDER"  # in the workspace, not in the inbox channel, not a configured agent

CONFIG = {
    "timezone": "Europe/Madrid",
    "accounts": [
        {"id": "wa", "channel": "whatsapp", "provider": "whatsapp_cloud",
         "address": "1234567890", "name": "Shop WhatsApp"},
        {"id": "mail", "channel": "email", "provider": "email", "address": "help@shop.test",
         "name": "Shop mail"},
    ],
    "agents": [{"name": "The Boss", "email": "boss@shop.test", "role": "manager",
                "slack_user_id": BOSS},
               {"name": "Ada Admin", "email": "ada@shop.test", "role": "admin"}],
    "tags": [{"name": "urgent", "colour": "#e53935"}, {"name": "vip", "colour": "#1e88e5"}],
    "templates": [{"name": "order_update", "channel": "whatsapp",
                   "body": "Hola {{name}}, tu pedido {{order}} salió", "language": "es",
                   "provider_name": "order_update"}],
}


def settings(api_url: str, files_dir: str, **extra) -> Settings:
    values = dict(
        THREADLINE_DATABASE_URL="sqlite+aiosqlite:///unused.db",
        SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=api_url,
        SLACK_CHANNEL=INBOX, THREADLINE_FILES_DIR=files_dir, SLACK_POSTS_PER_SECOND=1000,
        SLACK_POST_BURST=1000, THREADLINE_UNDO_SEND_SECONDS=10,
        SLACK_COUNTDOWN_SECONDS=0,  # tests tick the countdown themselves
        # AI triage adds a note to every thread: its own tests turn it on (THREADLINE_AI).
        THREADLINE_AI="off",
    )
    values.update(extra)
    return Settings(_env_file=None, **values)


@dataclass
class Harness:
    runtime: Runtime
    http: httpx.AsyncClient
    slack: FakeSlack
    req: SlackRequests
    clock: FixedClock
    _n: int = 0
    outgoing: list = field(default_factory=list)  # (provider, body) the stand-in senders got

    @property
    def inbox(self):
        return self.runtime.inbox

    async def drain(self) -> int:
        return await self.runtime.dispatcher.drain()

    async def post(self, signed: SignedRequest) -> httpx.Response:
        return await self.http.post("/slack/events", content=signed.body, headers=signed.headers)

    async def customer_writes(self, body: str = "Hola, ¿dónde está mi pedido?",
                              sender: str = "+34600111222", name: str = "Lucía", **kw):
        self._n += 1
        msg = InboundMessage(
            channel=Channel.WHATSAPP, account="wa", provider="whatsapp_cloud",
            provider_message_id=f"wamid.t{self._n}", sender=sender, sender_name=name,
            body=body, received_at=self.clock.now(), **kw)
        result = await self.runtime.receive(msg)
        await self.drain()
        return result

    def card(self, conv_id: int):
        """The card message the fake holds for a conversation (by its block id)."""
        for m in self.slack.parents_in(INBOX):
            if any(b.get("block_id", "").startswith(f"card:{conv_id}") for b in m.blocks or []):
                return m
        raise AssertionError(f"no card for conversation {conv_id}")

    async def wait(self, predicate, timeout: float = 10.0):
        """Poll until the predicate (sync or async) is truthy: Bolt acks first and works
        after, so a listener's effect lands shortly after the HTTP answer."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the expected effect never happened")
            await asyncio.sleep(0.02)

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))


WA_TOKEN = "EAAG-slack-harness"


def whatsapp_settings(graph_url: str) -> dict:
    """The "wa" account sends through the real Meta bridge to a fake Graph API."""
    return dict(WHATSAPP_CLOUD_TOKEN=WA_TOKEN, WHATSAPP_CLOUD_APP_SECRET="app-secret",
                WHATSAPP_CLOUD_VERIFY_TOKEN="verify", WHATSAPP_CLOUD_PHONE_NUMBER_ID="1234567890",
                WHATSAPP_GRAPH_URL=graph_url)


async def start_harness(engine, slack: FakeSlack, tmp_path, config: dict | None = None,
                        **extra) -> tuple[Harness, object]:
    """`config`: sections replacing or adding to CONFIG's (rules, auto_replies, …)."""
    s = settings(slack.api_url, str(tmp_path / "files"), **extra)
    runtime = Runtime(s, ThreadlineConfig.model_validate({**CONFIG, **(config or {})}),
                      engine=engine, clock=FixedClock(T0))
    await runtime.prepare()
    app = create_app(s, runtime, start_workers=False)
    for integration in runtime.integrations:
        if integration.start is not None:
            await integration.start()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tl.test")
    requests = SlackRequests(SECRET, response_url_base=f"{slack.base_url}hooks/")
    harness = Harness(runtime, http, slack, requests, runtime.clock)
    _stand_in_senders(harness)
    return harness, http


def _stand_in_senders(h: Harness) -> None:
    """Accounts whose bridge the test does not run still send: into `h.outgoing`, through
    the standard send path (tests may register their own senders over these)."""
    from threadline.integrations._sending import send_handlers

    for provider in ("whatsapp_cloud", "email"):
        if f"send:{provider}" in h.runtime.dispatcher.kinds:
            continue  # the real bridge is on

        async def send(ctx, provider=provider):
            h.outgoing.append((provider, ctx.message.body))
            return f"{provider}.out{len(h.outgoing)}"

        h.runtime.dispatcher.register(f"send:{provider}",
                                      *send_handlers(h.inbox, provider, send))


async def stop_harness(h: Harness, http) -> None:
    await http.aclose()
    for integration in h.runtime.integrations:
        if integration.stop is not None:
            await integration.stop()


@asynccontextmanager
async def running_harness(engine, slack: FakeSlack, tmp_path, config: dict | None = None,
                          **extra):
    """The harness for one test, stopped afterwards (`h.http` is its app client)."""
    h, http = await start_harness(engine, slack, tmp_path, config, **extra)
    try:
        yield h
    finally:
        await stop_harness(h, http)


class Answer:
    """What the user saw: the ack body, or what was POSTed to the command's response_url."""

    def __init__(self, args: dict) -> None:
        self.args = args


async def command(h, text: str, user: str = ANA, channel: str = INBOX) -> Answer:
    url = h.req.response_url("commands")
    response = await h.post(h.req.slash_command("/inbox", text, user_id=user,
                                                channel_id=channel, response_url=url))
    assert response.status_code == 200, response.text
    if response.content and response.headers.get("content-type", "").startswith(
            "application/json") and response.json().get("text"):
        return Answer(response.json())
    answers = await h.wait(lambda: h.slack.responses_to(url))
    return Answer(answers[-1])
