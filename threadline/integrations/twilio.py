"""WhatsApp through Twilio: webhooks, `send:twilio`, `fetch_media:twilio` (customer media,
downloaded after the webhook's ack) and Content template sync.

Every account with provider `twilio` is one WhatsApp sender number (its address); its own
settings (accounts file `settings:`) may carry a different account SID and auth token.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from bridges.twilio.api import DEFAULT_API, TwilioApi
from bridges.twilio.media_policy import TWILIO_MEDIA_HOSTS, MediaPolicy, origin_of
from bridges.twilio.sender import TwilioSender
from bridges.twilio.templates import sync_content_templates
from bridges.twilio.webhook import SURFACE, TwilioNumber, TwilioWebhook
from bridges.whatsapp_common.fetch import fetch_handlers
from core.addresses import normalize_phone
from core.delivery import CANNOT_TELL, PermanentError
from core.effects import FETCH_MEDIA
from core.errors import InvalidPhoneNumber
from threadline.config import settings_for_account
from threadline.integrations import Integration
from threadline.integrations._sending import send_handlers

log = logging.getLogger("threadline.twilio")

KIND = f"send:{SURFACE}"
FETCH_KIND = f"{FETCH_MEDIA}:{SURFACE}"


def media_policy(api_url: str) -> MediaPolicy:
    """https on Twilio's media hosts at the default port; a TWILIO_API_URL other than
    Twilio's (the fake API in tests, a proxy) is trusted for media too, at its own origin."""
    origin = origin_of(api_url or DEFAULT_API)
    extra = {origin} if origin is not None and origin != origin_of(DEFAULT_API) else set()
    return MediaPolicy(TWILIO_MEDIA_HOSTS, frozenset({"https"}), frozenset(extra))


class TwilioIntegration:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        self.numbers: dict[str, TwilioNumber] = {}
        self.senders: dict[str, TwilioSender] = {}
        public_url = runtime.settings.public_url or ""
        for account in runtime.accounts.values():
            if account.provider != SURFACE:
                continue
            s = settings_for_account(runtime.config, runtime.settings, account.id)
            raw = account.address or (s.twilio_whatsapp_from or "")
            try:
                number = normalize_phone(raw)
            except InvalidPhoneNumber as exc:
                log.warning("Twilio account %s: %s", account.id, exc)
                continue
            if not (s.twilio_account_sid and s.twilio_auth_token and s.public_url):
                log.warning("Twilio account %s: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
                            "THREADLINE_PUBLIC_URL to use it", account.id)
                continue
            api = TwilioApi(s.twilio_account_sid, s.twilio_auth_token, s.twilio_api_url,
                            self.http, media_policy(s.twilio_api_url))
            self.numbers[number] = TwilioNumber(account.id, api)
            self.senders[account.id] = TwilioSender(api, number, s.public_url)
            public_url = public_url or s.public_url
        self.webhook = TwilioWebhook(self.numbers, public_url, runtime.receive, runtime.inbox,
                                     runtime.files, runtime.clock)
        self._sync_task: asyncio.Task | None = None

    async def send(self, ctx, progress) -> None:
        sender = self.senders.get(ctx.account.id)
        if sender is None:
            raise PermanentError(f"Twilio account {ctx.account.id!r} is not configured")
        await sender(ctx, progress)

    async def lookup(self, ctx):
        sender = self.senders.get(ctx.account.id)
        return await sender.lookup(ctx) if sender is not None else CANNOT_TELL

    async def download(self, pending, limit: int) -> tuple[bytes, str | None]:
        """A pending customer file, with the credentials of the number it was sent to. The
        content type stays the one the webhook declared."""
        number = next((n for n in self.numbers.values() if n.account == pending.account), None)
        if number is None:
            raise PermanentError(f"Twilio account {pending.account!r} is not configured")
        data, _ = await number.api.download(pending.attachment.pending_ref, limit)
        return data, None

    async def sync_templates(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for number in self.numbers.values():
            try:
                counts[number.account] = await sync_content_templates(
                    number.api, number.account, self.runtime.inbox)
                log.info("Twilio templates synced for %s: %d approved", number.account,
                         counts[number.account])
            except Exception as exc:
                log.error("Twilio template sync for %s failed: %s", number.account, exc)
        return counts

    async def start(self) -> None:
        if self.numbers and self.runtime.leader.is_leader:
            self._sync_task = asyncio.create_task(self.sync_templates(),
                                                  name="twilio-template-sync")

    async def stop(self) -> None:
        task, self._sync_task = self._sync_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def build(runtime) -> Integration | None:
    if not any(a.provider == SURFACE for a in runtime.accounts.values()):
        return None
    bridge = TwilioIntegration(runtime)
    if not bridge.numbers:
        log.warning("Twilio off: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, "
                    "TWILIO_WHATSAPP_FROM and THREADLINE_PUBLIC_URL")
        return None
    handle, on_failure = send_handlers(runtime.inbox, SURFACE, bridge.send, multipart=True,
                                       lookup=bridge.lookup)
    fetch, fetch_failed = fetch_handlers(runtime.inbox, runtime.files, bridge.download)
    integration = Integration(SURFACE, handlers={KIND: handle, FETCH_KIND: fetch},
                              failure_hooks={KIND: on_failure, FETCH_KIND: fetch_failed},
                              router=bridge.webhook.router(), start=bridge.start,
                              stop=bridge.stop)
    integration.bridge = bridge
    return integration


async def sync_all_templates(runtime) -> dict[str, int]:
    """CLI entry point: sync approved Content templates of every Twilio number once."""
    bridge = TwilioIntegration(runtime)
    try:
        return await bridge.sync_templates()
    finally:
        await bridge.http.aclose()
