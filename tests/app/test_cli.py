from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.inbound import InboundMessage
from core.model import Actor, Attachment, Channel
from tests.app.helpers import T0
from threadline.cli import app
from threadline.config import ThreadlineConfig
from threadline.runtime import Runtime
from threadline.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yml"
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide(clean_env):
    clean_env.setenv("COLUMNS", "200")


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def cli_db(db_url, clean_env):
    clean_env.setenv("THREADLINE_DATABASE_URL", db_url)
    clean_env.setenv("EMAIL_ADDRESS", "help@example.com")
    return db_url


def seed_conversation(url: str) -> int:
    async def main() -> int:
        rt = Runtime(Settings(_env_file=None, THREADLINE_DATABASE_URL=url,
                              EMAIL_ADDRESS="help@example.com"), ThreadlineConfig())
        try:
            res = await rt.inbox.receive(InboundMessage(
                Channel.EMAIL, "email", "email", "<m1@example.com>", "bob@example.com",
                "My parcel never arrived", T0, sender_name="Bob Smith", subject="Lost parcel"))
            await rt.inbox.add_note(res.conversation_id, "checking with the courier",
                                    Actor.system())
            return res.conversation_id
        finally:
            await rt.close()

    return asyncio.run(main())


def test_migrate_fresh_sqlite_then_idempotent(tmp_path, clean_env):
    clean_env.setenv("THREADLINE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/sub/t.db")
    first = invoke("migrate")
    assert first.exit_code == 0, first.output
    assert "migrated empty database ->" in first.output
    second = invoke("migrate")
    assert second.exit_code == 0 and "already at" in second.output


def test_check_config_good(clean_env):
    clean_env.setenv("THREADLINE_CONFIG", str(EXAMPLE))
    result = invoke("check-config")
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output and "wa-sales" in result.output
    assert ("telegram: off (the Telegram front end is not available in this version)"
            in result.output)


def test_check_config_bad(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("accounts:\n  - {id: a, channel: email, provider: email}\n"
                   "  - {id: b, channel: fax, provider: email}\n")
    result = invoke("check-config", "--file", str(bad))
    assert result.exit_code == 1
    assert "accounts[1].channel" in result.output and str(bad) in result.output
    assert "Traceback" not in result.output


def test_bad_setting_is_reported_without_traceback(clean_env):
    clean_env.setenv("THREADLINE_TIMEZONE", "Mars/Base")
    result = invoke("check-config")
    assert result.exit_code == 1
    assert "THREADLINE_TIMEZONE" in result.output and "Traceback" not in result.output


def test_commands_refuse_an_unmigrated_database(tmp_path, clean_env):
    clean_env.setenv("THREADLINE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/new.db")
    result = invoke("outbox", "status")
    assert result.exit_code == 1 and "threadline migrate" in result.output


def test_customers_import_reports_bad_rows(cli_db, tmp_path):
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "name,email,phone,company,external_ref,notes\n"
        "Ada Lovelace,ada@example.com,+34600111222,Analytical,C-1,first\n"
        ",nobody@example.com,,,,missing name\n"
        "Bob,not-an-email,,,C-2,\n"
        "Cy,cy@example.com,12,,C-3,\n"
        '"Dee, Jr.",dee@example.com,,"Dee & Co",C-4,"multi\nline"\n'
        "Eve,eve@example.com,,,,\n"
        "Fay,fay@example,,,,\n"
    )
    result = invoke("customers", "import", str(csv_file))
    assert result.exit_code == 0, result.output
    assert "3 created, 0 updated, 4 rejected" in result.output
    assert "line 3: name is required" in result.output
    assert "line 4:" in result.output and "line 5:" in result.output
    assert "line 9:" in result.output  # counted from the start of the multi-line record
    again = invoke("customers", "import", str(csv_file))
    assert "0 created, 3 updated, 4 rejected" in again.output


def test_customers_import_missing_file(cli_db, tmp_path):
    result = invoke("customers", "import", str(tmp_path / "none.csv"))
    assert result.exit_code == 1 and "cannot read" in result.output


def test_conversations_list_and_show(cli_db):
    conv_id = seed_conversation(cli_db)
    listed = invoke("conversations", "list")
    assert listed.exit_code == 0, listed.output
    assert "Lost parcel" in listed.output and "Bob Smith" in listed.output
    filtered = invoke("conversations", "list", "--status", "resolved")
    assert filtered.exit_code == 0 and "Lost parcel" not in filtered.output
    assert invoke("conversations", "list", "--channel", "whatsapp").output.count("Lost") == 0
    shown = invoke("conversations", "show", str(conv_id))
    assert shown.exit_code == 0, shown.output
    assert "My parcel never arrived" in shown.output
    assert "checking with the courier" in shown.output and "[note]" in shown.output


def test_conversations_errors_are_clean(cli_db):
    missing = invoke("conversations", "show", "999999")
    assert missing.exit_code == 1 and "conversation 999999 does not exist" in missing.output
    mine = invoke("conversations", "list", "--view", "mine")
    assert mine.exit_code == 1 and "Mine view needs the agent" in mine.output
    bad = invoke("conversations", "list", "--status", "sleeping")
    assert bad.exit_code == 1 and "choose one of" in bad.output
    assert "Traceback" not in missing.output + mine.output + bad.output


def test_outbox_status(cli_db):
    seed_conversation(cli_db)
    result = invoke("outbox", "status")
    assert result.exit_code == 0, result.output
    assert "pending" in result.output and "failed" in result.output


def test_templates_list_and_sync_without_whatsapp(cli_db, tmp_path, clean_env):
    cfg = tmp_path / "config.yml"
    cfg.write_text("templates:\n  - name: thanks\n    channel: email\n"
                   "    body: 'Thanks {{name}}!'\n")
    clean_env.setenv("THREADLINE_CONFIG", str(cfg))

    async def sync_config() -> None:
        from threadline.config import load_config

        rt = Runtime(Settings(_env_file=None, THREADLINE_DATABASE_URL=cli_db),
                     load_config(str(cfg)))
        try:
            await rt.prepare()
        finally:
            await rt.close()

    asyncio.run(sync_config())
    listed = invoke("templates", "list")
    assert listed.exit_code == 0 and "thanks" in listed.output and "name" in listed.output
    synced = invoke("templates", "sync")
    assert synced.exit_code == 0 and "no WhatsApp account" in synced.output


# -- outbox retry ---------------------------------------------------------------------------


def seed_failed_rows(url: str, kinds: list[str]) -> list[int]:
    """One failed outbox row per kind (own order keys), with "boom <kind>" as last error."""
    from core.effects import Effect
    from storage.engine import create_engine
    from storage.outbox_store import OutboxStore
    from storage.uow import SqlUnitOfWorkFactory

    async def main() -> list[int]:
        engine = create_engine(url)
        try:
            async with SqlUnitOfWorkFactory(engine)() as uow:
                for n, kind in enumerate(kinds):
                    await uow.outbox.add(Effect(kind, f"cli:{n}"), T0)
                await uow.commit()
            store = OutboxStore(engine)
            rows = await store.claim(kinds, "w1", T0, timedelta(minutes=1), 100)
            for row in rows:
                await store.fail(row.id, "w1", f"boom {row.kind}", T0)
            return [row.id for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(main())


def outbox_statuses(url: str) -> dict[int, str]:
    from storage.engine import create_engine
    from storage.outbox_store import OutboxStore

    async def main() -> dict[int, str]:
        engine = create_engine(url)
        try:
            return {r["id"]: r["status"] for r in await OutboxStore(engine).rows(limit=1000)}
        finally:
            await engine.dispose()

    return asyncio.run(main())


def test_outbox_retry_by_id(cli_db):
    card, email = seed_failed_rows(cli_db, ["slack:card", "send:email"])
    result = invoke("outbox", "retry", "--id", str(email))
    assert result.exit_code == 0, result.output
    assert "1 failed row(s) sent back to pending" in result.output
    assert "boom send:email" in result.output and "boom slack:card" not in result.output
    assert outbox_statuses(cli_db) == {card: "failed", email: "pending"}


def test_outbox_retry_by_kind_prefix_and_exact_kind(cli_db):
    card, msg, email = seed_failed_rows(cli_db, ["slack:card", "slack:message", "send:email"])
    exact = invoke("outbox", "retry", "--kind", "slack:message")
    assert exact.exit_code == 0 and "1 failed row(s)" in exact.output, exact.output
    assert outbox_statuses(cli_db) == {card: "failed", msg: "pending", email: "failed"}
    target = invoke("outbox", "retry", "--kind", "slack:")
    assert target.exit_code == 0 and "1 failed row(s)" in target.output, target.output
    assert "boom slack:card" in target.output
    every = invoke("outbox", "retry")
    assert every.exit_code == 0 and "1 failed row(s)" in every.output
    assert set(outbox_statuses(cli_db).values()) == {"pending"}


def test_outbox_retry_nothing_matched_exits_1(cli_db):
    [card] = seed_failed_rows(cli_db, ["slack:card"])
    for args, says in ((["--kind", "telegram:"], "no failed outbox rows with kind 'telegram:'"),
                       (["--id", "999"], "no failed outbox rows with id 999"),
                       (["--kind", "slack:", "--id", "999"], "kind 'slack:' and id 999")):
        result = invoke("outbox", "retry", *args)
        assert result.exit_code == 1 and says in result.output, result.output
        assert "Traceback" not in result.output
    assert outbox_statuses(cli_db) == {card: "failed"}


def test_rules_hours_says_whether_open_and_when_that_changes(clean_env, tmp_path):
    config = tmp_path / "threadline.yml"
    config.write_text("timezone: Europe/Madrid\nbusiness_hours:\n"
                      "  monday: ['09:00-13:00', '14:00-18:00']\n  holidays: ['2026-12-08']\n")
    clean_env.setenv("THREADLINE_CONFIG", str(config))
    r = invoke("rules", "hours", "--at", "2026-12-07T10:00")
    assert r.exit_code == 0, r.output
    assert "Open at Monday 07 December 2026, 10:00 (Europe/Madrid)." in r.output
    assert "Closes Monday 07 December 2026, 13:00 (in 3 h)." in r.output
    r = invoke("rules", "hours", "--at", "2026-12-07T18:30:00+01:00")
    assert "Closed at Monday 07 December 2026, 18:30" in r.output
    assert "Opens Monday 14 December 2026, 09:00 (in 6 d 14 h 30 min)." in r.output
    assert invoke("rules", "hours", "--at", "next tuesday").exit_code == 1


def test_rules_hours_without_business_hours(clean_env):
    r = invoke("rules", "hours")
    assert r.exit_code == 0 and "No business_hours" in r.output


def test_conversations_show_orders_by_time_and_lists_attachments(cli_db):
    conv_id = seed_conversation(cli_db)

    async def late_arrival() -> None:  # written before the first one, stored after it
        rt = Runtime(Settings(_env_file=None, THREADLINE_DATABASE_URL=cli_db,
                              EMAIL_ADDRESS="help@example.com"), ThreadlineConfig())
        try:
            await rt.inbox.receive(InboundMessage(
                Channel.EMAIL, "email", "email", "<m0@example.com>", "bob@example.com",
                "Here is the photo of the label", T0 - timedelta(minutes=5),
                sender_name="Bob Smith", subject="Re: Lost parcel",
                in_reply_to="<m1@example.com>",
                attachments=[Attachment("label.jpg", "image/jpeg", 48_213, "k/label.jpg")]))
        finally:
            await rt.close()

    asyncio.run(late_arrival())
    shown = invoke("conversations", "show", str(conv_id))
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert out.index("Here is the photo") < out.index("My parcel never arrived")
    assert "attachment: label.jpg (image/jpeg, 47.1 KB, stored)" in out


def test_conversations_show_names_everyone_else_who_wrote(cli_db):
    conv_id = seed_conversation(cli_db)

    async def colleague_answers() -> None:
        rt = Runtime(Settings(_env_file=None, THREADLINE_DATABASE_URL=cli_db,
                              EMAIL_ADDRESS="help@example.com"), ThreadlineConfig())
        try:
            await rt.inbox.receive(InboundMessage(
                Channel.EMAIL, "email", "email", "<c1@example.com>", "ann@example.com",
                "I am Bob's colleague: any news?", T0 + timedelta(hours=1),
                sender_name="Ann Lee", subject="Re: Lost parcel",
                in_reply_to="<m1@example.com>"))
        finally:
            await rt.close()

    asyncio.run(colleague_answers())
    shown = invoke("conversations", "show", str(conv_id))
    assert shown.exit_code == 0, shown.output
    assert "contact: Bob Smith <bob@example.com>" in shown.output
    assert "also writing: Ann Lee <ann@example.com>" in shown.output
