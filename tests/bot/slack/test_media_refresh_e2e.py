"""Customer files fetched after their message reached Slack: the post that shows a message
ends showing the file (or why there is none), whether it was posted alone or coalesced
with the messages behind it."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.bot.slack.harness import INBOX
from tests.bridges.whatsapp.payloads import change, delivery, message, signed_meta
from tests.fakes.graph_api import graph_error

PHONE_ID = "1234567890"  # the harness's "wa" account
JPEG = b"\xff\xd8\xff\xe0" + b"j" * 300
PNG = b"\x89PNG\r\n\x1a\n" + b"p" * 200


def image(media_id: str, caption: str, wamid: str) -> dict:
    return message("image", {"id": media_id, "mime_type": "image/jpeg", "caption": caption},
                   wamid=wamid)


async def webhook(hw, *messages: dict) -> None:
    """One Meta delivery: its messages are all stored before Slack hears of the first."""
    body, headers = signed_meta("app-secret", delivery(change(messages, phone_id=PHONE_ID)))
    r = await hw.http.post("/webhooks/whatsapp", content=body, headers=headers)
    assert r.status_code == 200, r.text


def shown(m) -> str:
    return json.dumps(m.blocks or [], ensure_ascii=False) + (m.text or "")


async def settle(hw) -> None:
    for _ in range(6):  # past the fetch jobs' retry backoff
        hw.advance(120)
        await hw.drain()


async def thread_of(hw):
    """The card and the customer's posts under it (uploaded files are posts of their own)."""
    [parent] = hw.slack.parents_in(INBOX)
    replies = hw.slack.thread_replies(INBOX, parent.ts)
    return parent, [hw.slack.message(INBOX, r.ts) for r in replies if not r.files]


async def test_a_coalesced_post_shows_every_file_once_fetched(hw, graph):
    graph.add_media("m1", JPEG, "image/jpeg")
    graph.add_media("m2", PNG, "image/png")
    for media in ("/m1", "/m2"):  # first attempts fail: the post goes out "downloading"
        graph.fail(graph_error(2, "Service temporarily unavailable", status=503),
                   path_contains=media)
    await webhook(hw, image("m1", "foto uno", "wamid.c1"), message(
        "text", {"body": "y otra cosa"}, wamid="wamid.c2"), image("m2", "foto dos", "wamid.c3"))
    await hw.drain()
    parent, [post] = await thread_of(hw)  # three messages, one coalesced post
    assert shown(post).count("Downloading") == 2
    assert all(t in shown(post) for t in ("foto uno", "y otra cosa", "foto dos"))

    await settle(hw)
    parent, [post] = await thread_of(hw)
    text = shown(post)
    assert "Downloading" not in text
    assert all(t in text for t in ("foto uno", "y otra cosa", "foto dos"))  # none lost
    assert text.index("foto uno") < text.index("y otra cosa") < text.index("foto dos")
    uploads = hw.slack.uploads_in(INBOX, parent.ts)
    assert sorted(hw.slack.file_bytes(f.id) for f in uploads) == sorted([JPEG, PNG])


async def test_a_coalesced_file_that_cannot_be_had_says_why_in_its_post(hw, graph):
    graph.add_media("ok", JPEG, "image/jpeg")
    graph.fail(graph_error(2, "Service temporarily unavailable", status=503),
               path_contains="/ok")
    graph.fail(graph_error(2, "Service temporarily unavailable", status=503),
               path_contains="/gone")  # then a 404 for good: the fake knows no such media
    await webhook(hw, message("text", {"body": "mira"}, wamid="wamid.f1"),
                  image("ok", "la buena", "wamid.f2"), image("gone", "la mala", "wamid.f3"))
    await hw.drain()
    _, [post] = await thread_of(hw)
    assert shown(post).count("Downloading") == 2

    await settle(hw)
    parent, [post] = await thread_of(hw)
    text = shown(post)
    assert "Downloading" not in text
    assert all(t in text for t in ("mira", "la buena", "la mala"))
    assert "could not be downloaded" in text and "Not attached" in text
    [upload] = hw.slack.uploads_in(INBOX, parent.ts)
    assert hw.slack.file_bytes(upload.id) == JPEG


async def test_a_message_posted_alone_is_refreshed_too(hw, graph):
    graph.add_media("solo", JPEG, "image/jpeg")
    graph.fail(graph_error(2, "Service temporarily unavailable", status=503),
               path_contains="/solo")
    await webhook(hw, image("solo", "sola", "wamid.s1"))
    await hw.drain()
    _, [post] = await thread_of(hw)
    assert "Downloading" in shown(post)
    await settle(hw)
    parent, [post] = await thread_of(hw)
    assert "Downloading" not in shown(post) and "sola" in shown(post)
    assert len(hw.slack.uploads_in(INBOX, parent.ts)) == 1


async def test_a_file_fetched_while_slack_was_away_keeps_the_whole_post(hw, graph):
    """The files land before the post (Slack down); the refresh that follows must not
    shrink the coalesced post to its first message."""
    graph.add_media("a1", JPEG, "image/jpeg")
    graph.add_media("a2", PNG, "image/png")
    hw.slack.set_down(True)
    await webhook(hw, image("a1", "primera", "wamid.d1"), image("a2", "segunda", "wamid.d2"))
    await hw.drain()
    hw.slack.set_down(False)
    for _ in range(10):
        hw.advance(timedelta(minutes=1).total_seconds())
        await hw.drain()
    parent, [post] = await thread_of(hw)
    text = shown(post)
    assert "primera" in text and "segunda" in text and "Downloading" not in text
    assert len(hw.slack.uploads_in(INBOX, parent.ts)) == 2


async def test_a_reaction_on_a_coalesced_message_keeps_the_whole_post(hw, graph):
    await webhook(hw, message("text", {"body": "uno"}, wamid="wamid.r1"),
                  message("text", {"body": "dos"}, wamid="wamid.r2"))
    await hw.drain()
    for wamid, emoji in (("wamid.r1", "👍"), ("wamid.r2", "🙏")):
        await hw.inbox.react("whatsapp_cloud", wamid, emoji, "+16505551234")
        await hw.drain()
    _, [post] = await thread_of(hw)
    text = shown(post)
    assert "uno" in text and "dos" in text
    assert "Customer reacted 👍" in text and "Customer reacted 🙏" in text


def test_a_redrawn_post_that_grew_stays_under_slacks_block_limit():
    from bot.slack.mirror import MAX_BLOCKS, _joined

    payloads = [{"text": f"m{n}", "blocks": [{"type": "divider"}] * 12} for n in range(5)]
    joined = _joined(payloads)
    assert len(joined["blocks"]) == MAX_BLOCKS and "m4" in joined["text"]
    assert "no more of these messages" in json.dumps(joined["blocks"][-1])
