"""Shared plumbing for repositories: one AsyncConnection, no commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from core.model import Actor, ActorType


class Repository:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.is_postgres = conn.dialect.name == "postgresql"


def actor_id_to_db(actor_id: int | str | None) -> str | None:
    return None if actor_id is None else str(actor_id)


def actor_from_db(actor_type: str, actor_id: str | None) -> Actor:
    """Agents and contacts are identified by integer ids; automations by rule names."""
    kind = ActorType(actor_type)
    if actor_id is not None and kind in (ActorType.AGENT, ActorType.CONTACT):
        try:
            return Actor(kind, int(actor_id))
        except ValueError:
            pass
    return Actor(kind, actor_id)
