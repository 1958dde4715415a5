"""Schema state as the app sees it: where the database is versus the newest migration."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from storage import migrate


@dataclass(frozen=True, slots=True)
class MigrationState:
    current: str | None
    head: str | None
    error: str | None = None

    @property
    def at_head(self) -> bool:
        return self.error is None and self.current == self.head


async def state(engine: AsyncEngine) -> MigrationState:
    head = migrate.head_revision()
    try:
        current = await migrate.current_revision(engine)
    except Exception as exc:  # unreachable server, bad credentials, missing file ...
        return MigrationState(None, head, f"{type(exc).__name__}: {exc}")
    return MigrationState(current, head)


async def upgrade(engine: AsyncEngine) -> MigrationState:
    await migrate.upgrade(engine)
    return await state(engine)
