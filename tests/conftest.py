"""Shared test fixtures: databases on both backends and a guard against internet access.

Database fixtures
    backend       "sqlite" | "postgresql"; parametrizes every test that uses it (or db_url)
    db_url        a fresh, migrated database per test on that backend
    engine        AsyncEngine for db_url (disposed afterwards)
    uow_factory   storage.uow.SqlUnitOfWorkFactory over engine
    pg_url        a fresh, migrated PostgreSQL database (tests that only need PostgreSQL)
    sqlite_url    a fresh, migrated SQLite database
    pg_server     the session's PostgreSQL server (see PostgresServer)

`@pytest.mark.only_backend("postgresql")` keeps only that backend's variant of a test.

PostgreSQL: THREADLINE_TEST_PG_URL (postgresql+asyncpg://user:pw@host:port/db, a database
the user may CREATE DATABASE from) selects an existing server; otherwise a throwaway cluster
is started from the Debian server binaries (apt-get install postgresql).
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import os
import socket
import sqlite3
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.pg_cluster import PostgresCluster, PostgresUnavailable

PG_URL_ENV = "THREADLINE_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")


def _run_async(coro):
    """Run a coroutine to completion in its own thread and loop, away from pytest-asyncio's."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


# -- no internet ------------------------------------------------------------------------


class InternetBlocked(RuntimeError):
    pass


def _is_loopback(address) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, bytes):
        host = host.decode()
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a host name other than localhost: would need the network
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


@pytest.fixture(autouse=True)
def _block_internet(monkeypatch):
    """Tests may talk to loopback and unix sockets only."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create_connection = socket.create_connection

    def check(address) -> None:
        if not _is_loopback(address):
            raise InternetBlocked(f"tests must not reach the network: connect to {address!r}")

    def connect(self, address):
        if self.family != socket.AF_UNIX:
            check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family != socket.AF_UNIX:
            check(address)
        return real_connect_ex(self, address)

    def create_connection(address, *args, **kwargs):
        check(address)
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)


# -- PostgreSQL server ------------------------------------------------------------------


class PostgresServer:
    """A server the tests may create databases on; `url(name)` addresses one of them."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.admin = make_url(admin_url)
        self.token = uuid.uuid4().hex[:8]  # several runs may share an external server
        self._numbers = itertools.count(1)

    def url(self, database: str) -> str:
        return self.admin.set(database=database).render_as_string(hide_password=False)

    def new_name(self, what: str = "t") -> str:
        return f"tl_{self.token}_{what}{next(self._numbers)}"

    async def _execute(self, *statements: str) -> None:
        import asyncpg

        dsn = self.admin.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    def execute(self, *statements: str) -> None:
        _run_async(self._execute(*statements))

    def create_database(self, name: str, template: str | None = None) -> str:
        suffix = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_server():
    external = os.environ.get(PG_URL_ENV)
    if external:
        yield PostgresServer(external)
        return
    try:
        cluster = PostgresCluster()
        cluster.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"{exc} (or point {PG_URL_ENV} at a running server)", pytrace=False)
    try:
        server = PostgresServer(cluster.url)
        deadline = time.monotonic() + 30
        while True:  # pg_ctl -w waited already; this covers a slow first connection
            try:
                server.execute("SELECT 1")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield server
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server):
    """A migrated database that each test's database is copied from (much faster than
    migrating every time)."""
    from storage.migrate import upgrade

    name = pg_server.new_name("template")
    url = pg_server.create_database(name)
    _run_async(upgrade(url))
    yield name
    pg_server.drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    from storage.migrate import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    _run_async(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


def _copy_sqlite(template: Path, target: Path) -> str:
    # The backup API copies a consistent image whatever state the WAL is in.
    with sqlite3.connect(template) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def pg_url(pg_server, pg_template):
    name = pg_server.new_name()
    url = pg_server.create_database(name, template=pg_template)
    yield url
    pg_server.drop_database(name)


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    return _copy_sqlite(sqlite_template, tmp_path / "threadline.db")


@pytest.fixture(params=BACKENDS, ids=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, request) -> str:
    return request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")


@pytest.fixture
async def engine(db_url):
    from storage.engine import create_engine

    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def uow_factory(engine):
    from storage.uow import SqlUnitOfWorkFactory

    return SqlUnitOfWorkFactory(engine)


# -- backend selection ------------------------------------------------------------------


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "only_backend(*names): run only the given database backend variants"
    )


def pytest_collection_modifyitems(config, items) -> None:
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("only_backend")
        params = getattr(getattr(item, "callspec", None), "params", {})
        if marker is not None and "backend" in params and params["backend"] not in marker.args:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
