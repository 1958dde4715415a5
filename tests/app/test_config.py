from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.model import Channel
from threadline.config import (
    ConfigError,
    build_accounts,
    effective_timezone,
    load_config,
    parse_config,
    sync_config,
)
from threadline.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yml"


def test_example_config_is_valid():
    cfg = load_config(EXAMPLE)
    assert [a.id for a in cfg.accounts] == ["support", "wa-sales"]
    by_name = {t.name: t for t in cfg.templates}
    assert by_name["order_update"].variables == ["name", "order"]
    assert [r.name for r in cfg.rules][0] == "vip to billing"


def test_no_path_means_empty_config():
    cfg = load_config(None)
    assert cfg.accounts == [] and cfg.rules == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"accounts": [{"id": "a", "channel": "email", "provider": "email"},
                       {"id": "b", "channel": "sms", "provider": "twilio"}]},
         "accounts[1].channel:"),
        ({"accounts": [{"id": "a", "channel": "email", "provider": "twilio"}]},
         "accounts[0].provider: provider 'twilio' cannot serve a email account"),
        ({"accounts": [{"id": "a", "channel": "email", "provider": "email", "colour": 1}]},
         "accounts[0].colour: unknown key"),
        ({"agnets": []}, "agnets: unknown key"),
        ({"tags": [{"name": "vip", "colour": "gold"}]}, "tags[0].colour:"),
        ({"agents": [{"name": "A", "email": "a@x.io", "role": "boss"}]}, "agents[0].role:"),
        ({"teams": [{"name": "T", "members": ["nobody@x.io"]}]}, "teams[0].members[0]:"),
        ({"templates": [{"name": "t", "channel": "whatsapp", "body": "hi"}]},
         "templates[0].provider_name:"),
        ({"templates": [{"name": "t", "channel": "email", "body": "hi", "account": "zz"}]},
         "templates[0].account:"),
        ({"timezone": "Nowhere/Land"}, "timezone: 'Nowhere/Land'"),
        ({"business_hours": {"monday": ["17:00-09:00"]}}, "business_hours.monday:"),
        ({"accounts": [{"id": "a", "channel": "email", "provider": "email"},
                       {"id": "a", "channel": "email", "provider": "email"}]},
         "accounts[1]: duplicate of accounts[0]"),
        ([1, 2], "(top level)"),
    ],
)
def test_errors_name_the_file_and_key_path(tmp_path, data, expected):
    import yaml

    path = tmp_path / "threadline.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message
    assert str(path) in message


def test_yaml_syntax_error_gives_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("accounts:\n  - id: a\n   channel: [\n")
    with pytest.raises(ConfigError, match=r"bad.yml: not valid YAML \(line \d+"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read THREADLINE_CONFIG"):
        load_config(tmp_path / "nope.yml")


def test_accounts_from_config_use_slack_channel_default():
    cfg = parse_config({"accounts": [
        {"id": "s", "channel": "email", "provider": "email", "address": "s@x.io"},
        {"id": "w", "channel": "whatsapp", "provider": "twilio", "slack_channel": "C2"}]})
    accounts = build_accounts(cfg, Settings(_env_file=None, SLACK_CHANNEL="C1"))
    assert accounts["s"].slack_channel == "C1" and accounts["w"].slack_channel == "C2"
    assert accounts["w"].channel is Channel.WHATSAPP and accounts["s"].name == "s"


def test_default_accounts_from_settings():
    s = Settings(_env_file=None, EMAIL_ADDRESS="Help@Example.com",
                 WHATSAPP_CLOUD_PHONE_NUMBER_ID="1234", TWILIO_WHATSAPP_FROM="whatsapp:+1415")
    accounts = build_accounts(parse_config({}), s)
    assert set(accounts) == {"email", "whatsapp_cloud", "twilio"}
    assert accounts["email"].address == "help@example.com"
    assert accounts["twilio"].provider == "twilio" and accounts["twilio"].address == "+1415"
    assert build_accounts(parse_config({}), Settings(_env_file=None)) == {}


def test_timezone_precedence(clean_env):
    cfg = parse_config({"timezone": "Asia/Tokyo"})
    assert effective_timezone(cfg, Settings(_env_file=None)) == ZoneInfo("Asia/Tokyo")
    clean_env.setenv("THREADLINE_TIMEZONE", "Europe/Madrid")
    assert effective_timezone(cfg, Settings(_env_file=None)) == ZoneInfo("Europe/Madrid")


async def test_sync_config_upserts(uow_factory):
    from datetime import UTC, datetime

    from core.clock import FixedClock
    from core.usecases import Inbox

    inbox = Inbox(uow_factory, FixedClock(datetime(2025, 1, 1, tzinfo=UTC)), {}, ZoneInfo("UTC"))
    cfg = load_config(EXAMPLE)
    await sync_config(cfg, inbox)
    data = cfg.model_dump()
    data["agents"][0]["name"] = "Ana G."
    data["tags"][0]["colour"] = "#000000"
    await sync_config(parse_config(data), inbox)  # second run updates, never duplicates
    agents = await inbox.agents()
    assert sorted(a.name for a in agents) == ["Ana G.", "Ben Okafor"]
    tags = {t.name: t.colour for t in await inbox.tags()}
    assert tags["vip"] == "#000000" and len(tags) == len(cfg.tags)
    templates = await inbox.templates()
    assert sorted(t.name for t in templates) == [
        "order_update", "out_of_hours", "out_of_hours", "thanks"]
    async with uow_factory() as uow:
        team = await uow.teams.by_name("Billing")
    assert sorted(team.member_ids) == sorted(a.id for a in agents)
