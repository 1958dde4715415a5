"""Early delivery reports and bridge sync cursors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from core.model import DeliveryStatus
from core.ports import EarlyReport
from storage.repositories._base import Repository
from storage.tables import early_delivery_reports as reports
from storage.tables import sync_state


class SqlEarlyReports(Repository):
    async def add(self, report: EarlyReport, at: datetime) -> None:
        insert = postgresql.insert if self.is_postgres else sqlite.insert
        stmt = insert(reports).values(
            surface=report.surface,
            provider_message_id=report.provider_message_id,
            status=report.status.value,
            error_code=report.error_code,
            error_text=report.error_text,
            received_at=at,
        ).on_conflict_do_nothing(
            index_elements=[reports.c.surface, reports.c.provider_message_id, reports.c.status]
        )
        await self.conn.execute(stmt)

    async def take(self, surface: str, provider_message_id: str) -> list[EarlyReport]:
        where = (reports.c.surface == surface) & (
            reports.c.provider_message_id == provider_message_id
        )
        rows = (await self.conn.execute(select(reports).where(where).order_by(reports.c.id))).all()
        if rows:
            await self.conn.execute(delete(reports).where(where))
        return [
            EarlyReport(r.surface, r.provider_message_id, DeliveryStatus(r.status),
                        r.error_code, r.error_text)
            for r in rows
        ]


class SqlSyncState(Repository):
    async def get(self, account: str, key: str) -> dict | None:
        stmt = select(sync_state.c.value).where(
            sync_state.c.account == account, sync_state.c.key == key
        )
        return (await self.conn.execute(stmt)).scalar_one_or_none()

    async def put(self, account: str, key: str, value: dict, at: datetime) -> None:
        insert = postgresql.insert if self.is_postgres else sqlite.insert
        stmt = insert(sync_state).values(account=account, key=key, value=value, updated_at=at)
        stmt = stmt.on_conflict_do_update(
            index_elements=[sync_state.c.account, sync_state.c.key],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
        await self.conn.execute(stmt)
