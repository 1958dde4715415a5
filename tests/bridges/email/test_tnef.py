"""Outlook's winmail.dat is opened: the customer's files are stored, not the wrapper."""

import struct
from email.message import EmailMessage

from bridges.email.parsing import parse_email


def _attr(level: int, attr_id: int, data: bytes) -> bytes:
    # TNEF attribute: level, id, length, data, 16-bit sum of the data bytes
    return struct.pack("<BII", level, attr_id, len(data)) + data + struct.pack(
        "<H", sum(data) & 0xFFFF)


def tnef_blob(files: list[tuple[bytes, bytes]]) -> bytes:
    blob = struct.pack("<IH", 0x223E9F78, 0x0101)  # signature, key
    blob += _attr(1, 0x00089006, struct.pack("<I", 0x00010000))  # attTnefVersion
    for title, data in files:
        blob += _attr(2, 0x00069002, b"\x01\x00\x00\x00" + b"\x00" * 10)  # attAttachRendData
        blob += _attr(2, 0x00018010, title + b"\x00")  # attAttachTitle
        blob += _attr(2, 0x0006800F, data)  # attAttachData
    return blob


def outlook_mail(attachment: bytes) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jordi <jordi@cliente.example>"
    msg["To"] = "support@acme.example"
    msg["Subject"] = "Presupuesto"
    msg["Message-ID"] = "<outlook-1@cliente.example>"
    msg.set_content("Adjunto el presupuesto firmado.")
    msg.add_attachment(attachment, maintype="application", subtype="ms-tnef",
                       filename="winmail.dat")
    return msg.as_bytes()


def test_winmail_dat_becomes_the_files_inside_it():
    blob = tnef_blob([("presupuesto año.pdf".encode("cp1252"), b"%PDF-1.4 firmado"),
                      (b"plano.png", b"\x89PNG plano")])
    parsed = parse_email(outlook_mail(blob))
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        ("presupuesto año.pdf", "application/pdf", b"%PDF-1.4 firmado"),
        ("plano.png", "image/png", b"\x89PNG plano"),
    ]
    assert parsed.new_text.startswith("Adjunto el presupuesto")


def test_an_unreadable_winmail_dat_is_kept_whole():
    parsed = parse_email(outlook_mail(b"not a tnef stream"))
    assert [(a.filename, a.data) for a in parsed.attachments] == [
        ("winmail.dat", b"not a tnef stream")]
