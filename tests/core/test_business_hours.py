"""Business hours in the workspace time zone: DST edges (Europe/Madrid, the last Sundays of
March and October 2026), holidays, ranges that continue each other, 24:00."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.business_hours import BusinessHours, parse_range

MADRID = ZoneInfo("Europe/Madrid")
WEEK = {"monday": ["09:00-13:00", "14:00-18:00"], "tuesday": ["09:00-18:00"],
        "saturday": ["20:00-24:00"], "sunday": ["00:00-01:00", "02:30-04:00"]}


def hours(**extra) -> BusinessHours:
    return BusinessHours.from_ranges(MADRID, {**WEEK, **extra}, [date(2026, 12, 8)])


def local(*args) -> datetime:
    return datetime(*args, tzinfo=MADRID)


def test_open_and_closed_inside_a_day_with_a_lunch_break():
    h = hours()
    assert h.is_open(local(2026, 11, 30, 9, 0))  # Monday, opening minute
    assert not h.is_open(local(2026, 11, 30, 13, 0))  # the end is exclusive
    assert h.next_change(local(2026, 11, 30, 13, 30)) == local(2026, 11, 30, 14, 0)
    assert h.next_change(local(2026, 11, 30, 17, 0)) == local(2026, 11, 30, 18, 0)
    assert h.next_change(local(2026, 11, 30, 18, 0)) == local(2026, 12, 1, 9, 0)


def test_a_holiday_is_closed_and_skipped():
    h = hours()
    assert not h.is_open(local(2026, 12, 8, 10, 0))  # a Tuesday, but a holiday
    assert h.next_change(local(2026, 12, 7, 18, 30)) == local(2026, 12, 12, 20, 0)


def test_ranges_that_continue_each_other_are_one_opening():
    h = hours(monday=["09:00-13:00", "13:00-18:00"])
    assert h.is_open(local(2026, 11, 30, 13, 0))
    assert h.next_change(local(2026, 11, 30, 10, 0)) == local(2026, 11, 30, 18, 0)
    # Saturday 20:00-24:00 runs into Sunday 00:00-01:00: no change at midnight
    assert h.is_open(local(2026, 12, 5, 23, 59, 59))
    assert h.next_change(local(2026, 12, 5, 21, 0)) == local(2026, 12, 6, 1, 0)


def test_spring_forward_keeps_wall_clock_hours():
    h = hours()
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST. 02:30-04:00 opens at the jump (the
    # clock shows 03:00); the Monday after opens at 09:00 CEST.
    assert h.next_change(local(2026, 3, 29, 1, 30)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert h.next_change(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)) == datetime(
        2026, 3, 29, 2, 0, tzinfo=UTC)  # 04:00 CEST
    assert h.next_change(local(2026, 3, 29, 5, 0)) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert h.is_open(datetime(2026, 3, 30, 7, 0, tzinfo=UTC))  # 09:00 CEST
    assert not h.is_open(datetime(2026, 3, 30, 6, 59, tzinfo=UTC))


def test_fall_back_keeps_wall_clock_hours():
    h = hours()
    # 25 October 2026: 03:00 CEST goes back to 02:00 CET, so the clock shows 02:00-03:00
    # twice. 02:30-04:00 is judged by the clock: open from the first 02:30 (00:30 UTC),
    # closed again while it shows 02:00-02:30 the second time, open 01:30-03:00 UTC.
    assert h.next_change(local(2026, 10, 25, 1, 30)) == datetime(2026, 10, 25, 0, 30,
                                                               tzinfo=UTC)
    assert h.next_change(datetime(2026, 10, 25, 0, 45, tzinfo=UTC)) == datetime(
        2026, 10, 25, 1, 0, tzinfo=UTC)
    assert h.next_change(datetime(2026, 10, 25, 1, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 1, 30, tzinfo=UTC)
    assert h.next_change(datetime(2026, 10, 25, 2, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 3, 0, tzinfo=UTC)
    assert h.next_change(local(2026, 10, 25, 5, 0)) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_no_hours_never_change():
    h = BusinessHours.from_ranges(MADRID, {})
    assert not h.is_open(local(2026, 1, 1, 12, 0))
    assert h.next_change(local(2026, 1, 1, 12, 0)) is None


@pytest.mark.parametrize("bad", ["9-17", "18:00-09:00", "09:00-09:00", "09:00", "xx:00-10:00"])
def test_bad_ranges_are_refused(bad):
    with pytest.raises(ValueError):
        parse_range(bad)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                    timezones=st.just(UTC)))
def test_the_state_holds_until_the_next_change_and_flips_there(at):
    h = hours()
    change = h.next_change(at)
    assert change is not None and change > at
    state = h.is_open(at)
    assert h.is_open(change) != state
    for fraction in (0.25, 0.5, 0.999):
        assert h.is_open(at + (change - at) * fraction) == state
    assert h.is_open(change - timedelta(microseconds=1)) == state


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.sampled_from([datetime(2026, 3, 28, 20), datetime(2026, 10, 24, 20)]),
       st.integers(min_value=0, max_value=12 * 3600))
def test_the_same_holds_across_both_dst_nights(night, seconds):
    test_the_state_holds_until_the_next_change_and_flips_there.hypothesis.inner_test(
        (night + timedelta(seconds=seconds)).replace(tzinfo=UTC))
