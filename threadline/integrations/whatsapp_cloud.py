"""Meta WhatsApp Cloud API: webhooks, `send:whatsapp_cloud`, `fetch_media:whatsapp_cloud`
(customer media, downloaded after the webhook's ack) and template sync.

Every account with provider `whatsapp_cloud` is one number; its own settings (accounts file
`settings:`) give its token, phone number id and WABA. Without a single usable number the
integration is off and `threadline serve` says which settings are missing.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from bridges.whatsapp_cloud.graph import GraphClient
from bridges.whatsapp_cloud.sender import CloudSender
from bridges.whatsapp_cloud.templates import sync_templates
from bridges.whatsapp_cloud.webhook import SURFACE, CloudNumber, CloudWebhook
from bridges.whatsapp_common.fetch import fetch_handlers
from core.delivery import PermanentError
from core.effects import FETCH_MEDIA
from threadline.config import settings_for_account
from threadline.integrations import Integration
from threadline.integrations._sending import send_handlers

log = logging.getLogger("threadline.whatsapp_cloud")

KIND = f"send:{SURFACE}"
FETCH_KIND = f"{FETCH_MEDIA}:{SURFACE}"
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def phone_number_id(config, account, settings) -> str | None:
    """Meta's phone number id for an account: its own WHATSAPP_CLOUD_PHONE_NUMBER_ID
    setting, else an address that is such an id (digits only; "+34…" is the number, not
    the id), else the process-wide setting."""
    for configured in config.accounts:
        if configured.id == account.id and "WHATSAPP_CLOUD_PHONE_NUMBER_ID" in configured.settings:
            return configured.settings["WHATSAPP_CLOUD_PHONE_NUMBER_ID"]
    if account.address and account.address.isdigit():
        return account.address
    return settings.whatsapp_cloud_phone_number_id


class CloudIntegration:
    def __init__(self, runtime) -> None:
        self.runtime = runtime
        self.http = httpx.AsyncClient(timeout=HTTP_TIMEOUT)
        self.numbers: dict[str, CloudNumber] = {}
        self.waba: dict[str, tuple[GraphClient, str]] = {}  # account -> (graph, waba id)
        self.senders: dict[str, CloudSender] = {}
        secrets, tokens = [], []
        for account in runtime.accounts.values():
            if account.provider != SURFACE:
                continue
            s = settings_for_account(runtime.config, runtime.settings, account.id)
            phone_id = phone_number_id(runtime.config, account, s)
            if not (s.whatsapp_cloud_token and phone_id):
                log.warning("WhatsApp account %s: set WHATSAPP_CLOUD_TOKEN and a phone number "
                            "id to use it", account.id)
                continue
            graph = GraphClient(s.whatsapp_graph_url, s.whatsapp_cloud_token, self.http)
            self.numbers[phone_id] = CloudNumber(account.id, graph)
            self.senders[account.id] = CloudSender(graph, phone_id, runtime.files)
            if s.whatsapp_cloud_waba_id:
                self.waba[account.id] = (graph, s.whatsapp_cloud_waba_id)
            for value, bucket in ((s.whatsapp_cloud_app_secret, secrets),
                                  (s.whatsapp_cloud_verify_token, tokens)):
                if value and value not in bucket:
                    bucket.append(value)
        self.webhook = CloudWebhook(self.numbers, secrets, tokens, runtime.receive_many,
                                    runtime.inbox)
        self._sync_task: asyncio.Task | None = None

    async def send(self, ctx, progress) -> None:
        sender = self.senders.get(ctx.account.id)
        if sender is None:
            raise PermanentError(f"WhatsApp account {ctx.account.id!r} has no token or phone "
                                 "number id configured")
        await sender(ctx, progress)

    async def download(self, pending, limit: int) -> tuple[bytes, str | None]:
        """A pending customer file, with the token of the number it was sent to."""
        number = next((n for n in self.numbers.values() if n.account == pending.account), None)
        if number is None:
            raise PermanentError(f"WhatsApp account {pending.account!r} has no token or phone "
                                 "number id configured")
        return await number.graph.download_media(pending.attachment.pending_ref, limit)

    async def sync_templates(self) -> dict[str, int]:
        """Upsert every number's approved templates; one failing WABA does not stop the rest."""
        counts: dict[str, int] = {}
        for account, (graph, waba_id) in self.waba.items():
            try:
                counts[account] = await sync_templates(graph, waba_id, account,
                                                       self.runtime.inbox)
                log.info("WhatsApp templates synced for %s: %d approved", account,
                         counts[account])
            except Exception as exc:
                log.error("WhatsApp template sync for %s failed: %s", account, exc)
        return counts

    async def start(self) -> None:
        if self.waba and self.runtime.leader.is_leader:
            self._sync_task = asyncio.create_task(self.sync_templates(),
                                                  name="whatsapp-template-sync")

    async def stop(self) -> None:
        task, self._sync_task = self._sync_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.http.aclose()
        self.http = httpx.AsyncClient(timeout=HTTP_TIMEOUT)
        for number in self.numbers.values():
            number.graph.http = self.http


def build(runtime) -> Integration | None:
    if not any(a.provider == SURFACE for a in runtime.accounts.values()):
        return None
    cloud = CloudIntegration(runtime)
    if not cloud.numbers or not cloud.webhook.app_secrets:
        log.warning("WhatsApp Cloud API off: set WHATSAPP_CLOUD_TOKEN, "
                    "WHATSAPP_CLOUD_APP_SECRET, WHATSAPP_CLOUD_VERIFY_TOKEN and "
                    "WHATSAPP_CLOUD_PHONE_NUMBER_ID")
        return None
    handle, on_failure = send_handlers(runtime.inbox, SURFACE, cloud.send, multipart=True)
    fetch, fetch_failed = fetch_handlers(runtime.inbox, runtime.files, cloud.download)
    integration = Integration(SURFACE, handlers={KIND: handle, FETCH_KIND: fetch},
                              failure_hooks={KIND: on_failure, FETCH_KIND: fetch_failed},
                              router=cloud.webhook.router(), start=cloud.start, stop=cloud.stop)
    integration.bridge = cloud  # tests and the CLI reach sync_templates through it
    return integration


async def sync_all_templates(runtime) -> dict[str, int]:
    """CLI entry point: sync approved templates of every configured number once."""
    cloud = CloudIntegration(runtime)
    try:
        return await cloud.sync_templates()
    finally:
        await cloud.http.aclose()
