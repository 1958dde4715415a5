"""Outbound WhatsApp through Twilio: Body / MediaUrl, or content_sid + content_variables."""

from __future__ import annotations

from datetime import timedelta

from bridges.twilio.api import TwilioApi
from bridges.twilio.media_links import signed_url
from bridges.twilio.templates import content_variables
from core.delivery import CANNOT_TELL, PermanentError
from core.usecases import OutboundContext

BODY_LIMIT = 1600  # Twilio's limit for a WhatsApp body
CLOCK_SKEW = timedelta(minutes=2)  # between our clock and Twilio's date_created


class TwilioSender:
    def __init__(self, api: TwilioApi, from_number: str, public_url: str) -> None:
        self.api, self.public_url = api, public_url.rstrip("/")
        self.from_ = f"whatsapp:{from_number}"
        self.status_callback = f"{self.public_url}/webhooks/twilio/status"

    async def __call__(self, ctx: OutboundContext, progress) -> None:
        """Part by part, each reported to `progress`; parts already sent are skipped."""
        for n, part in enumerate(self._parts(ctx)):
            if n >= len(progress.sent):
                await progress.part_sent(await part())

    async def lookup(self, ctx: OutboundContext) -> str | None:
        """After a crash mid-send: Twilio's sid for the message if it went out, None if it
        did not, CANNOT_TELL for shapes Twilio's list cannot match (templates, media)."""
        message = ctx.message
        if message.template_name or message.attachments or not message.body:
            return CANNOT_TELL
        since = message.created_at - CLOCK_SKEW
        return await self.api.find_sent(from_=self.from_, to=self._to(ctx),
                                        body=message.body, since=since)

    @staticmethod
    def _to(ctx: OutboundContext) -> str:
        # the id WhatsApp gave the sender (e.g. +521… for a Mexican mobile), else the address
        return f"whatsapp:{ctx.conversation.provider_thread_id or ctx.contact.address}"

    def _parts(self, ctx: OutboundContext) -> list:
        to = self._to(ctx)
        message = ctx.message
        common = {"from_": self.from_, "to": to, "status_callback": self.status_callback}
        if message.template_name:
            if ctx.template is None or not ctx.template.provider_name:
                raise PermanentError(f"template {message.template_name!r} is not known any more")
            template = ctx.template
            return [lambda: self.api.send(
                **common, content_sid=template.provider_name,
                content_variables=content_variables(template, message.template_values))]
        body = message.body or ""
        if len(body) > BODY_LIMIT:
            raise PermanentError(f"the text is {len(body)} characters; WhatsApp through Twilio "
                                 f"allows {BODY_LIMIT}")
        urls = []
        for attachment in message.attachments:
            if not attachment.storage_key:
                raise PermanentError(f"attachment {attachment.filename!r} has no stored bytes")
            urls.append(signed_url(self.public_url, self.api.auth_token, attachment.storage_key))
        if not body and not urls:
            raise PermanentError("nothing to send: the message has no text and no attachment")
        # WhatsApp carries one media per message: the text rides with the first one.
        parts = [lambda: self.api.send(**common, body=body or None, media_urls=urls[:1] or None)]
        for url in urls[1:]:
            parts.append(lambda url=url: self.api.send(**common, media_urls=[url]))
        return parts
