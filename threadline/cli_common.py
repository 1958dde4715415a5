"""Shared CLI plumbing: loading settings, friendly errors, running coroutines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from core.errors import DomainError
from threadline.config import ConfigError
from threadline.settings import Settings

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


class CliError(Exception):
    """A problem to report in one line, then exit 1."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(msg if msg.startswith(name.upper()) else f"{name.upper()}: {msg}")
        raise CliError("invalid settings:\n  " + "\n  ".join(lines)) from None


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    if level.upper() != "DEBUG":
        for noisy in ("alembic", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print("[bold red]error:[/] " + escape(message), markup=True, highlight=False)
    return typer.Exit(code)


def run(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; domain, config and settings errors become one message and exit 1."""
    try:
        return asyncio.run(fn())
    except (DomainError, ConfigError, CliError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except (OSError, SQLAlchemyError) as exc:  # e.g. database server unreachable
        raise fail(f"database: {type(exc).__name__}: {exc}") from None


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except CliError as exc:
        raise fail(str(exc)) from None


@asynccontextmanager
async def open_runtime(settings: Settings | None = None):
    """A Runtime for one CLI command; the database must be migrated."""
    from threadline.runtime import Runtime

    settings = settings or load_settings()
    runtime = Runtime(settings)
    try:
        state = await runtime.migration_state()
        if state.error:
            raise CliError(f"cannot reach the database: {state.error}")
        if not state.at_head:
            raise CliError(f"the database schema is at {state.current or 'nothing'}, the code "
                           f"expects {state.head}: run `threadline migrate`")
        yield runtime
    finally:
        await runtime.close()
