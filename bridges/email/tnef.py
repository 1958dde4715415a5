"""Outlook's winmail.dat (TNEF): the files inside it are what the customer attached."""

from __future__ import annotations

import logging
import mimetypes

from tnefparse import TNEF

log = logging.getLogger("threadline.email.tnef")

TNEF_TYPES = ("application/ms-tnef", "application/vnd.ms-tnef")


def is_tnef(filename: str, content_type: str) -> bool:
    return content_type in TNEF_TYPES or filename.lower() == "winmail.dat"


def _name(attachment, index: int) -> str:
    try:
        name = attachment.long_filename()
    except Exception:  # no MAPI name property: fall back to the 8.3 title
        name = None
    if not name:
        raw = getattr(attachment, "_name", b"") or b""  # tnefparse decodes only UTF-8
        for codec in ("utf-8", "cp1252"):
            try:
                name = raw.decode(codec).strip("\x00")
                break
            except UnicodeDecodeError:
                continue
    return name or f"attachment-{index}"


def unpack(data: bytes) -> list[tuple[str, str, bytes]]:
    """(filename, content type, bytes) of each file in a TNEF blob; [] if unreadable."""
    try:
        tnef = TNEF(data)
    except Exception as exc:
        log.warning("winmail.dat could not be read (%s); kept as it is", exc)
        return []
    files = []
    for n, attachment in enumerate(tnef.attachments, 1):
        name = _name(attachment, n)
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        files.append((name, ctype, attachment.data or b""))
    return files
