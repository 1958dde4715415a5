"""Customer media fetched after the message is stored.

A webhook stores the message with pending attachments (`Attachment.pending_ref`) and the
inbound use case queues one `fetch_media` effect per pending file in the same
transaction; the provider's bridge downloads it later and records the outcome here: the
stored file, or why there is none (added to the body, so staff see it). Either way the
front ends hear `message_changed`. Both are idempotent: a file already settled is left
alone, so a retried job cannot overwrite the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.model import Attachment, Message
from core.usecases.base import UseCaseBase

# Message meta listing what is still to be fetched, written by the bridge with the
# attachment: [{"index": n, "ref": provider ref, ...bridge hints}]. Settled entries go.
PENDING_META = "media_pending"
ERRORS_META = "media_errors"  # [{"index": n, "reason": text}]


@dataclass(frozen=True)
class PendingMedia:
    message_id: int
    conversation_id: int
    account: str
    index: int
    attachment: Attachment
    hints: dict  # the bridge's marker entry (e.g. WhatsApp's media type)


def _pending(message: Message, index: int) -> Attachment | None:
    if not 0 <= index < len(message.attachments):
        return None
    attachment = message.attachments[index]
    return attachment if attachment.pending_ref is not None else None


def _settled(meta: dict, index: int) -> dict:
    left = [e for e in meta.get(PENDING_META) or [] if e.get("index") != index]
    out = {k: v for k, v in meta.items() if k != PENDING_META}
    if left:
        out[PENDING_META] = left
    return out


class MediaUseCases(UseCaseBase):
    async def pending_media(self, message_id: int, index: int) -> PendingMedia | None:
        """What a fetch job needs, or None when the file is settled (or never existed)."""
        async with self.ctx.uow_factory() as uow:
            message = await uow.messages.get(message_id)
            attachment = _pending(message, index) if message is not None else None
            if message is None or attachment is None:
                return None
            conv = await self._conversation(uow, message.conversation_id)
        hints = next((e for e in message.meta.get(PENDING_META) or []
                      if e.get("index") == index), {})
        assert message.id is not None
        return PendingMedia(message.id, message.conversation_id, conv.account, index,
                            attachment, dict(hints))

    async def attach_fetched_media(
        self, message_id: int, index: int, storage_key: str, size: int,
        content_type: str | None = None, duration_seconds: float | None = None,
    ) -> bool:
        """The file landed in the file store. False if it was settled already.
        `duration_seconds`: how long an audio file plays (a voice note's label says it)."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            attachment = _pending(message, index)
            if attachment is None:
                return False
            attachment.storage_key, attachment.size, attachment.pending_ref = (
                storage_key, size, None)
            if content_type:
                attachment.content_type = content_type
            message.meta = _settled(message.meta, index)
            if duration_seconds is not None:
                durations = dict(message.meta.get("durations") or {})
                durations[str(index)] = round(duration_seconds, 1)
                message.meta = {**message.meta, "durations": durations}
            await uow.messages.save(message)
            await self._notify(uow, "message_changed", message.conversation_id,
                               message_id=message.id, change="media", index=index)
            await uow.commit()
        return True

    async def media_unavailable(
        self, message_id: int, index: int, reason: str, size: int | None = None
    ) -> bool:
        """The file cannot be had (too large, refused, gone): the reason joins the body so
        staff know something was sent. False if it was settled already."""
        async with self.ctx.uow_factory() as uow:
            message = await self._message(uow, message_id, lock=True)
            attachment = _pending(message, index)
            if attachment is None:
                return False
            attachment.pending_ref = None
            if size is not None:
                attachment.size = size
            message.body = "\n".join(p for p in (message.body, reason) if p)
            meta = _settled(message.meta, index)
            meta[ERRORS_META] = [*meta.get(ERRORS_META, []), {"index": index, "reason": reason}]
            message.meta = meta
            await uow.messages.save(message)
            await self._notify(uow, "message_changed", message.conversation_id,
                               message_id=message.id, change="media_unavailable", index=index)
            await uow.commit()
        return True
