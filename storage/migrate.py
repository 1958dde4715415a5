"""Run Alembic migrations programmatically (no alembic.ini needed).

python -m storage.migrate upgrade  sqlite+aiosqlite:///./threadline.db
python -m storage.migrate current  postgresql+asyncpg://user@host/db
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # Alembic's config is an INI parser: a literal % must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _with_engine(engine_or_url: AsyncEngine | str, work) -> object:
    owned = isinstance(engine_or_url, str)
    engine = create_engine(engine_or_url) if owned else engine_or_url
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(work)
    finally:
        if owned:
            await engine.dispose()


def _command(name: str, revision: str):
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        getattr(command, name)(config, revision)

    return run


async def upgrade(engine_or_url: AsyncEngine | str, revision: str = "head") -> None:
    await _with_engine(engine_or_url, _command("upgrade", revision))


async def downgrade(engine_or_url: AsyncEngine | str, revision: str = "base") -> None:
    await _with_engine(engine_or_url, _command("downgrade", revision))


async def current_revision(engine_or_url: AsyncEngine | str) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    return await _with_engine(engine_or_url, read)


def upgrade_url(url: str, revision: str = "head") -> None:
    asyncio.run(upgrade(url, revision))


def current_revision_url(url: str) -> str | None:
    return asyncio.run(current_revision(url))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in {"upgrade", "downgrade", "current"}:
        print("usage: python -m storage.migrate upgrade|downgrade|current DATABASE_URL")
        return 2
    action, url = args
    if action == "upgrade":
        upgrade_url(url)
    elif action == "downgrade":
        asyncio.run(downgrade(url))
    print(current_revision_url(url) or "(empty)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
