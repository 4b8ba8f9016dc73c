"""Business hours: when a business-time clock (FRT, SLA) runs.

Semantics, and why:

- `weekly` maps a weekday (0 = Monday .. 6 = Sunday) to intervals [start, end) of *local
  wall time*. An end of `time(0)` means midnight at the end of that day ("24:00" in JSON), so
  a whole day is `(time(0), time(0))` instead of a 23:59:59.999999 hack. Intervals are stored
  sorted by start; they may touch but not overlap. A weekday with no entry is closed.
- A local wall time becomes a real instant as *the first instant at which the local clock
  reads that time or later*: the earlier reading in a fall-back hour, and the moment of the
  jump for a time skipped by spring-forward. This mapping never goes backwards, so business
  intervals stay ordered and disjoint in real time; 09:00-17:00 is 8 h of real time on a DST
  day, 00:00-24:00 is 23 h or 25 h.
- Holidays are local dates with no business time; an interval belongs to the date it starts on.
- Functions take and return timezone-aware datetimes; results are in UTC. We iterate per
  local day, never per minute, so a year-long span costs a few thousand conversions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BusinessHours",
    "add_business_seconds",
    "business_seconds",
    "is_open",
    "next_open",
]

Interval = tuple[datetime, datetime]
DayHours = tuple[tuple[time, time], ...]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MIDNIGHT = time(0)
_ONE_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)
# 400 days: longer than any yearly cycle of holidays, so a calendar closed that long is closed.
_SEARCH_DAYS = 400
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class BusinessHours:
    """An inbox's weekly opening hours, time zone and holidays (see the module docstring)."""

    tz: str
    weekly: Mapping[int, DayHours] = field(hash=False)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        _zone(self.tz)
        object.__setattr__(self, "weekly", _validated_weekly(self.weekly))
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @classmethod
    def always(cls) -> BusinessHours:
        """24/7 in UTC without holidays: the default for an inbox that set no hours."""
        whole_day = ((_MIDNIGHT, _MIDNIGHT),)
        return cls("UTC", {day: whole_day for day in range(7)})

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> BusinessHours:
        """Parse `{"timezone", "weekly": {"mon": [["09:00", "17:00"]]}, "holidays": [...]}`.

        Raises ValueError naming the offending path, e.g. "weekly.mon[1]: end 08:00 is
        before start 09:00", so the settings UI can show it next to the field.
        """
        unknown = sorted(set(data) - {"timezone", "weekly", "holidays"})
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r}")
        tz = data.get("timezone")
        if not isinstance(tz, str):
            raise ValueError(f"timezone: expected a string, got {tz!r}")
        if "weekly" not in data:
            raise ValueError("weekly: missing")
        holidays = _parse_holidays(data.get("holidays", []))
        return cls(tz, _parse_weekly(data["weekly"]), holidays)

    def to_json(self) -> dict[str, object]:
        """The inverse of from_json; closed days are omitted, holidays sorted."""
        weekly = {
            DAY_NAMES[day]: [[_clock(start), _clock(end, is_end=True)] for start, end in spans]
            for day, spans in self.weekly.items()
        }
        holidays = [day.isoformat() for day in sorted(self.holidays)]
        return {"timezone": self.tz, "weekly": weekly, "holidays": holidays}


def business_seconds(
    hours: BusinessHours,
    start: datetime,
    end: datetime,
    paused: Sequence[Interval] = (),
) -> float:
    """Seconds of [start, end) inside business hours and outside every paused interval.

    Paused intervals may overlap each other. An empty or inverted range gives 0.0.
    """
    start, end = _utc("start", start), _utc("end", end)
    if end <= start:
        return 0.0
    pieces = _subtract(_intervals(hours, start, end), _merge(paused))
    return sum((b - a for a, b in pieces), timedelta()).total_seconds()


def add_business_seconds(
    hours: BusinessHours,
    start: datetime,
    seconds: float,
    paused: Sequence[Interval] = (),
) -> datetime | None:
    """The earliest instant by which `seconds` of business time have run since `start`.

    Used for SLA deadlines. Returns None when 400 consecutive days pass without usable
    business time (the calendar is closed, or paused, for good).
    """
    start = _utc("start", start)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
    remaining = timedelta(seconds=seconds)
    if not remaining:
        return start
    for a, b in _pieces_from(hours, start, _merge(paused)):
        if b - a >= remaining:
            return a + remaining
        remaining -= b - a
    return None


def is_open(hours: BusinessHours, at: datetime) -> bool:
    """Whether the instant `at` is business time."""
    at = _utc("at", at)
    return next(_intervals(hours, at, at + _TICK), None) is not None


def next_open(hours: BusinessHours, at: datetime) -> datetime | None:
    """`at` itself if open, else the next opening instant; None if closed for 400 days."""
    first = next(_pieces_from(hours, _utc("at", at), []), None)
    return None if first is None else first[0]


# --- intervals in real time -----------------------------------------------------------------


def _intervals(hours: BusinessHours, start: datetime, end: datetime) -> Iterator[Interval]:
    """Business intervals clipped to [start, end), sorted and disjoint."""
    zone = hours.zone
    day = start.astimezone(zone).date()
    # +1 day: in a fall-back across midnight the next date's first interval can begin before
    # `end` although `end` still reads as the earlier date.
    last = end.astimezone(zone).date() + _ONE_DAY
    while day <= last:
        yield from _clip(_day_intervals(hours, zone, day), start, end)
        day += _ONE_DAY


def _pieces_from(
    hours: BusinessHours, start: datetime, removed: Sequence[Interval]
) -> Iterator[Interval]:
    """Business time after `start` minus `removed`, until 400 idle days in a row."""
    zone = hours.zone
    day = start.astimezone(zone).date()
    idle_days = 0
    while idle_days < _SEARCH_DAYS:
        spans = _clip(_day_intervals(hours, zone, day), start, None)
        pieces = list(_subtract(spans, removed))
        idle_days = 0 if pieces else idle_days + 1
        yield from pieces
        day += _ONE_DAY


def _day_intervals(hours: BusinessHours, zone: ZoneInfo, day: date) -> list[Interval]:
    if day in hours.holidays:
        return []
    midnight = datetime.combine(day, _MIDNIGHT)
    spans = (
        (_instant(datetime.combine(day, start), zone), _instant(midnight + _end(end), zone))
        for start, end in hours.weekly.get(day.weekday(), ())
    )
    return [(a, b) for a, b in spans if a < b]  # a span inside a DST gap is empty


def _instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The first real instant at which the local clock reads `local` (naive) or later."""
    utc = local.replace(tzinfo=zone).astimezone(UTC)  # fold=0: earlier of two readings
    if utc.astimezone(zone).replace(tzinfo=None) == local:
        return utc
    return _jump_instant(local, zone)


def _jump_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """`local` was skipped by a forward jump: find the jump by bisection (rare path).

    fold=1 reads `local` with the offset after the jump, which lands before the jump;
    fold=0 reads it with the offset before, which lands after it.
    """
    lo = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    hi = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    after = hi.astimezone(zone).utcoffset()
    while hi - lo > _TICK:
        mid = lo + (hi - lo) // 2
        if mid.astimezone(zone).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi


def _clip(spans: Iterable[Interval], start: datetime, end: datetime | None) -> Iterator[Interval]:
    for a, b in spans:
        a, b = max(a, start), b if end is None else min(b, end)
        if a < b:
            yield a, b


def _merge(paused: Sequence[Interval]) -> list[Interval]:
    """Sorted, disjoint union of the paused intervals (inputs may overlap or be empty)."""
    merged: list[Interval] = []
    spans = sorted((_utc("paused start", a), _utc("paused end", b)) for a, b in paused)
    for a, b in spans:
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _subtract(spans: Iterable[Interval], removed: Sequence[Interval]) -> Iterator[Interval]:
    """`spans` minus `removed`; both sorted and disjoint, so one forward sweep suffices."""
    first = 0
    for a, b in spans:
        while first < len(removed) and removed[first][1] <= a:
            first += 1
        index = first
        while a < b and index < len(removed) and removed[index][0] < b:
            if removed[index][0] > a:
                yield a, removed[index][0]
            a = max(a, removed[index][1])
            index += 1
        if a < b:
            yield a, b


def _utc(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


# --- validation and JSON ----------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown timezone {name!r}") from None


def _end(end: time) -> timedelta:
    """Offset of an interval end from local midnight; time(0) is the end of the day."""
    return _ONE_DAY if end == _MIDNIGHT else _start(end)


def _start(start: time) -> timedelta:
    return timedelta(hours=start.hour, minutes=start.minute, seconds=start.second)


def _validated_weekly(weekly: Mapping[int, DayHours]) -> Mapping[int, DayHours]:
    result: dict[int, DayHours] = {}
    for day in sorted(weekly):
        if day not in range(7):
            raise ValueError(f"weekly: unknown weekday {day!r} (expected 0=Mon .. 6=Sun)")
        spans = _validated_day(f"weekly.{DAY_NAMES[day]}", tuple(weekly[day]))
        if spans:
            result[day] = spans
    return MappingProxyType(result)


def _validated_day(label: str, spans: DayHours) -> DayHours:
    """Check each interval, then overlaps; return the intervals sorted by start."""
    for index, (start, end) in enumerate(spans):
        _check_interval(f"{label}[{index}]", start, end)
    order = sorted(range(len(spans)), key=lambda index: spans[index][0])
    for before, after in pairwise(order):
        if _end(spans[before][1]) > _start(spans[after][0]):
            raise ValueError(
                f"{label}[{after}]: {_span(spans[after])} overlaps "
                f"{label}[{before}] {_span(spans[before])}"
            )
    return tuple(spans[index] for index in order)


def _check_interval(label: str, start: time, end: time) -> None:
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, time) or value.tzinfo is not None or value.microsecond:
            raise ValueError(f"{label}: {name} must be a naive local time in whole seconds")
    if _end(end) < _start(start):
        raise ValueError(f"{label}: end {_clock(end)} is before start {_clock(start)}")
    if _end(end) == _start(start):
        raise ValueError(f"{label}: end {_clock(end)} equals start {_clock(start)}")


def _parse_weekly(raw: object) -> dict[int, DayHours]:
    if not isinstance(raw, Mapping):
        raise ValueError("weekly: expected an object mapping day names to intervals")
    weekly: dict[int, DayHours] = {}
    for name, spans in raw.items():
        if name not in DAY_NAMES:
            expected = ", ".join(DAY_NAMES)
            raise ValueError(f"weekly: unknown day {name!r} (expected one of {expected})")
        if not isinstance(spans, list):
            raise ValueError(f"weekly.{name}: expected a list of [start, end] pairs")
        weekly[DAY_NAMES.index(name)] = tuple(
            _parse_span(f"weekly.{name}[{index}]", span) for index, span in enumerate(spans)
        )
    return weekly


def _parse_span(label: str, raw: object) -> tuple[time, time]:
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise ValueError(f"{label}: expected [start, end], got {raw!r}")
    return _parse_clock(label, "start", raw[0]), _parse_clock(label, "end", raw[1])


def _parse_clock(label: str, name: str, raw: object) -> time:
    if name == "end" and raw == "24:00":
        return _MIDNIGHT
    match = _CLOCK.fullmatch(raw) if isinstance(raw, str) else None
    if match is None:
        raise ValueError(f"{label}: invalid {name} {raw!r} (expected HH:MM)")
    hour, minute, second = match.groups(default="0")
    return time(int(hour), int(minute), int(second))


def _parse_holidays(raw: object) -> frozenset[date]:
    if not isinstance(raw, list):
        raise ValueError("holidays: expected a list of YYYY-MM-DD dates")
    return frozenset(_parse_date(f"holidays[{index}]", item) for index, item in enumerate(raw))


def _parse_date(label: str, raw: object) -> date:
    try:
        if isinstance(raw, str) and _ISO_DATE.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise ValueError(f"{label}: invalid date {raw!r} (expected YYYY-MM-DD)")


def _clock(value: time, *, is_end: bool = False) -> str:
    if is_end and value == _MIDNIGHT:
        return "24:00"
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _span(span: tuple[time, time]) -> str:
    return f"{_clock(span[0])}-{_clock(span[1], is_end=True)}"
