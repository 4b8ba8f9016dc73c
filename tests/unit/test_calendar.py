"""Business hours. Every expected number was worked out by hand and is written as a literal.

2026 facts used below: Jan 1 is a Thursday, Dec 25 a Friday. Europe/Berlin springs forward
on Sun Mar 29 (01:00Z) and falls back on Sun Oct 25 (01:00Z); America/New_York springs
forward on Sun Mar 8 (07:00Z) and falls back on Sun Nov 1 (06:00Z). Berlin is UTC+1 in
winter and UTC+2 in summer; New York is UTC-5 and UTC-4.
"""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from server.domain.calendar import (
    BusinessHours,
    add_business_seconds,
    business_seconds,
    is_open,
    next_open,
)


def z(text: str) -> datetime:
    return datetime.fromisoformat(text)


def weekdays(
    tz: str, *spans: tuple[time, time], holidays: frozenset[date] = frozenset()
) -> BusinessHours:
    return BusinessHours(tz, {day: spans for day in range(5)}, holidays)


NINE_TO_FIVE = (time(9), time(17))
BERLIN = weekdays("Europe/Berlin", NINE_TO_FIVE, holidays=frozenset({date(2026, 12, 25)}))
SPLIT = weekdays("Europe/Berlin", (time(9), time(12)), (time(13), time(17)))
NEW_YORK = weekdays("America/New_York", NINE_TO_FIVE)
WHOLE_DAY = ((time(0), time(0)),)
BERLIN_SUNDAY_9_17 = BusinessHours("Europe/Berlin", {6: (NINE_TO_FIVE,)})
BERLIN_SUNDAY_ALL_DAY = BusinessHours("Europe/Berlin", {6: WHOLE_DAY})
NEW_YORK_SUNDAY_ALL_DAY = BusinessHours("America/New_York", {6: WHOLE_DAY})
NEVER = BusinessHours("UTC", {})

BUSINESS_SECONDS = [
    ("within one day", BERLIN, "2026-01-05T09:00Z", "2026-01-05T11:30Z", 9000),
    ("entirely after hours", BERLIN, "2026-01-05T17:00Z", "2026-01-05T19:00Z", 0),
    ("overnight", BERLIN, "2026-01-05T15:00Z", "2026-01-06T09:00Z", 7200),
    ("over a weekend", BERLIN, "2026-01-09T15:00Z", "2026-01-12T09:00Z", 7200),
    ("over a holiday", BERLIN, "2026-12-24T15:00Z", "2026-12-28T09:00Z", 7200),
    ("a whole week", BERLIN, "2026-01-04T23:00Z", "2026-01-11T23:00Z", 144000),
    ("split day across lunch", SPLIT, "2026-01-05T10:00Z", "2026-01-05T13:00Z", 7200),
    ("split day from lunch", SPLIT, "2026-01-05T11:15Z", "2026-01-05T12:30Z", 1800),
    ("split day whole week", SPLIT, "2026-01-04T23:00Z", "2026-01-11T23:00Z", 126000),
    ("Berlin spring forward", BERLIN, "2026-03-27T15:00Z", "2026-03-30T08:00Z", 7200),
    ("Berlin fall back", BERLIN, "2026-10-23T14:00Z", "2026-10-26T09:00Z", 7200),
    ("New York spring forward", NEW_YORK, "2026-03-06T21:00Z", "2026-03-09T14:00Z", 7200),
    ("New York fall back", NEW_YORK, "2026-10-30T20:00Z", "2026-11-02T15:00Z", 7200),
    ("Berlin opens 08:00Z in winter", BERLIN, "2026-03-27T07:00Z", "2026-03-27T09:00Z", 3600),
    ("Berlin opens 07:00Z in summer", BERLIN, "2026-03-30T06:00Z", "2026-03-30T08:00Z", 3600),
    ("9-17 on spring day", BERLIN_SUNDAY_9_17, "2026-03-29T00:00Z", "2026-03-30T00:00Z", 28800),
    ("9-17 on fall day", BERLIN_SUNDAY_9_17, "2026-10-25T00:00Z", "2026-10-26T00:00Z", 28800),
    ("spring day opens 07:00Z", BERLIN_SUNDAY_9_17, "2026-03-29T06:00Z", "2026-03-29T08:00Z", 3600),
    ("fall day opens 08:00Z", BERLIN_SUNDAY_9_17, "2026-10-25T07:00Z", "2026-10-25T09:00Z", 3600),
    ("Berlin 23 h day", BERLIN_SUNDAY_ALL_DAY, "2026-03-28T00:00Z", "2026-03-31T00:00Z", 82800),
    ("Berlin 25 h day", BERLIN_SUNDAY_ALL_DAY, "2026-10-24T00:00Z", "2026-10-27T00:00Z", 90000),
    ("NY 23 h day", NEW_YORK_SUNDAY_ALL_DAY, "2026-03-07T00:00Z", "2026-03-10T00:00Z", 82800),
    ("NY 25 h day", NEW_YORK_SUNDAY_ALL_DAY, "2026-10-31T00:00Z", "2026-11-03T00:00Z", 90000),
    ("24/7", BusinessHours.always(), "2026-01-01T00:00Z", "2026-01-02T12:00Z", 129600),
    ("a whole year", BERLIN, "2026-01-01T00:00Z", "2027-01-01T00:00Z", 7488000),
    ("empty range", BERLIN, "2026-01-05T10:00Z", "2026-01-05T10:00Z", 0),
    ("inverted range", BERLIN, "2026-01-05T12:00Z", "2026-01-05T10:00Z", 0),
    ("never open", NEVER, "2026-01-01T00:00Z", "2027-01-01T00:00Z", 0),
]


@pytest.mark.parametrize(
    ("hours", "start", "end", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in BUSINESS_SECONDS],
)
def test_business_seconds(hours: BusinessHours, start: str, end: str, expected: float) -> None:
    assert business_seconds(hours, z(start), z(end)) == expected


def test_a_year_takes_milliseconds() -> None:
    began = clock.perf_counter()
    business_seconds(SPLIT, z("2026-01-01T00:00Z"), z("2027-01-01T00:00Z"))
    assert clock.perf_counter() - began < 0.25  # per local day, not per minute


def test_overlapping_pauses_are_removed_once() -> None:
    # Mon 09:00-17:00 CET is 08:00Z-16:00Z; pauses cover 10:00Z-13:00Z together (3 h).
    paused = [
        (z("2026-01-05T11:00Z"), z("2026-01-05T13:00Z")),
        (z("2026-01-05T10:00Z"), z("2026-01-05T12:00Z")),
        (z("2026-01-05T17:00Z"), z("2026-01-05T20:00Z")),
    ]  # after hours: no effect
    assert business_seconds(BERLIN, z("2026-01-05T00:00Z"), z("2026-01-06T00:00Z"), paused) == 18000


def test_a_start_skipped_by_spring_forward_opens_at_the_jump() -> None:
    # Sunday 02:30-17:00: 02:30 never shows on Mar 29, so the day opens at the jump (01:00Z).
    hours = BusinessHours("Europe/Berlin", {6: ((time(2, 30), time(17)),)})
    assert next_open(hours, z("2026-03-28T12:00Z")) == z("2026-03-29T01:00Z")
    assert business_seconds(hours, z("2026-03-29T00:00Z"), z("2026-03-30T00:00Z")) == 50400


def test_an_ambiguous_start_uses_its_first_reading() -> None:
    # Sunday 02:30-04:00 on Oct 25: the first 02:30 is CEST (00:30Z), 04:00 CET is 03:00Z.
    hours = BusinessHours("Europe/Berlin", {6: ((time(2, 30), time(4)),)})
    assert next_open(hours, z("2026-10-24T12:00Z")) == z("2026-10-25T00:30Z")
    assert business_seconds(hours, z("2026-10-25T00:00Z"), z("2026-10-26T00:00Z")) == 9000


ADD_BUSINESS_SECONDS = [
    ("same day", BERLIN, "2026-01-05T08:00Z", 3600, "2026-01-05T09:00Z"),
    ("ends exactly at closing", BERLIN, "2026-01-09T15:00Z", 3600, "2026-01-09T16:00Z"),
    ("over a weekend", BERLIN, "2026-01-09T15:00Z", 7200, "2026-01-12T09:00Z"),
    ("from a Saturday", BERLIN, "2026-01-10T12:00Z", 3600, "2026-01-12T09:00Z"),
    ("over a holiday", BERLIN, "2026-12-24T15:00Z", 7200, "2026-12-28T09:00Z"),
    ("over spring forward", BERLIN, "2026-03-27T15:00Z", 7200, "2026-03-30T08:00Z"),
    ("over fall back NY", NEW_YORK, "2026-10-30T20:00Z", 7200, "2026-11-02T15:00Z"),
    ("split day", SPLIT, "2026-01-05T10:30Z", 3600, "2026-01-05T12:30Z"),
    ("zero is the start", BERLIN, "2026-01-10T12:00Z", 0, "2026-01-10T12:00Z"),
    ("a year of hours", BERLIN, "2026-01-01T00:00Z", 7488000, "2026-12-31T16:00Z"),
    ("24/7", BusinessHours.always(), "2026-01-01T00:00Z", 90061.5, "2026-01-02T01:01:01.5Z"),
]


@pytest.mark.parametrize(
    ("hours", "start", "seconds", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in ADD_BUSINESS_SECONDS],
)
def test_add_business_seconds(
    hours: BusinessHours, start: str, seconds: float, expected: str
) -> None:
    deadline = add_business_seconds(hours, z(start), seconds)
    assert deadline == z(expected)
    assert deadline is not None and deadline.tzinfo is UTC


def test_add_business_seconds_skips_pauses() -> None:
    # 08:00Z + 1 h, pause 09:00Z-10:00Z, + 3 h more -> 13:00Z.
    paused = [(z("2026-01-05T09:00Z"), z("2026-01-05T10:00Z"))]
    deadline = add_business_seconds(BERLIN, z("2026-01-05T08:00Z"), 4 * 3600, paused)
    assert deadline == z("2026-01-05T13:00Z")


@pytest.mark.parametrize(
    ("hours", "paused"),
    [
        (NEVER, []),
        (BusinessHours.always(), [(z("2026-01-01T00:00Z"), z("2027-06-01T00:00Z"))]),
    ],
    ids=["never open", "paused for 500 days"],
)
def test_add_business_seconds_gives_up_after_400_idle_days(
    hours: BusinessHours, paused: list[tuple[datetime, datetime]]
) -> None:
    assert add_business_seconds(hours, z("2026-01-01T00:00Z"), 60, paused) is None


@pytest.mark.parametrize("seconds", [-1, float("inf"), float("nan")])
def test_add_business_seconds_rejects_bad_amounts(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds must be a finite number >= 0"):
        add_business_seconds(BERLIN, z("2026-01-05T08:00Z"), seconds)


@pytest.mark.parametrize(
    ("hours", "at", "expected"),
    [
        (BERLIN, "2026-01-05T08:00Z", True),  # Mon 09:00 CET
        (BERLIN, "2026-01-05T07:59:59Z", False),
        (BERLIN, "2026-01-05T15:59:59Z", True),
        (BERLIN, "2026-01-05T16:00Z", False),  # 17:00 CET: end is exclusive
        (BERLIN, "2026-01-10T12:00Z", False),  # Saturday
        (BERLIN, "2026-12-25T10:00Z", False),  # holiday
        (SPLIT, "2026-01-05T11:30Z", False),  # lunch
        (BusinessHours.always(), "2026-01-01T00:00Z", True),
        (NEVER, "2026-01-01T00:00Z", False),
    ],
)
def test_is_open(hours: BusinessHours, at: str, expected: bool) -> None:
    assert is_open(hours, z(at)) is expected


@pytest.mark.parametrize(
    ("hours", "at", "expected"),
    [
        (BERLIN, "2026-01-05T08:30Z", "2026-01-05T08:30Z"),  # open now
        (BERLIN, "2026-01-10T12:00Z", "2026-01-12T08:00Z"),  # Saturday -> Monday 09:00 CET
        (BERLIN, "2026-12-24T16:00Z", "2026-12-28T08:00Z"),  # holiday and weekend
        (SPLIT, "2026-01-05T11:30Z", "2026-01-05T12:00Z"),  # after lunch
        (NEVER, "2026-01-01T00:00Z", None),
    ],
)
def test_next_open(hours: BusinessHours, at: str, expected: str | None) -> None:
    assert next_open(hours, z(at)) == (None if expected is None else z(expected))


def test_other_offsets_are_accepted_and_results_are_utc() -> None:
    plus_one = timezone(timedelta(hours=1))
    start = datetime(2026, 1, 9, 16, 0, tzinfo=plus_one)
    assert add_business_seconds(BERLIN, start, 7200) == z("2026-01-12T09:00Z")
    assert business_seconds(BERLIN, start, z("2026-01-12T09:00Z")) == 7200


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        business_seconds(BERLIN, datetime(2026, 1, 5), z("2026-01-06T00:00Z"))


# --- construction and JSON ----------------------------------------------------------------------


def test_from_json_sorts_normalises_and_round_trips() -> None:
    hours = BusinessHours.from_json(
        {
            "timezone": "Europe/Berlin",
            "weekly": {
                "mon": [["13:00", "17:00"], ["09:00", "12:00"]],
                "sat": [["22:00", "00:00"]],
                "sun": [],
            },
            "holidays": ["2026-12-25", "2026-01-01"],
        }
    )
    assert hours.tz == "Europe/Berlin"
    assert dict(hours.weekly) == {
        0: ((time(9), time(12)), (time(13), time(17))),
        5: ((time(22), time(0)),),
    }
    assert hours.holidays == {date(2026, 1, 1), date(2026, 12, 25)}
    assert hours.to_json() == {
        "timezone": "Europe/Berlin",
        "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "sat": [["22:00", "24:00"]]},
        "holidays": ["2026-01-01", "2026-12-25"],
    }
    assert BusinessHours.from_json(hours.to_json()) == hours


def test_always_round_trips_and_is_hashable() -> None:
    always = BusinessHours.always()
    assert always.to_json()["weekly"] == {
        day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    assert BusinessHours.from_json(always.to_json()) == always
    assert hash(always) == hash(BusinessHours.always())


def test_weekly_is_copied_so_later_mutation_cannot_leak_in() -> None:
    weekly = {0: (NINE_TO_FIVE,)}
    hours = BusinessHours("UTC", weekly)
    weekly[1] = (NINE_TO_FIVE,)
    assert dict(hours.weekly) == {0: (NINE_TO_FIVE,)}


def _json(**weekly: object) -> dict[str, object]:
    return {"timezone": "UTC", "weekly": weekly}


FROM_JSON_ERRORS = [
    ({"timezone": "Mars/Base", "weekly": {}}, "unknown timezone 'Mars/Base'"),
    ({"timezone": "../etc/passwd", "weekly": {}}, "unknown timezone '../etc/passwd'"),
    ({"weekly": {}}, "timezone: expected a string, got None"),
    ({"timezone": "UTC"}, "weekly: missing"),
    ({"timezone": "UTC", "weekly": {}, "timzone": "x"}, "unknown key 'timzone'"),
    ({"timezone": "UTC", "weekly": []}, "weekly: expected an object mapping day names"),
    (
        {"timezone": "UTC", "weekly": {"monday": []}},
        "weekly: unknown day 'monday' (expected one of mon, tue, wed, thu, fri, sat, sun)",
    ),
    (_json(mon="09:00-17:00"), "weekly.mon: expected a list of [start, end] pairs"),
    (
        _json(mon=[["09:00", "12:00"], ["09:00", "08:00"]]),
        "weekly.mon[1]: end 08:00 is before start 09:00",
    ),
    (
        _json(mon=[["09:00", "12:00"], ["11:00", "13:00"]]),
        "weekly.mon[1]: 11:00-13:00 overlaps weekly.mon[0] 09:00-12:00",
    ),
    (
        _json(tue=[["14:00", "24:00"], ["08:00", "15:00"]]),
        "weekly.tue[0]: 14:00-24:00 overlaps weekly.tue[1] 08:00-15:00",
    ),
    (_json(wed=[["9am", "17:00"]]), "weekly.wed[0]: invalid start '9am' (expected HH:MM)"),
    (_json(wed=[["24:00", "24:00"]]), "weekly.wed[0]: invalid start '24:00' (expected HH:MM)"),
    (_json(thu=[["10:00", "25:00"]]), "weekly.thu[0]: invalid end '25:00' (expected HH:MM)"),
    (_json(thu=[["10:00", "10:00"]]), "weekly.thu[0]: end 10:00 equals start 10:00"),
    (_json(fri=[["09:00"]]), "weekly.fri[0]: expected [start, end], got ['09:00']"),
    (
        {"timezone": "UTC", "weekly": {}, "holidays": ["2026-12-25", "2026-13-01"]},
        "holidays[1]: invalid date '2026-13-01' (expected YYYY-MM-DD)",
    ),
    (
        {"timezone": "UTC", "weekly": {}, "holidays": ["25.12.2026"]},
        "holidays[0]: invalid date '25.12.2026' (expected YYYY-MM-DD)",
    ),
]


@pytest.mark.parametrize(("data", "message"), FROM_JSON_ERRORS)
def test_from_json_errors_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        BusinessHours.from_json(data)
    assert str(caught.value).startswith(message)


def test_adjacent_intervals_are_not_an_overlap() -> None:
    hours = BusinessHours.from_json(_json(mon=[["09:00", "12:00"], ["12:00", "17:00"]]))
    assert business_seconds(hours, z("2026-01-05T00:00Z"), z("2026-01-06T00:00Z")) == 28800


@pytest.mark.parametrize(
    ("weekly", "message"),
    [
        ({7: (NINE_TO_FIVE,)}, "weekly: unknown weekday 7 (expected 0=Mon .. 6=Sun)"),
        ({0: ((time(17), time(9)),)}, "weekly.mon[0]: end 09:00 is before start 17:00"),
        (
            {6: ((time(9, tzinfo=UTC), time(17)),)},
            "weekly.sun[0]: start must be a naive local time in whole seconds",
        ),
    ],
)
def test_direct_construction_is_validated_too(
    weekly: dict[int, tuple[tuple[time, time], ...]], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        BusinessHours("UTC", weekly)
    assert str(caught.value) == message
