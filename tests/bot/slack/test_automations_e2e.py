"""Automations in Slack: notify pings (built-in urgent rule and configured rules), rule
system lines, automatic replies, and availability (/inbox away|back, the Home toggle)."""

import json
from types import SimpleNamespace

import pytest

from core.model import Actor, MessageKind
from tests.bot.slack.harness import ADA, ANA, BOSS, INBOX, OUTSIDER, running_harness
from tests.bot.slack.harness import command as slash_inbox

SYS = Actor.system()


def text_of(message) -> str:
    return json.dumps(message.blocks or [], ensure_ascii=False) + (message.text or "")


def pings(h, card, who: str = BOSS) -> list:
    return [m for m in h.slack.thread_replies(INBOX, card.ts) if f"<@{who}>" in text_of(m)]


async def settle(h, rounds: int = 3) -> None:
    for _ in range(rounds):
        h.advance(60)
        await h.drain()


async def notify(h, conv_id: int, row_id: int = 9001, **payload) -> None:
    """Run the `slack:notify` handler on a row as the dispatcher would."""
    payload = {"conversation_id": conv_id, "rule": "vip alert", "role": None,
               "agent_id": None, **payload}
    await h.runtime.slack.mirror.notify(SimpleNamespace(id=row_id, payload=payload))


# -- notify --------------------------------------------------------------------------------


async def test_each_urgent_tagging_pings_the_managers_once(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    await h.inbox.add_tags(r.conversation_id, ["urgent"], SYS)
    await h.drain()
    (ping,) = pings(h, card)
    assert "Urgent conversation" in text_of(ping) and "Lucía" in text_of(ping)
    assert "urgent ping" in text_of(ping)  # names the rule
    assert "archives" in text_of(ping)  # links the card
    lines = [m for m in h.slack.thread_replies(INBOX, card.ts)
             if "⚙️ urgent ping: notified the managers" in text_of(m)]
    assert len(lines) == 1  # the rule's system line, once
    await h.inbox.add_tags(r.conversation_id, ["vip"], SYS)
    await h.drain()
    assert len(pings(h, card)) == 1
    await h.inbox.remove_tags(r.conversation_id, ["urgent"], SYS)
    await h.inbox.add_tags(r.conversation_id, ["urgent"], SYS)
    await h.drain()
    assert len(pings(h, card)) == 2  # tagged urgent again: pinged again


async def test_an_urgent_card_alone_pings_nobody(engine, slack, tmp_path):
    """The card only shows urgency; the ping comes from the rule (here turned off)."""
    config = {"builtin_rules": {"urgent_ping": False}}
    async with running_harness(engine, slack, tmp_path, config) as h:
        r = await h.customer_writes()
        card = h.card(r.conversation_id)
        await h.inbox.add_tags(r.conversation_id, ["urgent"], SYS)
        await h.drain()
        assert "URGENT" in text_of(h.slack.message(INBOX, card.ts))
        assert pings(h, card) == []
        assert len(h.slack.thread_replies(INBOX, card.ts)) == 1  # the customer's message


async def test_a_ping_whose_answer_was_lost_is_not_posted_twice(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    h.slack.lose_answer_next("chat.postMessage", times=2)  # the system line and the ping
    await h.inbox.add_tags(r.conversation_id, ["urgent"], SYS)
    await settle(h)
    assert len(pings(h, card)) == 1
    await notify(h, r.conversation_id, row_id=77, role="manager")
    await notify(h, r.conversation_id, row_id=77, role="manager")  # the same row again
    assert len(pings(h, card)) == 2


async def test_notify_recipients_by_role_and_by_agent(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    client = h.runtime.slack.gateway.client
    await h.runtime.slack.identity.agent(client, ADA)  # Ada acted once: her Slack id is known
    ana = await h.runtime.slack.identity.agent(client, ANA)
    await notify(h, r.conversation_id, row_id=1, role="manager")
    managers = h.slack.thread_replies(INBOX, card.ts)[-1]
    assert f"<@{BOSS}>" in text_of(managers) and f"<@{ADA}>" in text_of(managers)
    assert "vip alert" in text_of(managers) and f"<@{ANA}>" not in text_of(managers)
    await notify(h, r.conversation_id, row_id=2, role="admin")
    admins = h.slack.thread_replies(INBOX, card.ts)[-1]
    assert f"<@{ADA}>" in text_of(admins) and f"<@{BOSS}>" not in text_of(admins)
    await notify(h, r.conversation_id, row_id=3, agent_id=ana.id)
    one = h.slack.thread_replies(INBOX, card.ts)[-1]
    assert f"<@{ANA}>" in text_of(one)
    assert f"<@{BOSS}>" not in text_of(one) and f"<@{ADA}>" not in text_of(one)


async def test_notify_with_nobody_reachable_says_so_in_the_thread(h):
    r = await h.customer_writes()
    card = h.card(r.conversation_id)
    await notify(h, r.conversation_id, role="admin")  # Ada never used Slack: no id
    line = h.slack.thread_replies(INBOX, card.ts)[-1]
    assert "nobody" in text_of(line) and "the admins" in text_of(line)
    assert "<@" not in text_of(line)


async def test_a_configured_rule_notifies_one_agent(engine, slack, tmp_path):
    config = {"rules": [{"name": "vip alert", "trigger": ["tag_added"], "if": {"tag": "vip"},
                         "then": [{"notify": {"agent": "boss@shop.test"}}]}]}
    async with running_harness(engine, slack, tmp_path, config) as h:
        r = await h.customer_writes()
        card = h.card(r.conversation_id)
        await h.inbox.add_tags(r.conversation_id, ["vip"], SYS)
        await h.drain()
        (ping,) = pings(h, card)
        assert "vip alert" in text_of(ping) and "Lucía" in text_of(ping)
        assert "Urgent" not in text_of(ping)


# -- system lines and automatic replies ----------------------------------------------------


AUTO = {
    "templates": [{"name": "ooh", "channel": "whatsapp", "body": "Hola {{name}}, volvemos a las 9",
                   "language": "es", "provider_name": "ooh"}],
    "auto_replies": [{"name": "out of hours", "when": "always", "channels": ["whatsapp"],
                      "template": "ooh"}],
    "rules": [{"name": "vip to billing", "trigger": ["conversation_opened"],
               "then": [{"add_tags": ["vip"]}]}],
}


async def test_rule_lines_and_automatic_replies_show_as_automatic(engine, slack, tmp_path):
    async with running_harness(engine, slack, tmp_path, AUTO) as h:
        r = await h.customer_writes(name="<!channel> Lucía")
        await settle(h)
        card = h.card(r.conversation_id)
        replies = h.slack.thread_replies(INBOX, card.ts)
        (line,) = [m for m in replies if "vip to billing" in text_of(m)]
        assert [b["type"] for b in line.blocks] == ["context"]
        assert line.blocks[0]["elements"][0]["text"].startswith("⚙️ vip to billing: tagged vip")
        (auto,) = [m for m in replies if "volvemos" in text_of(m)]
        head = auto.blocks[0]["elements"][0]["text"]
        assert "⚙️ Automatic reply" in head and "out of hours" in head
        assert "Automation" not in head and "<!channel>" not in text_of(auto)
        thread = await h.inbox.thread(r.conversation_id)
        (sent,) = [m for m in thread if m.kind is MessageKind.MESSAGE and m.direction.value
                   == "out"]
        assert sent.meta.get("auto_reply") is True
        assert h.outgoing and "volvemos" in h.outgoing[-1][1]
        statuses = [m for m in replies if f"send:{sent.id}" in text_of(m)]
        assert len(statuses) == 1
        assert "tl_undo_send" not in text_of(statuses[0])  # no undo window to offer


# -- availability --------------------------------------------------------------------------


async def command(h, text: str, user: str = ANA) -> dict:
    return (await slash_inbox(h, text, user)).args


async def available(h, user: str) -> bool:
    return (await h.inbox.agent_by_slack_id(user)).available


def home_block(h, user: str) -> dict:
    view = h.slack.home_views[user]
    return next(b for b in view["blocks"] if b.get("block_id") == "home:availability")


async def test_inbox_away_and_back(h):
    answer = await command(h, "away")
    assert "You're away" in json.dumps(answer) and "/inbox back" in json.dumps(answer)
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert await available(h, ANA) is False
    again = await command(h, "away")
    assert "already away" in json.dumps(again)
    await h.post(h.req.event(h.req.app_home_opened_event(ANA)))
    await h.wait(lambda: ANA in h.slack.home_views)
    assert home_block(h, ANA)["accessory"]["value"] == "back"
    answer = await command(h, "back")
    assert "You're back" in json.dumps(answer)
    assert await available(h, ANA) is True
    assert "/inbox away" in json.dumps(await command(h, "help"))


async def test_the_home_toggle_flips_availability_and_redraws(h):
    await h.post(h.req.event(h.req.app_home_opened_event(ANA)))
    await h.wait(lambda: ANA in h.slack.home_views)
    assert home_block(h, ANA)["accessory"]["value"] == "away"

    async def click(value: str):
        signed = h.req.block_actions(h.req.action("tl_home_availability", value=value),
                                     user=ANA, view={"id": "VHOME", "type": "home"})
        assert (await h.post(signed)).status_code == 200

    await click("away")
    await h.wait(lambda: home_block(h, ANA)["accessory"]["value"] == "back")
    assert await available(h, ANA) is False
    assert "away" in home_block(h, ANA)["text"]["text"]
    await click("back")
    await h.wait(lambda: home_block(h, ANA)["accessory"]["value"] == "away")
    assert await available(h, ANA) is True


@pytest.mark.parametrize("text", ["away", "back"])
async def test_outsiders_cannot_set_availability(h, text):
    answer = await command(h, text, user=OUTSIDER)
    assert "not on it" in json.dumps(answer)
    assert await h.inbox.agent_by_slack_id(OUTSIDER) is None
    signed = h.req.block_actions(h.req.action("tl_home_availability", value="away"),
                                 user=OUTSIDER, view={"id": "VHOME", "type": "home"})
    assert (await h.post(signed)).status_code == 200
    await h.runtime.slack.gate.settle()
    assert await h.inbox.agent_by_slack_id(OUTSIDER) is None
    assert "tl_home_availability" not in json.dumps(h.slack.home_views.get(OUTSIDER) or {})
