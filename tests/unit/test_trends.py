"""Trend buckets and figures, hand-computed (server/reporting/trends.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from server.reporting.trends import Cycle, Rating, Wait, bucket_of, buckets, figures, heatmap

WARSAW = ZoneInfo("Europe/Warsaw")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "interval", "expected"),
    [
        ("2026-03-28T23:30:00", "day", date(2026, 3, 29)),  # 00:30 Warsaw (CET, +1)
        ("2026-03-29T22:30:00", "day", date(2026, 3, 30)),  # 00:30 Warsaw (CEST, +2)
        ("2026-03-29T21:30:00", "day", date(2026, 3, 29)),  # 23:30 Warsaw
        ("2026-03-29T21:30:00", "week", date(2026, 3, 23)),  # Sunday → Monday 23rd
        ("2026-03-29T22:30:00", "week", date(2026, 3, 30)),  # already Monday in Warsaw
        ("2026-02-28T23:30:00", "month", date(2026, 3, 1)),
    ],
)
def test_buckets_follow_the_local_calendar(instant: str, interval: str, expected: date) -> None:
    assert bucket_of(at(instant), interval, WARSAW) == expected


def test_every_bucket_is_listed_even_the_empty_ones() -> None:
    days = buckets(at("2026-01-30T23:00:00"), at("2026-02-03T00:00:00"), "day", UTC)
    assert [d.day for d in days] == [30, 31, 1, 2]
    months = buckets(at("2025-11-15T00:00:00"), at("2026-02-02T00:00:00"), "month", UTC)
    assert [(d.year, d.month) for d in months] == [(2025, 11), (2025, 12), (2026, 1), (2026, 2)]
    with pytest.raises(ValueError, match="choose a longer interval"):
        buckets(at("2020-01-01T00:00:00"), at("2026-01-01T00:00:00"), "day", UTC)


def test_figures_of_a_bucket() -> None:
    t0 = at("2026-01-05T09:00:00")
    cycles = [
        Cycle(t0, 0, 60.0, 60.0, None, None, 3600.0),
        Cycle(t0, 0, 600.0, 300.0, t0, 900.0, 3600.0),
        Cycle(t0, 1, 7200.0, 5400.0, None, None, 3600.0),  # reopened, missed its target
        Cycle(t0, 0, None, None, None, None, 3600.0),  # unanswered: not measured yet
    ]
    row = figures(
        [t0, t0],
        cycles,
        [Wait(t0, 30.0), Wait(t0, 90.0)],
        [Rating(t0, 5), Rating(t0, 2), Rating(t0, None)],
    )
    assert row["new"] == 2 and row["segments"] == 4 and row["reopened"] == 1
    assert row["frt_median_seconds"] == 600.0
    assert row["frt_p90_seconds"] == 5880.0  # 600 + 0.8 * (7200 - 600)
    assert row["frt_business_median_seconds"] == 300.0
    assert row["nrt_median_seconds"] == 60.0
    assert row["sla_measured"] == 3 and row["sla_within_percent"] == 66.7
    assert row["csat_answers"] == 2 and row["csat_average"] == 3.5
    assert row["csat_satisfied_percent"] == 50.0


def test_heatmap_is_by_local_weekday_and_hour() -> None:
    grid = heatmap(
        [at("2026-07-06T07:15:00"), at("2026-07-06T07:45:00"), at("2026-07-05T22:30:00")], WARSAW
    )
    assert grid[0][9] == 2  # Monday 09:xx Warsaw (CEST)
    assert grid[0][0] == 1  # Sunday 22:30 UTC is Monday 00:30 in Warsaw
    assert sum(map(sum, grid)) == 3
