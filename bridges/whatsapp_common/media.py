"""WhatsApp media rules shared by both providers: per-type size limits, pending
attachments (fetched after the webhook's ack) and the notes a thread shows when a file
could not be kept (so staff in Slack know something was sent)."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from core.model import Attachment
from core.usecases.media import PENDING_META

MB = 1024 * 1024

# WhatsApp's own limits (Meta docs); anything bigger is not a file WhatsApp would carry,
# so we refuse to store it rather than fill the disk.
LIMITS = {
    "image": 5 * MB,
    "audio": 16 * MB,
    "voice": 16 * MB,
    "video": 16 * MB,
    "document": 100 * MB,
    "sticker": 500 * 1024,
}


def media_kind(content_type: str, declared: str | None = None) -> str:
    """WhatsApp's media type for a MIME type (Twilio only gives the MIME type)."""
    if declared in LIMITS:
        return declared
    major = (content_type or "").split("/", 1)[0].lower()
    if (content_type or "").lower().startswith("image/webp"):
        return "sticker"
    return major if major in ("image", "audio", "video") else "document"


def limit_for(kind: str) -> int:
    return LIMITS.get(kind, LIMITS["document"])


def human_size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def default_filename(kind: str, media_id: str, content_type: str) -> str:
    ext = mimetypes.guess_extension((content_type or "").split(";", 1)[0].strip()) or ""
    return f"{kind}-{media_id[-12:] or 'file'}{ext}"


def too_large_note(kind: str, filename: str, size: int) -> str:
    return (f"[{kind} {filename!r} not stored: {human_size(size)} is over WhatsApp's "
            f"{human_size(limit_for(kind))} limit for {kind}s]")


def download_failed_note(kind: str, filename: str, reason: str) -> str:
    return f"[{kind} {filename!r} could not be downloaded ({reason}); ask the customer to resend]"


class MediaTooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size
        super().__init__(f"{size} bytes")


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file the customer sent, not fetched yet: Meta's media id or Twilio's MediaUrl."""

    kind: str
    ref: str
    content_type: str = "application/octet-stream"
    filename: str | None = None
    size: int | None = None  # when the provider says so up front


def join_body(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)


def pending_attachment(ref: MediaRef, filename: str, index: int, meta: dict) -> Attachment:
    """Attachment `index` of a message, to be fetched by a `fetch_media` job; the marker in
    `meta` says so (with the provider's reference and WhatsApp's media type)."""
    meta.setdefault(PENDING_META, []).append({"index": index, "ref": ref.ref, "kind": ref.kind})
    return Attachment(filename, ref.content_type, ref.size or 0, pending_ref=ref.ref)
