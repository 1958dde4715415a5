from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.inbound import InboundMessage
from core.model import Channel
from tests.app.helpers import T0, add_rows, effect
from tests.free_port import free_port
from threadline.app import create_app
from threadline.config import ThreadlineConfig
from threadline.runtime import Runtime
from threadline.settings import ENV_NAMES, Settings

ROOT = Path(__file__).resolve().parents[2]


def settings_for(url: str, **kw) -> Settings:
    return Settings(_env_file=None, THREADLINE_DATABASE_URL=url, **kw)


@pytest.fixture
async def runtime(db_url, engine):
    rt = Runtime(settings_for(db_url, EMAIL_ADDRESS="help@example.com"), ThreadlineConfig(),
                 engine=engine)
    yield rt
    await rt.close()


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


async def test_health_and_ready(runtime):
    app = create_app(runtime.settings, runtime, start_workers=False)
    async with client(app) as c:
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        r = await c.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["checks"]["migrations"]["current"] is not None


async def test_not_ready_without_migrations(tmp_path):
    rt = Runtime(settings_for(f"sqlite+aiosqlite:///{tmp_path}/empty.db"), ThreadlineConfig())
    try:
        async with client(create_app(rt.settings, rt, start_workers=False)) as c:
            r = await c.get("/readyz")
            assert (await c.get("/healthz")).status_code == 200
    finally:
        await rt.close()
    assert r.status_code == 503
    assert r.json()["hint"] == "run `threadline migrate`"


async def test_not_ready_when_database_unreachable(tmp_path):
    rt = Runtime(settings_for(f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/x.db"),
                 ThreadlineConfig())
    try:
        async with client(create_app(rt.settings, rt, start_workers=False)) as c:
            r = await c.get("/readyz")
    finally:
        await rt.close()
    assert r.status_code == 503 and r.json()["checks"]["database"] == "unreachable"


async def test_metrics(runtime, uow_factory):
    await add_rows(uow_factory, [effect("test:ok", "k1"), effect("test:ok", "k2"),
                                 effect("test:bad", "k3")])

    async def ok(row):
        pass

    async def bad(row):
        from core.delivery import PermanentError

        raise PermanentError("nope")

    runtime.dispatcher.register("test:ok", ok)
    runtime.dispatcher.register("test:bad", bad)
    await runtime.dispatcher.drain()
    result = await runtime.receive(InboundMessage(
        Channel.EMAIL, "email", "email", "<m1@example.com>", "bob@example.com", "hello", T0))
    assert result.conversation_id is not None
    async with client(create_app(runtime.settings, runtime, start_workers=False)) as c:
        text = (await c.get("/metrics")).text
    assert 'threadline_outbox_rows{status="done"} 2.0' in text
    assert 'threadline_outbox_rows{status="failed"} 1.0' in text
    assert 'threadline_dispatcher_processed_total{kind="test:ok",outcome="completed"} 2.0' in text
    assert 'threadline_dispatcher_failed_total{kind="test:bad"} 1.0' in text
    assert 'threadline_inbound_messages_total{channel="email",provider="email"} 1.0' in text


async def test_lifespan_starts_and_stops_workers(runtime, uow_factory):
    import asyncio

    await add_rows(uow_factory, [effect("test:ok", "k1")])
    seen = asyncio.Event()

    async def ok(row):
        seen.set()

    runtime.dispatcher.register("test:ok", ok)
    app = create_app(runtime.settings, runtime)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(seen.wait(), 10)
        assert runtime.scheduler.running and runtime.leader.is_leader
    assert not runtime.scheduler.running and not runtime.leader.is_leader




def test_threadline_serve_end_to_end(tmp_path):
    """`threadline serve` on the embedded SQLite default: migrates, serves, logs what is off."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.upper() not in ENV_NAMES}
    env.update(THREADLINE_PORT=str(port), PYTHONPATH=str(ROOT),
               THREADLINE_SCHEDULER_INTERVAL_SECONDS="1")
    proc = subprocess.Popen([sys.executable, "-m", "threadline.cli", "serve"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if r.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200
        assert "threadline_outbox_rows" in httpx.get(f"http://127.0.0.1:{port}/metrics").text
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    # uvicorn re-raises the signal it handled once shutdown is complete
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert (tmp_path / "threadline.db").exists()
    assert "slack: off; set SLACK_BOT_TOKEN" in output
    assert "telegram: off (the Telegram front end is not available in this version)" in output
    assert "Traceback" not in output


def test_threadline_worker_starts_and_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k.upper() not in ENV_NAMES}
    env.update(PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "threadline.cli", "worker"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "threadline.db.leader").exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "became leader" in output and "Traceback" not in output
