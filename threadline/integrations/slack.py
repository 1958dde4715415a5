"""Slack front end wiring: Web API client, mirror handlers, Bolt listeners, HTTP route at
/slack/events and Socket Mode (the default for a first install: no public URL)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import urlparse

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.app import build_bolt_app
from bot.slack.gateway import SlackGateway
from bot.slack.identity import SlackIdentity
from bot.slack.mirror import SlackMirror
from bot.slack.pacing import ChannelPacer
from bot.slack.presenter import Presenter
from bot.slack.services import SlackServices
from threadline.integrations import Integration

log = logging.getLogger("threadline.slack")

SLACK_FILE_HOSTS = {"files.slack.com", "slack-files.com"}


def build(runtime) -> Integration | None:
    settings = runtime.settings
    if not settings.slack_bot_token or not (settings.slack_signing_secret
                                            or settings.slack_app_token):
        return None
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    accounts = runtime.accounts

    def channel_for_account(account_id: str) -> str | None:
        account = accounts.get(account_id)
        return (account.slack_channel if account else None) or settings.slack_channel

    inbox_channels = {c for c in [settings.slack_channel,
                                  *(a.slack_channel for a in accounts.values())] if c}
    allowed = {u.strip() for u in settings.slack_allowed_users.split(",") if u.strip()}
    pacer = ChannelPacer(settings.slack_posts_per_second, settings.slack_post_burst,
                         seconds=lambda: runtime.clock.now().timestamp())
    gateway = SlackGateway(client, pacer)
    presenter = Presenter(runtime.inbox, accounts, runtime.clock)
    mirror = SlackMirror(runtime.inbox, gateway, presenter, runtime.files, channel_for_account)
    services = SlackServices(
        inbox=runtime.inbox, clock=runtime.clock, timezone=runtime.timezone, accounts=accounts,
        identity=SlackIdentity(runtime.inbox, allowed, inbox_channels), presenter=presenter,
        gateway=gateway, mirror=mirror, files=runtime.files,
        undo_window=timedelta(seconds=settings.undo_send_seconds),
        file_hosts=SLACK_FILE_HOSTS | {urlparse(settings.slack_api_url).hostname or ""},
        channel_for_account=channel_for_account,
    )
    bolt = build_bolt_app(client, settings.slack_signing_secret, services)
    integration = Integration(name="slack", handlers=mirror.handlers())
    socket_handler = None

    connecting: asyncio.Task | None = None

    async def connect_socket_mode() -> None:
        """Slack may be unreachable at start-up: keep trying in the background (the rest of
        Threadline runs meanwhile; the outbox keeps posts until Slack answers)."""
        nonlocal socket_handler
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        delay = 1.0
        while True:
            try:
                if not services.workspace_url:
                    services.workspace_url = (await client.auth_test()).get("url")
                socket_handler = AsyncSocketModeHandler(bolt, settings.slack_app_token)
                await socket_handler.connect_async()
                log.info("Slack Socket Mode connected")
                return
            except Exception as exc:
                log.warning("Slack Socket Mode not connected (%s); retrying in %.0f s",
                            exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def start() -> None:
        nonlocal connecting
        if settings.slack_app_token:
            connecting = asyncio.create_task(connect_socket_mode(), name="slack-socket-mode")
            return
        try:
            services.workspace_url = (await client.auth_test()).get("url")
        except Exception:
            log.warning("Slack auth.test failed; thread links in lists are off for now",
                        exc_info=True)

    async def stop() -> None:
        if connecting is not None and not connecting.done():
            connecting.cancel()
        if socket_handler is not None:
            await socket_handler.close_async()

    integration.start, integration.stop = start, stop
    if settings.slack_signing_secret:
        handler = AsyncSlackRequestHandler(bolt)
        verifier = SignatureVerifier(settings.slack_signing_secret)
        router = APIRouter()

        @router.post("/slack/events")
        async def slack_events(request: Request):
            # Verify before Bolt parses anything: a forged or broken body gets a clear 4xx.
            body = await request.body()
            if not verifier.is_valid_request(body, dict(request.headers)):
                return JSONResponse({"error": "invalid or stale Slack signature"}, 401)
            try:
                return await handler.handle(request)
            except ValueError as exc:  # a signed body that is not valid JSON/form
                return JSONResponse({"error": f"malformed Slack request: {exc}"}, 400)

        integration.router = router
    runtime.slack = services  # for tests and the CLI
    return integration
