"""Voice-note lengths from the Ogg container (Opus and Vorbis), and what is not one."""

from __future__ import annotations

import struct

from bridges.whatsapp_common.audio import ogg_duration


def page(packet: bytes, granule: int, seq: int, kind: int = 0) -> bytes:
    segments = [255] * (len(packet) // 255) + [len(packet) % 255]
    return (b"OggS" + bytes([0, kind]) + struct.pack("<qIII", granule, 7, seq, 0)
            + bytes([len(segments)]) + bytes(segments) + packet)


def opus(seconds: float, pre_skip: int = 312) -> bytes:
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", pre_skip, 16_000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 0) + struct.pack("<I", 0)
    audio = b"\x00" * 400
    end = pre_skip + int(seconds * 48_000)
    return (page(head, 0, 0, 2) + page(tags, 0, 1) + page(audio, end // 2, 2)
            + page(audio, end, 3, 4))


def vorbis(seconds: float, rate: int = 44_100) -> bytes:
    head = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, 1, rate, 0, 128_000, 0, 0xB8, 1)
    return page(head, 0, 0, 2) + page(b"\x00" * 300, int(seconds * rate), 1, 4)


def test_opus_and_vorbis_lengths():
    assert ogg_duration(opus(14.0)) == 14.0
    assert abs(ogg_duration(opus(3.5, pre_skip=0)) - 3.5) < 1e-9
    assert ogg_duration(vorbis(125.0)) == 125.0


def test_anything_else_has_no_length():
    assert ogg_duration(b"") is None
    assert ogg_duration(b"ID3\x03\x00" + b"\x00" * 100) is None  # an mp3
    assert ogg_duration(opus(2.0)[:30]) is None  # cut inside the first page
    assert ogg_duration(page(b"\x01video!!" + b"\x00" * 20, 0, 0, 2)) is None
