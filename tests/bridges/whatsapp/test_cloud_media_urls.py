"""Meta media, step two: our bearer token only goes to Meta's media hosts (or the
configured Graph origin), and a redirect is never taken for the file."""

from __future__ import annotations

import httpx
import pytest

from bridges.whatsapp_cloud.graph import GraphClient, media_policy
from core.delivery import PermanentError, TransientError
from tests.bridges.whatsapp.conftest import TOKEN
from tests.bridges.whatsapp.helpers import all_messages, post_meta
from tests.bridges.whatsapp.payloads import change, delivery, message
from tests.fakes.graph_api import graph_error

JPEG = b"\xff\xd8\xff\xe0" + b"x" * 500
LOOKASIDE = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1&ext=2&hash=3"


def image(wamid: str, media_id: str) -> dict:
    return delivery(change([message("image", {"id": media_id, "mime_type": "image/jpeg"},
                                    wamid=wamid)]))


def carried_token(fake) -> bool:
    return any(TOKEN in r.headers.get("authorization", "") for r in fake.requests)


async def fetched(client, runtime, wamid: str, media_id: str):
    await post_meta(client, image(wamid, media_id))
    await runtime.dispatcher.drain()
    [msg] = await all_messages(runtime.inbox)
    [attachment] = msg.attachments
    return msg, attachment


async def test_a_media_url_on_another_server_never_gets_the_token(client, runtime, graph,
                                                                  graph2):
    graph2.add_media("x1", b"stolen?", "image/jpeg")
    graph.add_media("x1", JPEG, "image/jpeg", url=f"{graph2.url}/download/x1")
    msg, attachment = await fetched(client, runtime, "u.1", "x1")
    assert not graph2.requests and not carried_token(graph2)
    assert attachment.storage_key is None and attachment.pending_ref is None
    assert "media URL refused: 127.0.0.1 is not a Meta media host" in msg.body
    assert "could not be downloaded" in msg.body
    assert len(graph.of("GET", "/x1")) == 1  # refused for good, not retried


async def test_a_302_is_not_stored_as_the_file_nor_followed(client, runtime, graph, graph2):
    graph.add_media("r1", JPEG, "image/jpeg")
    graph2.add_media("r1", JPEG, "image/jpeg")
    graph.redirect_next(f"{graph2.url}/download/r1", path_contains="/download/r1")
    msg, attachment = await fetched(client, runtime, "u.2", "r1")
    assert attachment.storage_key is None and attachment.pending_ref is None
    assert "answered HTTP 302 (a redirect) instead of the file" in msg.body
    assert not graph2.requests  # the redirect target was never asked, token or not
    assert len(graph.of("GET", "/download/r1")) == 1


async def test_a_redirect_even_to_the_graph_origin_is_not_followed(client, runtime, graph):
    graph.add_media("r2", JPEG, "image/jpeg")
    graph.redirect_next("/download/r2", status=307, path_contains="/download/r2")
    msg, attachment = await fetched(client, runtime, "u.3", "r2")
    assert attachment.storage_key is None
    assert "answered HTTP 307 (a redirect)" in msg.body
    assert len(graph.of("GET", "/download/r2")) == 1


async def test_a_graph_error_on_the_download_keeps_its_meaning(client, runtime, graph):
    graph.add_media("e1", JPEG, "image/jpeg")
    graph.fail(graph_error(100, "Media not found", "media expired", status=404),
               path_contains="/download/e1")
    msg, attachment = await fetched(client, runtime, "u.4", "e1")
    assert attachment.storage_key is None and "media expired" in msg.body


async def test_the_client_refuses_before_connecting_and_maps_status(graph):
    async with httpx.AsyncClient() as http:
        client = GraphClient(graph.url, TOKEN, http)
        with pytest.raises(PermanentError, match="http scheme is refused"):
            await client.download(LOOKASIDE.replace("https:", "http:"), 1000)
        host, port = graph.server.server_address[:2]
        with pytest.raises(PermanentError, match="is not a Meta media host"):
            await client.download(f"http://{host}:{port + 1}/download/m", 1000)
        graph.add_media("ok", JPEG, "image/jpeg")
        assert await client.download(f"{graph.url}/download/ok", 1000) == JPEG
        graph.fail(graph_error(2, "Service temporarily unavailable", status=503),
                   path_contains="/download/ok")
        with pytest.raises(TransientError):
            await client.download(f"{graph.url}/download/ok", 1000)
    assert not [r for r in graph.requests if str(port + 1) in r.path]


@pytest.mark.parametrize("url", [
    LOOKASIDE,
    "https://scontent.whatsapp.net/v/t61/abc.jpg",
    "https://graph.facebook.com/v21.0/attachments/1",
])
def test_meta_media_hosts_are_allowed(url):
    assert media_policy("https://graph.facebook.com/v21.0").refusal(url) is None


@pytest.mark.parametrize("url, reason", [
    (LOOKASIDE.replace("https:", "http:"), "http scheme is refused"),
    ("https://lookaside.fbsbx.com:8443/x", "port 8443 is refused"),
    ("https://lookaside.fbsbx.com.evil.example/x", "is not a Meta media host"),
    ("https://evilfbsbx.com/x", "is not a Meta media host"),
    ("https://fbsbx.com/x", "is not a Meta media host"),
    ("https://169.254.169.254/latest/meta-data", "is not a Meta media host"),
    ("https://user:pw@lookaside.fbsbx.com/x", "carries credentials"),
    ("not a url at all", "is not a Meta media host"),
    ("https://lookaside.fbsbx.com/" + "a" * 3000, "longer than"),
])
def test_everything_else_is_refused_with_a_reason(url, reason):
    refusal = media_policy("https://graph.facebook.com/v21.0").refusal(url)
    assert refusal is not None and reason in refusal


def test_only_the_exact_configured_graph_origin_is_added():
    policy = media_policy("http://127.0.0.1:8080/v21.0")
    assert policy.refusal("http://127.0.0.1:8080/download/m1") is None
    assert policy.refusal("http://127.0.0.1:8081/download/m1") is not None
    assert policy.refusal("https://127.0.0.1:8080/download/m1") is not None
    assert policy.refusal("http://localhost:8080/download/m1") is not None
