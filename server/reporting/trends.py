"""Trends over time (docs/reports.md), pure: bucket rows by day, week or month in a time
zone and compute each bucket's figures; a heatmap of new segments by hour of the week.

Inputs are plain rows (started_at, seconds, ratings …) fetched by the read side; nothing
here does I/O. Times are aware datetimes; buckets are calendar days, ISO weeks (starting
Monday) or months in ``tz``, so a Warsaw team's "Monday" is Warsaw's Monday, DST included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.reporting import rollup
from server.reporting.stats import percentile, rounded

INTERVALS = ("day", "week", "month")
MAX_BUCKETS = 400  # about a year of days; a longer series asks for weeks or months


@dataclass(frozen=True, slots=True)
class Cycle:
    started_at: datetime
    idx: int
    wall_seconds: float | None
    business_seconds: float | None
    resolved_at: datetime | None
    resolution_seconds: float | None
    target_seconds: float | None  # the FRT target that applied (inbox, priority)


@dataclass(frozen=True, slots=True)
class Wait:
    started_at: datetime
    wall_seconds: float | None


@dataclass(frozen=True, slots=True)
class Rating:
    sent_at: datetime
    rating: int | None


def bucket_of(at: datetime, interval: str, tz: ZoneInfo) -> date:
    local = at.astimezone(tz).date()
    if interval == "week":
        return local - timedelta(days=local.weekday())
    if interval == "month":
        return local.replace(day=1)
    return local


def buckets(start: datetime, end: datetime, interval: str, tz: ZoneInfo) -> list[date]:
    """Every bucket from the one holding ``start`` to the one holding ``end`` (exclusive)."""
    first, last = (
        bucket_of(start, interval, tz),
        bucket_of(end - timedelta(microseconds=1), interval, tz),
    )
    out = [first]
    while out[-1] < last:
        out.append(_next(out[-1], interval))
        if len(out) > MAX_BUCKETS:
            raise ValueError(f"more than {MAX_BUCKETS} {interval}s: choose a longer interval")
    return out


def _next(day: date, interval: str) -> date:
    if interval == "day":
        return day + timedelta(days=1)
    if interval == "week":
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def figures(
    new: Iterable[datetime],
    cycles: Sequence[Cycle],
    waits: Sequence[Wait],
    ratings: Sequence[Rating],
) -> dict[str, Any]:
    """The figures of one bucket (or of a whole period)."""
    answered = [c for c in cycles if c.wall_seconds is not None]
    resolved = [c for c in cycles if c.resolution_seconds is not None]
    measured = [
        c for c in answered if c.target_seconds is not None and c.business_seconds is not None
    ]
    given = [r.rating for r in ratings if r.rating is not None]
    return {
        "new": sum(1 for _ in new),
        "segments": len(cycles),
        "reopened": sum(1 for c in cycles if c.idx > 0),
        "resolved": len(resolved),
        **_spread("frt", [c.wall_seconds for c in answered]),
        **_spread("frt_business", [c.business_seconds for c in answered]),
        **_spread("nrt", [w.wall_seconds for w in waits if w.wall_seconds is not None]),
        **_spread("resolution", [c.resolution_seconds for c in resolved]),
        "sla_measured": len(measured),
        "sla_within_percent": _percent(sum(1 for c in measured if _within(c)), len(measured)),
        "csat_answers": len(given),
        "csat_average": round(sum(given) / len(given), 2) if given else None,
        "csat_satisfied_percent": _percent(sum(1 for r in given if r >= 4), len(given)),
    }


def _within(cycle: Cycle) -> bool:
    return (cycle.business_seconds or 0.0) <= (cycle.target_seconds or 0.0)


def _spread(name: str, values: Sequence[float | None]) -> dict[str, float | None]:
    data = sorted(v for v in values if v is not None)
    return {
        f"{name}_median_seconds": rounded(percentile(data, 0.5)),
        f"{name}_p90_seconds": rounded(percentile(data, 0.9)),
    }


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def series(
    start: datetime,
    end: datetime,
    interval: str,
    tz: ZoneInfo,
    new: Sequence[datetime],
    cycles: Sequence[Cycle],
    waits: Sequence[Wait],
    ratings: Sequence[Rating],
) -> list[dict[str, Any]]:
    """One entry per bucket, empty buckets included (a chart's gaps are real zeros).

    Segments count where they started, resolution where it happened, ratings where the
    survey was sent."""
    keys = buckets(start, end, interval, tz)

    def split(items: Iterable[Any], at: Any) -> dict[date, list[Any]]:
        out: dict[date, list[Any]] = {k: [] for k in keys}
        for item in items:
            when = at(item)
            if when is not None and start <= when < end:
                out.setdefault(bucket_of(when, interval, tz), []).append(item)
        return out

    by_new = split(new, lambda d: d)
    by_cycle = split(cycles, lambda c: c.started_at)
    by_resolve = split([c for c in cycles if c.resolved_at], lambda c: c.resolved_at)
    by_wait = split(waits, lambda w: w.started_at)
    by_rating = split(ratings, lambda r: r.sent_at)
    out = []
    for key in keys:
        row = figures(by_new[key], by_cycle[key], by_wait[key], by_rating[key])
        resolved = by_resolve[key]
        row["resolved"] = len(resolved)
        row.update(_spread("resolution", [c.resolution_seconds for c in resolved]))
        out.append({"start": key.isoformat(), **row})
    return out


def heatmap(starts: Iterable[datetime], tz: ZoneInfo) -> list[list[int]]:
    """New segments by weekday (0 = Monday) and hour (0 to 23) in ``tz``."""
    grid = [[0] * 24 for _ in range(7)]
    for at in starts:
        local = at.astimezone(tz)
        grid[local.weekday()][local.hour] += 1
    return grid


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    return start - (end - start), start


def totals(
    start: datetime,
    end: datetime,
    new: Sequence[datetime],
    cycles: Sequence[Cycle],
    waits: Sequence[Wait],
    ratings: Sequence[Rating],
) -> dict[str, Any]:
    """The whole period's figures, counted the way ``series`` counts each bucket."""
    started = [c for c in cycles if start <= c.started_at < end]
    row = figures(
        [d for d in new if start <= d < end],
        started,
        [w for w in waits if start <= w.started_at < end],
        [r for r in ratings if start <= r.sent_at < end],
    )
    resolved = [c for c in cycles if c.resolved_at is not None and start <= c.resolved_at < end]
    row["resolved"] = len(resolved)
    row.update(_spread("resolution", [c.resolution_seconds for c in resolved]))
    return row


# -- from rollups (server/reporting/rollup.py) -------------------------------------------

#: What the trends' figures read from the rollups (the heatmap reads "hour").
METRICS = (
    "seg", "new", "reopen", "frt", "frtb", "sla", "res", "nrt",
    "csat_sent", "csat", "csat_sat",
)  # fmt: skip


def figures_of(agg: rollup.Agg) -> dict[str, Any]:
    """The same figures as ``figures`` (resolution by resolve), from summed rollups."""
    measured, answers = rollup.count(agg, "sla"), rollup.count(agg, "csat")
    csat_sum = rollup.total(agg, "csat")
    return {
        "new": rollup.count(agg, "new"),
        "segments": rollup.count(agg, "seg"),
        "reopened": rollup.count(agg, "reopen"),
        "resolved": rollup.count(agg, "res"),
        **_spread_of(agg, "frt", "frt"),
        **_spread_of(agg, "frt_business", "frtb"),
        **_spread_of(agg, "nrt", "nrt"),
        **_spread_of(agg, "resolution", "res"),
        "sla_measured": measured,
        "sla_within_percent": _percent(round(rollup.total(agg, "sla")), measured),
        "csat_answers": answers,
        "csat_average": round(csat_sum / answers, 2) if answers else None,
        "csat_satisfied_percent": _percent(rollup.count(agg, "csat_sat"), answers),
    }


def _spread_of(agg: rollup.Agg, name: str, metric: str) -> dict[str, float | None]:
    median, p90 = rollup.percentiles(agg, metric, (0.5, 0.9))
    return {
        f"{name}_median_seconds": rounded(median),
        f"{name}_p90_seconds": rounded(p90),
    }


def day_bucket(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def series_of(
    start: datetime, end: datetime, interval: str, tz: ZoneInfo, days: dict[int, rollup.Agg]
) -> list[dict[str, Any]]:
    """``series`` from rollups per day, or already per bucket (keyed by the ordinal of the
    bucket's first day; days in ``tz``)."""
    keys = buckets(start, end, interval, tz)
    merged: dict[date, rollup.Agg] = {}
    for ordinal, agg in days.items():
        key = day_bucket(date.fromordinal(ordinal), interval)
        if key in merged:
            rollup.merge(merged[key], agg)
        else:
            merged[key] = agg
    return [{"start": k.isoformat(), **figures_of(merged.get(k) or rollup.new_agg())} for k in keys]


def totals_of(days: dict[int, rollup.Agg]) -> dict[str, Any]:
    agg = rollup.new_agg()
    for day in days.values():
        rollup.merge(agg, day)
    return figures_of(agg)


def heatmap_of(weekdays: dict[int, rollup.Agg]) -> list[list[int]]:
    """``heatmap`` from the "hour" rollups summed per weekday (0 = Monday)."""
    grid = [[0] * 24 for _ in range(7)]
    for weekday, agg in weekdays.items():
        for hour, cell in agg.get("hour", {}).items():
            if hour >= 0:
                grid[weekday][hour] += int(cell[0])
    return grid
