"""A fake Slack Web API server speaking real HTTP on 127.0.0.1 (port 0), for tests.

    async with FakeSlack(token="xoxb-test") as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        await client.chat_postMessage(channel="C1", text="hi")
        assert slack.last("chat.postMessage")["text"] == "hi"

It runs inside the test's event loop (aiohttp.web). Every request is recorded (method name,
headers, raw bytes, parsed body, merged arguments, the answer given). Behaviour follows the
real Web API where it is cheap to do so: HTTP 200 with ``{"ok": false, "error": ...}`` for
API errors, HTTP 429 + ``Retry-After`` when rate limited, ``unknown_method`` for methods
it does not implement, Block Kit limits checked on messages and views.

slack_sdk's async clients send most "form" methods as query-string parameters with an
empty form body (aiohttp ``params=``) and the block-carrying methods as JSON; other
clients (httpx) send real form bodies. ``RecordedCall.args`` merges query string and body
and decodes JSON-valued form fields (``blocks``, ``view``, ``files``...), so tests need not
care which encoding was used.

Pseudo-method names used for recording / failure injection of the non-API endpoints:
``"upload"`` (the POST to an ``upload_url``), ``"download"`` (GET of a ``url_private``).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import mimetypes
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from aiohttp import web
from multidict import CIMultiDict

__all__ = [
    "FakeSlack",
    "FakeMessage",
    "FakeFile",
    "RecordedCall",
    "validate_blocks",
    "validate_view",
]

TS_BASE = 1_700_000_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000

# Form fields that carry JSON documents as strings.
JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata", "options", "unfurls")

# What an app installed from the repository's manifest is granted (auth.test's
# x-oauth-scopes); read from the manifest so the fake never drifts from it.
MANIFEST_BOT_SCOPES: tuple[str, ...] = tuple(yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "manifest.yml").read_text(encoding="utf-8")
)["oauth_config"]["scopes"]["bot"])

KNOWN_BLOCK_TYPES = {
    "actions", "context", "divider", "file", "header", "image", "input", "rich_text",
    "section", "video", "markdown", "call",
}


# -- Block Kit validation ------------------------------------------------------------------


def _text_obj(errors: list[str], obj: Any, ptr: str, *, max_len: int,
              plain_only: bool = False, required: bool = True) -> None:
    if obj is None:
        if required:
            errors.append(f"missing required field [json-pointer:{ptr}]")
        return
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        errors.append(f"must be a text object [json-pointer:{ptr}]")
        return
    if plain_only and obj["type"] != "plain_text":
        errors.append(f"must be plain_text [json-pointer:{ptr}/type]")
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append(f"missing required field: text [json-pointer:{ptr}/text]")
    elif len(text) > max_len:
        errors.append(f"must be less than {max_len + 1} characters [json-pointer:{ptr}/text]")


def _max_len(errors: list[str], value: Any, limit: int, ptr: str) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.append(f"must be less than {limit + 1} characters [json-pointer:{ptr}]")


def _option(errors: list[str], opt: Any, ptr: str) -> None:
    if not isinstance(opt, dict):
        errors.append(f"must be an option object [json-pointer:{ptr}]")
        return
    _text_obj(errors, opt.get("text"), f"{ptr}/text", max_len=75)
    _max_len(errors, opt.get("value"), 150, f"{ptr}/value")
    if opt.get("description") is not None:
        _text_obj(errors, opt.get("description"), f"{ptr}/description", max_len=75)


def _element(errors: list[str], el: Any, ptr: str) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        errors.append(f"must be an element with a type [json-pointer:{ptr}]")
        return
    kind = el["type"]
    _max_len(errors, el.get("action_id"), 255, f"{ptr}/action_id")
    if kind == "button":
        _text_obj(errors, el.get("text"), f"{ptr}/text", max_len=75, plain_only=True)
        _max_len(errors, el.get("value"), 2000, f"{ptr}/value")
        _max_len(errors, el.get("url"), 3000, f"{ptr}/url")
    elif kind == "image":
        _max_len(errors, el.get("image_url"), 3000, f"{ptr}/image_url")
        _max_len(errors, el.get("alt_text"), 2000, f"{ptr}/alt_text")
    elif kind in ("plain_text", "mrkdwn"):
        _text_obj(errors, el, ptr, max_len=3000)
    if "placeholder" in el:
        _text_obj(errors, el["placeholder"], f"{ptr}/placeholder", max_len=150, plain_only=True)
    options = el.get("options")
    if options is not None:
        if not isinstance(options, list) or len(options) > 100:
            errors.append(f"must provide no more than 100 items [json-pointer:{ptr}/options]")
        else:
            for i, opt in enumerate(options):
                _option(errors, opt, f"{ptr}/options/{i}")
    groups = el.get("option_groups")
    if isinstance(groups, list):
        if len(groups) > 100:
            errors.append(f"must provide no more than 100 items [json-pointer:{ptr}/option_groups]")
        for g, group in enumerate(groups):
            for i, opt in enumerate((group or {}).get("options") or []):
                _option(errors, opt, f"{ptr}/option_groups/{g}/options/{i}")
    for key in ("initial_option",):
        if isinstance(el.get(key), dict):
            _option(errors, el[key], f"{ptr}/{key}")
    for i, opt in enumerate(el.get("initial_options") or []):
        _option(errors, opt, f"{ptr}/initial_options/{i}")


def validate_blocks(blocks: Any, *, surface: str = "message") -> list[str]:
    """Check blocks against the Block Kit limits Slack enforces; returns error strings
    formatted like Slack's ``response_metadata.messages`` (empty list = valid).

    surface: "message" (50 blocks) or "modal"/"home" (100 blocks)."""
    errors: list[str] = []
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    limit = MAX_MESSAGE_BLOCKS if surface == "message" else MAX_VIEW_BLOCKS
    if len(blocks) > limit:
        errors.append(f"must provide no more than {limit} items [json-pointer:/blocks]")
    for b, block in enumerate(blocks):
        ptr = f"/blocks/{b}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCK_TYPES:
            errors.append(f"must be a valid block type [json-pointer:{ptr}/type]")
            continue
        kind = block["type"]
        _max_len(errors, block.get("block_id"), 255, f"{ptr}/block_id")
        if kind == "section":
            if block.get("text") is None and not block.get("fields"):
                errors.append(f"must provide text or fields [json-pointer:{ptr}]")
            if block.get("text") is not None:
                _text_obj(errors, block["text"], f"{ptr}/text", max_len=3000)
            fields = block.get("fields") or []
            if len(fields) > 10:
                errors.append(f"must provide no more than 10 items [json-pointer:{ptr}/fields]")
            for i, f in enumerate(fields):
                _text_obj(errors, f, f"{ptr}/fields/{i}", max_len=2000)
            if block.get("accessory") is not None:
                _element(errors, block["accessory"], f"{ptr}/accessory")
        elif kind == "header":
            _text_obj(errors, block.get("text"), f"{ptr}/text", max_len=150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements") or []
            if not elements or len(elements) > 10:
                errors.append(f"must provide 1 to 10 items [json-pointer:{ptr}/elements]")
            for i, el in enumerate(elements):
                _element(errors, el, f"{ptr}/elements/{i}")
        elif kind == "actions":
            elements = block.get("elements") or []
            if not elements or len(elements) > 25:
                errors.append(f"must provide 1 to 25 items [json-pointer:{ptr}/elements]")
            for i, el in enumerate(elements):
                _element(errors, el, f"{ptr}/elements/{i}")
        elif kind == "input":
            _text_obj(errors, block.get("label"), f"{ptr}/label", max_len=2000, plain_only=True)
            _element(errors, block.get("element"), f"{ptr}/element")
            if block.get("hint") is not None:
                _text_obj(errors, block["hint"], f"{ptr}/hint", max_len=2000, plain_only=True)
        elif kind == "image":
            _max_len(errors, block.get("image_url"), 3000, f"{ptr}/image_url")
            _max_len(errors, block.get("alt_text"), 2000, f"{ptr}/alt_text")
            if block.get("title") is not None:
                _text_obj(errors, block["title"], f"{ptr}/title", max_len=2000, plain_only=True)
        elif kind == "markdown":
            _max_len(errors, block.get("text"), 12000, f"{ptr}/text")
    return errors


def validate_view(view: Any) -> list[str]:
    """Check a view payload (modal or home) like views.open/update/push/publish do."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errors.append("must be a valid enum value [json-pointer:/view/type]")
    if kind == "modal":
        _text_obj(errors, view.get("title"), "/view/title", max_len=24, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                _text_obj(errors, view[key], f"/view/{key}", max_len=24, plain_only=True)
    _max_len(errors, view.get("private_metadata"), 3000, "/view/private_metadata")
    _max_len(errors, view.get("callback_id"), 255, "/view/callback_id")
    _max_len(errors, view.get("external_id"), 255, "/view/external_id")
    errors += [
        e.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks")
        for e in validate_blocks(view.get("blocks", []), surface=kind or "modal")
    ]
    return errors


# -- records -------------------------------------------------------------------------------


@dataclass
class RecordedCall:
    """One HTTP request the fake received, and what it answered."""

    seq: int
    method: str  # Web API method ("chat.postMessage"), or "upload" / "download"
    http_method: str  # GET / POST
    path: str
    headers: CIMultiDict  # case-insensitive
    query: dict[str, str]
    raw: bytes  # the body exactly as received
    content_type: str
    body: Any  # parsed body: dict for form / JSON / multipart, else None
    args: dict[str, Any]  # query + body merged, JSON-valued form fields decoded
    at: float  # time.monotonic() on arrival
    status: int = 0  # HTTP status answered
    response: Any = None  # answered JSON (dict) or text

    def __getitem__(self, key: str) -> Any:
        return self.args[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.args.get(key, default)

    @property
    def ok(self) -> bool:
        return self.status == 200 and isinstance(self.response, dict) and bool(
            self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error") if isinstance(self.response, dict) else None


@dataclass
class FakeMessage:
    """A message as it currently stands in the fake workspace."""

    channel: str
    ts: str
    user: str
    text: str | None = None
    blocks: list | None = None
    attachments: list | None = None
    thread_ts: str | None = None
    username: str | None = None
    icon_url: str | None = None
    icon_emoji: str | None = None
    bot_id: str | None = None
    metadata: dict | None = None
    files: list = field(default_factory=list)  # FakeFile
    reply_broadcast: bool = False
    deleted: bool = False
    edits: list[dict] = field(default_factory=list)  # previous {text, blocks, attachments}
    args: dict = field(default_factory=dict)  # arguments of the call that posted it

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, team_id: str, app_id: str) -> dict:
        msg: dict[str, Any] = {"type": "message", "text": self.text or "", "user": self.user,
                               "ts": self.ts, "team": team_id}
        if self.bot_id:
            msg.update(bot_id=self.bot_id, app_id=app_id)
        if self.username or self.icon_url or self.icon_emoji:
            msg["subtype"] = "bot_message"
            if self.username:
                msg["username"] = self.username
            icons = {}
            if self.icon_url:
                icons["image_48"] = self.icon_url
            if self.icon_emoji:
                icons["emoji"] = self.icon_emoji
            if icons:
                msg["icons"] = icons
        if self.blocks is not None:
            msg["blocks"] = self.blocks
        if self.attachments is not None:
            msg["attachments"] = self.attachments
        if self.thread_ts:
            msg["thread_ts"] = self.thread_ts
        if self.metadata is not None:
            msg["metadata"] = self.metadata
        if self.files:  # a file share carries its files, as in Slack's history and replies
            msg["files"] = [f.to_api() for f in self.files]
        if self.edits:
            msg["edited"] = {"user": self.user, "ts": self.ts}
        return msg


@dataclass
class FakeFile:
    id: str
    name: str
    length: int | None = None  # declared in files.getUploadURLExternal
    title: str | None = None
    alt_txt: str | None = None
    mimetype: str = "application/octet-stream"
    content: bytes | None = None  # None until uploaded
    user: str = ""
    created: int = 0
    channels: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False
    shares: list[tuple[str, str, str | None]] = field(default_factory=list)  # channel, ts, thread
    url_private: str = ""
    permalink: str = ""

    @property
    def uploaded(self) -> bool:
        return self.content is not None

    def to_api(self) -> dict:
        return {
            "id": self.id, "created": self.created, "timestamp": self.created,
            "name": self.name, "title": self.title or self.name, "mimetype": self.mimetype,
            "filetype": self.name.rsplit(".", 1)[-1] if "." in self.name else "binary",
            "user": self.user, "size": len(self.content or b""),
            "url_private": self.url_private, "url_private_download": self.url_private,
            "permalink": self.permalink, "is_public": bool(self.channels),
            "channels": [c for c in self.channels if c[:1] in ("C",)],
            "groups": [c for c in self.channels if c[:1] == "G"],
            "ims": [c for c in self.channels if c[:1] == "D"],
            "alt_txt": self.alt_txt,
        }

    def shares_api(self) -> dict:
        """files.info's `shares`: {"public"|"private": {channel: [{ts, thread_ts, ...}]}}."""
        out: dict[str, dict[str, list[dict]]] = {}
        for channel, ts, thread_ts in self.shares:
            kind = "public" if channel[:1] == "C" else "private"
            entry = {"ts": ts, "channel_name": channel, "team_id": "", "share_user_id": self.user}
            if thread_ts:
                entry["thread_ts"] = thread_ts
            out.setdefault(kind, {}).setdefault(channel, []).append(entry)
        return out


class _Bucket:
    def __init__(self, rate: float, burst: float, now: float):
        self.rate, self.burst, self.tokens, self.updated = rate, burst, burst, now

    def take(self, now: float) -> float:
        """Consume one token; returns 0.0 if allowed, else seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0 - 1e-9:
            self.tokens = max(0.0, self.tokens - 1.0)
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class _Injection:
    remaining: int
    status: int = 200
    error: str | None = None
    retry_after: float | None = None


# -- the server ----------------------------------------------------------------------------


class FakeSlack:
    """A fake Slack workspace + Web API. See the module docstring.

    Constructor arguments (all keyword):
      token             the bot token every API call must carry as ``Bearer`` (mutable:
                        ``slack.token = ...`` rotates it)
      team_id, team_domain, bot_user_id, bot_id, app_id   identity returned by auth.test
      strict_channels   if True only channels added with ``add_channel`` exist
                        (others -> channel_not_found); default: any channel id exists
      scopes            bot scopes the token was granted, sent as the ``x-oauth-scopes``
                        header of every bot-token answer like Slack does (mutable list;
                        default: the manifest's ``oauth_config.scopes.bot``)
      clock             monotonic clock used by the rate limiters (default time.monotonic)
    """

    def __init__(
        self,
        token: str = "xoxb-test",
        *,
        app_token: str = "xapp-test",
        team_id: str = "T0THREAD",
        team_domain: str = "threadline-test",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0THREAD",
        bot_name: str = "threadline",
        strict_channels: bool = False,
        scopes: Iterable[str] = MANIFEST_BOT_SCOPES,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.token = token
        self.app_token = app_token
        self.team_id, self.team_domain = team_id, team_domain
        self.bot_user_id, self.bot_id, self.app_id, self.bot_name = (
            bot_user_id, bot_id, app_id, bot_name)
        self.strict_channels = strict_channels
        self.scopes: list[str] = list(scopes)
        self.clock = clock

        self.recorded: list[RecordedCall] = []
        self.messages: dict[tuple[str, str], FakeMessage] = {}
        self.ephemerals: list[dict] = []
        self.reactions: dict[tuple[str, str], list[str]] = {}
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.forbidden_channels: dict[str, str] = {}
        self.views: dict[str, dict] = {}
        self.members: dict[str, list[str]] = {}  # channel id -> member user ids
        self.responses: list[dict] = []  # what apps POSTed to response_url hooks
        self.home_views: dict[str, dict] = {}
        self.files: dict[str, FakeFile] = {}
        self.rate_limited_count = 0
        self.unlisted_shares = 0  # files.info calls still to answer without `shares`

        self._seq = itertools.count(1)
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._down = False
        self._latency: dict[str | None, float] = {}
        self._injections: dict[str, list[_Injection]] = {}
        self._lost_answers: dict[str, int] = {}
        self._bucket_conf: dict[str, tuple[float, float, bool, str]] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}

        self._sockets: list[web.WebSocketResponse] = []
        self._socket_waiters: dict[str, asyncio.Future] = {}
        self.socket_received: list[dict] = []  # every JSON message apps sent over Socket Mode
        self.socket_connects = 0
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.api_url = ""

        self.add_user(bot_user_id, bot_name, real_name="Threadline", is_bot=True,
                      bot_id=bot_id)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_get("/files-pri/{team_file}/{name}", self._handle_download)
        app.router.add_get("/link/", self._handle_socket)
        app.router.add_post("/hooks/{tail:.*}", self._handle_response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{port}/"
        self.api_url = f"{self.base_url}api/"
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- workspace setup -------------------------------------------------------------------

    def add_user(self, user_id: str, name: str, *, real_name: str | None = None,
                 email: str | None = None, image_72: str | None = None,
                 is_bot: bool = False, deleted: bool = False, tz: str = "UTC",
                 **extra: Any) -> dict:
        """Register a user for users.info / users.lookupByEmail; returns the user object.
        ``extra`` keys are merged into the user object (e.g. is_admin=True, bot_id=...)."""
        real = real_name or name
        image = image_72 or f"https://avatars.slack-edge.com/{user_id}_72.png"
        user = {
            "id": user_id, "team_id": self.team_id, "name": name, "deleted": deleted,
            "real_name": real, "tz": tz, "is_bot": is_bot, "is_admin": False,
            "is_app_user": False, "updated": TS_BASE,
            "profile": {
                "real_name": real, "display_name": name, "email": email,
                "image_24": image, "image_48": image, "image_72": image, "image_192": image,
                "team": self.team_id,
            },
        }
        if email is None:
            del user["profile"]["email"]
        user.update(extra)
        self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str | None = None, *,
                    is_private: bool = False, **extra: Any) -> dict:
        """Register a channel (needed only with strict_channels=True, or for its name)."""
        chan = {
            "id": channel_id, "name": name or channel_id.lower(),
            "is_channel": channel_id.startswith("C"), "is_group": channel_id.startswith("G"),
            "is_im": channel_id.startswith("D"), "is_private": is_private,
            "is_member": True, "is_archived": False, "created": TS_BASE,
            "context_team_id": self.team_id,
        }
        chan.update(extra)
        self.channels[channel_id] = chan
        self.forbidden_channels.pop(channel_id, None)
        return chan

    def forbid_channel(self, channel_id: str, error: str = "channel_not_found") -> None:
        """Make every call naming this channel fail with ``error`` (e.g. not_in_channel,
        is_archived, channel_not_found)."""
        self.forbidden_channels[channel_id] = error

    def set_members(self, channel_id: str, users: Iterable[str]) -> None:
        """Who is in a channel (conversations.members); the bot is always a member."""
        self.members[channel_id] = [u for u in dict.fromkeys([*users, self.bot_user_id])]

    def join(self, channel_id: str, user: str) -> None:
        current = self.members.setdefault(channel_id, [self.bot_user_id])
        if user not in current:
            current.append(user)

    def leave(self, channel_id: str, user: str) -> None:
        if user in self.members.get(channel_id, []):
            self.members[channel_id].remove(user)

    def responses_to(self, url_part: str = "") -> list[dict]:
        """Bodies POSTed to response_url hooks (optionally those whose URL contains
        ``url_part``), oldest first."""
        return [r["body"] for r in self.responses if url_part in r["url"]]

    def next_ts(self) -> str:
        """A fresh message ts, later than every ts handed out so far."""
        n = next(self._ts_counter)
        return f"{TS_BASE + n // 10000}.{(n % 10000) * 100:06d}"

    def add_message(self, channel: str, text: str, *, user: str, thread_ts: str | None = None,
                    ts: str | None = None, files: list | None = None) -> FakeMessage:
        """Register a message a human posted in Slack (so that e.g. chat.getPermalink and
        chat.update - which then fails with cant_update_message - know it). Returns it; use
        its ``ts`` in the events you build."""
        msg = FakeMessage(channel=channel, ts=ts or self.next_ts(), user=user, text=text,
                          thread_ts=thread_ts, files=list(files or []))
        self.messages[(channel, msg.ts)] = msg
        return msg

    def add_file(self, content: bytes, name: str, *, mimetype: str | None = None,
                 user: str = "U0STAFF", title: str | None = None) -> FakeFile:
        """A file a human shared in Slack, downloadable from ``url_private`` with the bot
        token. Put ``f.to_api()`` into a message event's ``files``."""
        f = self._new_file(name, len(content), user=user)
        f.content, f.title, f.completed = content, title or name, True
        if mimetype:
            f.mimetype = mimetype
        return f

    # -- failure injection -----------------------------------------------------------------

    def fail_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP ``status`` (a 5xx) with a JSON
        error body (internal_error / service_unavailable / fatal_error)."""
        self._injections.setdefault(method, []).append(_Injection(times, status=status))

    def error_next(self, method: str, error: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 200 ``{"ok": false, "error"}``."""
        self._injections.setdefault(method, []).append(_Injection(times, error=error))

    def lose_answer_next(self, method: str, times: int = 1) -> None:
        """Carry out the next call(s) of `method` but answer 500, as if the answer was lost
        on the way back: the message exists, the caller does not know its ts."""
        self._lost_answers[method] = self._lost_answers.get(method, 0) + times

    def rate_limit_next(self, method: str, retry_after: float = 1, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 429 with ``Retry-After``
        (formatted as an integer when ``retry_after`` is integral)."""
        self._injections.setdefault(method, []).append(
            _Injection(times, status=429, retry_after=retry_after))

    def list_shares_late(self, times: int = 1) -> None:
        """Slack shares a file asynchronously: the next ``times`` files.info answers carry
        no ``shares`` yet (the file post exists; its ts is not listed)."""
        self.unlisted_shares += times

    def set_down(self, down: bool = True) -> None:
        """Outage: every request (API, upload, download) answers 503 until set_down(False)."""
        self._down = down

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        """Delay answers (of one method, or of all when method is None) by ``seconds``."""
        self._latency[method] = seconds

    def set_channel_rate(self, per_second: float | None = 1.0, burst: float = 5, *,
                         method: str = "chat.postMessage",
                         fractional_retry_after: bool = False) -> None:
        """Per-channel token bucket for ``method`` (default chat.postMessage): ``burst``
        tokens, refilled at ``per_second``. An empty bucket answers 429 with Retry-After =
        time until the next token, rounded up to whole seconds like Slack (min 1) - or, with
        ``fractional_retry_after=True``, as a decimal ("0.050") for scaled-up runs.
        ``per_second=None`` removes the limiter. Each 429 increments rate_limited_count."""
        self._set_bucket(method, per_second, burst, fractional_retry_after, "channel")

    def set_method_rate(self, method: str, per_second: float | None, burst: float = 1, *,
                        fractional_retry_after: bool = False) -> None:
        """Like set_channel_rate but one bucket for all calls of ``method`` (Slack's tiers:
        e.g. chat.update tier 3 ~ 50/min -> per_second=50/60)."""
        self._set_bucket(method, per_second, burst, fractional_retry_after, "method")

    def _set_bucket(self, method: str, per_second: float | None, burst: float,
                    fractional: bool, scope: str) -> None:
        for key in [k for k in self._buckets if k[0] == method]:
            del self._buckets[key]
        if per_second is None:
            self._bucket_conf.pop(method, None)
        else:
            self._bucket_conf[method] = (per_second, burst, fractional, scope)

    # -- inspection ------------------------------------------------------------------------

    def calls(self, method: str | None = None, *, ok: bool | None = None) -> list[RecordedCall]:
        """Recorded requests in arrival order, optionally only one method and/or only
        successful (ok=True) / failed (ok=False) ones."""
        out = [c for c in self.recorded if method is None or c.method == method]
        if ok is not None:
            out = [c for c in out if c.ok == ok]
        return out

    def last(self, method: str) -> RecordedCall:
        """The last recorded call of ``method`` (AssertionError if there is none)."""
        found = self.calls(method)
        if not found:
            seen = sorted({c.method for c in self.recorded})
            raise AssertionError(f"no {method} call recorded (seen: {seen})")
        return found[-1]

    def reset_calls(self) -> None:
        self.recorded.clear()

    def message(self, channel: str, ts: str) -> FakeMessage:
        return self.messages[(channel, ts)]

    def posts_in(self, channel: str, *, include_deleted: bool = False) -> list[FakeMessage]:
        """Every message in the channel (parents and thread replies, in ts order), in its
        current state (after chat.update)."""
        out = [m for (c, _), m in self.messages.items()
               if c == channel and (include_deleted or not m.deleted)]
        return sorted(out, key=lambda m: float(m.ts))

    def parents_in(self, channel: str) -> list[FakeMessage]:
        """Top-level messages of the channel (no thread replies)."""
        return [m for m in self.posts_in(channel) if not m.is_reply]

    def thread_replies(self, channel: str, thread_ts: str, *,
                       include_deleted: bool = False) -> list[FakeMessage]:
        """Replies in a thread (the parent excluded), in ts order."""
        return [m for m in self.posts_in(channel, include_deleted=include_deleted)
                if m.thread_ts == thread_ts and m.ts != thread_ts]

    def reactions_on(self, channel: str, ts: str) -> list[str]:
        """Reaction names the bot currently has on a message."""
        return list(self.reactions.get((channel, ts), []))

    def ephemerals_for(self, user: str, channel: str | None = None) -> list[dict]:
        return [e for e in self.ephemerals
                if e["user"] == user and (channel is None or e["channel"] == channel)]

    def uploads_in(self, channel: str, thread_ts: str | None = None) -> list[FakeFile]:
        """Completed uploads shared into a channel (and thread, if given)."""
        return [f for f in self.files.values() if f.completed and channel in f.channels
                and (thread_ts is None or f.thread_ts == thread_ts)]

    def file_bytes(self, file_id: str) -> bytes | None:
        return self.files[file_id].content

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0,
                       interval: float = 0.01) -> Any:
        """Poll ``predicate()`` until truthy (returned) or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(interval)

    async def wait_calls(self, method: str, count: int = 1, *, ok: bool | None = None,
                         timeout: float = 5.0) -> list[RecordedCall]:
        """Wait until at least ``count`` calls of ``method`` were recorded; returns them."""
        await self.wait_for(lambda: len(self.calls(method, ok=ok)) >= count, timeout)
        return self.calls(method, ok=ok)

    # -- Socket Mode -----------------------------------------------------------------------

    @property
    def socket_connections(self) -> int:
        """Open Socket Mode WebSocket connections."""
        return len(self._sockets)

    async def socket_send(self, envelope: dict, *, timeout: float = 5.0) -> dict:
        """Deliver a Socket Mode envelope (see SlackRequests.socket_*) to a connected app
        (waiting up to ``timeout`` for one to connect) and return its ack
        ``{"envelope_id": ..., "payload"?: ...}``; TimeoutError if not acked in time."""
        await self.wait_for(lambda: self._sockets, timeout)
        future = asyncio.get_running_loop().create_future()
        self._socket_waiters[envelope["envelope_id"]] = future
        await self._sockets[-1].send_json(envelope)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._socket_waiters.pop(envelope["envelope_id"], None)

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect`` message and close every connection (the app is
        expected to reconnect through apps.connections.open)."""
        for ws in list(self._sockets):
            await ws.send_json({"type": "disconnect", "reason": reason,
                                "debug_info": {"host": "applink-fake"}})
            await ws.close()

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if self._down:
            return web.Response(status=503)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connects += 1
        await ws.send_json({
            "type": "hello", "num_connections": len(self._sockets),
            "debug_info": {"host": "applink-fake", "build_number": 1,
                           "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        })
        try:
            async for msg in ws:
                if msg.type != web.WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                self.socket_received.append(data)
                waiter = self._socket_waiters.get(data.get("envelope_id", ""))
                if waiter is not None and not waiter.done():
                    waiter.set_result(data)
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    # -- HTTP plumbing ---------------------------------------------------------------------

    async def _record(self, request: web.Request, method: str) -> RecordedCall:
        raw = await request.read()
        ctype = request.content_type or ""
        query = dict(request.query)
        body: Any = None
        if raw:
            if ctype == "application/json":
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
            elif ctype == "application/x-www-form-urlencoded":
                body = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
            elif ctype.startswith("multipart/"):
                body = _parse_multipart(raw, request.headers.get("Content-Type", ""))
        args: dict[str, Any] = dict(query)
        if isinstance(body, dict):
            args.update(body)
        for key in JSON_FIELDS:
            if isinstance(args.get(key), str) and args[key][:1] in ("[", "{"):
                try:
                    args[key] = json.loads(args[key])
                except ValueError:
                    pass
        call = RecordedCall(
            seq=next(self._seq), method=method, http_method=request.method, path=request.path,
            headers=CIMultiDict(request.headers), query=query, raw=raw, content_type=ctype,
            body=body, args=args, at=self.clock(),
        )
        self.recorded.append(call)
        return call

    def _answer(self, call: RecordedCall, payload: Any, status: int = 200,
                headers: dict | None = None) -> web.Response:
        call.status, call.response = status, payload
        if isinstance(payload, dict):
            return web.json_response(payload, status=status, headers=headers)
        return web.Response(text=str(payload), status=status, headers=headers,
                            content_type="text/plain")

    def _pre_checks(self, call: RecordedCall) -> web.Response | None:
        """Outage and injected failures, in that order."""
        if self._down:
            return self._answer(call, {"ok": False, "error": "service_unavailable"}, 503)
        queue = self._injections.get(call.method) or []
        if queue:
            inj = queue[0]
            inj.remaining -= 1
            if inj.remaining <= 0:
                queue.pop(0)
            if inj.status == 429:
                self.rate_limited_count += 1
                return self._answer(call, {"ok": False, "error": "ratelimited"}, 429,
                                    {"Retry-After": _fmt_retry_injected(inj.retry_after)})
            if inj.error is not None:
                return self._answer(call, {"ok": False, "error": inj.error})
            error = {500: "internal_error", 503: "service_unavailable"}.get(
                inj.status, "fatal_error")
            return self._answer(call, {"ok": False, "error": error}, inj.status)
        return None

    async def _delay(self, method: str) -> None:
        delay = self._latency.get(method, self._latency.get(None, 0.0))
        if delay:
            await asyncio.sleep(delay)

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = await self._record(request, method)
        await self._delay(method)
        early = self._pre_checks(call)
        if early is not None:
            return early
        auth = call.headers.get("Authorization")
        if not auth:
            return self._answer(call, {"ok": False, "error": "not_authed"})
        wanted = self.app_token if method == "apps.connections.open" else self.token
        if auth != f"Bearer {wanted}":
            known = auth in (f"Bearer {self.token}", f"Bearer {self.app_token}")
            return self._answer(call, {"ok": False, "error": "not_allowed_token_type"
                                       if known else "invalid_auth"})
        response = self._run_method(call, method)
        if wanted == self.token:  # Slack names the bot token's scopes on every answer
            response.headers["x-oauth-scopes"] = ",".join(self.scopes)
        return response

    def _run_method(self, call: RecordedCall, method: str) -> web.Response:
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return self._answer(call, {"ok": False, "error": "unknown_method"})
        channel = call.args.get("channel") or call.args.get("channel_id")
        if isinstance(channel, str) and channel:
            if channel in self.forbidden_channels:
                return self._answer(call, {"ok": False,
                                           "error": self.forbidden_channels[channel]})
            if self.strict_channels and channel not in self.channels and method not in (
                    "conversations.open",):
                return self._answer(call, {"ok": False, "error": "channel_not_found"})
        limited = self._rate_check(call, channel)
        if limited is not None:
            return limited
        try:
            result = handler(call.args)
        except _ApiError as exc:
            payload = {"ok": False, "error": exc.error}
            if exc.messages:
                payload["response_metadata"] = {"messages": exc.messages}
            return self._answer(call, payload)
        if self._lost_answers.get(method, 0) > 0:
            # Done, but the caller never hears it (a timeout or its worker dying).
            self._lost_answers[method] -= 1
            return self._answer(call, {"ok": False, "error": "internal_error"}, 500)
        return self._answer(call, {"ok": True, **result})

    def _rate_check(self, call: RecordedCall, channel: Any) -> web.Response | None:
        conf = self._bucket_conf.get(call.method)
        if conf is None:
            return None
        rate, burst, fractional, scope = conf
        key = (call.method, str(channel) if scope == "channel" else "*")
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate, burst, now)
        wait = bucket.take(now)
        if wait <= 0:
            return None
        self.rate_limited_count += 1
        return self._answer(call, {"ok": False, "error": "ratelimited"}, 429,
                            {"Retry-After": _fmt_retry(wait, not fractional)})

    async def _handle_upload(self, request: web.Request) -> web.Response:
        call = await self._record(request, "upload")
        early = self._pre_checks(call)
        if early is not None:
            return early
        f = self.files.get(request.match_info["file_id"])
        if f is None:
            return self._answer(call, "invalid upload url", 404)
        content = call.raw
        if isinstance(call.body, dict) and call.body:  # multipart: the first file part
            parts = [v for v in call.body.values() if isinstance(v, bytes)]
            content = parts[0] if parts else next(iter(call.body.values())).encode()
        f.content = content
        return self._answer(call, f"OK - {len(content)}")

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        """response_url hooks answer a plain "ok" (or an error text), like Slack's."""
        call = await self._record(request, "response_url")
        early = self._pre_checks(call)
        if early is not None:
            return early
        if not isinstance(call.body, dict):
            return self._answer(call, "invalid_payload", 400)
        self.responses.append({"url": str(request.url), "body": call.body})
        return self._answer(call, "ok")

    async def _handle_download(self, request: web.Request) -> web.Response:
        call = await self._record(request, "download")
        early = self._pre_checks(call)
        if early is not None:
            return early
        file_id = request.match_info["team_file"].split("-", 1)[-1]
        f = self.files.get(file_id)
        if call.headers.get("Authorization") != f"Bearer {self.token}":
            # Like Slack: no/wrong token -> an HTML login page with status 200.
            call.status, call.response = 200, "<html>login</html>"
            return web.Response(text="<!DOCTYPE html><html><body>Sign in</body></html>",
                                content_type="text/html")
        if f is None or f.content is None:
            return self._answer(call, "file not found", 404)
        call.status, call.response = 200, f"<{len(f.content)} bytes>"
        return web.Response(body=f.content, content_type=f.mimetype)

    # -- helpers for handlers --------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_counter):08d}"

    def _new_file(self, name: str, length: int | None, user: str) -> FakeFile:
        file_id = self._new_id("F")
        f = FakeFile(id=file_id, name=name, length=length, user=user,
                     mimetype=mimetypes.guess_type(name)[0] or "application/octet-stream",
                     created=int(time.time()))
        f.url_private = f"{self.base_url}files-pri/{self.team_id}-{file_id}/{name}"
        f.permalink = (f"https://{self.team_domain}.slack.com/files/{user}/{file_id}/{name}")
        self.files[file_id] = f
        return f

    def _content_checks(self, args: dict, *, require_content: bool = True) -> None:
        text, blocks, attachments = args.get("text"), args.get("blocks"), args.get(
            "attachments")
        if require_content and not text and not blocks and not attachments:
            raise _ApiError("no_text")
        if isinstance(text, str) and len(text) > MAX_TEXT:
            raise _ApiError("msg_too_long")
        if blocks is not None and blocks != []:
            errors = validate_blocks(blocks, surface="message")
            if errors:
                raise _ApiError("invalid_blocks", errors)
        if attachments is not None and not isinstance(attachments, list):
            raise _ApiError("invalid_attachments")

    def _message_or_error(self, channel: Any, ts: Any) -> FakeMessage:
        msg = self.messages.get((str(channel), str(ts)))
        if msg is None or msg.deleted:
            raise _ApiError("message_not_found")
        return msg

    def _permalink(self, channel: str, ts: str, thread_ts: str | None = None) -> str:
        link = f"https://{self.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return link

    def _channel_info(self, channel: str) -> dict:
        if channel in self.channels:
            return self.channels[channel]
        if self.strict_channels or not channel:
            raise _ApiError("channel_not_found")
        return self.add_channel(channel)

    # -- API methods -----------------------------------------------------------------------

    def _api_apps_connections_open(self, args: dict) -> dict:
        host = self.base_url.replace("http://", "ws://", 1)
        return {"url": f"{host}link/?ticket={next(self._id_counter)}&app_id={self.app_id}"}

    def _api_api_test(self, args: dict) -> dict:
        return {"args": {k: v for k, v in args.items() if k != "token"}}

    def _api_auth_test(self, args: dict) -> dict:
        return {"url": f"https://{self.team_domain}.slack.com/", "team": "Threadline Test",
                "user": self.bot_name, "team_id": self.team_id, "user_id": self.bot_user_id,
                "bot_id": self.bot_id, "is_enterprise_install": False}

    def _api_chat_postMessage(self, args: dict) -> dict:
        channel = args.get("channel")
        if not channel:
            raise _ApiError("channel_not_found")
        self._content_checks(args)
        thread_ts = args.get("thread_ts") or None
        msg = FakeMessage(
            channel=channel, ts=self.next_ts(), user=self.bot_user_id, bot_id=self.bot_id,
            text=args.get("text"), blocks=args.get("blocks"),
            attachments=args.get("attachments"), thread_ts=thread_ts,
            username=args.get("username"), icon_url=args.get("icon_url"),
            icon_emoji=args.get("icon_emoji"), metadata=args.get("metadata"),
            reply_broadcast=str(args.get("reply_broadcast")).lower() in ("1", "true"),
            args=copy.deepcopy(args),
        )
        self.messages[(channel, msg.ts)] = msg
        return {"channel": channel, "ts": msg.ts,
                "message": msg.to_api(self.team_id, self.app_id)}

    def _api_chat_update(self, args: dict) -> dict:
        msg = self._message_or_error(args.get("channel"), args.get("ts"))
        if msg.user != self.bot_user_id:
            raise _ApiError("cant_update_message")
        self._content_checks(args, require_content=False)
        msg.edits.append({"text": msg.text, "blocks": copy.deepcopy(msg.blocks),
                          "attachments": copy.deepcopy(msg.attachments)})
        if "text" in args:
            msg.text = args["text"]
        if "blocks" in args:  # omitted -> previous blocks retained
            msg.blocks = args["blocks"]
        if "attachments" in args:
            msg.attachments = args["attachments"]
        if "metadata" in args:
            msg.metadata = args["metadata"]
        return {"channel": msg.channel, "ts": msg.ts, "text": msg.text or "",
                "message": msg.to_api(self.team_id, self.app_id)}

    def _api_chat_delete(self, args: dict) -> dict:
        msg = self._message_or_error(args.get("channel"), args.get("ts"))
        if msg.user != self.bot_user_id:
            raise _ApiError("cant_delete_message")
        msg.deleted = True
        return {"channel": msg.channel, "ts": msg.ts}

    def _api_chat_postEphemeral(self, args: dict) -> dict:
        if not args.get("channel"):
            raise _ApiError("channel_not_found")
        if not args.get("user"):
            raise _ApiError("user_not_in_channel")
        self._content_checks(args)
        ts = self.next_ts()
        self.ephemerals.append({
            "channel": args["channel"], "user": args["user"], "text": args.get("text"),
            "blocks": args.get("blocks"), "thread_ts": args.get("thread_ts"),
            "message_ts": ts, "args": copy.deepcopy(args),
        })
        return {"message_ts": ts}

    def _api_chat_getPermalink(self, args: dict) -> dict:
        channel, ts = args.get("channel"), args.get("message_ts")
        if not channel:
            raise _ApiError("channel_not_found")
        if not ts:
            raise _ApiError("message_not_found")
        msg = self.messages.get((channel, ts))
        return {"channel": channel,
                "permalink": self._permalink(channel, ts, msg.thread_ts if msg else None)}

    def _api_reactions_add(self, args: dict) -> dict:
        channel, ts, name = args.get("channel"), args.get("timestamp"), args.get("name")
        if not channel or not ts:
            raise _ApiError("message_not_found")
        if not name:
            raise _ApiError("invalid_name")
        current = self.reactions.setdefault((channel, ts), [])
        if name in current:
            raise _ApiError("already_reacted")
        current.append(name)
        return {}

    def _api_reactions_remove(self, args: dict) -> dict:
        channel, ts, name = args.get("channel"), args.get("timestamp"), args.get("name")
        current = self.reactions.get((str(channel), str(ts)), [])
        if name not in current:
            raise _ApiError("no_reaction")
        current.remove(name)
        return {}

    def _api_users_info(self, args: dict) -> dict:
        user = self.users.get(args.get("user", ""))
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _api_users_lookupByEmail(self, args: dict) -> dict:
        email = (args.get("email") or "").lower()
        for user in self.users.values():
            if (user["profile"].get("email") or "").lower() == email and email:
                return {"user": copy.deepcopy(user)}
        raise _ApiError("users_not_found")

    def _api_conversations_info(self, args: dict) -> dict:
        return {"channel": copy.deepcopy(self._channel_info(args.get("channel", "")))}

    def _api_conversations_members(self, args: dict) -> dict:
        channel = args.get("channel", "")
        self._channel_info(channel)
        members = self.members.get(channel, [self.bot_user_id])
        return self._page(args, members, "members")

    def _visible(self, msg: FakeMessage, args: dict) -> dict:
        out = msg.to_api(self.team_id, self.app_id)
        if str(args.get("include_all_metadata")).lower() not in ("1", "true"):
            out.pop("metadata", None)
        return out

    def _api_conversations_history(self, args: dict) -> dict:
        """Top-level messages, newest first (thread replies are not part of history)."""
        channel = args.get("channel", "")
        self._channel_info(channel)
        found = [m for m in self.parents_in(channel)
                 if float(m.ts) >= float(args.get("oldest") or 0)
                 and float(m.ts) <= float(args.get("latest") or 1e12)]
        found.reverse()
        return self._page(args, [self._visible(m, args) for m in found], "messages")

    def _api_conversations_replies(self, args: dict) -> dict:
        """The parent, then its replies oldest first, like Slack."""
        channel, ts = args.get("channel", ""), args.get("ts")
        parent = self.messages.get((channel, str(ts)))
        if parent is None or parent.deleted:
            raise _ApiError("thread_not_found")
        found = [parent, *self.thread_replies(channel, parent.ts)]
        return self._page(args, [self._visible(m, args) for m in found], "messages")

    def _api_conversations_list(self, args: dict) -> dict:
        types = set(str(args.get("types") or "public_channel").split(","))
        no_archived = str(args.get("exclude_archived")).lower() in ("1", "true")
        out = []
        for chan in self.channels.values():
            if chan.get("_dm_key") or chan.get("is_im"):
                continue
            if no_archived and chan.get("is_archived"):
                continue
            kind = "private_channel" if chan.get("is_private") else "public_channel"
            if kind in types:
                out.append({k: v for k, v in chan.items() if not k.startswith("_")})
        return self._page(args, out, "channels")

    @staticmethod
    def _page(args: dict, items: list, key: str) -> dict:
        """Cursor pagination like Slack's: ``limit`` per page, ``next_cursor`` until done."""
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        start = int(args.get("cursor") or 0)
        page = items[start:start + limit]
        more = start + limit < len(items)
        return {key: copy.deepcopy(page),
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _api_conversations_open(self, args: dict) -> dict:
        if args.get("channel"):
            return {"channel": {"id": self._channel_info(args["channel"])["id"]}}
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise _ApiError("users_list_not_supplied")
        for u in users:
            if u not in self.users:
                raise _ApiError("user_not_found")
        key = ",".join(sorted(users))
        for chan in self.channels.values():
            if chan.get("_dm_key") == key:
                return {"no_op": True, "already_open": True, "channel": {"id": chan["id"]}}
        prefix = "D" if len(users) == 1 else "G"
        chan = self.add_channel(self._new_id(prefix), is_private=True, _dm_key=key,
                                user=users[0] if len(users) == 1 else None)
        return {"channel": {"id": chan["id"]}}

    def _view_args(self, args: dict) -> dict:
        view = args.get("view")
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments", ["missing required field: view"])
        errors = validate_view(view)
        if errors:
            raise _ApiError("invalid_arguments", errors)
        return view

    def _store_view(self, view: dict, *, view_id: str | None = None,
                    previous: dict | None = None, root: str | None = None) -> dict:
        view_id = view_id or self._new_id("V")
        stored = {
            "id": view_id, "team_id": self.team_id, "type": view["type"],
            "title": view.get("title"), "submit": view.get("submit"),
            "close": view.get("close"), "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""), "external_id": view.get(
                "external_id", ""),
            "state": {"values": {}}, "hash": f"{int(time.time())}.{next(self._id_counter)}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root or view_id,
            "previous_view_id": previous["id"] if previous else None,
            "app_id": self.app_id, "bot_id": self.bot_id,
        }
        self.views[view_id] = stored
        return stored

    def _find_view(self, args: dict) -> dict:
        if args.get("view_id"):
            found = self.views.get(args["view_id"])
        elif args.get("external_id"):
            found = next((v for v in self.views.values()
                          if v["external_id"] == args["external_id"]), None)
        else:
            raise _ApiError("invalid_arguments", ["missing required field: view_id"])
        if found is None:
            raise _ApiError("not_found")
        return found

    def _api_views_open(self, args: dict) -> dict:
        if not args.get("trigger_id"):
            raise _ApiError("invalid_arguments", ["missing required field: trigger_id"])
        view = self._view_args(args)
        if view["type"] != "modal":
            raise _ApiError("invalid_arguments", ["views.open needs a modal"])
        return {"view": copy.deepcopy(self._store_view(view))}

    def _api_views_push(self, args: dict) -> dict:
        if not args.get("trigger_id"):
            raise _ApiError("invalid_arguments", ["missing required field: trigger_id"])
        view = self._view_args(args)
        return {"view": copy.deepcopy(self._store_view(view))}

    def _api_views_update(self, args: dict) -> dict:
        current = self._find_view(args)
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        view = self._view_args(args)
        stored = self._store_view(view, view_id=current["id"], root=current["root_view_id"])
        return {"view": copy.deepcopy(stored)}

    def _api_views_publish(self, args: dict) -> dict:
        user_id = args.get("user_id")
        if not user_id:
            raise _ApiError("invalid_arguments", ["missing required field: user_id"])
        view = self._view_args(args)
        if view["type"] != "home":
            raise _ApiError("invalid_arguments", ["views.publish needs a home view"])
        previous = self.home_views.get(user_id)
        if args.get("hash") and previous and args["hash"] != previous["hash"]:
            raise _ApiError("hash_conflict")
        stored = self._store_view(view, view_id=previous["id"] if previous else None)
        self.home_views[user_id] = stored
        return {"view": copy.deepcopy(stored)}

    def _api_files_getUploadURLExternal(self, args: dict) -> dict:
        filename, length = args.get("filename"), args.get("length")
        if not filename or length in (None, ""):
            raise _ApiError("invalid_arguments", ["missing required field: filename/length"])
        try:
            size = int(length)
        except (TypeError, ValueError):
            raise _ApiError("invalid_arguments", ["length must be an integer"]) from None
        f = self._new_file(filename, size, user=self.bot_user_id)
        f.alt_txt = args.get("alt_txt")
        return {"upload_url": f"{self.base_url}upload/v1/{f.id}", "file_id": f.id}

    def _api_files_completeUploadExternal(self, args: dict) -> dict:
        items = args.get("files")
        if not isinstance(items, list) or not items:
            raise _ApiError("invalid_arguments", ["missing required field: files"])
        channels: list[str] = []
        if args.get("channel_id"):
            channels.append(args["channel_id"])
        channels += [c for c in str(args.get("channels") or "").split(",") if c]
        thread_ts = args.get("thread_ts") or None
        if thread_ts and len(channels) != 1:
            raise _ApiError("invalid_arguments", ["thread_ts needs exactly one channel"])
        done: list[FakeFile] = []
        for item in items:
            f = self.files.get((item or {}).get("id", ""))
            if f is None or f.completed:
                raise _ApiError("file_not_found")
            if f.content is None:
                raise _ApiError("file_upload_not_complete")  # bytes never POSTed
            done.append(f)
        blocks = None if args.get("initial_comment") else args.get("blocks")  # as documented
        if blocks:
            if not isinstance(blocks, list):
                raise _ApiError("invalid_blocks_format")
            errors = validate_blocks(blocks, surface="message")
            if errors:
                raise _ApiError("invalid_blocks", errors)
            if any(isinstance(b, dict) and b.get("type") == "markdown" for b in blocks):
                # Slack answers so for a markdown block here (chat.postMessage takes it)
                raise _ApiError("internal_error")
        for item, f in zip(items, done, strict=True):
            f.title = item.get("title") or f.name
            f.completed, f.channels, f.thread_ts = True, list(channels), thread_ts
            f.initial_comment = args.get("initial_comment")
        for channel in channels:  # a file share creates a message, like Slack
            msg = FakeMessage(channel=channel, ts=self.next_ts(), user=self.bot_user_id,
                              bot_id=self.bot_id, text=args.get("initial_comment") or "",
                              blocks=copy.deepcopy(blocks) if blocks else None,
                              thread_ts=thread_ts, files=list(done), args=copy.deepcopy(args))
            self.messages[(channel, msg.ts)] = msg
            for f in done:
                f.shares.append((channel, msg.ts, thread_ts))
        return {"files": [{"id": f.id, "title": f.title} for f in done]}

    def _api_files_info(self, args: dict) -> dict:
        f = self.files.get(args.get("file", ""))
        if f is None or not f.completed:
            raise _ApiError("file_not_found")
        info = f.to_api()
        if self.unlisted_shares > 0:
            self.unlisted_shares -= 1
        else:
            info["shares"] = f.shares_api()
        return {"file": info, "comments": [], "response_metadata": {"next_cursor": ""}}


class _ApiError(Exception):
    def __init__(self, error: str, messages: Iterable[str] = ()):
        super().__init__(error)
        self.error = error
        self.messages = [m if m.startswith("[") else f"[ERROR] {m}" for m in messages]


def _fmt_retry(seconds: float, whole: bool) -> str:
    if whole:
        return str(max(1, math.ceil(seconds - 1e-9)))
    return f"{max(seconds, 0.001):.3f}"


def _fmt_retry_injected(seconds: float | None) -> str:
    seconds = 1 if seconds is None else seconds
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:.3f}"


def _parse_multipart(raw: bytes, content_type: str) -> dict[str, Any]:
    msg = BytesParser(policy=HTTP_POLICY).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    out: dict[str, Any] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        out[name] = payload if part.get_filename() is not None else payload.decode(
            "utf-8", "replace")
    return out
