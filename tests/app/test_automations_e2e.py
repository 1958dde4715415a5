"""Automations end to end against the fakes: a signed Meta webhook in, the rules engine,
the Slack card and thread out (fake Slack Web API on a real socket)."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from core.ports import ViewQuery
from tests.bot.slack import harness as slack_harness
from tests.bot.slack.harness import BOSS, INBOX, start_harness, stop_harness, whatsapp_settings
from tests.bridges.whatsapp.payloads import change, delivery, message, signed_meta
from tests.fakes.slack_api import FakeSlack

PHONE = "1234567890"  # the harness's "wa" account
APP_SECRET = "app-secret"
CUSTOMERS = ["34600000001", "34600000002", "34600000003", "34600000004"]
AGENTS = [("Ana Agent", "ana@shop.test", "UANA"), ("Bob Builder", "bob@shop.test", "UBOB"),
          ("Cai Chen", "cai@shop.test", "UCAI")]


def config_with_rules(rules: list[dict]) -> dict:
    cfg = copy.deepcopy(slack_harness.CONFIG)
    cfg["agents"] += [{"name": n, "email": e, "slack_user_id": u} for n, e, u in AGENTS]
    cfg["teams"] = [{"name": "Pedidos", "members": [e for _, e, _ in AGENTS]}]
    cfg["tags"].append({"name": "pedido", "colour": "#43a047"})
    cfg["tags"].append({"name": "sla-breached", "colour": "#8e24aa"})
    cfg["rules"] = rules
    return cfg


@pytest.fixture
async def slack():
    async with FakeSlack(token="xoxb-test") as fake:
        fake.add_user(BOSS, "boss", real_name="The Boss", email="boss@shop.test")
        for name, email, user in AGENTS:
            fake.add_user(user, name.split()[0].lower(), real_name=name, email=email)
        fake.add_channel(INBOX, "support")
        fake.set_members(INBOX, [u for _, _, u in AGENTS])
        yield fake


@pytest.fixture
async def make_harness(engine, slack, graph, tmp_path, monkeypatch):
    made = []

    async def make(rules: list[dict]):
        monkeypatch.setattr(slack_harness, "CONFIG", config_with_rules(rules))
        h, http = await start_harness(engine, slack, tmp_path, **whatsapp_settings(graph.url))
        made.append((h, http))
        assert await h.runtime.leader.try_acquire()
        await h.runtime.scheduler.run_jobs_now()  # the leader's first round: timers start
        return h

    yield make
    for h, http in made:
        await stop_harness(h, http)
        await h.runtime.leader.release()


async def customer_writes(h, sender: str, text: str, n: int):
    payload = delivery(change([message("text", {"body": text}, wamid=f"wamid.e2e.{n}",
                                       sender=sender, ts=str(int(h.clock.now().timestamp())))],
                              phone_id=PHONE, sender=sender))
    body, headers = signed_meta(APP_SECRET, payload)
    response = await h.http.post("/webhooks/whatsapp", content=body, headers=headers)
    assert response.status_code == 200, response.text
    await h.drain()


async def test_orders_are_assigned_round_robin_and_the_card_shows_it(make_harness, slack):
    h = await make_harness([{
        "name": "pedidos round robin", "trigger": ["conversation_opened"],
        "if": {"channel": "whatsapp", "text_matches": "(?i)pedido|order"},
        "then": [{"assign": {"team": "Pedidos", "strategy": "round_robin"}},
                 {"add_tags": ["pedido"]}]}])
    for n, sender in enumerate(CUSTOMERS):
        await customer_writes(h, sender, f"Hola, ¿dónde está mi pedido {4410 + n}?", n)
    await customer_writes(h, "34600000009", "Hola, ¿abrís el sábado?", 9)  # no match

    agents = {a.email: a for a in await h.inbox.agents()}
    convs = sorted(await h.inbox.list_conversations(ViewQuery(limit=50)), key=lambda c: c.id)
    assert [c.assignee_id for c in convs] == [
        agents["ana@shop.test"].id, agents["bob@shop.test"].id, agents["cai@shop.test"].id,
        agents["ana@shop.test"].id, None]
    for conv, (name, _, user) in zip(convs, [AGENTS[0], AGENTS[1], AGENTS[2], AGENTS[0]],
                                     strict=False):
        card = h.card(conv.id)
        shown = str(card.blocks)
        assert f"*Assignee*\\n<@{user}>" in shown and "pedido" in shown, shown
        lines = [m.text for m in slack.thread_replies(INBOX, card.ts)]
        assert any("pedidos round robin: assigned to Pedidos" in t and name in t
                   for t in lines), lines
    assert "pedido" not in str(h.card(convs[-1].id).blocks)


async def test_a_first_response_sla_of_seconds_pings_the_manager_once(make_harness, slack):
    h = await make_harness([{
        "name": "first response SLA", "trigger": ["no_first_response"], "after": "3s",
        "then": [{"notify": {"role": "manager"}}, {"add_tags": ["sla-breached"]}]}])
    await customer_writes(h, CUSTOMERS[0], "Hola, necesito ayuda", 1)
    [conv] = await h.inbox.list_conversations(ViewQuery())
    card = h.card(conv.id)
    h.clock.advance(timedelta(seconds=2))
    await h.runtime.scheduler.run_jobs_now()
    await h.drain()
    assert not [m for m in slack.thread_replies(INBOX, card.ts) if f"<@{BOSS}>" in m.text]
    for _ in range(3):  # due now; later rounds find it fired already
        h.clock.advance(timedelta(seconds=2))
        await h.runtime.scheduler.run_jobs_now()
        await h.drain()
    pings = [m for m in slack.thread_replies(INBOX, card.ts) if f"<@{BOSS}>" in m.text]
    assert len(pings) == 1
    assert "sla-breached" in str(h.card(conv.id).blocks)
