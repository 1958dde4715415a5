"""Hypothesis strategies that mutate real webhook samples structurally, then sign them as
Meta and Twilio would: values replaced by lists, numbers, null, deep nesting, huge strings,
lone surrogates and NULs; keys dropped or added; list items and form fields duplicated."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from urllib.parse import parse_qsl, urlencode

from hypothesis import strategies as st

from tests.bridges.whatsapp.payloads import (
    change,
    delivery,
    message,
    meta_signature,
    status,
    twilio_inbound,
    twilio_status,
)

DEEP = "\x01deep\x01"  # replaced in the JSON text by nesting too deep to build as objects
BIGNUM = "\x01bignum\x01"  # replaced by an integer literal Python refuses to convert
SURROGATES = ["\ud800", "a\udfffz", "\ud83d", "\udc00\ud800"]
ODD_TEXT = ["\x00", "a\x00b", "\u202e\u2066", "\ufeff", "<!channel>", "' OR 1=1 --", "",
            " ", "whatsapp:", "+", "𝕏🙂", "%00", "\\u0000", "null"]
NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**70), 10**30, 1.5, -0.0, 1e308, float("inf"),
           float("-inf"), float("nan")]
HUGE = [5_000, 70_000, 600_000]  # characters


def hostile_values() -> st.SearchStrategy:
    scalars = st.one_of(st.none(), st.booleans(), st.sampled_from(NUMBERS), st.integers(),
                        st.sampled_from(SURROGATES + ODD_TEXT), st.text(max_size=12))
    return st.one_of(
        scalars,
        st.sampled_from(HUGE).map(lambda n: "é" * n),
        st.sampled_from(HUGE[:2]).map(lambda n: " ".join(f"w{i}" for i in range(n // 4))),
        st.lists(scalars, max_size=3),
        st.dictionaries(st.text(max_size=6), scalars, max_size=3),
        st.sampled_from([DEEP, BIGNUM]),
    )


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _mutate(doc, path, op: str, value):
    if not path:
        return value if op == "replace" else [doc, doc] if op == "duplicate" else doc
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if op == "replace":
        parent[last] = value
    elif op == "drop":
        del parent[last]
    elif op == "wrap":
        parent[last] = [parent[last]] if isinstance(value, list) else {"v": parent[last]}
    elif op == "duplicate" and isinstance(parent, list):
        parent.insert(last, copy.deepcopy(parent[last]))
    elif op == "duplicate":
        parent[last] = [parent[last], copy.deepcopy(parent[last])]
    elif op == "add_key" and isinstance(parent[last], dict):
        parent[last][str(value)[:20]] = value
    return doc


@st.composite
def meta_bodies(draw) -> bytes:
    doc = copy.deepcopy(draw(st.sampled_from(META_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        # Not the root: hypothesis favours the first path, and a non-object body is a
        # plain 400 the inbound tests cover already.
        path = draw(st.sampled_from(list(_paths(doc))[1:] or [()]))
        op = draw(st.sampled_from(["replace", "replace", "drop", "wrap", "duplicate", "add_key"]))
        doc = _mutate(doc, path, op, draw(hostile_values()))
    text = json.dumps(doc)
    depth = draw(st.sampled_from([40, 900, 5_000, 200_000]))
    text = text.replace(json.dumps(DEEP), "[" * depth + "]" * depth)
    return text.replace(json.dumps(BIGNUM), "1" + "0" * 5_000).encode()


def signed_meta_body(secret: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(secret, body)}


def _meta_seeds() -> list[dict]:
    img = {"caption": "receipt", "mime_type": "image/jpeg", "sha256": "x", "id": "m.img"}
    doc = {"filename": "a.pdf", "mime_type": "application/pdf", "id": "m.doc"}
    msgs = [
        message("text", {"body": "hola"}, wamid="z.text", context={"from": "1", "id": "z.q"}),
        message("image", img, wamid="z.image"),
        message("document", doc, wamid="z.doc"),
        message("audio", {"mime_type": "audio/ogg", "id": "m.voice", "voice": True},
                wamid="z.voice"),
        message("location", {"latitude": 37.48, "longitude": -122.14, "name": "Office",
                             "address": "1 Hacker Way", "url": "https://example.com"},
                wamid="z.loc"),
        message("contacts", [{"name": {"formatted_name": "Barbara", "first_name": "B"},
                              "org": {"company": "Social"},
                              "phones": [{"phone": "+1 940 555", "type": "HOME"}],
                              "emails": [{"email": "b@example.com"}]}], wamid="z.contacts"),
        message("interactive", {"type": "list_reply", "list_reply": {
            "id": "s", "title": "Express", "description": "1-2 days"}}, wamid="z.list"),
        message("interactive", {"type": "nfm_reply", "nfm_reply": {
            "body": "Sent", "response_json": "{\"a\": 1}"}}, wamid="z.flow"),
        message("button", {"payload": "STOP", "text": "Stop"}, wamid="z.button"),
        message("order", {"catalog_id": "C", "text": "Friday", "product_items": [
            {"product_retailer_id": "SKU", "quantity": 2, "item_price": 9.5, "currency": "EUR"}]},
            wamid="z.order"),
        message("system", {"body": "changed number", "type": "user_changed_number"},
                wamid="z.system"),
        message("reaction", {"message_id": "z.text", "emoji": "👍"}, wamid="z.reaction"),
        message("unsupported", None, wamid="z.unsupported", errors=[{
            "code": 131051, "title": "Unknown", "error_data": {"details": "Not supported"}}],
            referral={"source_url": "https://fb.me/x", "headline": "Ad"}),
    ]
    failed = status("wamid.OUT", "failed", errors=[{"code": 131047, "title": "Re-engagement",
                                                    "error_data": {"details": "24 hours"}}])
    return [
        delivery(change([m])) for m in msgs
    ] + [
        delivery(change(msgs[:3]), change(statuses=[status("wamid.OUT", "read")]), entries=2),
        delivery(change(statuses=[status("wamid.OUT", "delivered"), failed])),
    ]


META_SEEDS = _meta_seeds()


# -- Twilio ---------------------------------------------------------------------------------

FORM_KEYS = ["MessageSid", "SmsMessageSid", "From", "To", "Body", "NumMedia", "MediaUrl0",
             "MediaContentType0", "MediaUrl1", "ProfileName", "WaId", "MessageType",
             "Latitude", "Longitude", "Address", "Label", "ButtonText", "ButtonPayload",
             "ListTitle", "OriginalRepliedMessageSid", "MessageStatus", "SmsStatus",
             "ErrorCode", "ErrorMessage", "SmsSid", "ReferralBody"]
FORM_TEXT = ["-1", "21", "3", "1e3", "٣", "9" * 5_000, "0x1", "whatsapp:+16505551234",
             "whatsapp:", "http://127.0.0.1:9/x", "https://api.twilio.com:8443/x",
             "https://user:pw@api.twilio.com/x", "file:///etc/passwd", "//evil.example/x",
             "delivered", "failed", "undelivered", "63016", "image/jpeg", "text/html"]


def form_values() -> st.SearchStrategy:
    # Sizes around the 256 KB form cap (ñ is 6 bytes percent-encoded).
    return st.one_of(st.sampled_from(FORM_TEXT + SURROGATES + ODD_TEXT), st.text(max_size=12),
                     st.sampled_from([2_000, 40_000, 50_000]).map(lambda n: "ñ" * n))


@st.composite
def twilio_forms(draw, seeds: list[dict[str, str]]) -> list[tuple[str, str]]:
    pairs = list(draw(st.sampled_from(seeds)).items())
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["replace", "replace", "drop", "add", "duplicate"]))
        i = draw(st.integers(0, max(0, len(pairs) - 1)))
        value = draw(form_values())
        if op == "replace" and pairs:
            pairs[i] = (pairs[i][0], value)
        elif op == "drop" and pairs:
            del pairs[i]
        elif op == "add":
            pairs.append((draw(st.sampled_from(FORM_KEYS) | st.text(max_size=8)), value))
        elif op == "duplicate" and pairs:
            pairs.append((pairs[i][0], value))
    return pairs


def signed_twilio_pairs(token: str, url: str, pairs) -> tuple[bytes, dict[str, str]]:
    """Signed over the parameters as received (multi-valued names as twilio-python does)."""
    body = urlencode(pairs, errors="surrogatepass").encode()
    received: dict[str, set[str]] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        received.setdefault(key, set()).add(value)
    data = url + "".join(k + v for k in sorted(received) for v in sorted(received[k]))
    mac = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return body, {"Content-Type": "application/x-www-form-urlencoded",
                  "X-Twilio-Signature": base64.b64encode(mac).decode()}


def twilio_inbound_seeds(media_url: str) -> list[dict[str, str]]:
    return [
        twilio_inbound("SMz1"),
        twilio_inbound("SMz2", body="photo", NumMedia="1", MediaUrl0=media_url,
                       MediaContentType0="image/jpeg", MessageType="image"),
        twilio_inbound("SMz3", body="", MessageType="location", Latitude="40.4",
                       Longitude="-3.7", Address="Sol", Label="Shop"),
        twilio_inbound("SMz4", body="", MessageType="button", ButtonText="Yes",
                       ButtonPayload="Y", OriginalRepliedMessageSid="SMz1"),
    ]


TWILIO_STATUS_SEEDS = [
    twilio_status("SMout", "delivered"),
    twilio_status("SMout", "read"),
    twilio_status("SMout", "undelivered", ErrorCode="63016", ErrorMessage="window"),
]
