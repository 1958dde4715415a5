"""Hostile input at /slack/events: mutated but validly signed event and interaction bodies,
broken encodings and oversized bodies never get a 5xx, and the app keeps working."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bot.slack.harness import ANA, INBOX

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

junk = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=30) | st.sampled_from(["\ud800", "<@U0BOT>", "&gt;&gt;", "note:"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)


def mutate(document, data):
    """Replace, drop or add one value somewhere inside `document` (a JSON-like tree)."""
    doc = json.loads(json.dumps(document))
    node, path = doc, []
    for _ in range(data.draw(st.integers(0, 4))):
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) \
            if isinstance(node, list) else []
        if not keys:
            break
        key = data.draw(st.sampled_from(keys))
        if not isinstance(node[key], dict | list):
            break
        path.append(key)
        node = node[key]
    action = data.draw(st.sampled_from(["replace", "drop", "add"]))
    if isinstance(node, dict) and node:
        key = data.draw(st.sampled_from(sorted(node)))
        if action == "drop":
            del node[key]
        else:
            node[key if action == "replace" else key + "_x"] = data.draw(junk)
    elif isinstance(node, list) and node:
        node[data.draw(st.integers(0, len(node) - 1))] = data.draw(junk)
    return doc


def samples(h, card_ts: str) -> list[tuple[str, dict]]:
    r = h.req
    event = r.event_envelope(r.message_event(INBOX, "hola", user=ANA, thread_ts=card_ts))
    mention = r.event_envelope(r.app_mention_event(INBOX, f"{r.mention()} tag vip", user=ANA,
                                                   thread_ts=card_ts))
    edit = r.event_envelope(r.message_changed_event(INBOX, card_ts, "x", user=ANA,
                                                    thread_ts=card_ts))
    action = r.block_actions_payload(r.action("tl_resolve", value="1"), user=ANA,
                                     channel=INBOX, message_ts=card_ts)
    view = r.view_submission_payload({"id": "V1", "type": "modal",
                                      "callback_id": "tl_note_modal",
                                      "private_metadata": json.dumps({"conversation_id": 1}),
                                      "blocks": []},
                                     user=ANA, values={"note_text": {"text": {
                                         "type": "plain_text_input", "value": "n"}}})
    shortcut = r.message_action_payload("tl_shortcut_resolve", user=ANA, channel=INBOX,
                                        message_ts=card_ts)
    suggestion = r.block_suggestion_payload("customer", "ac", user=ANA)
    return [("event", event), ("event", mention), ("event", edit), ("form", action),
            ("form", view), ("form", shortcut), ("form", suggestion)]


async def post_document(h, kind: str, document):
    if kind == "event":
        body = json.dumps(document).encode()
        return await h.post(h.req.sign(body, JSON))
    fields = {"payload": json.dumps(document)}
    return await h.post(h.req.signed_form(fields))


async def _conversation(h) -> tuple[int, str]:
    if not hasattr(h, "fuzz_conversation"):
        r = await h.customer_writes()
        h.fuzz_conversation = (r.conversation_id, h.card(r.conversation_id).ts)
    return h.fuzz_conversation


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_mutated_signed_bodies_never_get_a_5xx(h, data):
    conv_id, card_ts = await _conversation(h)
    kind, document = data.draw(st.sampled_from(samples(h, card_ts)))
    response = await post_document(h, kind, mutate(document, data))
    assert response.status_code < 500, (response.status_code, response.text)


async def test_broken_bodies_get_a_4xx_and_the_app_keeps_working(h):
    conv_id, card_ts = await _conversation(h)
    signed = h.req.sign(b"{not json", JSON)
    assert (await h.post(signed)).status_code == 400
    # Slack signs text: bytes that are not UTF-8 cannot carry a valid signature
    forged = dict(h.req.sign(b"{}", JSON).headers, **{"X-Slack-Signature": "v0=00"})
    assert (await h.http.post("/slack/events", content=b"\xff\xfe{}", headers=forged)
            ).status_code == 401
    deep = b'{"type":"event_callback","event":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    assert 400 <= (await h.post(h.req.sign(deep, JSON))).status_code < 500
    big = h.req.sign(b"x" * (3 * 1024 * 1024), JSON)
    assert (await h.post(big)).status_code == 413
    not_form = h.req.sign(b"payload=%7Bnot-json", FORM)
    assert 400 <= (await h.post(not_form)).status_code < 500
    await _good_message_still_works(h, card_ts, conv_id, "sigo funcionando")
    # a lone surrogate (which no database stores) arrives as U+FFFD, not as a lost message
    await _good_message_still_works(h, card_ts, conv_id, "note: roto \ud800 aquí")


async def _good_message_still_works(h, card_ts: str, conv_id: int, text: str) -> None:
    event = h.req.message_event(INBOX, text, user=ANA, thread_ts=card_ts)
    assert (await h.post(h.req.event(event))).status_code == 200
    expected = text.replace("\ud800", "\ufffd").removeprefix("note: ")

    async def stored():
        return any(m.body == expected for m in await h.inbox.thread(conv_id))
    await h.wait(stored)
