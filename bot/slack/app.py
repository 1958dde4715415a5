"""Bolt AsyncApp for Threadline: listeners plus the middleware every request goes through."""

from __future__ import annotations

import logging
from collections import OrderedDict

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import listeners
from bot.slack.access import Gate
from bot.slack.services import SlackServices

log = logging.getLogger("threadline.slack")


class SeenEvents:
    """Slack retries events it thinks we missed; remember recent event ids (bounded)."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        if event_id in self._seen:
            return False
        self._seen[event_id] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return True

    def forget(self, event_id: str) -> None:
        self._seen.pop(event_id, None)


def build_bolt_app(client: AsyncWebClient, signing_secret: str | None,
                   services: SlackServices) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        # The HTTP route verifies the signature before anything reads the body (and hands
        # Bolt a cleaned body); Socket Mode needs no signature.
        request_verification_enabled=False,
        process_before_response=False,  # ack first, work after (Slack's 3 s rule)
        ignoring_self_events_enabled=True,
    )
    seen = SeenEvents()
    gate = services.gate or Gate(services.identity)
    services.gate = gate

    @app.middleware
    async def dedupe_events(body: dict, context, next):
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if event_id and not seen.first_time(event_id):
            log.info("ignoring a redelivered Slack event %s", event_id)
            # An explicit 200: without a response Bolt would answer 404 and Slack retries.
            return BoltResponse(status=200, body="")
        if event_id:  # a listener that failed before the ack: the redelivery must run
            context["forget_event"] = lambda: seen.forget(event_id)
        await next()
        return None

    @app.middleware
    async def staff_only(body: dict, client: AsyncWebClient, context, next):
        return await gate(body, client, context, next)

    @app.error
    async def on_error(error: Exception, body: dict) -> None:
        log.error("Slack listener failed: %s", error, exc_info=error)

    listeners.register(app, services)
    return app
