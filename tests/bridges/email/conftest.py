"""Fixtures for the email bridge: a real Dovecot (session), a real SMTP server (per test),
and a Runtime on both databases wired to them.

Each test gets its own mailbox user (its own Maildir), so tests never see each other's mail.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from core.ports import ViewQuery
from tests.fakes.dovecot import DovecotServer, DovecotUnavailable
from tests.fakes.smtp_server import RecordingSmtpServer
from threadline.config import ThreadlineConfig
from threadline.runtime import Runtime
from threadline.settings import Settings

PASSWORD = "dovecot-test-secret"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot():
    try:
        server = DovecotServer(password=PASSWORD)
        server.start()
    except DovecotUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def mailbox_user() -> str:
    return f"support-{uuid.uuid4().hex[:8]}@acme.example"


@pytest.fixture
async def smtp():
    async with RecordingSmtpServer(users={"smtp-user": "smtp-pass"}) as server:
        yield server


def email_settings(db_url: str, dovecot: DovecotServer, user: str, smtp_port: int,
                   files_dir, **extra) -> Settings:
    # AI triage (on by default) adds its own note and jobs; it has its own tests.
    return Settings(
        _env_file=None, THREADLINE_DATABASE_URL=db_url, THREADLINE_FILES_DIR=str(files_dir),
        EMAIL_ADDRESS=user, EMAIL_IMAP_HOST=dovecot.host, EMAIL_IMAP_PORT=dovecot.port,
        EMAIL_IMAP_USER=user, EMAIL_IMAP_PASSWORD=PASSWORD, EMAIL_IMAP_SSL=False,
        EMAIL_SMTP_HOST="127.0.0.1", EMAIL_SMTP_PORT=smtp_port, EMAIL_SMTP_STARTTLS=False,
        EMAIL_SMTP_USER="smtp-user", EMAIL_SMTP_PASSWORD="smtp-pass",
        **{"EMAIL_FROM_NAME": "Acme Support", "THREADLINE_AI": "off", **extra})


@pytest.fixture
async def make_runtime(db_url, engine, dovecot, mailbox_user, smtp, tmp_path):
    """Build Runtimes on the test database (several = a restart); all closed afterwards."""
    made: list[Runtime] = []

    async def make(**extra) -> Runtime:
        settings = email_settings(db_url, dovecot, mailbox_user, smtp.port,
                                  tmp_path / "files", **extra)
        runtime = Runtime(settings, ThreadlineConfig(), engine=engine)
        for mailbox in email_of(runtime).mailboxes.values():
            mailbox.config.wait_slice_seconds = 0.5  # notice stop / leadership quickly
            mailbox.config.backoff_max_seconds = 1.0
        assert await runtime.leader.try_acquire()
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        await runtime.close()  # stops the sync workers too
        await runtime.leader.release()


def email_of(runtime: Runtime):
    return next(i for i in runtime.integrations if i.name == "email")


def sync_of(runtime: Runtime):
    return next(iter(email_of(runtime).mailboxes.values())).sync


async def start_sync(runtime: Runtime) -> None:
    await email_of(runtime).start()


async def stop_sync(runtime: Runtime) -> None:
    await email_of(runtime).stop()
    await runtime.leader.release()


async def eventually(check: Callable[[], Awaitable[bool]], what: str,
                     limit: float = 60.0) -> None:
    """Wait until `check()` is true; fail naming `what` if it never gets there."""
    deadline = time.monotonic() + limit
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


async def all_messages(runtime: Runtime):
    """Every (conversation, message) pair in the database, oldest conversation first."""
    convs = await runtime.inbox.list_conversations(ViewQuery(include_resolved=True, limit=200))
    out = []
    for conv in sorted(convs, key=lambda c: c.id):
        for message in await runtime.inbox.thread(conv.id):
            out.append((conv, message))
    return out


async def inbound_count(runtime: Runtime) -> int:
    return sum(1 for _, m in await all_messages(runtime) if m.direction.value == "in")


def customer_mail(to: str, subject: str = "Where is my parcel?", body: str | None = None,
                  sender: str = "Carla Gómez <carla@customer.example>",
                  message_id: str | None = None, in_reply_to: str | None = None,
                  references: list[str] | None = None,
                  attachments: list[tuple[str, str, bytes]] = ()) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Message-ID"] = message_id or make_msgid(f"c{next(_numbers)}", "customer.example")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    msg.set_content(body or f"Hello, message number {next(_numbers)}.")
    for filename, ctype, data in attachments:
        main, _, sub = ctype.partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return msg.as_bytes()
