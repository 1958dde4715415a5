"""Fixtures for the composition root: a clean environment so no real `.env` or exported
setting leaks into a test."""

from __future__ import annotations

import os

import pytest

from threadline.settings import ENV_NAMES


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.upper() in ENV_NAMES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file
    return monkeypatch
