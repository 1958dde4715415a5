"""Mappings between external ids (provider message ids, Slack ts, ...) and our rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from core.ports import Link
from storage.repositories._base import Repository
from storage.tables import links


def link_from_row(row: Row) -> Link:
    return Link(
        surface=row.surface,
        external_id=row.external_id,
        conversation_id=row.conversation_id,
        message_id=row.message_id,
    )


class SqlLinkRepository(Repository):
    async def claim(self, link: Link) -> bool:
        """Insert the link; False if (surface, external_id) is already taken.

        ON CONFLICT DO NOTHING keeps the transaction usable (no IntegrityError to recover
        from) and makes concurrent deliveries of the same provider id safe.
        """
        values = {
            "surface": link.surface,
            "external_id": link.external_id,
            "conversation_id": link.conversation_id,
            "message_id": link.message_id,
        }
        # rowcount rather than RETURNING: no result set to fetch.
        return (await self.conn.execute(_CLAIM[self.is_postgres], values)).rowcount == 1

    async def find(self, surface: str, external_id: str) -> Link | None:
        stmt = select(links).where(links.c.surface == surface, links.c.external_id == external_id)
        row = (await self.conn.execute(stmt)).first()
        return link_from_row(row) if row else None

    async def find_any(self, surface: str, external_ids: Sequence[str]) -> Link | None:
        """The link of the first id (in the order given) that has one."""
        wanted = [external_id for external_id in external_ids if external_id]
        if not wanted:
            return None
        stmt = select(links).where(links.c.surface == surface, links.c.external_id.in_(set(wanted)))
        found = {row.external_id: link_from_row(row) for row in await self.conn.execute(stmt)}
        return next((found[i] for i in wanted if i in found), None)

    async def find_many(self, surface: str, external_ids: Sequence[str]) -> list[Link]:
        wanted = sorted({external_id for external_id in external_ids if external_id})
        found: list[Link] = []
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start:start + _IN_CHUNK]
            stmt = select(links).where(links.c.surface == surface,
                                       links.c.external_id.in_(chunk))
            found += [link_from_row(row) for row in await self.conn.execute(stmt)]
        return found

    async def for_conversation(self, conversation_id: int, surface: str) -> list[Link]:
        stmt = (
            select(links)
            .where(links.c.conversation_id == conversation_id, links.c.surface == surface)
            .order_by(links.c.id)
        )
        return [link_from_row(row) for row in await self.conn.execute(stmt)]


_IN_CHUNK = 500  # ids per query: far below both drivers' bind-parameter limits


def _claim(dialect_insert):
    return dialect_insert(links).on_conflict_do_nothing(
        index_elements=[links.c.surface, links.c.external_id]
    )


_CLAIM = {True: _claim(postgresql.insert), False: _claim(sqlite.insert)}
