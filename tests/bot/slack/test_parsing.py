import pytest

from bot.slack.parsing import UsageError, parse_inbox, parse_mention, slack_to_plain
from core.model import Channel, Status
from core.snooze import SnoozePreset


def test_slack_markup_becomes_plain_text_for_customers():
    text = ("Hi <@U1|ana>, see <https://shop.test/o/1|your order> &amp; "
            "<mailto:a@b.test|a@b.test> <!here>")
    assert slack_to_plain(text, {"U1": "Ana"}) == (
        "Hi @Ana, see your order (https://shop.test/o/1) & a@b.test @here")
    assert slack_to_plain("&lt;b&gt; <#C1|general>") == "<b> #general"


def test_inbox_list_filters():
    assert parse_inbox("") .view == "mine"
    cmd = parse_inbox("all status:open status:PENDING channel:whatsapp account:wa tag:VIP")
    assert cmd.action == "list" and cmd.view == "all"
    assert cmd.statuses == (Status.OPEN, Status.PENDING)
    assert (cmd.channel, cmd.account, cmd.tags) == (Channel.WHATSAPP, "wa", ("vip",))
    assert parse_inbox("tag:refund").view == "mine"


@pytest.mark.parametrize("text, problem", [
    ("status:closed", "unknown status"),
    ("channel:fax", "unknown channel"),
    ("colour:red", "unknown filter"),
    ("mine gibberish", "don't understand"),
    ("search", "needs some text"),
    ("stats 90d", "7d or 30d"),
    ("away for lunch", "takes no arguments"),
])
def test_inbox_bad_arguments_say_what_is_wrong(text, problem):
    with pytest.raises(UsageError, match=problem):
        parse_inbox(text)


def test_inbox_other_actions():
    assert parse_inbox("search  invoice 22 ").query == "invoice 22"
    assert parse_inbox("stats 30d").days == 30
    assert parse_inbox("new").action == "new"
    assert parse_inbox("help").action == "help"
    assert parse_inbox("Away").action == "away" and parse_inbox("back").action == "back"


def test_mentions():
    assert parse_mention("<@UBOT> snooze 2h", "UBOT").preset is SnoozePreset.TWO_HOURS
    assert parse_mention("<@UBOT> assign <@U9|bob>", "UBOT").user_id == "U9"
    assert parse_mention("<@UBOT> assign me", "UBOT").user_id is None
    assert parse_mention("<@UBOT> tag urgent #vip", "UBOT").tags == ("urgent", "vip")
    assert parse_mention("<@UBOT> resolve", "UBOT").verb == "resolve"
    assert parse_mention("<@UBOT> note call back at 5", "UBOT").text == "call back at 5"
    assert parse_mention("<@UBOT>", "UBOT").verb == "help"


@pytest.mark.parametrize("text, problem", [
    ("snooze later", "unknown snooze"),
    ("snooze", "one of"),
    ("assign bob", "mention"),
    ("tag", "at least one"),
    ("resolve now", "no arguments"),
    ("dance", "don't know"),
])
def test_bad_mentions(text, problem):
    with pytest.raises(UsageError, match=problem):
        parse_mention(f"<@UBOT> {text}", "UBOT")
