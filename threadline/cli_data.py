"""Data commands: conversations, customers, outbox."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from core.errors import InvalidInput
from core.model import Actor, Channel, Status
from core.ports import ViewQuery
from threadline.cli_common import CliError, console, open_runtime, run

conversations_app = typer.Typer(help="Browse conversations.", no_args_is_help=True)
customers_app = typer.Typer(help="Manage customer records.", no_args_is_help=True)
outbox_app = typer.Typer(help="Inspect the outbox of pending side effects; retry failed ones.",
                         no_args_is_help=True)
templates_app = typer.Typer(help="Reply templates (WhatsApp ones come from Meta/Twilio).",
                            no_args_is_help=True)

IMPORT_COLUMNS = ("name", "email", "phone", "company", "external_ref", "notes")


def _when(value: datetime | None, tz) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "-"


def _choice(value: str | None, enum, option: str):
    if value is None:
        return None
    try:
        return enum(value.lower())
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        raise CliError(f"{option} {value!r}: choose one of {choices}") from None


async def _agent_id(runtime, agent: str | None) -> int | None:
    if agent is None:
        return None
    async with runtime.uow_factory() as uow:
        if agent.isdigit():
            found = await uow.agents.get(int(agent))
        else:
            found = await uow.agents.by_email(agent.strip().lower())
    if found is None:
        raise CliError(f"no agent {agent!r} (give an agent id or email from the config file)")
    return found.id


@conversations_app.command("list")
def conversations_list(
    view: str = typer.Option("all", help="mine | unassigned | all"),
    agent: str = typer.Option(None, help="Agent id or email (required for --view mine)"),
    status: list[str] = typer.Option(None, help="open | pending | snoozed | resolved (repeatable)"),
    channel: str = typer.Option(None, help="email | whatsapp"),
    account: str = typer.Option(None, help="Account id"),
    tag: list[str] = typer.Option(None, help="Only conversations with this tag (repeatable)"),
    include_resolved: bool = typer.Option(False, "--all", help="Include resolved conversations"),
    limit: int = typer.Option(50, help="Rows to show (max 200)"),
) -> None:
    """List conversations in a view, newest activity first."""

    async def main() -> None:
        statuses = tuple(_choice(s, Status, "--status") for s in status or ())
        ch = _choice(channel, Channel, "--channel")
        async with open_runtime() as rt:
            agent_id = await _agent_id(rt, agent)
            query = ViewQuery(view=view, agent_id=agent_id, statuses=statuses, channel=ch,
                              account=account, tags=tuple(tag or ()),
                              include_resolved=include_resolved or Status.RESOLVED in statuses,
                              limit=limit)
            convs = await rt.inbox.list_conversations(query)
            total = await rt.inbox.count_conversations(query)
            contacts = await rt.inbox.contacts([c.contact_id for c in convs])
            async with rt.uow_factory() as uow:
                agents = {a.id: a for a in await uow.agents.all()}
            tz = rt.timezone
        table = Table("id", "status", "channel", "account", "contact", "subject", "assignee",
                      "tags", "last activity", title=f"{view} ({len(convs)} of {total})")
        for c in convs:
            contact = contacts.get(c.contact_id)
            who = (contact.name or contact.address) if contact else str(c.contact_id)
            assignee = agents.get(c.assignee_id) if c.assignee_id else None
            cells = (str(c.id), str(c.status), str(c.channel), c.account, who, c.subject or "",
                     assignee.name if assignee else "-", ", ".join(c.tags),
                     _when(c.last_activity_at or c.created_at, tz))
            table.add_row(*(escape(cell) for cell in cells))
        console.print(table)

    run(main)


@conversations_app.command("show")
def conversations_show(conversation_id: int = typer.Argument(..., help="Conversation id")) -> None:
    """Show one conversation and its whole thread (notes included)."""

    async def main() -> None:
        async with open_runtime() as rt:
            d = await rt.inbox.conversation(conversation_id)
            others = (await rt.inbox.conversation_summary(conversation_id)).participants
            tz = rt.timezone
        c = d.conversation
        contact = f"{d.contact.name} <{d.contact.address}>" if d.contact else str(c.contact_id)
        lines = [
            f"[bold]#{c.id}[/] " + escape(c.subject or "(no subject)"),
            escape(f"status: {c.status}   channel: {c.channel}   account: {c.account}"),
            escape(f"contact: {contact}"),
            *([escape("also writing: " + ", ".join(
                f"{o.name} <{o.address}>" if o.name else o.address for o in others))]
              if others else []),
            escape(f"customer: {d.customer.name if d.customer else '-'}   "
                   f"assignee: {d.assignee.name if d.assignee else '-'}"),
            escape(f"tags: {', '.join(c.tags) or '-'}   created: {_when(c.created_at, tz)}"),
        ]
        if c.snoozed_until:
            lines.append(f"snoozed until: {_when(c.snoozed_until, tz)}")
        console.print(Panel("\n".join(lines), title="conversation", expand=False))
        # In the order they were written (ids follow arrival: a late webhook, an import).
        for m in sorted(d.messages, key=lambda m: (m.created_at, m.id or 0)):
            arrow = "->" if m.direction == "out" else "<-"
            kind = "" if m.kind == "message" else f" [{m.kind}]"
            status = f" ({m.delivery_status})" if m.delivery_status else ""
            err = f" error: {m.error_text}" if m.error_text else ""
            marks = "".join(f" [{label}]" for key, label in (
                ("automated", "automatic mail"), ("revoked", "deleted by the customer"),
                ("edits", "edited by the customer")) if m.meta.get(key))
            console.print(f"[dim]{_when(m.created_at, tz)}[/] "
                          + escape(f"{arrow} {m.author.type}{kind}{status}{err}{marks}"),
                          highlight=False)
            console.print(m.body, markup=False, highlight=False)
            for a in m.attachments:
                state = ("stored" if a.storage_key else "downloading" if a.pending_ref
                         else "not stored")
                console.print(f"  attachment: {a.filename} ({a.content_type}, "
                              f"{_size(a.size)}, {state})", markup=False, highlight=False)
            console.print()

    run(main)


def _size(n: int) -> str:
    return f"{n:,} B" if n < 1024 else f"{n / 1024:,.1f} KB" if n < 1024 * 1024 else (
        f"{n / 1024 / 1024:,.1f} MB")


def _read_csv(path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        if "name" not in header:
            raise CliError(f"{path}: line 1: the header needs a 'name' column "
                           f"(columns: {', '.join(IMPORT_COLUMNS)})")
        reader.fieldnames = header
        unknown = [h for h in header if h not in IMPORT_COLUMNS]
        rows: list[tuple[int, dict[str, str]]] = []
        try:
            last = reader.line_num
            for row in reader:
                start, last = last + 1, reader.line_num  # a quoted field may span lines
                if None in row:
                    row.pop(None)
                    row["__extra__"] = "1"
                if not any((v or "").strip() for k, v in row.items() if k != "__extra__"):
                    continue
                rows.append((start, row))
        except csv.Error as exc:
            raise CliError(f"{path}: line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError:
            raise CliError(f"{path}: not UTF-8 text") from None
    return rows, unknown


@customers_app.command("import")
def customers_import(file: Path = typer.Argument(..., help="CSV with a header row")) -> None:
    """Import customers from CSV (name,email,phone,company,external_ref,notes).

    Rows are matched on external_ref, then email; matches are updated, the rest created.
    Bad rows are listed with their line numbers; the good ones are still imported."""

    async def main() -> None:
        rows, unknown = _read_csv(file)
        if unknown:
            console.print(f"[yellow]ignoring unknown column(s): {', '.join(unknown)}[/]")
        extra = [(line, "more values than header columns") for line, r in rows if "__extra__" in r]
        rows = [(line, r) for line, r in rows if "__extra__" not in r]
        async with open_runtime() as rt:
            with Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(),
                          console=console, transient=False) as bar:
                task = bar.add_task("import", total=len(rows))
                report = await rt.inbox.import_customers(
                    rows, Actor.system(), progress=lambda n: bar.advance(task, n))
                bar.update(task, completed=len(rows))
        errors = sorted(extra + list(report.errors))
        console.print(f"{report.created} created, {report.updated} updated, "
                      f"{len(errors)} rejected")
        for line, message in errors:
            console.print(f"  [red]line {line}:[/] " + escape(message), highlight=False)
        if errors and not (report.created or report.updated):
            raise InvalidInput(f"no rows imported from {file}")

    run(main)


@outbox_app.command("status")
def outbox_status(
    failed: int = typer.Option(10, help="How many recent failed rows to list"),
) -> None:
    """Counts of outbox rows by status, and the latest permanent failures."""

    async def main() -> None:
        async with open_runtime() as rt:
            counts = await rt.outbox.counts()
            rows = await rt.outbox.rows(status="failed", limit=failed) if failed else []
        table = Table("status", "rows", title="outbox")
        for status in ("pending", "processing", "done", "failed"):
            table.add_row(status, str(counts.get(status, 0)))
        for status, n in sorted(counts.items()):
            if status not in ("pending", "processing", "done", "failed"):
                table.add_row(status, str(n))
        console.print(table)
        if rows:
            ft = Table("id", "kind", "order key", "attempts", "error", title="failed")
            for r in rows:
                ft.add_row(*(escape(str(v)) for v in (
                    r["id"], r["kind"], r["order_key"], r["attempts"], r.get("last_error") or "")))
            console.print(ft)

    run(main)


@outbox_app.command("retry")
def outbox_retry(
    kind: str = typer.Option(None, "--kind", help="A kind (slack:message_added) or a whole "
                             "target (slack: or slack)"),
    row_id: int = typer.Option(None, "--id", help="One failed row"),
) -> None:
    """Send failed outbox rows back to pending, due now, with fresh retry counters."""

    async def main() -> None:
        async with open_runtime() as rt:
            now = rt.clock.now()
            rows = await rt.outbox.failed(kind, row_id, limit=50)
            retried = await rt.outbox.retry_failed(kind, row_id, now)
        if not retried:
            wanted = [f"kind {kind!r}"] if kind else []
            wanted += [f"id {row_id}"] if row_id is not None else []
            raise CliError("no failed outbox rows" + (" with " + " and ".join(wanted)
                                                      if wanted else ""))
        table = Table("id", "kind", "order key", "attempts", "last error",
                      title="sent back to pending")
        for r in rows:
            table.add_row(*(escape(str(v)) for v in (
                r["id"], r["kind"], r["order_key"], r["attempts"], r.get("last_error") or "")))
        console.print(table)
        more = f" (first {len(rows)} listed)" if retried > len(rows) else ""
        console.print(f"{retried} failed row(s) sent back to pending, due now{more}")

    run(main)


@templates_app.command("sync")
def templates_sync() -> None:
    """Fetch the approved WhatsApp templates (Meta and Twilio) into Threadline."""

    async def main() -> None:
        from threadline.integrations import twilio, whatsapp_cloud

        async with open_runtime() as rt:
            providers = {a.provider for a in rt.accounts.values()}
            synced: dict[str, int] = {}
            if "whatsapp_cloud" in providers:
                synced.update(await whatsapp_cloud.sync_all_templates(rt))
            if "twilio" in providers:
                synced.update(await twilio.sync_all_templates(rt))
        if not synced:
            console.print("no WhatsApp account is configured: nothing to sync")
            return
        table = Table("account", "templates", title="templates synced")
        for account, n in sorted(synced.items()):
            table.add_row(escape(str(account)), str(n))
        console.print(table)

    run(main)


@templates_app.command("list")
def templates_list() -> None:
    """The templates staff can send, by channel."""

    async def main() -> None:
        async with open_runtime() as rt:
            templates = await rt.inbox.templates()
        table = Table("name", "channel", "language", "variables", "account", title="templates")
        for t in templates:
            table.add_row(*(escape(str(v or "")) for v in (
                t.name, t.channel.value, t.language, ", ".join(t.variables), t.account)))
        console.print(table)

    run(main)
