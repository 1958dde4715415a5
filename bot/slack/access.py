"""The one gate every Slack request goes through before any listener runs.

It names the request (event type, action id, modal callback, shortcut, `/inbox` verb),
looks up the permission that request needs in `REQUIRED`, resolves the Slack user to a
role and asks the core's permission table. Anything not in `REQUIRED` is refused: a new
listener does nothing until someone decides who may use it. Refusals are answered the way
each kind of request can show them (ack body, response_url, modal field error, an empty
options list, a Home tab that shows nothing).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.identity import SlackIdentity
from bot.slack.parsing import UsageError, parse_inbox
from bot.slack.views import ids
from bot.slack.views.access import NOT_STAFF, outsider_home, refusal_message, refusal_modal
from core.model import Role
from core.permissions import Permission, allows, who_may

log = logging.getLogger("threadline.slack.access")

PUBLIC = None  # requests from Slack itself that no person makes (membership changes)

R, A = Permission.READ, Permission.ACT
REQUIRED: dict[tuple[str, str], Permission | None] = {
    ("event", "message"): A,
    ("event", "app_mention"): A,
    ("event", "app_home_opened"): R,
    ("event", "member_joined_channel"): PUBLIC,
    ("event", "member_left_channel"): PUBLIC,
    **{("action", a): A for a in (
        ids.ASSIGN_ME, ids.ASSIGN_OPEN, ids.TAGS_OPEN, ids.SNOOZE_MENU, ids.RESOLVE,
        ids.REOPEN, ids.TEMPLATE_OPEN, ids.NOTE_OPEN, ids.LINK_CUSTOMER_OPEN, ids.UNDO_SEND,
        ids.MAKE_NOTE, ids.SEND_HELD, ids.RETRY_SEND, ids.TEMPLATE_PICK[1],
        ids.HOME_AVAILABILITY, ids.AI_ACTION)},
    **{("action", a): R for a in (
        ids.PROFILE_OPEN, ids.SHOW_FULL, ids.HOME_TAB, ids.HOME_FILTER_STATUS,
        ids.HOME_FILTER_CHANNEL, ids.HOME_FILTER_TAG, ids.OPEN_THREAD, ids.AI_LOOKUP)},
    **{("view", v): A for v in (
        ids.ASSIGN_MODAL, ids.TAGS_MODAL, ids.SNOOZE_MODAL, ids.TEMPLATE_MODAL,
        ids.NOTE_MODAL, ids.LINK_CUSTOMER_MODAL)},
    ("view", ids.NEW_CONVERSATION_MODAL): Permission.START,
    ("options", ids.CUSTOMER_SEARCH[1]): R,
    **{("shortcut", c): A for c in (
        ids.SHORTCUT_ASSIGN_ME, ids.SHORTCUT_NOTE, ids.SHORTCUT_SNOOZE,
        ids.SHORTCUT_RESOLVE, ids.SHORTCUT_TAGS, ids.SHORTCUT_TEMPLATE)},
    ("command", "/inbox list"): R,
    ("command", "/inbox search"): R,
    ("command", "/inbox help"): R,
    ("command", "/inbox new"): Permission.START,
    ("command", "/inbox stats"): Permission.TEAM_STATS,
    ("command", "/inbox away"): A,  # one's own availability for automatic assignment
    ("command", "/inbox back"): A,
}


@dataclass(frozen=True)
class SlackRequest:
    kind: str  # event | action | view | view_closed | options | shortcut | command
    name: str  # event type, action id, callback id or "/inbox <verb>"
    user: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    response_url: str | None = None
    view: dict | None = None  # the modal or Home view the request came from

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.name


def describe(body: dict) -> SlackRequest | None:
    """Name a Slack request; None when it is none of the kinds Threadline handles (Slack's
    own url_verification and ssl_check are answered by Bolt before this runs)."""
    if not isinstance(body, dict):
        return None
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event") or {}
        inner = event.get("message") or event.get("previous_message") or {}
        user = event.get("user") or (inner.get("user") if event.get("subtype") else None)
        return SlackRequest("event", str(event.get("type")), user, event.get("channel"),
                            event.get("thread_ts") or inner.get("thread_ts"))
    if "command" in body and "user_id" in body:
        try:
            verb = parse_inbox(body.get("text", "")).action
        except UsageError:
            verb = "list"  # the usage error is shown only to those who may list
        return SlackRequest("command", f"{body['command']} {verb}", body.get("user_id"),
                            body.get("channel_id"), None, body.get("response_url"))
    user = (body.get("user") or {}).get("id")
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id")
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts") or message.get("ts")
    if kind == "block_actions":
        action = ((body.get("actions") or [{}])[0].get("action_id")) or ""
        for numbered in (ids.HOME_TAB, ids.AI_ACTION, ids.AI_LOOKUP):
            if action.startswith(numbered + ":"):
                action = numbered
        return SlackRequest("action", action, user, channel, thread_ts,
                            body.get("response_url"), body.get("view"))
    if kind in ("view_submission", "view_closed"):
        view = body.get("view") or {}
        return SlackRequest("view" if kind == "view_submission" else "view_closed",
                            view.get("callback_id", ""), user, view=view)
    if kind == "block_suggestion":
        return SlackRequest("options", body.get("action_id", ""), user, view=body.get("view"))
    if kind in ("message_action", "shortcut"):
        return SlackRequest("shortcut", body.get("callback_id", ""), user, channel, thread_ts,
                            body.get("response_url"))
    return None


def refusal_text(role: Role | None, needed: Permission) -> str:
    if role is None:
        return NOT_STAFF
    return f"Only {who_may(needed)} can do that in Threadline."


class Gate:
    def __init__(self, identity: SlackIdentity) -> None:
        self.identity = identity
        self._tasks: set[asyncio.Task] = set()

    async def __call__(self, body: dict, client: AsyncWebClient, context, next):
        try:
            request = describe(body)
        except (AttributeError, TypeError, ValueError, KeyError):
            request = None  # a payload of the wrong shape: nobody's request
        if request is None:
            log.info("refusing a Slack request of an unknown shape")
            return BoltResponse(status=200, body="")
        if request.kind == "view_closed":
            await next()
            return None
        if request.key not in REQUIRED:
            log.warning("refusing an unexpected Slack request %s", request.key)
            return self._refuse(request, client, "Threadline does not handle that.")
        needed = REQUIRED[request.key]
        if needed is PUBLIC:
            await next()
            return None
        role = await self.identity.role_of(client, request.user)
        if allows(role, needed):
            context["staff_role"] = role
            await next()
            return None
        log.info("refused %s to Slack user %s (role %s)", request.key, request.user, role)
        return self._refuse(request, client, refusal_text(role, needed))

    def _refuse(self, request: SlackRequest, client: AsyncWebClient, text: str
                ) -> BoltResponse:
        if request.kind == "command":
            return BoltResponse(status=200, body=refusal_message(text))
        if request.kind == "view":
            block = _first_input(request.view or {})
            if block:
                return BoltResponse(status=200, body={
                    "response_action": "errors", "errors": {block: text[:2000]}})
            self._later(self._tell(client, request, text))
            return BoltResponse(status=200, body={"response_action": "clear"})
        if request.kind == "options":
            return BoltResponse(status=200, body={"options": []})
        if request.kind in ("action", "shortcut") or request.name == "app_mention":
            self._later(self._tell(client, request, text))
        elif request.name == "app_home_opened" and request.user:
            self._later(client.views_publish(user_id=request.user, view=outsider_home(text)))
        return BoltResponse(status=200, body="")

    async def _tell(self, client: AsyncWebClient, request: SlackRequest, text: str) -> None:
        payload = refusal_message(text)
        if request.response_url:
            await AsyncWebhookClient(request.response_url).send_dict(payload)
        elif (request.view or {}).get("type") == "home" and request.user:
            await client.views_publish(user_id=request.user, view=outsider_home(text))
        elif (request.view or {}).get("type") == "modal" and request.view.get("id"):
            await client.views_update(view_id=request.view["id"], view=refusal_modal(text))
        elif request.channel and request.user:
            payload = {k: v for k, v in payload.items()
                       if k not in ("response_type", "replace_original")}
            await client.chat_postEphemeral(channel=request.channel, user=request.user,
                                            thread_ts=request.thread_ts, **payload)

    def _later(self, coro) -> None:
        """Refusals go out after the answer to Slack; failures are only logged."""
        async def run():
            try:
                await coro
            except Exception:
                log.warning("could not deliver a refusal", exc_info=True)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for refusals still being delivered (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _first_input(view: dict) -> str | None:
    for block in view.get("blocks") or []:
        if block.get("type") == "input" and block.get("block_id"):
            return block["block_id"]
    return None
