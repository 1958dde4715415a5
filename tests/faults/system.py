"""Threadline as operators run it, for fault injection: `threadline serve` processes on
PostgreSQL, fed through their real webhooks, talking to fake Slack, Graph and Twilio APIs
on real sockets. A killed process is replaced by a clean one; webhooks are redelivered
until they get a 2xx, as the platforms do."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.bridges.whatsapp.payloads import (
    change,
    delivery,
    message,
    signed_meta,
    signed_twilio,
    twilio_inbound,
)
from tests.fakes.dovecot import DovecotServer
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import SlackRequests
from tests.fakes.smtp_server import RecordingSmtpServer
from tests.fakes.twilio_api import FakeTwilioApi
from tests.free_port import free_port

WORKER = Path(__file__).with_name("worker.py")
ROOT = WORKER.parents[2]
SLACK_TOKEN, SLACK_SECRET, INBOX = "xoxb-faults", "faults-signing-secret", "C0FAULTS"
META_TOKEN, META_SECRET, PHONE_ID = "EAAG-faults", "faults-app-secret", "106540352242922"
TW_SID, TW_TOKEN, TW_FROM = "AC" + "7" * 32, "faults-twilio-token", "+14155238886"
PUBLIC = "https://inbox.example.com"
MAILBOX, MAIL_PASSWORD = "soporte@tienda.example", "imap-secret"
ANA = "UANA"
LEASE_SECONDS = 2.0




@dataclass
class Customer:
    provider: str  # "meta" | "twilio" | "email"
    number: str  # E.164 without "+", or an email address
    sent: list[str] = field(default_factory=list)  # tokens of their messages, in order
    replies: list[str] = field(default_factory=list)  # tokens of staff replies, in order


class System:
    def __init__(self, db_url: str, tmp: Path) -> None:
        self.db_url, self.tmp = db_url, tmp
        self.slack = FakeSlack(token=SLACK_TOKEN)
        self.graph = FakeGraphApi(META_TOKEN)
        self.twilio = FakeTwilioApi(TW_SID, TW_TOKEN)
        self.dovecot = DovecotServer(password=MAIL_PASSWORD)
        self.smtp = RecordingSmtpServer(users={"smtp-user": "smtp-pass"})
        self.req = SlackRequests(signing_secret=SLACK_SECRET)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.fault_log = tmp / "faults.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.kills: list[int] = []  # exit codes of processes that died under us
        self.starts = 0
        self.engine = create_async_engine(db_url)
        self.http = httpx.AsyncClient(timeout=10)
        self._n = 0

    # -- lifecycle ---------------------------------------------------------------------
    async def __aenter__(self) -> System:
        await self.slack.start()
        self.slack.add_channel(INBOX, "inbox")
        self.slack.add_user(ANA, "ana")
        self.slack.set_members(INBOX, [ANA])
        self.graph.start()
        self.twilio.start()
        self.dovecot.start()
        await self.smtp.start()
        self.config = self.tmp / "threadline.yml"
        self.config.write_text(yaml.safe_dump({
            "accounts": [
                {"id": "wa", "channel": "whatsapp", "provider": "whatsapp_cloud",
                 "address": PHONE_ID, "name": "Shop WhatsApp"},
                {"id": "tw", "channel": "whatsapp", "provider": "twilio", "address": TW_FROM,
                 "name": "Shop Twilio"},
                {"id": "mail", "channel": "email", "provider": "email", "address": MAILBOX,
                 "name": "Soporte"},
            ],
            "agents": [{"name": "Ana", "email": "ana@shop.test", "slack_user_id": ANA}],
        }))
        return self

    async def __aexit__(self, *exc) -> None:
        await self.kill()
        await self.http.aclose()
        await self.engine.dispose()
        await self.slack.stop()
        self.graph.close()
        self.twilio.close()
        await self.smtp.stop()
        self.dovecot.close()

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("THREADLINE_", "SLACK_", "WHATSAPP_", "TWILIO_", "EMAIL_"))}
        env.update(
            PYTHONPATH=str(ROOT), FAULT_LOG=str(self.fault_log),
            THREADLINE_DATABASE_URL=self.db_url, THREADLINE_CONFIG=str(self.config),
            THREADLINE_FILES_DIR=str(self.tmp / "files"), THREADLINE_PUBLIC_URL=PUBLIC,
            THREADLINE_UNDO_SEND_SECONDS="0", THREADLINE_LOG_LEVEL="INFO",
            THREADLINE_AI="off",  # these count Slack posts; AI triage is tested apart
            THREADLINE_DISPATCH_LEASE_SECONDS=str(LEASE_SECONDS),
            THREADLINE_DISPATCH_IDLE_SECONDS="0.1", THREADLINE_SCHEDULER_INTERVAL_SECONDS="1",
            SLACK_BOT_TOKEN=SLACK_TOKEN, SLACK_SIGNING_SECRET=SLACK_SECRET,
            SLACK_API_URL=self.slack.api_url, SLACK_CHANNEL=INBOX,
            SLACK_POSTS_PER_SECOND="1000", SLACK_POST_BURST="1000", SLACK_COUNTDOWN_SECONDS="0",
            WHATSAPP_CLOUD_TOKEN=META_TOKEN, WHATSAPP_CLOUD_APP_SECRET=META_SECRET,
            WHATSAPP_CLOUD_VERIFY_TOKEN="verify", WHATSAPP_CLOUD_PHONE_NUMBER_ID=PHONE_ID,
            WHATSAPP_GRAPH_URL=self.graph.url,
            TWILIO_ACCOUNT_SID=TW_SID, TWILIO_AUTH_TOKEN=TW_TOKEN, TWILIO_WHATSAPP_FROM=TW_FROM,
            TWILIO_API_URL=self.twilio.url,
            EMAIL_ADDRESS=MAILBOX, EMAIL_IMAP_HOST=self.dovecot.host,
            EMAIL_IMAP_PORT=str(self.dovecot.port), EMAIL_IMAP_USER=MAILBOX,
            EMAIL_IMAP_PASSWORD=MAIL_PASSWORD, EMAIL_IMAP_SSL="false",
            EMAIL_SMTP_HOST="127.0.0.1", EMAIL_SMTP_PORT=str(self.smtp.port),
            EMAIL_SMTP_STARTTLS="false", EMAIL_SMTP_USER="smtp-user",
            EMAIL_SMTP_PASSWORD="smtp-pass", EMAIL_POLL_SECONDS="1",
        )
        env.update(extra)
        return env

    async def start(self, point: str | None = None, hit: int = 1, **env: str) -> None:
        """Start a process (with its fault, if any) and wait until it answers."""
        args = [str(self.port)] + ([point, str(hit)] if point else [])
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), *args, env=self.env(**env), cwd=str(self.tmp),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=open(self.tmp / f"worker{self.starts}.log", "wb"))  # noqa: SIM115
        self.starts += 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.returncode == -9:  # killed while starting: start another
                self.kills.append(self.proc.returncode)
                await self.start()
                return
            if self.proc.returncode is not None:
                raise AssertionError(f"worker exited at start: {self.log_tail()}")
            try:
                if (await self.http.get(self.base + "/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"worker did not become ready: {self.log_tail()}")

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def keep_running(self) -> None:
        """Replace a process that died (the fault killed it) with a clean one."""
        if self.proc is not None and self.proc.returncode is None:
            return
        if self.proc is not None:
            await self.proc.wait()
            self.kills.append(self.proc.returncode)
        await self.start()

    def log_tail(self) -> str:
        logs = sorted(self.tmp.glob("worker*.log"))
        return logs[-1].read_text(errors="replace")[-3000:] if logs else ""

    def faults_hit(self) -> list[str]:
        return self.fault_log.read_text().split("\n")[:-1] if self.fault_log.exists() else []

    # -- what the platforms send -------------------------------------------------------
    async def deliver(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        """POST until a 2xx, as Meta, Twilio and Slack redeliver what was not acknowledged."""
        for _ in range(20):
            await self.keep_running()
            try:
                r = await self.http.post(self.base + path, content=body, headers=headers)
            except httpx.TransportError:
                await asyncio.sleep(0.2)  # the process died mid-request: it is replaced
                continue
            if r.status_code < 300:
                return
            assert r.status_code >= 500, f"{path}: {r.status_code} {r.text}"
            await asyncio.sleep(0.2)
        raise AssertionError(f"{path} was never acknowledged")

    def token(self, kind: str) -> str:
        self._n += 1
        return f"{kind}{self._n:03d}x"

    async def customer_writes(self, who: Customer) -> str:
        token = self.token("msg")
        who.sent.append(token)
        if who.provider == "email":  # mail lands in the mailbox; the worker fetches it
            first = f"<{who.sent[0]}@cliente.example>"
            raw = (f"From: Lucía Pérez <{who.number}>\r\nTo: {MAILBOX}\r\n"
                   f"Subject: =?utf-8?q?Pedido_n=C2=BA_7?=\r\n"
                   f"Message-ID: <{token}@cliente.example>\r\n"
                   + (f"In-Reply-To: {first}\r\nReferences: {first}\r\n"
                      if len(who.sent) > 1 else "")
                   + "Date: Wed, 02 Dec 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
                   "Content-Type: text/plain; charset=utf-8\r\n"
                   f"Content-Transfer-Encoding: 8bit\r\n\r\nhola {token}, ¿y mi pedido?\r\n")
            self.dovecot.append(MAILBOX, raw.encode())
        elif who.provider == "meta":
            payload = delivery(change([message("text", {"body": f"hola {token}"},
                                               wamid=f"wamid.IN.{token}", sender=who.number,
                                               ts=str(int(time.time())))],
                                      sender=who.number))
            body, headers = signed_meta(META_SECRET, payload)
            await self.deliver("/webhooks/whatsapp", body, headers)
        else:
            form = twilio_inbound(f"SM{token:0>32}"[-34:], body=f"hola {token}",
                                  sender="+" + who.number, to=TW_FROM)
            body, headers = signed_twilio(TW_TOKEN, PUBLIC + "/webhooks/twilio", form)
            await self.deliver("/webhooks/twilio", body, headers)
        return token

    async def staff_replies(self, who: Customer) -> str:
        token = self.token("reply")
        who.replies.append(token)
        root = self.thread_of(who)
        event = self.req.message_event(INBOX, f"gracias {token}", user=ANA, thread_ts=root)
        body, headers = self.req.event(event)
        await self.deliver("/slack/events", body, headers)
        return token

    # -- what came out ------------------------------------------------------------------
    def slack_posts(self) -> list:
        return sorted(self.slack.posts_in(INBOX), key=lambda m: float(m.ts))

    @staticmethod
    def shows(post, token: str) -> bool:
        return token in (post.text or "") or token in json.dumps(post.blocks or [])

    @staticmethod
    def key(post) -> str:
        return ((post.metadata or {}).get("event_payload") or {}).get("key", "")

    def thread_of(self, who: Customer) -> str:
        roots = {p.thread_ts or p.ts for p in self.slack_posts() if self.shows(p, who.sent[0])}
        assert len(roots) == 1, f"{who.number}'s first message is in threads {roots}"
        return roots.pop()

    def graph_sends(self) -> list[tuple[str, str]]:
        out = []
        for rec in self.graph.of("POST", "/messages"):
            if rec.status != 200:  # refused (an outage): nothing reached the customer
                continue
            try:
                body = rec.json()
            except ValueError:  # cut off by the kill: Meta would refuse it too
                continue
            out.append((body.get("to", "").lstrip("+"), json.dumps(body)))
        return out

    def twilio_sends(self) -> list[tuple[str, str]]:
        return [(m["to"].removeprefix("whatsapp:+"), m["body"]) for m in self.twilio.sent]

    def smtp_sends(self) -> list[tuple[str, str]]:
        out = []
        for mail in self.smtp.messages:
            body = mail.parsed.get_body(("plain",))
            text_ = body.get_content() if body is not None else ""
            out += [(to, text_) for to in mail.rcpt_tos]
        return out

    def sends_to(self, who: Customer) -> list[tuple[str, str]]:
        return {"meta": self.graph_sends, "twilio": self.twilio_sends,
                "email": self.smtp_sends}[who.provider]()

    async def rows(self, sql: str) -> list:
        async with self.engine.connect() as conn:
            return list((await conn.execute(text(sql))).mappings())

    async def outbox_left(self) -> dict[str, int]:
        rows = await self.rows("SELECT status, count(*) AS n FROM outbox "
                               "WHERE status <> 'done' GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    async def wait_for(self, predicate, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await predicate():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"never happened; outbox {await self.outbox_left()}")

    async def settle(self, done, timeout: float = 60.0) -> None:
        """Wait (replacing dead processes) until nothing is pending and `done()` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.keep_running()
            if not await self.outbox_left() and await done():
                return
            await asyncio.sleep(0.2)
        messages = await self.rows("SELECT direction, kind, delivery_status, body "
                                   "FROM messages ORDER BY id")
        raise AssertionError(f"not settled: outbox {await self.outbox_left()}; messages "
                             f"{[tuple(m.values()) for m in messages]}; {self.log_tail()}")
