from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.addresses import normalize_address, normalize_email, normalize_phone
from core.errors import InvalidEmailAddress, InvalidInput, InvalidPhoneNumber
from core.model import Channel
from core.snooze import SnoozePreset, parse_preset, snooze_until
from core.templates import missing_values, render, variables_in

MADRID = ZoneInfo("Europe/Madrid")


def test_hour_presets_are_elapsed_time():
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # DST starts in Madrid at 01:00 UTC
    assert snooze_until(SnoozePreset.TWO_HOURS, now, MADRID) == datetime(
        2026, 3, 29, 2, 30, tzinfo=UTC
    )


def test_tomorrow_is_nine_local_across_dst_start():
    now = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)  # Saturday 21:00 CET
    until = snooze_until(SnoozePreset.TOMORROW, now, MADRID)
    assert until.astimezone(MADRID).hour == 9
    assert until == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # CEST is UTC+2


def test_tomorrow_uses_the_local_date_not_utc():
    now = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)  # already 2 June 01:30 in Madrid
    assert snooze_until(SnoozePreset.TOMORROW, now, MADRID) == datetime(
        2026, 6, 3, 7, 0, tzinfo=UTC
    )


def test_next_monday_across_dst_end():
    now = datetime(2026, 10, 23, 12, 0, tzinfo=UTC)  # Friday; DST ends Sunday 25 Oct
    until = snooze_until(SnoozePreset.NEXT_MONDAY, now, MADRID)
    assert until == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # 09:00 CET


def test_next_monday_on_a_monday_is_a_week_later():
    now = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # Monday 07:00 in Madrid
    until = snooze_until(SnoozePreset.NEXT_MONDAY, now, MADRID)
    assert until.astimezone(MADRID).date().isoformat() == "2026-11-30"


def test_unknown_preset_lists_the_choices():
    with pytest.raises(InvalidInput, match="1h, 2h, 4h, tomorrow, monday"):
        parse_preset("later")
    assert parse_preset(" Tomorrow ") is SnoozePreset.TOMORROW


@pytest.mark.parametrize(
    "raw", ["+34 600 11 12 22", "34600111222", "whatsapp:+34600111222", "tel:+34600111222"]
)
def test_phone_numbers_normalise_to_e164(raw):
    assert normalize_phone(raw) == "+34600111222"


@pytest.mark.parametrize("raw", ["", "hello", "+1", "+34 12"])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidPhoneNumber, match="E.164"):
        normalize_phone(raw)


def test_email_addresses():
    assert normalize_email("  Ana@Example.COM ") == "ana@example.com"
    with pytest.raises(InvalidEmailAddress):
        normalize_email("ana at example")
    assert normalize_address(Channel.WHATSAPP, "34600111222") == "+34600111222"


def test_templates():
    body = "Hi {{name}}, order {{ order }} ships {{name}}"
    assert variables_in(body) == ["name", "order"]
    assert missing_values(["name", "order"], {"name": "Ana", "order": " "}) == ["order"]
    assert render(body, {"name": "Ana", "order": "42"}) == "Hi Ana, order 42 ships Ana"
