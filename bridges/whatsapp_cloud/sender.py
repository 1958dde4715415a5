"""Outbound messages through the Graph API: text, media (uploaded first) and templates."""

from __future__ import annotations

from bridges.whatsapp_cloud.graph import GraphClient
from bridges.whatsapp_cloud.templates import template_components
from bridges.whatsapp_common.media import media_kind
from core.delivery import PermanentError
from core.ports import FileStore
from core.usecases import OutboundContext

CAPTIONED = ("image", "video", "document")
TEXT_LIMIT = 4096  # Meta's limit for a text body


class CloudSender:
    def __init__(self, graph: GraphClient, phone_number_id: str, files: FileStore) -> None:
        self.graph, self.phone_number_id, self.files = graph, phone_number_id, files

    async def __call__(self, ctx: OutboundContext) -> list[str]:
        """Send one queued message; returns the wamids of its parts, first first (several
        attachments go as several WhatsApp messages; every part's statuses are tracked)."""
        to = ctx.contact.address.lstrip("+")
        message = ctx.message
        context = {}
        reply_to = message.meta.get("reply_to") if isinstance(message.meta, dict) else None
        if reply_to:
            context = {"context": {"message_id": str(reply_to)}}
        if message.template_name:
            if ctx.template is None or not ctx.template.provider_name:
                raise PermanentError(f"template {message.template_name!r} is not known any more "
                                     "(was it deleted at Meta?)")
            template = ctx.template
            payload = {"to": to, "type": "template", "template": {
                "name": template.provider_name,
                "language": {"code": template.language or "en_US"},
                "components": template_components(template, message.template_values),
            }}
            return [await self.graph.send(self.phone_number_id, payload)]
        body = message.body or ""
        if len(body) > TEXT_LIMIT:
            raise PermanentError(f"the text is {len(body)} characters; WhatsApp allows "
                                 f"{TEXT_LIMIT}")
        parts: list[str] = []
        caption_used = False
        attachments = list(message.attachments)
        first_kind = media_kind(attachments[0].content_type) if attachments else None
        if body and (not attachments or first_kind not in CAPTIONED):
            parts.append(await self.graph.send(self.phone_number_id, {
                "to": to, "type": "text", "text": {"body": body, "preview_url": False},
                **context}))
            caption_used = True
        for attachment in attachments:
            if not attachment.storage_key:
                raise PermanentError(f"attachment {attachment.filename!r} has no stored bytes")
            data = await self.files.get(attachment.storage_key)
            kind = media_kind(attachment.content_type)
            kind = "image" if kind == "sticker" else ("audio" if kind == "voice" else kind)
            media_id = await self.graph.upload(self.phone_number_id, data, attachment.filename,
                                               attachment.content_type)
            media: dict = {"id": media_id}
            if kind == "document":
                media["filename"] = attachment.filename
            if kind in CAPTIONED and body and not caption_used:
                media["caption"] = body
                caption_used = True
            parts.append(await self.graph.send(self.phone_number_id, {
                "to": to, "type": kind, kind: media, **({} if parts else context)}))
        if not parts:
            raise PermanentError("nothing to send: the message has no text and no attachment")
        return parts
