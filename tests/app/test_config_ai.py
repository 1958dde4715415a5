"""The config file's `ai:` section, tag keywords and THREADLINE_AI per account."""

from __future__ import annotations

import pytest

from core.analysis import ReferenceKind, TagVocabulary
from threadline.config import ConfigError, build_accounts, parse_config
from threadline.config_ai import ai_accounts, workspace_of
from threadline.settings import Settings


def _problems(data) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, "cfg.yml")
    return str(info.value)


@pytest.mark.parametrize("ai, expected", [
    ({"reference_patterns": {"order": ["PED-(\\d+"]}},
     "order[0]: 'PED-(\\\\d+' is not a valid regular expression"),
    ({"reference_patterns": {"order": ["\\d*"]}}, "matches empty text"),
    ({"reference_patterns": {"ticket": ["T-\\d+"]}}, "ai.reference_patterns.ticket"),
    ({"lookup_urls": {"order": "erp.example.com/{value}"}}, "must be an http(s) URL"),
    ({"lookup_urls": {"order": "https://erp.example.com/orders"}}, "needs {value}"),
    ({"lookup": {}}, "ai.lookup: unknown key"),
])
def test_bad_ai_sections_name_the_key(ai, expected):
    assert expected in _problems({"ai": ai})


def test_keywords_patterns_and_urls_reach_the_workspace():
    cfg = parse_config({
        "tags": [{"name": "Billing", "keywords": ["factura", "invoice"]}, {"name": "vip"}],
        "teams": [{"name": "Billing"}],
        "templates": [{"name": "thanks", "channel": "email", "body": "Thanks"},
                      {"name": "thanks", "channel": "whatsapp", "body": "Gracias",
                       "provider_name": "thanks_es"}],
        "ai": {"reference_patterns": {"invoice": ["FV\\d{6}"]},
               "lookup_urls": {"order": "https://erp.example.com/o/{value}"}},
    })
    ws = workspace_of(cfg)
    assert ws.tags == (TagVocabulary("billing", ("factura", "invoice")), TagVocabulary("vip"))
    assert ws.teams == ("Billing",) and ws.templates == ("thanks",)
    assert ws.lookup_urls == {ReferenceKind.ORDER: "https://erp.example.com/o/{value}"}
    assert cfg.ai.patterns() == {ReferenceKind.INVOICE: ["FV\\d{6}"]}
    assert parse_config({}).ai.patterns() is None  # defaults


def test_ai_is_on_by_default_and_off_per_account_or_everywhere():
    cfg = parse_config({"accounts": [
        {"id": "mail", "channel": "email", "provider": "email"},
        {"id": "wa", "channel": "whatsapp", "provider": "twilio",
         "settings": {"THREADLINE_AI": "off"}}]})
    settings = Settings(_env_file=None)
    accounts = build_accounts(cfg, settings)
    assert ai_accounts(cfg, settings, accounts) == {"mail"}
    off = Settings(_env_file=None, THREADLINE_AI="off")
    assert ai_accounts(cfg, off, accounts) == frozenset()
    derived = build_accounts(parse_config({}), Settings(_env_file=None,
                                                        EMAIL_ADDRESS="help@shop.test"))
    assert ai_accounts(parse_config({}), settings, derived) == {"email"}
