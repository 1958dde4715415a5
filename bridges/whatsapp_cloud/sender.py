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

    async def __call__(self, ctx: OutboundContext, progress) -> None:
        """Send one queued message part by part (several attachments go as several
        WhatsApp messages), reporting each wamid to `progress` as soon as Meta accepts it;
        parts `progress.sent` lists already went out before a failure and are skipped."""
        # the id WhatsApp gave the sender (e.g. 521… for a Mexican mobile), else the address
        to = (ctx.conversation.provider_thread_id or ctx.contact.address).lstrip("+")
        message = ctx.message
        context = {}
        reply_to = message.meta.get("reply_to") if isinstance(message.meta, dict) else None
        if reply_to:
            context = {"context": {"message_id": str(reply_to)}}
        parts = self._parts(ctx, to, context)
        for n, part in enumerate(parts):
            if n < len(progress.sent):
                continue
            await progress.part_sent(await part())

    def _parts(self, ctx: OutboundContext, to: str, context: dict) -> list:
        """The sends, in order, as thunks: deciding them up front keeps a retry's choice
        of caption and context identical to the first attempt's."""
        message = ctx.message
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
            return [lambda: self.graph.send(self.phone_number_id, payload)]
        body = message.body or ""
        if len(body) > TEXT_LIMIT:
            raise PermanentError(f"the text is {len(body)} characters; WhatsApp allows "
                                 f"{TEXT_LIMIT}")
        parts: list = []
        caption_used = False
        attachments = list(message.attachments)
        first_kind = media_kind(attachments[0].content_type) if attachments else None
        if body and (not attachments or first_kind not in CAPTIONED):
            text = {"to": to, "type": "text", "text": {"body": body, "preview_url": False},
                    **context}
            parts.append(lambda: self.graph.send(self.phone_number_id, text))
            caption_used = True
        for attachment in attachments:
            if not attachment.storage_key:
                raise PermanentError(f"attachment {attachment.filename!r} has no stored bytes")
            kind = media_kind(attachment.content_type)
            kind = "image" if kind == "sticker" else ("audio" if kind == "voice" else kind)
            caption = None
            if kind in CAPTIONED and body and not caption_used:
                caption, caption_used = body, True
            parts.append(self._media_part(to, attachment, kind, caption,
                                          {} if parts else context))
        if not parts:
            raise PermanentError("nothing to send: the message has no text and no attachment")
        return parts

    def _media_part(self, to: str, attachment, kind: str, caption: str | None, context: dict):
        async def send() -> str:
            data = await self.files.get(attachment.storage_key)
            media_id = await self.graph.upload(self.phone_number_id, data, attachment.filename,
                                               attachment.content_type)
            media: dict = {"id": media_id}
            if kind == "document":
                media["filename"] = attachment.filename
            if caption:
                media["caption"] = caption
            return await self.graph.send(self.phone_number_id, {
                "to": to, "type": kind, kind: media, **context})

        return send
