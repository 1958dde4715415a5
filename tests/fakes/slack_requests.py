"""Inbound Slack requests (Events API, interactivity, slash commands), signed exactly as
Slack signs them, for POSTing to the app under test.

    req = SlackRequests(signing_secret="s3cret")
    body, headers = req.event(req.message_event("C1", "hello", user="U1"))
    await http.post("/slack/events", content=body, headers=headers)

Signature: ``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, f"v0:{ts}:{raw body}")>`` and
``X-Slack-Request-Timestamp: <ts>``. Every signed builder takes ``timestamp=`` (unix
seconds; e.g. ``time.time() - 600`` for a stale request) and returns a ``SignedRequest``,
a (body, headers) named tuple. ``*_payload`` / ``*_event`` methods return plain dicts;
``socket_*`` methods wrap them in Socket Mode envelopes (``SocketModeRequest.from_dict``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

__all__ = ["SignedRequest", "SlackRequests", "sign", "signature"]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signature(signing_secret: str, timestamp: int | str, body: bytes | str) -> str:
    """``v0=`` + hex HMAC-SHA256(secret, ``v0:{timestamp}:{body}``)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def sign(signing_secret: str, body: bytes, content_type: str = JSON, *,
         timestamp: int | None = None, extra_headers: dict | None = None) -> dict[str, str]:
    """Headers Slack would send with ``body``."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(signing_secret, ts, body),
    }
    headers.update(extra_headers or {})
    return headers


class SignedRequest(NamedTuple):
    body: bytes
    headers: dict[str, str]

    @property
    def data(self) -> dict:
        """The decoded body: the JSON document, the ``payload=`` JSON of an interaction,
        or the form fields of a slash command."""
        if self.headers.get("Content-Type", "").startswith(JSON):
            return json.loads(self.body)
        form = dict(parse_qsl(self.body.decode(), keep_blank_values=True))
        if set(form) == {"payload"}:
            return json.loads(form["payload"])
        return form

    def tampered(self) -> SignedRequest:
        """Same headers, body changed by one character (signature no longer matches)."""
        body = self.body[:-1] + (b" " if self.body[-1:] != b" " else b"_")
        return SignedRequest(body, dict(self.headers))


class SlackRequests:
    """Builds Slack's inbound payloads for one workspace + app.

    Identity defaults match tests/fakes/slack_api.FakeSlack's defaults."""

    def __init__(
        self,
        signing_secret: str,
        *,
        team_id: str = "T0THREAD",
        team_domain: str = "threadline-test",
        api_app_id: str = "A0THREAD",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        verification_token: str = "legacy-verification-token",
        response_url_base: str = "https://hooks.slack.com/",
    ):
        self.signing_secret = signing_secret
        self.team_id, self.team_domain, self.api_app_id = team_id, team_domain, api_app_id
        self.bot_user_id, self.bot_id = bot_user_id, bot_id
        self.verification_token = verification_token
        self.response_url_base = response_url_base
        self._n = itertools.count(1)

    # -- ids -------------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message ts for events built here (distinct from FakeSlack's range)."""
        n = next(self._n)
        return f"{1_710_000_000 + n // 10000}.{(n % 10000) * 100:06d}"

    def new_event_id(self) -> str:
        return f"Ev{next(self._n):010d}"

    def new_trigger_id(self) -> str:
        n = next(self._n)
        return f"{n}.{self.team_id[1:]}.{uuid.uuid4().hex}"

    def response_url(self, kind: str = "commands") -> str:
        return f"{self.response_url_base}{kind}/{self.team_id}/{next(self._n)}/{uuid.uuid4().hex}"

    def _team(self) -> dict:
        return {"id": self.team_id, "domain": self.team_domain}

    def _user(self, user_id: str, user_name: str | None = None) -> dict:
        name = user_name or user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    # -- signing ---------------------------------------------------------------------------

    def sign(self, body: bytes, content_type: str = JSON, *, timestamp: int | None = None,
             extra_headers: dict | None = None) -> SignedRequest:
        return SignedRequest(body, sign(self.signing_secret, body, content_type,
                                        timestamp=timestamp, extra_headers=extra_headers))

    def signed_json(self, document: dict, *, timestamp: int | None = None,
                    extra_headers: dict | None = None) -> SignedRequest:
        body = json.dumps(document, separators=(",", ":")).encode()
        return self.sign(body, JSON, timestamp=timestamp, extra_headers=extra_headers)

    def signed_form(self, fields: dict, *, timestamp: int | None = None) -> SignedRequest:
        body = urlencode({k: v for k, v in fields.items() if v is not None}).encode()
        return self.sign(body, FORM, timestamp=timestamp)

    # -- Events API ------------------------------------------------------------------------

    def event_envelope(self, event: dict, *, event_id: str | None = None,
                       event_time: int | None = None) -> dict:
        """The ``event_callback`` envelope around an event."""
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or self.new_event_id(),
            "event_time": int(time.time()) if event_time is None else event_time,
            "authorizations": [{
                "enterprise_id": None, "team_id": self.team_id,
                "user_id": self.bot_user_id, "is_bot": True, "is_enterprise_install": False,
            }],
            "is_ext_shared_channel": False,
            "event_context": f"4-{uuid.uuid4().hex}",
        }

    def event(self, event: dict, *, event_id: str | None = None,
              event_time: int | None = None, timestamp: int | None = None,
              retry_num: int | None = None, retry_reason: str = "http_timeout"
              ) -> SignedRequest:
        """A signed Events API delivery. ``retry_num`` adds X-Slack-Retry-Num/-Reason
        like Slack's redeliveries (reuse the same ``event_id``)."""
        extra = None
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.signed_json(
            self.event_envelope(event, event_id=event_id, event_time=event_time),
            timestamp=timestamp, extra_headers=extra)

    def url_verification(self, challenge: str = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7",
                         *, timestamp: int | None = None) -> SignedRequest:
        return self.signed_json({"token": self.verification_token, "challenge": challenge,
                                 "type": "url_verification"}, timestamp=timestamp)

    def message_event(self, channel: str, text: str, *, user: str, ts: str | None = None,
                      thread_ts: str | None = None, files: list | None = None,
                      blocks: list | None = None, channel_type: str | None = None,
                      subtype: str | None = None, bot_id: str | None = None,
                      **extra: Any) -> dict:
        """A ``message`` event: a channel message, or a thread reply with ``thread_ts``.
        ``files`` (e.g. ``[FakeSlack.add_file(...).to_api()]``) sets subtype file_share."""
        ts = ts or self.next_ts()
        event: dict[str, Any] = {
            "type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
            "event_ts": ts, "team": self.team_id,
            "channel_type": channel_type or _channel_type(channel),
            "client_msg_id": str(uuid.uuid4()),
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
            event["parent_user_id"] = self.bot_user_id
        if blocks is not None:
            event["blocks"] = blocks
        if files:
            event["files"] = files
            event["upload"] = False
            event["subtype"] = "file_share"
        if subtype:
            event["subtype"] = subtype
        if bot_id:
            event["bot_id"] = bot_id
            event.pop("client_msg_id")
        event.update(extra)
        return event

    def bot_message_event(self, channel: str, text: str, *, ts: str | None = None,
                          thread_ts: str | None = None) -> dict:
        """The echo of the app's own post (to be ignored by the app)."""
        ev = self.message_event(channel, text, user=self.bot_user_id, ts=ts,
                                thread_ts=thread_ts, bot_id=self.bot_id)
        ev["app_id"] = self.api_app_id
        return ev

    def message_changed_event(self, channel: str, ts: str, text: str, *, user: str,
                              previous_text: str = "", thread_ts: str | None = None) -> dict:
        now = self.next_ts()
        message = {"type": "message", "user": user, "text": text, "ts": ts,
                   "edited": {"user": user, "ts": now}}
        previous = {"type": "message", "user": user, "text": previous_text, "ts": ts}
        if thread_ts:
            message["thread_ts"] = previous["thread_ts"] = thread_ts
        return {"type": "message", "subtype": "message_changed", "channel": channel,
                "hidden": True, "message": message, "previous_message": previous,
                "ts": now, "event_ts": now, "channel_type": _channel_type(channel)}

    def message_deleted_event(self, channel: str, ts: str, *, user: str = "",
                              thread_ts: str | None = None, text: str = "") -> dict:
        now = self.next_ts()
        previous = {"type": "message", "user": user, "text": text, "ts": ts}
        if thread_ts:
            previous["thread_ts"] = thread_ts
        return {"type": "message", "subtype": "message_deleted", "channel": channel,
                "hidden": True, "deleted_ts": ts, "previous_message": previous,
                "ts": now, "event_ts": now, "channel_type": _channel_type(channel)}

    def app_mention_event(self, channel: str, text: str, *, user: str, ts: str | None = None,
                          thread_ts: str | None = None) -> dict:
        """``text`` should contain ``<@{bot_user_id}>`` as Slack renders the mention."""
        ts = ts or self.next_ts()
        event = {"type": "app_mention", "channel": channel, "user": user, "text": text,
                 "ts": ts, "event_ts": ts, "team": self.team_id,
                 "client_msg_id": str(uuid.uuid4())}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    def mention(self) -> str:
        return f"<@{self.bot_user_id}>"

    def app_home_opened_event(self, user: str, *, tab: str = "home",
                              view: dict | None = None) -> dict:
        ts = self.next_ts()
        event = {"type": "app_home_opened", "user": user, "channel": "D" + user[1:],
                 "tab": tab, "event_ts": ts}
        if view is not None:
            event["view"] = view
        return event

    def member_joined_channel_event(self, channel: str, user: str) -> dict:
        return {"type": "member_joined_channel", "user": user, "channel": channel,
                "channel_type": "G" if channel.startswith("G") else "C", "team": self.team_id,
                "event_ts": self.next_ts()}

    def member_left_channel_event(self, channel: str, user: str) -> dict:
        return {"type": "member_left_channel", "user": user, "channel": channel,
                "channel_type": "G" if channel.startswith("G") else "C", "team": self.team_id,
                "event_ts": self.next_ts()}

    def reaction_added_event(self, channel: str, ts: str, reaction: str, *, user: str) -> dict:
        now = self.next_ts()
        return {"type": "reaction_added", "user": user, "reaction": reaction,
                "item": {"type": "message", "channel": channel, "ts": ts},
                "item_user": self.bot_user_id, "event_ts": now}

    # -- interactivity ---------------------------------------------------------------------

    def interactive(self, payload: dict, *, timestamp: int | None = None) -> SignedRequest:
        """Any interaction payload, form-encoded as ``payload=<json>`` and signed."""
        return self.signed_form({"payload": json.dumps(payload, separators=(",", ":"))},
                                timestamp=timestamp)

    def action(self, action_id: str, *, value: str | None = None, block_id: str = "actions",
               type: str = "button", text: str | None = None,
               selected_option: dict | None = None, selected_options: list | None = None,
               selected_user: str | None = None, selected_date: str | None = None,
               **extra: Any) -> dict:
        """One element of ``actions[]`` as Slack sends it."""
        act: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "type": type,
                               "action_ts": f"{time.time():.6f}"}
        if type == "button":
            act["text"] = {"type": "plain_text", "text": text or action_id, "emoji": True}
        if value is not None:
            act["value"] = value
        if selected_option is not None:
            act["selected_option"] = selected_option
        if selected_options is not None:
            act["selected_options"] = selected_options
        if selected_user is not None:
            act["selected_user"] = selected_user
        if selected_date is not None:
            act["selected_date"] = selected_date
        act.update(extra)
        return act

    def block_actions_payload(self, actions: list[dict] | dict, *, user: str,
                              channel: str | None = None, message: dict | None = None,
                              message_ts: str | None = None, thread_ts: str | None = None,
                              view: dict | None = None, user_name: str | None = None,
                              state_values: dict | None = None,
                              trigger_id: str | None = None) -> dict:
        """Button / select on a message (give channel + message or message_ts) or in a view
        (give ``view``, e.g. the view FakeSlack returned)."""
        if isinstance(actions, dict):
            actions = [actions]
        payload: dict[str, Any] = {
            "type": "block_actions", "user": self._user(user, user_name),
            "api_app_id": self.api_app_id, "token": self.verification_token,
            "trigger_id": trigger_id or self.new_trigger_id(), "team": self._team(),
            "enterprise": None, "is_enterprise_install": False, "actions": actions,
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = view
            payload["state"] = {"values": state_values or view.get("state", {}).get(
                "values", {})}
        else:
            if message is None:
                message = {"type": "message", "user": self.bot_user_id,
                           "bot_id": self.bot_id, "text": "", "ts": message_ts or "",
                           "blocks": []}
            ts = message.get("ts") or message_ts or ""
            container = {"type": "message", "message_ts": ts, "channel_id": channel,
                         "is_ephemeral": False}
            if thread_ts or message.get("thread_ts"):
                container["thread_ts"] = thread_ts or message.get("thread_ts")
            payload.update(
                container=container,
                channel={"id": channel, "name": (channel or "").lower()},
                message=message, state={"values": state_values or {}},
                response_url=self.response_url("actions"),
            )
        return payload

    def block_actions(self, actions: list[dict] | dict, *, timestamp: int | None = None,
                      **kwargs: Any) -> SignedRequest:
        return self.interactive(self.block_actions_payload(actions, **kwargs),
                                timestamp=timestamp)

    def view_submission_payload(self, view: dict | None = None, *, user: str,
                                callback_id: str | None = None,
                                private_metadata: str | None = None,
                                values: dict | None = None, user_name: str | None = None,
                                trigger_id: str | None = None) -> dict:
        """``values`` is ``state.values``: {block_id: {action_id: {"type": ..., "value"...}}}.
        ``view`` may be the view returned by views.open on FakeSlack; the explicit
        arguments override its callback_id / private_metadata."""
        v = dict(view or {"id": "V0SUBMIT", "type": "modal", "blocks": []})
        v.setdefault("team_id", self.team_id)
        v.setdefault("app_id", self.api_app_id)
        v.setdefault("bot_id", self.bot_id)
        v.setdefault("hash", f"{int(time.time())}.abc")
        if callback_id is not None:
            v["callback_id"] = callback_id
        if private_metadata is not None:
            v["private_metadata"] = private_metadata
        v.setdefault("callback_id", "")
        v.setdefault("private_metadata", "")
        v["state"] = {"values": values or {}}
        return {
            "type": "view_submission", "team": self._team(), "user": self._user(user, user_name),
            "api_app_id": self.api_app_id, "token": self.verification_token,
            "trigger_id": trigger_id or self.new_trigger_id(), "view": v,
            "response_urls": [], "is_enterprise_install": False, "enterprise": None,
        }

    def view_submission(self, view: dict | None = None, *, timestamp: int | None = None,
                        **kwargs: Any) -> SignedRequest:
        return self.interactive(self.view_submission_payload(view, **kwargs),
                                timestamp=timestamp)

    def view_closed_payload(self, view: dict, *, user: str) -> dict:
        return {"type": "view_closed", "team": self._team(), "user": self._user(user),
                "api_app_id": self.api_app_id, "token": self.verification_token,
                "view": view, "is_cleared": False, "is_enterprise_install": False,
                "enterprise": None}

    def block_suggestion_payload(self, action_id: str, value: str, *, user: str,
                                 block_id: str = "search", view: dict | None = None) -> dict:
        """External-select search-as-you-type request (answered with ``options``)."""
        payload: dict[str, Any] = {
            "type": "block_suggestion", "user": self._user(user), "team": self._team(),
            "api_app_id": self.api_app_id, "token": self.verification_token,
            "action_id": action_id, "block_id": block_id, "value": value,
            "action_ts": f"{time.time():.6f}", "is_enterprise_install": False,
            "enterprise": None,
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = view
        return payload

    def shortcut_payload(self, callback_id: str, *, user: str,
                         trigger_id: str | None = None) -> dict:
        """A global shortcut."""
        return {"type": "shortcut", "token": self.verification_token,
                "action_ts": f"{time.time():.6f}", "team": self._team(),
                "user": self._user(user), "is_enterprise_install": False, "enterprise": None,
                "callback_id": callback_id, "trigger_id": trigger_id or self.new_trigger_id()}

    def message_action_payload(self, callback_id: str, *, user: str, channel: str,
                               message: dict | None = None, message_ts: str | None = None,
                               trigger_id: str | None = None) -> dict:
        """A message shortcut on ``message`` (or a minimal message with ``message_ts``)."""
        if message is None:
            message = {"type": "message", "user": user, "text": "", "ts": message_ts or ""}
        return {"type": "message_action", "token": self.verification_token,
                "action_ts": f"{time.time():.6f}", "team": self._team(),
                "user": self._user(user), "channel": {"id": channel, "name": channel.lower()},
                "is_enterprise_install": False, "enterprise": None,
                "callback_id": callback_id, "trigger_id": trigger_id or self.new_trigger_id(),
                "response_url": self.response_url("actions"),
                "message_ts": message.get("ts") or message_ts, "message": message}

    # -- slash commands --------------------------------------------------------------------

    def slash_command_form(self, command: str, text: str = "", *, user_id: str,
                           channel_id: str, user_name: str | None = None,
                           channel_name: str | None = None,
                           trigger_id: str | None = None,
                           response_url: str | None = None) -> dict[str, str]:
        return {
            "token": self.verification_token, "team_id": self.team_id,
            "team_domain": self.team_domain, "channel_id": channel_id,
            "channel_name": channel_name or ("directmessage" if channel_id.startswith("D")
                                             else channel_id.lower()),
            "user_id": user_id, "user_name": user_name or user_id.lower(),
            "command": command, "text": text, "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or self.response_url("commands"),
            "trigger_id": trigger_id or self.new_trigger_id(),
        }

    def slash_command(self, command: str, text: str = "", *, timestamp: int | None = None,
                      **kwargs: Any) -> SignedRequest:
        return self.signed_form(self.slash_command_form(command, text, **kwargs),
                                timestamp=timestamp)

    # -- Socket Mode envelopes -------------------------------------------------------------

    def socket_event(self, event: dict, *, event_id: str | None = None,
                     retry_attempt: int = 0, retry_reason: str = "") -> dict:
        return {"envelope_id": str(uuid.uuid4()), "type": "events_api",
                "payload": self.event_envelope(event, event_id=event_id),
                "accepts_response_payload": False,
                "retry_attempt": retry_attempt, "retry_reason": retry_reason}

    def socket_interactive(self, payload: dict) -> dict:
        return {"envelope_id": str(uuid.uuid4()), "type": "interactive", "payload": payload,
                "accepts_response_payload": payload.get("type") in (
                    "view_submission", "block_suggestion")}

    def socket_slash_command(self, command: str, text: str = "", **kwargs: Any) -> dict:
        return {"envelope_id": str(uuid.uuid4()), "type": "slash_commands",
                "payload": self.slash_command_form(command, text, **kwargs),
                "accepts_response_payload": True}


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")
