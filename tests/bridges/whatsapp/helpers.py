"""Reading back what a test stored, through the Inbox (never around it) plus row counts."""

from __future__ import annotations

from sqlalchemy import text

from core.ports import ViewQuery
from tests.bridges.whatsapp.conftest import APP_SECRET
from tests.bridges.whatsapp.payloads import signed_meta

TABLES = ("contacts", "conversations", "messages", "links", "outbox", "early_delivery_reports")


async def counts(engine) -> dict[str, int]:
    out = {}
    async with engine.connect() as conn:
        for table in TABLES:
            out[table] = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    return out


async def all_messages(inbox) -> list:
    convs = await inbox.list_conversations(ViewQuery(include_resolved=True, limit=200))
    out = []
    for conv in sorted(convs, key=lambda c: c.id):
        out += await inbox.thread(conv.id)
    return out


async def post_meta(client, payload, secret: str = APP_SECRET):
    body, headers = signed_meta(secret, payload)
    return await client.post("/webhooks/whatsapp", content=body, headers=headers)


class Parts:
    """A PartProgress stand-in for calling a sender directly: records what went out."""

    def __init__(self, sent: list[str] | None = None) -> None:
        self.sent = list(sent or [])

    async def part_sent(self, provider_id: str) -> None:
        self.sent.append(provider_id)
