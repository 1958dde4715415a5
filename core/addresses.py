"""Normalising contact addresses: E.164 phone numbers and lower-case email addresses.

Staff input goes through the strict `normalize_*` functions (a clear error). Inbound
messages go through `inbound_address`, which never refuses a number: what cannot be
normalised stays under the provider's own id, so no customer message is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from core.errors import InvalidEmailAddress, InvalidInput, InvalidPhoneNumber
from core.model import Channel

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_FORMATTING = re.compile(r"[\s().\-]")  # what people and providers put between digits
_DIGITS = re.compile(r"^\+?\d+$")
MAX_ADDRESS = 320  # the contacts.address column


def _strip_scheme(raw: str) -> str:
    text = (raw or "").strip()
    for prefix in ("whatsapp:", "tel:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :].strip()
    return text


def _mexico_without_mobile_one(number: phonenumbers.PhoneNumber) -> str | None:
    # Mexico dropped the "1" mobile prefix after +52 in August 2019 (IFT numbering plan:
    # every number is 10 national digits), but WhatsApp ids still carry it: wa_id
    # 5215512345678 is +52 55 1234 5678.
    national = str(number.national_number)
    if number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        return f"+52{national[1:]}"
    return None


def _brazil_with_ninth_digit(number: phonenumbers.PhoneNumber) -> str | None:
    # Anatel added a ninth digit, 9, in front of every mobile number (done nationwide in
    # 2016); mobiles are the 8-digit subscriber numbers starting 6-9 (landlines start 2-5).
    # WhatsApp accounts older than that keep the 8-digit id: 551187654321 is
    # +55 11 98765 4321.
    national = str(number.national_number)
    if number.country_code == 55 and len(national) == 10 and national[2] in "6789":
        return f"+55{national[:2]}9{national[2:]}"
    return None


_PROVIDER_FORMS = (_mexico_without_mobile_one, _brazil_with_ninth_digit)


def normalize_phone(raw: str) -> str:
    text = _strip_scheme(raw)
    if text and text[0].isdigit():
        text = "+" + text  # WhatsApp's wa_id comes without the plus
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        detail = str(exc).split(") ", 1)[-1].rstrip(".").lower()
        raise InvalidPhoneNumber(raw, detail) from None
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # A valid number is never rewritten; a rewrite is only kept when it is valid itself.
    for rule in _PROVIDER_FORMS:
        rewritten = rule(number)
        if rewritten and phonenumbers.is_valid_number(phonenumbers.parse(rewritten, None)):
            return rewritten
    raise InvalidPhoneNumber(raw)


def normalize_email(raw: str) -> str:
    text = (raw or "").strip().lower()
    if not _EMAIL.match(text):
        raise InvalidEmailAddress(raw)
    return text


def normalize_address(channel: Channel, raw: str) -> str:
    return normalize_phone(raw) if channel is Channel.WHATSAPP else normalize_email(raw)


def provider_address(raw: str) -> str:
    """The provider's own id of a WhatsApp sender, in the one form both senders can use:
    digits get a leading "+" (Cloud strips it, Twilio needs it), anything else is kept
    as sent."""
    text = _strip_scheme(raw)
    compact = _FORMATTING.sub("", text)
    if _DIGITS.match(compact):
        return "+" + compact.lstrip("+")
    return text


@dataclass(frozen=True, slots=True)
class InboundAddress:
    address: str  # what the contact is stored under
    normalised: bool  # False: the provider's id, kept because it is not a valid number
    # Other addresses the same person may already be stored under (the provider's id of a
    # number that now normalises): contacts found there are merged into `address`.
    aliases: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return (self.address, *self.aliases)


def inbound_address(channel: Channel, raw: str) -> InboundAddress:
    """The contact address of an inbound sender. WhatsApp numbers are never refused."""
    if channel is not Channel.WHATSAPP:
        return InboundAddress(normalize_email(raw), True)
    kept = provider_address(raw)
    if not kept:
        raise InvalidInput("an inbound message needs its sender")
    if len(kept) > MAX_ADDRESS:
        raise InvalidInput(f"the sender id is {len(kept)} characters; at most {MAX_ADDRESS}")
    try:
        e164 = normalize_phone(raw)
    except InvalidPhoneNumber:
        return InboundAddress(kept, False)
    return InboundAddress(e164, True, () if kept == e164 else (kept,))
