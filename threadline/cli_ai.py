"""`threadline ai analyze FILE`: AI triage of messages from a file, for tools outside the
code. Reads one JSON object per line ({"id", "channel", "subject", "text"}), prints one
per line ({"id", "sentiment", "urgent", "references", "suggested_tags", "actions",
"summary", "engine"}). Needs no Slack, no channel and no database, and writes nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import typer

from core.analysis import AnalysisRequest
from threadline.ai.engines import build_analyzer, workspace_of
from threadline.cli_common import fail, settings_or_exit
from threadline.config import ConfigError, load_config

ai_app = typer.Typer(help="AI triage: analyse messages with the configured engine.",
                     no_args_is_help=True)
CHANNELS = ("email", "whatsapp")
MAX_LINE = 1_000_000  # characters; a longer line is refused, not analysed


def parse_line(line: str) -> tuple[str, AnalysisRequest]:
    """One input line, or ValueError saying what is wrong with it."""
    if len(line) > MAX_LINE:
        raise ValueError(f"longer than {MAX_LINE:,} characters")
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(item, dict):
        raise ValueError("expected a JSON object like {\"id\": ..., \"text\": ...}")
    unknown = sorted(set(item) - {"id", "channel", "subject", "text"})
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} (use id, channel, subject, text)")
    ident = item.get("id")
    if not isinstance(ident, str | int) or isinstance(ident, bool) or ident == "":
        raise ValueError("\"id\" must be a non-empty string or a number")
    channel = item.get("channel", "email")
    if channel not in CHANNELS:
        raise ValueError(f"\"channel\" must be email or whatsapp, not {channel!r}")
    for key in ("subject", "text"):
        if not isinstance(item.get(key, ""), str):
            raise ValueError(f"\"{key}\" must be a string")
    return str(ident) if isinstance(ident, str) else ident, AnalysisRequest(
        text=item.get("text", ""), subject=item.get("subject", ""), channel=channel)


def _read(file: str) -> list[str]:
    if file == "-":
        return sys.stdin.read().splitlines()
    try:
        return Path(file).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise fail(f"{file}: cannot read it: {exc.strerror}", 2) from None
    except UnicodeDecodeError:
        raise fail(f"{file}: not UTF-8 text", 2) from None


@ai_app.command("analyze")
def analyze(file: str = typer.Argument(..., help="JSON lines to analyse; - reads stdin")) -> None:
    """Analyse each message; bad lines are reported on stderr (exit 2), the rest still
    printed."""
    settings = settings_or_exit()
    try:
        cfg = load_config(settings.config_path)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    lines = _read(file)
    analyzer = build_analyzer(settings, cfg)
    workspace = workspace_of(cfg)
    bad = 0

    async def main() -> None:
        nonlocal bad
        try:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    ident, request = parse_line(line)
                except ValueError as exc:
                    bad += 1
                    # One plain line per error (a console would wrap it): tools parse these.
                    sys.stderr.write(f"{file}:{number}: {exc}\n")
                    continue
                out = {"id": ident, **(await analyzer.analyze(request, workspace)).to_dict()}
                sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
                sys.stdout.flush()
        finally:
            close = getattr(analyzer, "aclose", None)
            if close is not None:
                await close()

    asyncio.run(main())
    if bad:
        raise typer.Exit(2)
