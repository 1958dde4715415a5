"""The `fetch_media` job both WhatsApp providers share: download one pending attachment
with the provider's function, keep the bytes in the file store and record the outcome.

Too large or refused (PermanentError): the message says why, at once. Transient errors
go back to the dispatcher, which retries; when it gives up, the failure hook records that.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bridges.whatsapp_common.audio import ogg_duration
from bridges.whatsapp_common.media import (
    MediaTooLarge,
    download_failed_note,
    limit_for,
    media_kind,
    too_large_note,
)
from core.delivery import PermanentError
from core.ports import FileStore
from core.usecases import PendingMedia

log = logging.getLogger("threadline.whatsapp_media")

# (pending file, byte limit) -> (bytes, content type or None); raises core.delivery errors
# or MediaTooLarge.
Download = Callable[[PendingMedia, int], Awaitable[tuple[bytes, str | None]]]


def _kind(pending: PendingMedia) -> str:
    return str(pending.hints.get("kind") or media_kind(pending.attachment.content_type))


def fetch_handlers(inbox, files: FileStore, download: Download):
    """(handler, permanent-failure hook) for the provider's `fetch_media:<provider>` kind."""

    async def handle(row) -> None:
        pending = await inbox.pending_media(int(row.payload["message_id"]),
                                            int(row.payload["index"]))
        if pending is None:  # settled by an earlier attempt
            return
        kind, name = _kind(pending), pending.attachment.filename
        try:
            data, content_type = await download(pending, limit_for(kind))
        except MediaTooLarge as exc:
            await inbox.media_unavailable(pending.message_id, pending.index,
                                          too_large_note(kind, name, exc.size), size=exc.size)
            return
        except PermanentError as exc:
            log.warning("media %d of message %d not downloaded: %s", pending.index,
                        pending.message_id, exc.text)
            await inbox.media_unavailable(pending.message_id, pending.index,
                                          download_failed_note(kind, name, exc.text))
            return
        content_type = content_type or pending.attachment.content_type
        key = await files.put(data, name, content_type)
        duration = ogg_duration(data) if content_type.startswith("audio/") else None
        await inbox.attach_fetched_media(pending.message_id, pending.index, key, len(data),
                                         content_type, duration_seconds=duration)

    async def gave_up(row, error: PermanentError) -> None:
        pending = await inbox.pending_media(int(row.payload["message_id"]),
                                            int(row.payload["index"]))
        if pending is not None:
            await inbox.media_unavailable(
                pending.message_id, pending.index,
                download_failed_note(_kind(pending), pending.attachment.filename, error.text))

    return handle, gave_up
