"""Normalising contact addresses: E.164 phone numbers and lower-case email addresses."""

from __future__ import annotations

import re

import phonenumbers

from core.errors import InvalidEmailAddress, InvalidPhoneNumber
from core.model import Channel

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def normalize_phone(raw: str) -> str:
    text = (raw or "").strip()
    for prefix in ("whatsapp:", "tel:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    if text and text[0].isdigit():
        text = "+" + text  # WhatsApp's wa_id comes without the plus
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        detail = str(exc).split(") ", 1)[-1].rstrip(".").lower()
        raise InvalidPhoneNumber(raw, detail) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str:
    text = (raw or "").strip().lower()
    if not _EMAIL.match(text):
        raise InvalidEmailAddress(raw)
    return text


def normalize_address(channel: Channel, raw: str) -> str:
    return normalize_phone(raw) if channel is Channel.WHATSAPP else normalize_email(raw)
