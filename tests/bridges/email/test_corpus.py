"""Realistic mail from the clients customers use: new text, threading headers, loop flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridges.email.parsing import parse_email

CORPUS = Path(__file__).parent / "corpus"
OWN = frozenset({"help@acme.example"})

# file: (new text, in_reply_to, references, automated?, sender address, subject)
EXPECTED = {
    "gmail_reply_en.eml": (
        "Thanks, the refund arrived today. Could you also send the invoice — I need it for "
        "my accountant?",
        "<threadline.7.aa11@acme.example>", ["<threadline.7.aa11@acme.example>"], False,
        "john.smith@gmail.example", "Re: Your refund"),
    "gmail_reply_es.eml": (
        "Hola, ¿cuándo llega el reembolso? Ya han pasado diez días.",
        "<threadline.9.cc33@acme.example>",
        ["<threadline.8.bb22@acme.example>", "<threadline.9.cc33@acme.example>"], False,
        "lucia.fernandez@gmail.example", "Re: Devolución del pedido nº 1234"),
    "apple_mail_en.eml": (
        "Perfect, Friday works for me. Please ring the bell twice.",
        "<threadline.12.dd44@acme.example>", ["<threadline.12.dd44@acme.example>"], False,
        "kate@icloud.example", "Re: Order 5521 delayed"),
    "thunderbird_es_latin1.eml": (
        "Buenos días:\n\nLa nueva dirección es Calle Mayor 5, 2º B, Sevilla.",
        "<threadline.15.ee55@acme.example>", ["<threadline.15.ee55@acme.example>"], False,
        "maria.lopez@correo.example", "Re: Cambio de dirección"),
    "outlook_reply_en.eml": (
        "Hi,\n\nWe would like to go ahead with the order. Can you deliver before the 20th?",
        "<threadline.20.ff66@acme.example>", ["<threadline.20.ff66@acme.example>"], False,
        "tom.baker@corp.example", "RE: Quote for 40 chairs"),
    "outlook_reply_es_cp1252.eml": (
        "Buenas tardes:\n\nAdjunto la factura corregida. ¿Podéis revisarla antes del viernes?",
        "<threadline.21.ab12@acme.example>", ["<threadline.21.ab12@acme.example>"], False,
        "jorge@empresa.example", "RE: Factura errónea"),
    "html_only_en.eml": (
        # Slack's bold, bullets, and the link's real address shown next to its label.
        "Hello,\n\nThe *lamp* in order #77 (https://shop.example/orders/77) arrived broken."
        "\n\n• Glass shattered\n• Box dented\n\nPeter",
        None, [], False, "peter@shopper.example", "Broken lamp in my order"),
    "html_only_gmail_es.eml": (
        "Perfecto, muchas gracias por la rapidez.",  # "Un abrazo" is the sign-off
        "<threadline.30.cd34@acme.example>",
        ["<threadline.29.aa00@acme.example>", "<threadline.30.cd34@acme.example>"], False,
        "carmen.ruiz@gmail.example", "Re: Envio"),
    "attachments_mixed.eml": (
        "Hola, os envío la factura y una foto del daño.", None, [], False,
        "ana.torres@correo.example", "Factura y foto del daño"),
    "human_auto_submitted_no.eml": (
        "I click the reset link and nothing happens.\nI tried Chrome and Firefox.",
        None, [], False, "sam@customer.example", "Password reset not working"),
    "no_message_id.eml": (
        "Please call customer 77 about the export.", None, [], False,
        "legacy@old-system.example", "Nightly export failed for customer 77"),
    "auto_reply_ooo_es.eml": (
        "Estoy fuera de la oficina hasta el 24 de marzo, con acceso limitado al correo.",
        "<threadline.40.ee77@acme.example>", [], True, "pablo@empresa.example",
        "Respuesta automática: Su pedido 9931"),
    "mailing_list.eml": (
        "Hi all, release 2.4 is out with the new importer.", None, [], True,
        "dev@project.example", "[project-users] Release 2.4 is out"),
    "newsletter_bulk.eml": (
        "*Spring sale*\n\nEverything *30% off* this week.", None, [], True,
        "news@shop.example", "🎉 Spring sale"),
    "own_address.eml": (
        "Testing the inbox.", None, [], True, "help@acme.example", "Test from our own mailbox"),
}

REASONS = {
    "auto_reply_ooo_es.eml": {"auto-submitted:auto-replied", "autoresponder-header"},
    "mailing_list.eml": {"precedence:list", "mailing-list"},
    "newsletter_bulk.eml": {"precedence:bulk", "mailing-list"},
    "own_address.eml": {"own-address"},
    "bounce_dsn.eml": {"auto-submitted:auto-replied", "empty-return-path", "delivery-report"},
}


def test_every_corpus_file_has_expectations():
    files = {p.name for p in CORPUS.glob("*.eml")}
    assert files == set(EXPECTED) | {"bounce_dsn.eml"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message(name):
    new_text, in_reply_to, references, automated, sender, subject = EXPECTED[name]
    parsed = parse_email((CORPUS / name).read_bytes(), OWN)
    assert parsed.new_text == new_text
    assert parsed.in_reply_to == in_reply_to
    assert parsed.references == references
    assert parsed.automated is automated
    assert parsed.sender_address == sender
    assert parsed.subject == subject
    assert set(parsed.automated_reasons) == REASONS.get(name, set())
    # The full original is kept: the new text is always part of what was sent.
    assert parsed.full_text
    if parsed.html is None:
        assert new_text.split("\n")[0].replace("**", "").split("[")[0] in parsed.full_text


def test_signatures_kept_out_of_the_preview_but_not_lost():
    gmail = parse_email((CORPUS / "gmail_reply_en.eml").read_bytes())
    assert "John Smith" in gmail.signature and "John Smith" not in gmail.new_text
    outlook = parse_email((CORPUS / "outlook_reply_es_cp1252.eml").read_bytes())
    assert outlook.signature.startswith("Atentamente,")
    assert "Mensaje original" in outlook.full_text  # the quoted history stays available
    apple = parse_email((CORPUS / "apple_mail_en.eml").read_bytes())
    assert apple.signature == "Sent from my iPhone"


def test_sender_names_decoded_from_rfc2047():
    assert parse_email((CORPUS / "gmail_reply_es.eml").read_bytes()).sender_name == \
        "Lucía Fernández"
    assert parse_email((CORPUS / "thunderbird_es_latin1.eml").read_bytes()).sender_name == \
        "María López"
    assert parse_email((CORPUS / "outlook_reply_en.eml").read_bytes()).sender_name == \
        "Baker, Tom"


def test_attachments_inline_cid_and_non_ascii_names():
    parsed = parse_email((CORPUS / "attachments_mixed.eml").read_bytes())
    image, pdf = parsed.attachments
    assert (image.filename, image.content_type, image.content_id, image.inline) == (
        "dano.png", "image/png", "foto-dano@correo.example", True)
    assert image.data.startswith(b"\x89PNG")
    assert 'src="cid:foto-dano@correo.example"' in (parsed.html or "")
    assert (pdf.filename, pdf.content_type, pdf.inline) == (
        "factura número 1.pdf", "application/pdf", False)
    assert pdf.data.startswith(b"%PDF-1.4")


def test_bounce_names_the_failed_message_and_why():
    parsed = parse_email((CORPUS / "bounce_dsn.eml").read_bytes(), OWN)
    report = parsed.report
    assert report is not None and report.failed
    assert report.original_message_id == "<threadline.42.0a1b2c3d4e5f6a7b@acme.example>"
    assert report.status == "5.1.1"
    assert "User unknown" in (report.diagnostic or "")
    assert parsed.automated and parsed.attachments == []
    assert "could not\nbe delivered" in parsed.new_text
