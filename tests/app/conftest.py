"""Fixtures for the composition root: a clean environment so no real `.env` or exported
setting leaks into a test."""

from __future__ import annotations

import os

import pytest

from tests.bot.slack.harness import WA_TOKEN
from tests.fakes.graph_api import FakeGraphApi
from threadline.settings import ENV_NAMES


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper() in ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file
    return monkeypatch


@pytest.fixture
def graph():
    """A fake Meta Graph API for the end-to-end tests here: what it records under
    POST /messages reached the customer's WhatsApp."""
    fake = FakeGraphApi(WA_TOKEN).start()
    yield fake
    fake.close()
