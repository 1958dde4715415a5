"""Slack front end wiring: Web API client, mirror handlers, Bolt listeners, HTTP route at
/slack/events and Socket Mode (the default for a first install: no public URL).

Start-up checks the token (auth.test), turns channel names into ids and, in Socket Mode,
connects; while Slack is unreachable it keeps trying in the background. A token Slack
refuses stops the front end with one clear error (and /readyz says so): its outbox rows
then wait untouched until Threadline runs with a working token.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import urlparse

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.app import build_bolt_app
from bot.slack.gateway import SlackGateway, slack_error_code
from bot.slack.identity import ConfiguredAgents, SlackIdentity
from bot.slack.members import ChannelMembers
from bot.slack.mirror import SlackMirror
from bot.slack.pacing import ChannelPacer
from bot.slack.presenter import Presenter
from bot.slack.services import SlackServices
from bot.slack.shape import BadShape, clean_request
from bot.slack.workspace import (
    AUTH_ERRORS,
    SlackSetupError,
    auth_problem,
    is_channel_id,
    resolve_channels,
)
from bridges.http_body import BodyTooLarge, read_capped
from core.delivery import TransientError
from threadline.health import State
from threadline.integrations import Integration

log = logging.getLogger("threadline.slack")

SLACK_FILE_HOSTS = {"files.slack.com", "slack-files.com"}
NAME = "slack"
MAX_BODY = 2 * 1024 * 1024  # Slack's payloads are far smaller; modal state is the largest


def build(runtime) -> Integration | None:
    settings = runtime.settings
    if not settings.slack_bot_token or not (settings.slack_signing_secret
                                            or settings.slack_app_token):
        return None
    problems = settings.slack_token_problems()
    if problems:
        for problem in problems:
            log.error("Slack front end off: %s", problem)
        runtime.health.set(NAME, State.FAILED, " ".join(problems))
        return None
    return _SlackFrontEnd(runtime).integration


class _SlackFrontEnd:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        settings = self.settings = runtime.settings
        accounts = runtime.accounts
        self.client = AsyncWebClient(token=settings.slack_bot_token,
                                     base_url=settings.slack_api_url)
        self.configured = {a: (acc.slack_channel or settings.slack_channel)
                           for a, acc in accounts.items()}
        values = {c for c in [settings.slack_channel, *self.configured.values()] if c}
        self.channel_ids = {v: v for v in values if is_channel_id(v)}
        self.unresolved = values - set(self.channel_ids)
        seconds = lambda: runtime.clock.now().timestamp()  # noqa: E731
        pacer = ChannelPacer(settings.slack_posts_per_second, settings.slack_post_burst,
                             seconds=seconds)
        gateway = SlackGateway(self.client, pacer, on_auth_failure=self._token_refused)
        presenter = Presenter(runtime.inbox, accounts, runtime.clock)
        self.mirror = SlackMirror(runtime.inbox, gateway, presenter, runtime.files,
                                  self._channel_for_account, settings.slack_countdown_seconds)
        members = ChannelMembers(self.client, self.channel_ids.values(),
                                 settings.slack_members_ttl_seconds, seconds)
        allowed = {u.strip() for u in settings.slack_allowed_users.split(",") if u.strip()}
        identity = SlackIdentity(runtime.inbox, allowed, members,
                                 ConfiguredAgents.of(runtime.config.agents))
        self.services = SlackServices(
            inbox=runtime.inbox, clock=runtime.clock, timezone=runtime.timezone,
            accounts=accounts, identity=identity, presenter=presenter, gateway=gateway,
            mirror=self.mirror, files=runtime.files,
            undo_window=timedelta(seconds=settings.undo_send_seconds),
            file_hosts=SLACK_FILE_HOSTS | {urlparse(settings.slack_api_url).hostname or ""},
            channel_for_account=self._channel_for_account,
        )
        self.bolt = build_bolt_app(self.client, settings.slack_signing_secret, self.services)
        self.handlers = self.mirror.handlers()
        # With channel names to look up first, the handlers are registered once they are.
        self.integration = Integration(
            name=NAME, handlers={} if self.unresolved else dict(self.handlers),
            start=self.start, stop=self.stop, router=self._router())
        self._socket = None
        self._tasks: list[asyncio.Task] = []
        self._stopping = asyncio.Event()
        runtime.health.set(NAME, State.STARTING)
        runtime.slack = self.services  # for tests and the CLI

    # -- channels ---------------------------------------------------------------------
    def _channel_for_account(self, account_id: str) -> str | None:
        value = self.configured.get(account_id) or self.settings.slack_channel
        if not value:
            return None
        if value not in self.channel_ids:
            raise TransientError(f"the Slack channel {value!r} is not looked up yet", "starting")
        return self.channel_ids[value]

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping.clear()
        if await self._connect_once():
            return
        self._tasks.append(asyncio.create_task(self._keep_connecting(), name="slack-connect"))

    async def stop(self) -> None:
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self.services.gate is not None:
            await self.services.gate.settle()

    async def _keep_connecting(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
                return
            except TimeoutError:
                pass
            if await self._connect_once():
                return
            delay = min(delay * 2, 60.0)

    async def _connect_once(self) -> bool:
        """One attempt at everything start-up needs. True when done (or stopped for good)."""
        try:
            await self._check_token()
            await self._resolve_names()
            if self.settings.slack_app_token:
                await self._check_app_token()
        except SlackSetupError as exc:
            self._fail(str(exc))
            return True
        except Exception as exc:
            log.warning("Slack not reachable yet (%s); retrying in the background", exc)
            self.runtime.health.set(NAME, State.DEGRADED, f"Slack not reachable: {exc}")
            return False
        if self.settings.slack_app_token:
            # The SDK keeps reconnecting on its own from here: never block start-up on it.
            self._tasks.append(asyncio.create_task(self._connect_socket(),
                                                   name="slack-socket-mode"))
        else:
            self.runtime.health.set(NAME, State.OK, "HTTP mode")
        return True

    async def _check_token(self) -> None:
        auth = await _token_call(self.client.auth_test(), "SLACK_BOT_TOKEN")
        self.services.workspace_url = auth.get("url")
        self.services.identity.bot_user_id = auth.get("user_id")

    async def _check_app_token(self) -> None:
        """Ask for a Socket Mode URL once ourselves: the SDK would retry a refused app token
        forever, logging a stack trace every few seconds."""
        await _token_call(self.client.apps_connections_open(
            app_token=self.settings.slack_app_token), "SLACK_APP_TOKEN")

    async def _resolve_names(self) -> None:
        if not self.unresolved:
            return
        found = await resolve_channels(self.client, sorted(self.unresolved))
        self.channel_ids.update(found)
        self.unresolved.clear()
        self.services.identity.members.set_channels(self.channel_ids.values())
        for kind, handler in self.handlers.items():
            self.runtime.dispatcher.register(kind, handler)
        log.info("Slack channels: %s", ", ".join(f"{k} = {v}" for k, v in found.items()))

    async def _connect_socket(self) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(self.bolt, self.settings.slack_app_token)
        self._socket = handler
        await handler.connect_async()
        self.runtime.health.set(NAME, State.OK, "Socket Mode")
        log.info("Slack Socket Mode connected")

    def _token_refused(self, code: str) -> None:
        """The mirror's Slack call was refused for the token (revoked while running)."""
        self._fail(auth_problem(code, "SLACK_BOT_TOKEN"))

    def _fail(self, problem: str) -> None:
        current = self.runtime.health.get(NAME)
        if current is None or current.state is not State.FAILED:
            log.error("Slack front end stopped: %s", problem)
        self.runtime.health.set(NAME, State.FAILED, problem)
        self.runtime.dispatcher.unregister(self.handlers)

    # -- HTTP mode ------------------------------------------------------------------------
    def _router(self) -> APIRouter | None:
        if not self.settings.slack_signing_secret:
            return None
        handler = AsyncSlackRequestHandler(self.bolt)
        verifier = SignatureVerifier(self.settings.slack_signing_secret)
        router = APIRouter()

        @router.post("/slack/events")
        async def slack_events(request: Request):
            # Cap, then verify before Bolt parses anything: a forged, huge or broken body
            # gets a clear 4xx.
            try:
                body = await read_capped(request, MAX_BODY)
            except BodyTooLarge as exc:
                return JSONResponse({"error": str(exc)}, 413)
            if not _signed(verifier, body, request):
                return JSONResponse({"error": "invalid or stale Slack signature"}, 401)
            try:
                request._body = clean_request(body, request.headers.get("content-type", ""))
            except BadShape as exc:
                return JSONResponse({"error": f"malformed Slack request: {exc}"}, 400)
            try:
                return await handler.handle(request)
            except ValueError as exc:  # a signed body that is not valid JSON/form
                return JSONResponse({"error": f"malformed Slack request: {exc}"}, 400)
            except (AttributeError, TypeError, KeyError, IndexError, RecursionError) as exc:
                # Bolt reads the payload before any listener runs and trusts its shape: a
                # signed body of the wrong shape is a problem of the body, not a server error.
                log.warning("refused a Slack request of the wrong shape: %r", exc)
                return JSONResponse({"error": "malformed Slack request: unexpected shape"}, 400)

        return router


def _signed(verifier: SignatureVerifier, body: bytes, request: Request) -> bool:
    try:
        return verifier.is_valid_request(body, dict(request.headers))
    except (UnicodeDecodeError, ValueError):  # a body that is not text cannot be signed
        return False


async def _token_call(call, setting: str):
    """A Slack call whose refusal of the token in `setting` is a setup problem (one clear
    error, no retries); other failures go through for the caller to retry."""
    try:
        return await call
    except SlackApiError as exc:
        code = slack_error_code(exc) or "error"
        if code in AUTH_ERRORS:
            raise SlackSetupError(auth_problem(code, setting)) from None
        raise
