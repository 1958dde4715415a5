"""`threadline rules check` and `threadline rules test FILE.json` (a dry run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from threadline.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yml"
runner = CliRunner()


@pytest.fixture(autouse=True)
def example(clean_env):
    clean_env.setenv("COLUMNS", "300")
    clean_env.setenv("THREADLINE_CONFIG", str(EXAMPLE))


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def message(tmp_path, **data) -> str:
    path = tmp_path / "message.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_check_says_each_rule_in_words():
    r = invoke("rules", "check")
    assert r.exit_code == 0, r.output
    assert "6 rule(s), 1 auto-reply(ies)" in r.output
    assert ("- vip to billing: When a conversation is opened or a customer message arrives, "
            "if the channel is email and the subject or text matches /(?i)factura|invoice/"
            ) in r.output
    assert "assign to Billing (round robin), then tag billing, then untag new." in r.output
    assert ("- first response SLA: When no staff reply has come 30m after the conversation "
            "opened, if inside business hours: notify the managers, then tag sla-breached."
            ) in r.output
    assert "- urgent ping (built in: builtin_rules.urgent_ping)" in r.output


def test_check_names_the_bad_key(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("rules:\n  - name: x\n    trigger: [message_received]\n"
                   "    then: [{assign: {team: Nobody}}]\n", encoding="utf-8")
    r = runner.invoke(app, ["rules", "check", "--file", str(bad)])
    assert r.exit_code == 1
    assert "rules[0].then[0].assign.team: 'Nobody' is not a team under teams" in r.output


def test_dry_run_outside_hours_evaluates_at_the_message_time(tmp_path):
    saturday = message(tmp_path, channel="email", sender="carla@customer.example",
                       subject="Factura 2024/0388", text="Hola, necesito la factura",
                       time="2026-12-05T20:15:00+01:00")
    r = invoke("rules", "test", saturday)
    assert r.exit_code == 0, r.output
    assert "on support at Saturday 05 December 2026 20:15 (closed)" in r.output
    assert "rule 'vip to billing' fires on conversation_opened: would assign to Billing" in (
        r.output)
    assert "fires on message_received" not in r.output  # assigned by then
    assert "auto-reply 'out of hours': would send template out_of_hours" in r.output
    monday = message(tmp_path, channel="email", sender="carla@customer.example",
                     subject="Hello", text="A question", time="2026-12-07T10:00:00+01:00")
    r = invoke("rules", "test", monday)
    assert "(open)" in r.output and "no rule fires" in r.output
    assert "no auto-reply: none configured fits" in r.output


def test_dry_run_never_answers_automated_mail(tmp_path):
    r = invoke("rules", "test", message(tmp_path, channel="whatsapp", sender="+34600111222",
                                        text="hola", automated=True,
                                        time="2026-12-05T20:15:00+01:00"))
    assert r.exit_code == 0, r.output
    assert "on wa-sales" in r.output and "no auto-reply: automated mail" in r.output


@pytest.mark.parametrize(("content", "error"), [
    ("{not json", "not valid JSON"),
    ('{"channel": "fax", "text": "x"}', "channel must be email or whatsapp"),
    ('{"channel": "email", "account": "wa-sales", "text": "x"}',
     "account 'wa-sales' is not a configured email account (configured: support)"),
    ('{"channel": "email", "text": "x", "time": "friday"}', "is not an ISO date and time"),
    ('{"channel": "email", "txt": "x"}', "unknown key(s) txt"),
])
def test_dry_run_bad_input(tmp_path, content, error):
    path = tmp_path / "m.json"
    path.write_text(content, encoding="utf-8")
    r = runner.invoke(app, ["rules", "test", str(path)])
    assert r.exit_code == 2 and error in r.output, r.output
