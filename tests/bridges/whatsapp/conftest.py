"""Fixtures: fake Graph and Twilio APIs on real sockets, and a Runtime + app wired to them
on the `engine` fixture (SQLite and PostgreSQL)."""

from __future__ import annotations

import os

import httpx
import pytest

from core.clock import FixedClock
from tests.bridges.whatsapp.payloads import PHONE_ID, PHONE_ID_2, T0, WABA
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.twilio_api import FakeTwilioApi
from threadline.app import create_app
from threadline.config import parse_config
from threadline.runtime import Runtime
from threadline.settings import ENV_NAMES, Settings

TOKEN = "EAAG-test-token"
TOKEN_2 = "EAAG-second-number-token"
APP_SECRET = "meta-app-secret"
VERIFY = "verify-me"
TW_SID = "AC" + "1" * 32
TW_TOKEN = "twilio-auth-token"
TW_FROM = "+14155238886"
PUBLIC = "https://inbox.example.com/base"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper() in ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def graph():
    fake = FakeGraphApi(TOKEN).start()
    yield fake
    fake.close()


@pytest.fixture
def graph2():
    fake = FakeGraphApi(TOKEN_2).start()
    yield fake
    fake.close()


@pytest.fixture
def twilio_fake():
    fake = FakeTwilioApi(TW_SID, TW_TOKEN).start()
    yield fake
    fake.close()


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
async def runtime(db_url, engine, graph, graph2, twilio_fake, tmp_path, clock):
    settings = Settings(
        _env_file=None, THREADLINE_DATABASE_URL=db_url, THREADLINE_FILES_DIR=str(tmp_path / "f"),
        THREADLINE_PUBLIC_URL=PUBLIC,
        WHATSAPP_CLOUD_TOKEN=TOKEN, WHATSAPP_CLOUD_APP_SECRET=APP_SECRET,
        WHATSAPP_CLOUD_VERIFY_TOKEN=VERIFY, WHATSAPP_CLOUD_PHONE_NUMBER_ID=PHONE_ID,
        WHATSAPP_CLOUD_WABA_ID=WABA, WHATSAPP_GRAPH_URL=graph.url,
        TWILIO_ACCOUNT_SID=TW_SID, TWILIO_AUTH_TOKEN=TW_TOKEN, TWILIO_WHATSAPP_FROM=TW_FROM,
        TWILIO_API_URL=twilio_fake.url,
        THREADLINE_AI="off",  # AI triage adds notes and jobs of its own; tested apart
    )
    config = parse_config({"accounts": [
        {"id": "wa", "channel": "whatsapp", "provider": "whatsapp_cloud", "address": PHONE_ID},
        {"id": "wa2", "channel": "whatsapp", "provider": "whatsapp_cloud",
         "address": PHONE_ID_2, "settings": {"WHATSAPP_CLOUD_TOKEN": TOKEN_2,
                                             "WHATSAPP_GRAPH_URL": graph2.url,
                                             "WHATSAPP_CLOUD_WABA_ID": "999"}},
        {"id": "tw", "channel": "whatsapp", "provider": "twilio", "address": TW_FROM},
    ]})
    rt = Runtime(settings, config, engine=engine, clock=clock)
    yield rt
    await rt.close()


@pytest.fixture
async def app(runtime):
    return create_app(runtime.settings, runtime, start_workers=False)


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://internal:8000") as c:
        yield c


def bridge(runtime, name: str):
    return next(i for i in runtime.integrations if i.name == name).bridge
