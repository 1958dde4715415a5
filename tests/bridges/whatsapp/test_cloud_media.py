"""Meta media: the ack stores the message with a pending attachment and its fetch job;
the job downloads (Graph, bearer token, size limits) and the front ends hear of it."""

from __future__ import annotations

from datetime import timedelta

from tests.bridges.whatsapp.helpers import all_messages, post_meta
from tests.bridges.whatsapp.payloads import change, delivery, message
from tests.fakes.graph_api import graph_error

JPEG = b"\xff\xd8\xff\xe0" + b"x" * 500


def image(wamid: str, media_id: str) -> dict:
    return delivery(change([message("image", {"id": media_id, "mime_type": "image/jpeg",
                                              "caption": "look"}, wamid=wamid)]))


async def kinds(runtime) -> list[str]:
    return [r["kind"] for r in await runtime.outbox.rows()]


async def test_the_ack_stores_a_pending_attachment_and_its_fetch_job(client, runtime, graph):
    graph.add_media("m1", JPEG, "image/jpeg")
    r = await post_meta(client, image("p.1", "m1"))
    assert r.status_code == 200 and r.json()["stored"] == 1
    assert not graph.requests  # Meta's media servers are not in the ack's path
    [msg] = await all_messages(runtime.inbox)
    [pending] = msg.attachments
    assert pending.pending_ref == "m1" and pending.storage_key is None
    assert msg.body == "look"
    assert msg.meta["media_pending"] == [{"index": 0, "ref": "m1", "kind": "image"}]
    [job] = [r for r in await runtime.outbox.rows() if r["kind"].startswith("fetch_media")]
    assert job["kind"] == "fetch_media:whatsapp_cloud"
    assert job["payload"] == {"conversation_id": msg.conversation_id, "message_id": msg.id,
                              "index": 0}

    await runtime.dispatcher.drain()
    [msg] = await all_messages(runtime.inbox)
    [stored] = msg.attachments
    assert await runtime.files.get(stored.storage_key) == JPEG
    assert stored.size == len(JPEG) and stored.pending_ref is None
    assert "media_pending" not in msg.meta and msg.body == "look"
    assert graph.of("GET", "/m1") and graph.of("GET", "/download/m1")
    # Slack hears of the file after the message itself.
    order = await kinds(runtime)
    assert order.index("slack:message_added") < order.index("slack:message_changed")
    changed = [r for r in await runtime.outbox.rows() if r["kind"] == "slack:message_changed"]
    assert [r["payload"]["change"] for r in changed] == ["media"]
    await runtime.dispatcher.drain()
    assert len(graph.of("GET", "/download/m1")) == 1  # a finished job is not run again


async def test_a_fetch_that_keeps_failing_is_retried_then_told(client, runtime, graph, clock):
    for _ in range(2):
        graph.fail(graph_error(2, "Service temporarily unavailable", status=503),
                   path_contains="m2")
    await post_meta(client, image("p.2", "m2"))
    await runtime.dispatcher.drain()
    [msg] = await all_messages(runtime.inbox)
    assert msg.attachments[0].pending_ref == "m2"  # transient: still pending, retried later
    assert msg.body == "look"
    clock.advance(timedelta(days=2))  # past the retry horizon
    await runtime.dispatcher.drain()
    [msg] = await all_messages(runtime.inbox)
    assert msg.attachments[0].pending_ref is None and msg.attachments[0].storage_key is None
    assert msg.body.startswith("look\n[image ") and "could not be downloaded" in msg.body
    assert len(graph.of("GET", "/m2")) == 2


async def test_a_media_id_for_another_graph_path_stays_one_path(client, runtime, graph):
    await post_meta(client, image("p.3", "../me/accounts?x=1"))
    await runtime.dispatcher.drain()
    [request] = graph.requests
    assert request.path.endswith("/..%2Fme%2Faccounts%3Fx%3D1") and not request.query
    [msg] = await all_messages(runtime.inbox)
    assert "could not be downloaded" in msg.body  # the fake knows no such media
