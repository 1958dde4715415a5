"""How long a voice note lasts, read from its Ogg container (WhatsApp sends Opus in Ogg;
older clients Vorbis). Pure, and cheap: the identification header and the last page's
granule position are all it takes. Meta's webhook carries no duration."""

from __future__ import annotations

import struct

OPUS_RATE = 48_000  # Opus granule positions always count 48 kHz samples (RFC 7845)
_CAPTURE = b"OggS"
_HEADER = 27  # the fixed part of an Ogg page header


def _first_packet(data: bytes) -> bytes:
    if not data.startswith(_CAPTURE) or len(data) < _HEADER:
        return b""
    segments = data[26]
    table = data[_HEADER:_HEADER + segments]
    start = _HEADER + segments
    return data[start:start + sum(table)]


def _last_granule(data: bytes) -> int | None:
    at = data.rfind(_CAPTURE)
    while at >= 0:
        if len(data) >= at + 14 and data[at + 4] == 0:  # stream structure version 0
            granule = struct.unpack_from("<q", data, at + 6)[0]
            if granule >= 0:
                return granule
        at = data.rfind(_CAPTURE, 0, at)
    return None


def ogg_duration(data: bytes) -> float | None:
    """Seconds of audio in an Ogg Opus or Ogg Vorbis file; None when it is neither or the
    file is cut short."""
    head = _first_packet(data)
    if head.startswith(b"OpusHead") and len(head) >= 12:
        rate, skip = OPUS_RATE, struct.unpack_from("<H", head, 10)[0]
    elif head.startswith(b"\x01vorbis") and len(head) >= 16:
        rate, skip = struct.unpack_from("<I", head, 12)[0], 0
    else:
        return None
    granule = _last_granule(data)
    if granule is None or rate <= 0 or granule < skip:
        return None
    return (granule - skip) / rate

