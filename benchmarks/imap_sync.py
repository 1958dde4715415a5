"""IMAP sync benchmark: the initial sync of a Dovecot mailbox through the whole bridge vs. a
raw imapclient fetch of the same messages (the ceiling), in the same run.

  * bridge  — MailboxSync.catch_up: FETCH BODY.PEEK[] in batches, parse (charsets, quote
              and signature split, HTML -> text, loop flags), attachments to the file store,
              `Runtime.receive` on a fresh SQLite database, cursor saved per batch;
  * raw     — the same SEARCH + FETCH batches with imapclient, nothing done with the bytes.

    python -m benchmarks.imap_sync [-n 5000]

Needs Dovecot (`apt-get install dovecot-imapd`); it is started on loopback in a temp folder.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from bridges.email.imap_session import ImapSession
from bridges.email.sync import BATCH
from storage.migrate import upgrade
from tests.fakes.dovecot import DovecotServer
from threadline.config import ThreadlineConfig
from threadline.runtime import Runtime
from threadline.settings import Settings

USER = "bench@acme.example"
PASSWORD = "bench-secret"


def workload(n: int) -> list[bytes]:
    """Realistic mix: replies with quotes and signatures, HTML, Spanish, a few attachments."""
    out = []
    now = format_datetime(time_now())
    for i in range(n):
        msg = EmailMessage()
        customer = i % 400
        msg["From"] = f"Cliente {customer} <customer{customer}@customer.example>"
        msg["To"] = USER
        msg["Subject"] = f"Re: Pedido nº {customer}" if i % 3 else f"Order {customer}"
        msg["Date"] = now
        msg["Message-ID"] = f"<bench-{i}@customer.example>"
        if i % 3:
            msg["In-Reply-To"] = f"<bench-{i - 1}@customer.example>"
            msg["References"] = f"<bench-{i - 1}@customer.example>"
        text = (f"Hola, ¿dónde está mi pedido {customer}? Es el mensaje {i}.\n\nUn saludo,\n"
                f"Cliente {customer}\n\nEl lun, 3 mar 2025 a las 10:00, Soporte escribió:\n"
                + "> texto anterior\n" * 20)
        msg.set_content(text)
        if i % 2:
            msg.add_alternative(f"<div>Hola, ¿dónde está mi pedido {customer}?</div>"
                                f"<div class=\"gmail_quote\">{'<p>old</p>' * 20}</div>",
                                subtype="html")
        if i % 50 == 0:
            msg.add_attachment(b"%PDF-1.4 " + bytes(2000), maintype="application",
                               subtype="pdf", filename=f"factura {i}.pdf")
        out.append(msg.as_bytes())
    return out


def time_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def fill(server: DovecotServer, messages: list[bytes]) -> None:
    with server.client(USER) as client:
        for start in range(0, len(messages), 500):
            client.multiappend("INBOX", messages[start:start + 500])


def raw_fetch(server: DovecotServer) -> tuple[int, float]:
    started = time.perf_counter()
    with server.client(USER) as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
        count = 0
        for start in range(0, len(uids), BATCH):
            data = client.fetch(uids[start:start + BATCH], ["BODY.PEEK[]", "INTERNALDATE"])
            count += sum(1 for row in data.values() if b"BODY[]" in row)
    return count, time.perf_counter() - started


async def bridge_sync(server: DovecotServer, workdir: Path) -> tuple[int, float]:
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    await upgrade(url)
    settings = Settings(
        _env_file=None, THREADLINE_DATABASE_URL=url, THREADLINE_FILES_DIR=str(workdir / "files"),
        EMAIL_ADDRESS="help@acme.example", EMAIL_IMAP_HOST=server.host,
        EMAIL_IMAP_PORT=server.port, EMAIL_IMAP_USER=USER, EMAIL_IMAP_PASSWORD=PASSWORD,
        EMAIL_IMAP_SSL=False, EMAIL_SMTP_HOST="127.0.0.1", EMAIL_LOOKBACK_DAYS=30)
    runtime = Runtime(settings, ThreadlineConfig())
    try:
        email = next(i for i in runtime.integrations if i.name == "email")
        mailbox = next(iter(email.mailboxes.values()))
        session = ImapSession(mailbox.config)
        started = time.perf_counter()
        await asyncio.to_thread(session.connect)
        folder = await asyncio.to_thread(session.select, mailbox.config.folder)
        await mailbox.sync.catch_up(session, folder)
        elapsed = time.perf_counter() - started
        await asyncio.to_thread(session.close)
        return mailbox.sync.stats.delivered, elapsed
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="messages in the mailbox")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    server = DovecotServer(password=PASSWORD)
    server.start()
    try:
        messages = workload(args.n)
        started = time.perf_counter()
        fill(server, messages)
        print(f"filled the mailbox with {args.n} messages "
              f"({sum(map(len, messages)) / 1e6:.1f} MB) in {time.perf_counter() - started:.1f}s")
        raw_count, raw_s = raw_fetch(server)
        with tempfile.TemporaryDirectory(prefix="threadline-bench-") as tmp:
            synced, bridge_s = asyncio.run(bridge_sync(server, Path(tmp)))
    finally:
        server.close()
    raw_rate, bridge_rate = raw_count / raw_s, synced / bridge_s
    print(f"raw imapclient fetch : {raw_count} messages in {raw_s:.2f}s = {raw_rate:,.0f} msg/s")
    print(f"bridge initial sync  : {synced} messages in {bridge_s:.2f}s = "
          f"{bridge_rate:,.0f} msg/s (parse + store + receive on SQLite)")
    print(f"ratio bridge/raw     : {bridge_rate / raw_rate:.3f}")


if __name__ == "__main__":
    main()
