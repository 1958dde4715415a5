"""`threadline ai analyze FILE`: the contract tools outside the code rely on."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from threadline.cli import app

runner = CliRunner()
CONTRACT = {"id", "sentiment", "urgent", "urgent_reason", "references", "suggested_tags",
            "actions", "summary", "engine"}
CONFIG = """
tags:
  - {name: billing, keywords: [factura, invoice]}
  - {name: shipping, keywords: [envio, delivery, entrega]}
teams: [{name: Billing}]
ai:
  lookup_urls: {invoice: "https://erp.example.com/invoices/{value}"}
"""


@pytest.fixture
def env(clean_env, tmp_path):
    cfg = tmp_path / "threadline.yml"
    cfg.write_text(CONFIG, encoding="utf-8")
    clean_env.setenv("THREADLINE_CONFIG", str(cfg))
    clean_env.setenv("THREADLINE_DATABASE_URL",
                     f"sqlite+aiosqlite:///{tmp_path / 'never.db'}")
    return tmp_path


def lines(tmp_path, *items) -> str:
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(i if isinstance(i, str) else json.dumps(i, ensure_ascii=False)
                              for i in items) + "\n", encoding="utf-8")
    return str(path)


def test_each_line_gets_one_answer_with_the_contract_fields(env):
    file = lines(env, {"id": "a1", "channel": "email", "subject": "Factura duplicada",
                       "text": "Buenos días, la factura FAC-2024/0388 aparece dos veces. "
                               "Tel. 912 34 56 78, CP 28013."},
                 {"id": 7, "channel": "whatsapp", "text": "gracias!! todo perfecto 😊"},
                 "", {"id": "a3", "text": "Where is my delivery? Order ORD-88213"})
    r = runner.invoke(app, ["ai", "analyze", file], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a1", 7, "a3"]
    assert all(set(o) == CONTRACT for o in out)
    assert all(o["engine"] == "offline" for o in out)
    first, thanks, order = out
    assert first["references"] == [{"kind": "invoice", "value": "FAC-2024/0388"}]
    assert first["suggested_tags"] == ["billing"]
    assert {"kind": "lookup", "value": "FAC-2024/0388", "label": "Look up FAC-2024/0388",
            "reference_kind": "invoice",
            "url": "https://erp.example.com/invoices/FAC-2024%2F0388"} in first["actions"]
    assert thanks["sentiment"] == "positive" and thanks["urgent"] is False
    assert order["references"] == [{"kind": "order", "value": "ORD-88213"}]
    assert "shipping" in order["suggested_tags"]
    assert not (env / "never.db").exists()  # no database is opened, nothing written


def test_bad_lines_are_named_and_the_rest_still_analysed(env):
    file = lines(env, {"id": "ok", "text": "hola"}, "{not json", ["a", "list"],
                 {"id": "x", "text": "hi", "lang": "en"}, {"id": "y", "channel": "sms"},
                 {"text": "no id"}, {"id": "z", "text": 5})
    r = runner.invoke(app, ["ai", "analyze", file])
    assert r.exit_code == 2
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == ["ok"]
    err = r.stderr
    assert f"{file}:2: not JSON" in err
    assert f"{file}:3: expected a JSON object" in err
    assert f"{file}:4: unknown key(s) lang" in err
    assert f"{file}:5: \"channel\" must be email or whatsapp" in err
    assert f"{file}:6: \"id\" must be" in err
    assert f"{file}:7: \"text\" must be a string" in err


def test_a_missing_file_and_a_bad_config_fail_clearly(env, clean_env):
    r = runner.invoke(app, ["ai", "analyze", str(env / "nope.jsonl")])
    assert r.exit_code == 2 and "cannot read it" in r.stderr
    (env / "threadline.yml").write_text("ai: {reference_patterns: {order: ['(']}}\n")
    r = runner.invoke(app, ["ai", "analyze", lines(env, {"id": 1, "text": "x"})])
    assert r.exit_code == 1 and "ai.reference_patterns" in r.stderr


def test_stdin(env):
    r = runner.invoke(app, ["ai", "analyze", "-"],
                      input=json.dumps({"id": "s", "text": "Invoice INV-2024-1177 is wrong"}))
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["references"] == [{"kind": "invoice",
                                                   "value": "INV-2024-1177"}]


def test_with_a_key_the_model_answers_and_an_outage_falls_back(env, clean_env):
    """OPENAI_API_KEY and OPENAI_BASE_URL point the CLI at an OpenAI-compatible server
    (here a fake on a real socket); when it fails the offline answer is printed."""
    from tests.ai.fake_openai import FakeOpenAI

    fake = FakeOpenAI("sk-test").start()
    try:
        clean_env.setenv("OPENAI_API_KEY", "sk-test")
        clean_env.setenv("OPENAI_BASE_URL", fake.base_url)
        clean_env.setenv("THREADLINE_AI_MODEL", "local-model")
        fake.answer({"sentiment": "frustrated", "urgent": False, "urgent_reason": "",
                     "references": [{"kind": "invoice", "value": "FAC-2024/0388"},
                                    {"kind": "order", "value": "INVENTED-1"}],
                     "suggested_tags": ["billing", "nonexistent"],
                     "actions": [{"kind": "assign_team", "value": "Billing"}],
                     "summary": "Invoice charged twice"})
        file = lines(env, {"id": 1, "text": "La factura FAC-2024/0388 me la cobrasteis 2 veces"})
        r = runner.invoke(app, ["ai", "analyze", file], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        out = json.loads(r.stdout)
        assert out["engine"] == "openai:local-model"
        assert out["references"] == [{"kind": "invoice", "value": "FAC-2024/0388"}]
        assert out["suggested_tags"] == ["billing"]
        assert fake.last_body()["model"] == "local-model"
        fake.fail_next(500, {"error": {"message": "boom", "type": "server_error"}})
        r = runner.invoke(app, ["ai", "analyze", file], catch_exceptions=False)
        assert r.exit_code == 0 and json.loads(r.stdout)["engine"] == "offline"
    finally:
        fake.close()
