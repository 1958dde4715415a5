"""Opening hours in the workspace's time zone: open or closed at an instant, and when that
changes next. Pure: the caller passes the time zone and the instant.

Hours are wall-clock times of each local date, judged by what the clock shows: a day keeps
its 09:00 opening across a DST change; an opening whose start falls in the spring-forward
gap (02:30 on a 02:00->03:00 night) opens when the clock jumps past it; the autumn hour the
clock shows twice is judged both times (02:30-04:00 is open, closed again while the clock
shows 02:00-02:30 the second time, then open).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
END_OF_DAY = time(23, 59, 59, 999999)  # "24:00"
LOOKAHEAD_DAYS = 400  # enough for a year of holidays; beyond that "never" is the answer


@dataclass(frozen=True, slots=True)
class Opening:
    start: time
    end: time  # exclusive; END_OF_DAY for "24:00" (then the next day's 00:00 continues it)


def parse_range(text: str) -> Opening:
    """ "09:00-17:30" -> Opening. ValueError when it is not such a range."""
    start_s, sep, end_s = text.strip().partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a range like 09:00-17:30")
    start = _clock(start_s)
    end = END_OF_DAY if end_s.strip() == "24:00" else _clock(end_s)
    if end <= start:
        raise ValueError(f"{text!r}: the end must come after the start")
    return Opening(start, end)


def _clock(text: str) -> time:
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{text!r} is not a time like 09:00")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class BusinessHours:
    timezone: tzinfo
    week: dict[int, tuple[Opening, ...]] = field(default_factory=dict)  # Monday = 0
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_ranges(cls, timezone: tzinfo, days: dict[str, list[str]],
                    holidays: list[date] | tuple[date, ...] = ()) -> BusinessHours:
        week = {}
        for name, ranges in days.items():
            index = WEEKDAYS.index(name.lower())
            week[index] = tuple(sorted((parse_range(r) for r in ranges),
                                       key=lambda o: o.start))
        return cls(timezone, week, frozenset(holidays))

    def openings_on(self, day: date) -> tuple[Opening, ...]:
        return () if day in self.holidays else self.week.get(day.weekday(), ())

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.timezone)
        now = local.time().replace(tzinfo=None)
        return any(o.start <= now <= o.end if o.end == END_OF_DAY else o.start <= now < o.end
                   for o in self.openings_on(local.date()))

    def next_change(self, at: datetime) -> datetime | None:
        """The next instant after `at` at which open becomes closed or closed open (UTC),
        or None when that does not happen within LOOKAHEAD_DAYS (e.g. no hours at all)."""
        was_open = self.is_open(at)
        start_day = at.astimezone(self.timezone).date()
        for offset in range(LOOKAHEAD_DAYS + 1):
            day = start_day + timedelta(days=offset)
            # the day's edges and clock changes (the clock may jump back into a closed
            # hour), earliest first: the first one after `at` that flips the state
            candidates = set(self._clock_changes(day))
            for opening in self.openings_on(day):
                candidates.update(self._instants(day, opening.start))
                candidates.update(self._instants(day + timedelta(days=1), time(0))
                                  if opening.end == END_OF_DAY
                                  else self._instants(day, opening.end))
            for instant in sorted(candidates):
                if instant > at and self.is_open(instant) != was_open:
                    return instant
        return None

    def _clock_changes(self, day: date) -> list[datetime]:
        """The instants of `day` at which its UTC offset changes (DST), to the quarter hour."""
        start = min(self._instants(day, time(0)))
        end = min(self._instants(day + timedelta(days=1), time(0)))
        if start.astimezone(self.timezone).utcoffset() == end.astimezone(
                self.timezone).utcoffset():
            return []
        out, step, t = [], timedelta(minutes=15), start
        while t < end:
            if (t + step).astimezone(self.timezone).utcoffset() != t.astimezone(
                    self.timezone).utcoffset():
                out.append(t + step)
            t += step
        return out

    def _instants(self, day: date, clock: time) -> list[datetime]:
        """When the clock shows `clock` on `day` (UTC): once, twice in the repeated autumn
        hour; a time in the spring gap lands where the clock shows it after the jump."""
        naive = datetime.combine(day, clock)
        return sorted({naive.replace(tzinfo=self.timezone, fold=fold).astimezone(UTC)
                       for fold in (0, 1)})
