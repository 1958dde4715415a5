"""Customer files in the thread: each in the same post as its caption, in the order sent; a
file that is slow to come follows its message's post, and one that cannot be had is said."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.slack.file_posts import MEDIA_WAIT_SECONDS
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


async def run_for(hw, seconds: int) -> None:
    """The dispatcher at work for a while, second by second."""
    for _ in range(seconds):
        hw.advance(1)
        await hw.drain()


async def settle(hw) -> None:
    for _ in range(6):  # past the fetch jobs' retry backoff
        hw.advance(120)
        await hw.drain()


async def thread_of(hw):
    """The card and every post under it, in thread order."""
    [parent] = hw.slack.parents_in(INBOX)
    replies = hw.slack.thread_replies(INBOX, parent.ts)
    return parent, [hw.slack.message(INBOX, r.ts) for r in replies]


def files_of(post) -> list[bytes]:
    return [f.content for f in post.files or []]


async def test_a_photo_shares_its_post_with_its_caption_in_the_order_sent(hw, graph):
    graph.add_media("m1", JPEG, "image/jpeg")
    graph.add_media("m2", PNG, "image/png")
    await webhook(hw, image("m1", "foto uno", "wamid.c1"), message(
        "text", {"body": "y otra cosa"}, wamid="wamid.c2"), image("m2", "foto dos", "wamid.c3"))
    await run_for(hw, 5)
    await settle(hw)
    _, posts = await thread_of(hw)
    assert [(files_of(p), [t for t in ("foto uno", "y otra cosa", "foto dos") if t in shown(p)])
            for p in posts] == [([JPEG], ["foto uno"]), ([], ["y otra cosa"]),
                                ([PNG], ["foto dos"])]
    for post in (posts[0], posts[2]):  # Slack shows a file post under the bot: named in it
        assert ":bust_in_silhouette: *" in shown(post) and "Downloading" not in shown(post)
    assert len(hw.slack.uploads_in(INBOX)) == 2  # a retry of a row shares nothing twice


async def test_a_slow_file_holds_the_messages_behind_it_then_follows_its_post(hw, graph):
    graph.add_media("m1", JPEG, "image/jpeg")
    for _ in range(40):  # far longer than the mirror waits for a file
        graph.fail(graph_error(2, "Service temporarily unavailable", status=503),
                   path_contains="/m1")
    await webhook(hw, image("m1", "foto lenta", "wamid.w1"),
                  message("text", {"body": "después"}, wamid="wamid.w2"))
    await run_for(hw, int(MEDIA_WAIT_SECONDS) - 2)
    _, posts = await thread_of(hw)
    assert posts == []  # waiting for the photo: "después" does not overtake it
    await run_for(hw, 4)
    _, posts = await thread_of(hw)
    assert ["foto lenta" in shown(p) for p in posts] == [True, False]
    assert "Downloading" in shown(posts[0]) and "después" in shown(posts[1])

    graph.scripted.clear()  # Meta serves the file again
    await settle(hw)
    _, posts = await thread_of(hw)
    assert len(posts) == 3 and "Downloading" not in shown(posts[0])
    assert files_of(posts[2]) == [JPEG]
    assert ":paperclip:" in shown(posts[2]) and "foto lenta" in shown(posts[2])


async def test_a_file_that_cannot_be_had_says_why_in_its_post(hw, graph):
    graph.add_media("ok", JPEG, "image/jpeg")
    graph.fail(graph_error(2, "Service temporarily unavailable", status=503),
               path_contains="/ok")
    graph.fail(graph_error(2, "Service temporarily unavailable", status=503),
               path_contains="/gone")  # then a 404 for good: the fake knows no such media
    await webhook(hw, message("text", {"body": "mira"}, wamid="wamid.f1"),
                  image("ok", "la buena", "wamid.f2"), image("gone", "la mala", "wamid.f3"))
    await run_for(hw, 10)  # the retried fetch lands while its message waits for it
    await settle(hw)
    _, posts = await thread_of(hw)
    assert ["mira" in shown(posts[0]), "la buena" in shown(posts[1]),
            "la mala" in shown(posts[2])] == [True, True, True]
    assert [files_of(p) for p in posts] == [[], [JPEG], []]
    assert "could not be downloaded" in shown(posts[2]) and "Not attached" in shown(posts[2])
    assert not any("Downloading" in shown(p) for p in posts)


async def test_files_fetched_while_slack_was_away_are_each_in_their_post(hw, graph):
    graph.add_media("a1", JPEG, "image/jpeg")
    graph.add_media("a2", PNG, "image/png")
    hw.slack.set_down(True)
    await webhook(hw, image("a1", "primera", "wamid.d1"), image("a2", "segunda", "wamid.d2"))
    await hw.drain()
    hw.slack.set_down(False)
    for _ in range(10):
        hw.advance(timedelta(minutes=1).total_seconds())
        await hw.drain()
    _, posts = await thread_of(hw)
    assert [(files_of(p), "primera" in shown(p), "segunda" in shown(p)) for p in posts] == [
        ([JPEG], True, False), ([PNG], False, True)]
    assert len(hw.slack.uploads_in(INBOX)) == 2


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
