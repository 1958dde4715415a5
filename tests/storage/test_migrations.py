"""Migrations: upgrade/downgrade on both backends, and no drift from storage.tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage import migrate
from storage.engine import create_engine
from storage.tables import metadata


def _fresh_url(backend, request, tmp_path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    server = request.getfixturevalue("pg_server")
    name = server.new_name("empty")
    request.addfinalizer(lambda: server.drop_database(name))
    return server.create_database(name)


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_head_then_downgrade_base(backend, request, tmp_path):
    url = _fresh_url(backend, request, tmp_path)
    assert await migrate.current_revision(url) is None

    await migrate.upgrade(url)
    assert await migrate.current_revision(url) == migrate.head_revision()
    assert set(metadata.tables) <= await _table_names(url)

    await migrate.downgrade(url, "base")
    assert await migrate.current_revision(url) is None
    assert await _table_names(url) <= {"alembic_version"}

    await migrate.upgrade(url)  # and up again: downgrade left nothing behind
    assert await migrate.current_revision(url) == migrate.head_revision()


async def test_upgrade_is_idempotent_and_accepts_an_engine(engine):
    await migrate.upgrade(engine)
    assert await migrate.current_revision(engine) == migrate.head_revision()


def _ignore_search_objects(obj, name, type_, reflected, compare_to) -> bool:
    # Full-text search lives outside the metadata: FTS5 tables on SQLite, and the
    # generated tsvector column with its GIN index on PostgreSQL.
    return not (
        (name or "").startswith("messages_fts")
        or name in {"search_vector", "ix_messages_search_vector", "alembic_version"}
    )


async def test_migrated_schema_matches_table_definitions(engine):
    def diff(connection):
        context = MigrationContext.configure(
            connection,
            opts={"include_object": _ignore_search_objects, "compare_type": True},
        )
        return compare_metadata(context, metadata)

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


def test_sync_helpers(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'sync.db'}"
    migrate.upgrade_url(url)
    assert migrate.current_revision_url(url) == migrate.head_revision()
