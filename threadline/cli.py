"""`threadline` command line: serve, worker, migrate, check-config and data commands."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy.engine import make_url

from threadline import migrations
from threadline.cli_common import (
    CliError,
    console,
    fail,
    run,
    settings_or_exit,
    setup_logging,
)
from threadline.cli_data import conversations_app, customers_app, outbox_app, templates_app
from threadline.config import ConfigError, build_accounts, effective_timezone, load_config
from threadline.settings import Settings

log = logging.getLogger("threadline.cli")

app = typer.Typer(
    name="threadline",
    help="Threadline: a Slack-first customer inbox for email and WhatsApp.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(conversations_app, name="conversations")
app.add_typer(customers_app, name="customers")
app.add_typer(outbox_app, name="outbox")
app.add_typer(templates_app, name="templates")


def _ensure_sqlite_dir(settings: Settings) -> None:
    if settings.is_sqlite:
        db = make_url(settings.database_url).database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


async def _prepare_schema(runtime, migrate: bool | None) -> None:
    auto = runtime.settings.is_sqlite if migrate is None else migrate
    if auto:
        state = await migrations.upgrade(runtime.engine)
        log.info("database schema at %s", state.current)
        return
    state = await runtime.migration_state()
    if state.error:
        raise CliError(f"cannot reach the database: {state.error}")
    if not state.at_head:
        raise CliError(f"the database schema is at {state.current or 'nothing'}, the code "
                       f"expects {state.head}: run `threadline migrate` first")


@app.command()
def serve(
    host: str = typer.Option(None, help="Bind address [THREADLINE_HOST, default 127.0.0.1]"),
    port: int = typer.Option(None, help="Port [THREADLINE_PORT, default 8000]"),
    workers: bool = typer.Option(True, help="Run the dispatcher and scheduler in this process"),
    migrate: bool = typer.Option(
        None, "--migrate/--no-migrate",
        help="Migrate the schema before starting [default: only on SQLite]"),
) -> None:
    """Run the web app (webhooks, health, metrics) with the workers in one process."""
    import uvicorn

    from threadline.app import create_app
    from threadline.runtime import Runtime

    settings = settings_or_exit()
    setup_logging(settings.log_level)
    _ensure_sqlite_dir(settings)

    async def main() -> None:
        runtime = Runtime(settings)
        try:
            await _prepare_schema(runtime, migrate)
            await runtime.prepare()
            runtime.log_features()
            web = create_app(settings, runtime, start_workers=workers, close_runtime=False)
            config = uvicorn.Config(
                web, host=host or settings.host,
                port=settings.port if port is None else port,
                log_level=settings.log_level.lower(), lifespan="on", access_log=False)
            await uvicorn.Server(config).serve()
        finally:
            await runtime.close()

    run(main)


@app.command()
def worker(
    migrate: bool = typer.Option(
        None, "--migrate/--no-migrate",
        help="Migrate the schema before starting [default: only on SQLite]"),
) -> None:
    """Run only the workers (outbox dispatcher; periodic jobs when elected leader)."""
    from threadline.runtime import Runtime

    settings = settings_or_exit()
    setup_logging(settings.log_level)
    _ensure_sqlite_dir(settings)

    async def main() -> None:
        runtime = Runtime(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await _prepare_schema(runtime, migrate)
            await runtime.prepare()
            runtime.log_features()
            await runtime.start_workers()
            log.info("worker %s running; Ctrl-C to stop", runtime.worker_id)
            await stop.wait()
        finally:
            await runtime.close()

    run(main)


@app.command("migrate")
def migrate_cmd() -> None:
    """Bring the database schema up to date (safe to run repeatedly)."""
    from storage.engine import create_engine

    settings = settings_or_exit()
    _ensure_sqlite_dir(settings)

    async def main() -> None:
        engine = create_engine(settings.database_url)
        try:
            before = await migrations.state(engine)
            if before.error:
                raise CliError(f"cannot reach the database: {before.error}")
            after = await migrations.upgrade(engine)
        finally:
            await engine.dispose()
        if before.current == after.current:
            console.print(f"database already at {after.current}")
        else:
            console.print(f"migrated {before.current or 'empty database'} -> {after.current}")

    run(main)


@app.command("check-config")
def check_config(
    file: Path = typer.Option(None, "--file", "-f", help="YAML file [THREADLINE_CONFIG]"),
) -> None:
    """Validate settings and the config file; show what is enabled."""
    settings = settings_or_exit()
    path = str(file) if file else settings.config_path
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    accounts = build_accounts(cfg, settings)
    console.print(f"config: {path or '(none: THREADLINE_CONFIG not set)'} is valid")
    db = make_url(settings.database_url).render_as_string(hide_password=True)
    console.print(f"database: {db}")
    console.print(f"time zone: {effective_timezone(cfg, settings).key}")
    table = Table("account", "channel", "provider", "address", "slack channel")
    for acc in accounts.values():
        table.add_row(acc.id, str(acc.channel), acc.provider, acc.address, acc.slack_channel or "-")
    console.print(table if accounts else "accounts: none configured")
    console.print(f"{len(cfg.agents)} agents, {len(cfg.teams)} teams, {len(cfg.tags)} tags, "
                  f"{len(cfg.templates)} templates, {len(cfg.rules)} rules")
    has_channels = bool(accounts) and all(a.slack_channel for a in accounts.values())
    for feature in settings.features(accounts_have_slack_channels=has_channels):
        colour = "green" if feature.enabled else "yellow"
        console.print(f"[{colour}]{feature.describe()}[/]", highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
