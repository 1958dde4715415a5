"""`threadline` command line: serve, worker, migrate, check-config and data commands."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.engine import make_url

from threadline import migrations
from threadline.cli_ai import ai_app
from threadline.cli_common import (
    CliError,
    console,
    fail,
    run,
    settings_or_exit,
    setup_logging,
)
from threadline.cli_data import conversations_app, customers_app, outbox_app, templates_app
from threadline.cli_rules import rules_app
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
app.add_typer(rules_app, name="rules")
app.add_typer(ai_app, name="ai")


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
    online: bool = typer.Option(
        False, "--online",
        help="Also ask Slack whether the tokens, scopes and inbox channels work"),
) -> None:
    """Validate settings and the config file; show what is enabled (exit 1 on a problem)."""
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
    table = Table("account", "channel", "provider", "address", "slack channel", "thread replies")
    for acc in accounts.values():
        table.add_row(acc.id, str(acc.channel), acc.provider, acc.address, acc.slack_channel or "-",
                      str(acc.thread_replies))
    console.print(table if accounts else "accounts: none configured")
    console.print(f"{len(cfg.agents)} agents, {len(cfg.teams)} teams, {len(cfg.tags)} tags, "
                  f"{len(cfg.templates)} templates, {len(cfg.rules)} rules")
    has_channels = bool(accounts) and all(a.slack_channel for a in accounts.values())
    for feature in settings.features(accounts_have_slack_channels=has_channels):
        colour = "green" if feature.enabled else "red" if feature.problems else "yellow"
        console.print(f"[{colour}]{escape(feature.describe())}[/]", highlight=False)
    failed = _check_slack_online(settings, accounts) if online else 0
    problems = settings.slack_token_problems()
    if problems:
        raise fail(" ".join(problems))
    if failed:
        raise fail(f"{failed} Slack workspace check{'s' if failed > 1 else ''} failed "
                   "(see above)")


def _check_slack_online(settings: Settings, accounts) -> int:
    """Print one line per workspace check; returns how many failed."""
    if not settings.slack_bot_token:
        console.print("[yellow]slack (online): not configured, SLACK_BOT_TOKEN is not set; "
                      "nothing to check[/]", highlight=False)
        return 0
    from bot.slack.workspace import check_workspace

    channels = [c for c in [settings.slack_channel, *(a.slack_channel for a in accounts.values())]
                if c]
    url = settings.slack_api_url

    async def main():
        import aiohttp
        from slack_sdk.errors import SlackApiError
        from slack_sdk.web.async_client import AsyncWebClient

        client = AsyncWebClient(token=settings.slack_bot_token, base_url=url)
        try:
            return await check_workspace(client, app_token=settings.slack_app_token,
                                         channels=channels, api_url=url)
        except SlackApiError as exc:  # 5xx / rate limited: nothing could be checked
            status = getattr(exc.response, "status_code", "?")
            code = exc.response.get("error") if hasattr(exc.response, "get") else None
            answer = f"{status} ({code})" if code else str(status)
            raise CliError(f"Slack ({url}) answered {answer}: try again in a moment") from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # caught here: run() would report an OSError as a database problem
            raise CliError(f"cannot reach Slack at {url}: {type(exc).__name__}: {exc}") from None

    checks = run(main)
    for check in checks:
        if not check.checked:
            colour, word = "yellow", "not checked"
        else:
            colour, word = ("green", "ok") if check.ok else ("red", "problem")
        console.print(f"[{colour}]slack {escape(check.name)}: {word}: {escape(check.detail)}[/]",
                      highlight=False)
    if not channels:
        console.print("[yellow]slack channels: none configured (SLACK_CHANNEL or an "
                      "account's slack_channel)[/]", highlight=False)
    return sum(not c.ok for c in checks)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
