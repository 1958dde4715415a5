"""The numbers WhatsApp providers really send: normalised where a rule says how, kept
under the provider's own id otherwise, never refused."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.addresses import (
    MAX_ADDRESS,
    InboundAddress,
    inbound_address,
    normalize_phone,
    provider_address,
)
from core.errors import InvalidInput, InvalidPhoneNumber
from core.model import Channel

WA = Channel.WHATSAPP


# Mexico: the IFT numbering plan of August 2019 removed the "1" that mobile numbers took
# after +52; every number is +52 and 10 digits. WhatsApp's wa_id still carries the 1.
@pytest.mark.parametrize("raw", ["5215512345678", "+52 1 55 1234 5678", "whatsapp:+5215512345678"])
def test_mexico_drops_the_old_mobile_one(raw):
    assert normalize_phone(raw) == "+525512345678"
    assert normalize_phone("+52 81 1234 5678") == "+528112345678"  # already 10 digits


def test_mexico_rule_keeps_the_number_when_the_result_is_not_valid():
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone("5210012345678")  # 10 digits after the 1, but no such area


# Brazil: Anatel put a 9 in front of every mobile number (8-digit subscriber numbers
# starting 6-9; landlines start 2-5), nationwide by 2016. WhatsApp accounts older than
# that keep the 8-digit id.
@pytest.mark.parametrize(
    "raw, e164",
    [
        ("551187654321", "+5511987654321"),  # São Paulo
        ("556187654321", "+5561987654321"),  # Brasília
        ("5511987654321", "+5511987654321"),  # already has it
    ],
)
def test_brazil_mobile_gets_the_ninth_digit(raw, e164):
    assert normalize_phone(raw) == e164


def test_brazil_landline_is_not_given_a_nine():
    assert normalize_phone("551132345678") == "+551132345678"


def test_argentina_wa_id_is_already_e164():
    # WhatsApp writes Argentine mobiles as 54 9 + area + number, which is their E.164.
    assert normalize_phone("5491123456789") == "+5491123456789"


@pytest.mark.parametrize("raw", ["15550001234", "+1 555 123 4567", "15550783881"])
def test_test_numbers_are_kept_under_the_provider_id(raw):
    # Meta's test numbers (+1 555 …) are not assignable numbers, so validation fails.
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw)  # staff typing one still gets a clear error
    got = inbound_address(WA, raw)
    assert got == InboundAddress(provider_address(raw), normalised=False)
    assert got.address.startswith("+1555")


@pytest.mark.parametrize(
    "raw, kept",
    [
        ("15550001234", "+15550001234"),  # Cloud API wa_id: digits, no plus
        ("whatsapp:+15550001234", "+15550001234"),  # Twilio From
        (" +1 (555) 000-1234 ", "+15550001234"),
        ("US.1349120865530274", "US.1349120865530274"),  # not digits: kept as sent
    ],
)
def test_provider_address_is_one_form_for_both_senders(raw, kept):
    assert provider_address(raw) == kept


def test_a_rewritten_number_names_the_provider_id_as_alias():
    got = inbound_address(WA, "5215512345678")
    assert got == InboundAddress("+525512345678", True, ("+5215512345678",))
    assert got.all == ("+525512345678", "+5215512345678")
    assert inbound_address(WA, "34600111222") == InboundAddress("+34600111222", True)


def test_email_inbound_addresses_stay_strict():
    assert inbound_address(Channel.EMAIL, " Ana@Example.com") == InboundAddress(
        "ana@example.com", True)
    with pytest.raises(InvalidInput):
        inbound_address(Channel.EMAIL, "ana at example")


@pytest.mark.parametrize("raw", ["", "   ", "whatsapp:", "9" * (MAX_ADDRESS + 1)])
def test_only_an_empty_or_oversized_sender_is_refused(raw):
    with pytest.raises(InvalidInput):
        inbound_address(WA, raw)


@given(st.text(min_size=1, max_size=60) | st.from_regex(r"\+?[0-9 ]{1,20}", fullmatch=True))
def test_any_whatsapp_sender_gets_an_address(raw):
    assume(provider_address(raw))  # something is left once "whatsapp:" and blanks go
    got = inbound_address(WA, raw)
    assert got.address and got.address not in got.aliases
    if got.normalised:
        assert got.address == normalize_phone(got.address)  # E.164 is a fixed point
