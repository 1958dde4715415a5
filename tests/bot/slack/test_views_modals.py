"""modals.py: every modal within Slack's limits, with the ids the listeners expect."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.views import ids
from bot.slack.views.limits import options_problems
from bot.slack.views.modals import (
    assign_modal,
    customer_options,
    link_customer_modal,
    new_conversation_modal,
    note_modal,
    profile_modal,
    snooze_modal,
    tags_modal,
    template_modal,
)
from bot.slack.views.models import (
    ConversationRow,
    CustomerProfileView,
    OptionView,
    TemplateView,
)
from tests.bot.slack.test_views_limits import HOSTILE, assert_inert, assert_view_ok

NOW = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)


def block(view, block_id):
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def meta(view):
    return json.loads(view["private_metadata"])


def test_assign_modal():
    view = assert_view_ok(
        assign_modal(3, [OptionView("1", "Billing"), OptionView("2", "Tech")], "U0ANA")
    )
    assert view["callback_id"] == ids.ASSIGN_MODAL and meta(view) == {"conversation_id": 3}
    user = block(view, ids.ASSIGN_USER[0])
    assert user["element"]["type"] == "users_select"
    assert user["element"]["action_id"] == ids.ASSIGN_USER[1]
    assert user["element"]["initial_user"] == "U0ANA"
    team = block(view, ids.ASSIGN_TEAM[0])
    assert team["element"]["action_id"] == ids.ASSIGN_TEAM[1] and team["optional"]
    no_teams = assert_view_ok(assign_modal(3, [], None))
    assert ids.ASSIGN_TEAM[0] not in json.dumps(no_teams)
    assert_view_ok(
        assign_modal(3, [OptionView(f"t{i}", HOSTILE * 5) for i in range(300)], "bad<id")
    )


def test_tags_modal_initial_options_are_current():
    tags = [OptionView("billing", "billing"), OptionView("vip", "VIP"), OptionView("spam", "spam")]
    view = assert_view_ok(tags_modal(3, tags, ["vip"]))
    select = block(view, ids.TAGS_SELECT[0])["element"]
    assert select["type"] == "multi_static_select" and select["action_id"] == ids.TAGS_SELECT[1]
    assert [o["value"] for o in select["initial_options"]] == ["vip"]
    new = block(view, ids.TAGS_NEW[0])
    assert new["optional"] and new["element"]["action_id"] == ids.TAGS_NEW[1]
    assert "comma separated" in new["element"]["placeholder"]["text"]
    assert view["callback_id"] == ids.TAGS_MODAL and meta(view)["conversation_id"] == 3


def test_tags_modal_with_300_tags_keeps_current_and_most_recent():
    tags = [OptionView(f"tag{i}", f"Tag {i} {HOSTILE}") for i in range(300)]
    current = ["tag250", "tag299", "tag5", "unknown"]
    view = assert_view_ok(tags_modal(3, tags, current))
    select = block(view, ids.TAGS_SELECT[0])["element"]
    values = [o["value"] for o in select["options"]]
    assert len(values) == 100
    assert {"tag250", "tag299", "tag5", "unknown"} <= set(values)
    assert values[:5] == ["tag0", "tag1", "tag2", "tag3", "tag4"]
    assert {o["value"] for o in select["initial_options"]} == set(current)
    assert "100 of 300" in block(view, ids.TAGS_SELECT[0])["hint"]["text"]


def test_tags_modal_extremes():
    assert_view_ok(tags_modal(3, [], []))  # no select at all, just the new-tags input
    assert_view_ok(tags_modal(3, [], [f"c{i}" for i in range(300)]))
    long_values = [OptionView("x" * 151, "too long"), OptionView("ok", "ok")]
    view = assert_view_ok(tags_modal(3, long_values, ["x" * 151, "ok"]))
    assert "x" * 151 not in json.dumps(view)


def test_snooze_modal():
    view = assert_view_ok(snooze_modal(3, 1_715_000_000))
    el = block(view, ids.SNOOZE_AT[0])["element"]
    assert el == {
        "type": "datetimepicker",
        "initial_date_time": 1_715_000_000,
        "action_id": ids.SNOOZE_AT[1],
    }
    assert view["callback_id"] == ids.SNOOZE_MODAL


def templates(n, variables=("name", "order")):
    return [
        TemplateView(
            f"tpl_{i}",
            f"Hi {{{{name}}}}, order {{{{order}}}} #{i} {HOSTILE}",
            variables,
            "es" if i % 2 else None,
        )
        for i in range(n)
    ]


def test_template_modal_picker_variables_preview():
    tpls = templates(3)
    view = assert_view_ok(
        template_modal(3, tpls, tpls[1], {"name": "Ana"}, "Hi Ana, <b>", outside_window=True)
    )
    pick = block(view, ids.TEMPLATE_PICK[0])
    assert pick["dispatch_action"] is True
    assert pick["element"]["action_id"] == ids.TEMPLATE_PICK[1]
    assert pick["element"]["initial_option"]["value"] == "tpl_1"
    name = block(view, ids.TEMPLATE_VAR_PREFIX + "name")
    assert name["element"]["action_id"] == "value" and name["element"]["initial_value"] == "Ana"
    assert "initial_value" not in block(view, ids.TEMPLATE_VAR_PREFIX + "order")["element"]
    assert "Hi Ana, &lt;b&gt;" in json.dumps(view)
    assert "24-hour window is closed" in json.dumps(view)
    assert meta(view) == {"conversation_id": 3, "template": "tpl_1"}
    assert view["callback_id"] == ids.TEMPLATE_MODAL and view["submit"]
    assert_inert(view)


def test_template_modal_200_templates_and_many_variables():
    tpls = templates(200, tuple(f"var{i}" for i in range(150)))
    view = assert_view_ok(template_modal(3, tpls, tpls[199], {}, None, False))
    groups = block(view, ids.TEMPLATE_PICK[0])["element"]["option_groups"]
    assert sum(len(g["options"]) for g in groups) == 200
    assert "24-hour" not in json.dumps(view)
    assert_view_ok(template_modal(3, tpls, None, {}, None, False))
    long_preview = template_modal(3, tpls, tpls[0], {"name": "x" * 5000}, HOSTILE * 20_000, True)
    assert_view_ok(long_preview)
    assert_inert(long_preview)


def test_template_modal_without_templates():
    view = assert_view_ok(template_modal(3, [], None, {}, None, True))
    assert "submit" not in view and "No templates" in json.dumps(view)


def test_note_modal():
    view = assert_view_ok(note_modal(3))
    el = block(view, ids.NOTE_TEXT[0])["element"]
    assert el["multiline"] and el["action_id"] == ids.NOTE_TEXT[1]
    assert view["callback_id"] == ids.NOTE_MODAL and meta(view) == {"conversation_id": 3}


def test_link_customer_modal_and_options():
    view = assert_view_ok(link_customer_modal(3))
    el = block(view, ids.CUSTOMER_SEARCH[0])["element"]
    assert el["type"] == "external_select" and el["min_query_length"] == 1
    assert el["action_id"] == ids.CUSTOMER_SEARCH[1]
    assert view["callback_id"] == ids.LINK_CUSTOMER_MODAL
    response = customer_options([OptionView(str(i), f"{HOSTILE} {i}" * 10) for i in range(500)])
    assert len(response["options"]) == 100 and options_problems(response) == []
    assert customer_options([]) == {"options": []}


def row(i, **kw):
    base = dict(
        conversation_id=i,
        channel="email" if i % 2 else "whatsapp",
        status="open",
        contact_name=f"Contact {i}",
        subject_or_preview=f"Subject {i}",
        waiting_since=NOW - timedelta(hours=i),
        permalink=f"https://x.slack.com/p{i}",
    )
    base.update(kw)
    return ConversationRow(**base)


def test_profile_modal_lists_conversations_with_links():
    view = assert_view_ok(
        profile_modal(
            CustomerProfileView(
                9,
                "Acme Ltd",
                "ops@acme.test",
                "+34600000000",
                "Acme",
                "VIP since 2020",
                conversations=(row(1), row(2, permalink=None)),
            )
        )
    )
    text = json.dumps(view)
    assert "<https://x.slack.com/p1|Subject 1>" in text and "ops@acme.test" in text
    assert view["callback_id"] == ids.PROFILE_MODAL and meta(view) == {"customer_id": 9}


def test_profile_modal_extremes():
    rows = tuple(
        row(
            i,
            contact_name=HOSTILE * 20,
            subject_or_preview=HOSTILE * 20,
            tags=tuple(HOSTILE for _ in range(300)),
            assignee_name=HOSTILE,
        )
        for i in range(500)
    )
    view = assert_view_ok(
        profile_modal(
            CustomerProfileView(
                9, HOSTILE * 20, HOSTILE, HOSTILE, HOSTILE * 100, HOSTILE * 1000, conversations=rows
            )
        )
    )
    assert "more" in json.dumps(view["blocks"][-1])
    assert_inert(view, urls={f"https://x.slack.com/p{i}" for i in range(500)})
    assert_view_ok(profile_modal(CustomerProfileView(9, "", None, None, None, None)))


@pytest.mark.parametrize("n_templates", [0, 3, 200])
def test_new_conversation_modal(n_templates):
    accounts = [OptionView("1", "Support email"), OptionView("2", "WhatsApp +34")]
    view = assert_view_ok(new_conversation_modal(accounts, templates(n_templates)))
    assert view["callback_id"] == ids.NEW_CONVERSATION_MODAL
    for pair in (ids.NEW_ACCOUNT, ids.NEW_RECIPIENT, ids.NEW_SUBJECT, ids.NEW_BODY):
        assert block(view, pair[0])["element"]["action_id"] == pair[1]
    assert block(view, ids.NEW_SUBJECT[0])["optional"] and block(view, ids.NEW_BODY[0])["optional"]
    assert block(view, ids.NEW_BODY[0])["element"]["multiline"]
    if n_templates:
        tpl = block(view, ids.NEW_TEMPLATE[0])
        assert tpl["optional"] and tpl["element"]["action_id"] == ids.NEW_TEMPLATE[1]
    assert "must start with an approved template" in json.dumps(view)


def test_new_conversation_modal_extremes():
    assert_view_ok(new_conversation_modal([], []))
    accounts = [OptionView(str(i), HOSTILE * 3) for i in range(250)]
    assert_view_ok(new_conversation_modal(accounts, templates(200)))
