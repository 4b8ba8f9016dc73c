"""Daily report rollups (docs/reports.md, "How reports stay fast").

Every FRT segment (``response_cycles``), NRT wait (``response_waits``) and CSAT survey
contributes *entries*: counts, sums and histogram counts, each anchored at an instant
(a segment at its start, its resolution at its resolve, a survey when it was sent). The
entries of an inbox are summed per local day in the inbox's time zone and per dimension
(the inbox as a whole, the responding agent, the team) in ``report_rollups``.

Writers call ``apply`` with the entries of a row before and after a change in the same
transaction as the change: the difference is upserted (``n = n + delta``), so a rewrite of
history (a replay after an import or a calendar change) subtracts the old contribution
and adds the new one. ``rebuild`` recomputes an inbox (or everything) from the stored
rows: the migration that introduces rollups, and a change of an inbox's time zone.

Percentiles come from the histograms: 1-second buckets below 60 s, then buckets 5 % wide;
a bucket stands for its lower bound (whole seconds: exact) or its middle, so a median or
p90 read from rollups is within 1 s (below a minute) or 2.5 % of the exact figure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from server.storage import schema as t
from server.storage.csat_schema import csat_surveys
from server.storage.rollup_schema import report_rollups, report_zones

SMALL = 60  # below: one bucket per whole second
RATIO = 1.05  # above: each bucket 5 % wider than the one before
_LOG = math.log(RATIO)
TOTAL = -1  # the bucket of a metric's count and sum
HOUR = -2  # placeholder: the local hour, filled in when the day is known
UTC = ZoneInfo("UTC")

#: (anchor instant, dimension, key, metric, bucket, n, total)
Entry = tuple[datetime, str, int, str, int, int, float]
#: (day ordinal, dimension, key, metric, bucket) -> [n, total]
Cells = dict[tuple[int, str, int, str, int], list[float]]
DIMS = ("inbox", "agent", "team")


def bucket(seconds: float) -> int:
    if seconds < SMALL:
        return max(0, int(seconds))
    return SMALL + int(math.log(seconds / SMALL) / _LOG)


def value_of(b: int) -> float:
    """The value a histogram bucket stands for."""
    if b < SMALL:
        return float(b)
    low = SMALL * RATIO ** (b - SMALL)
    return low * (1 + RATIO) / 2


def zone_of(business_hours: Any) -> ZoneInfo:
    name = business_hours.get("timezone") if isinstance(business_hours, dict) else None
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _timed(anchor: datetime, dims: Iterable[tuple[str, int]], metric: str, v: float) -> list[Entry]:
    out: list[Entry] = []
    for dim, key in dims:
        out.append((anchor, dim, key, metric, TOTAL, 1, v))
        out.append((anchor, dim, key, metric, bucket(v), 1, 0.0))
    return out


def _dims(row: Mapping[str, Any]) -> list[tuple[str, int]]:
    return [
        ("inbox", 0),
        ("agent", row.get("responder_id") or 0),
        ("team", row.get("team_id") or 0),
    ]


def cycle_entries(row: Mapping[str, Any] | None) -> list[Entry]:
    """What one FRT segment contributes (docs/reports.md)."""
    if row is None:
        return []
    at, dims, inbox = row["started_at"], _dims(row), [("inbox", 0)]
    out: list[Entry] = [(at, d, k, "seg", TOTAL, 1, 0.0) for d, k in dims]
    out.append((at, "inbox", 0, "new" if row["idx"] == 0 else "reopen", TOTAL, 1, 0.0))
    out.append((at, "inbox", 0, "hour", HOUR, 1, 0.0))
    wall, business = row.get("wall_seconds"), row.get("business_seconds")
    if wall is not None:
        out += _timed(at, dims, "frt", wall)
    if business is not None:
        out += _timed(at, dims, "frtb", business)
        target = row.get("target_seconds")
        if wall is not None and target is not None:
            out.append((at, "inbox", 0, "sla", TOTAL, 1, 1.0 if business <= target else 0.0))
    resolution = row.get("resolution_seconds")
    if resolution is not None:
        out += _timed(at, dims, "res_s", resolution)  # by start: the FRT report's groups
        if row.get("resolved_at") is not None:
            out += _timed(row["resolved_at"], inbox, "res", resolution)  # by resolve: trends
    return out


def wait_entries(row: Mapping[str, Any] | None) -> list[Entry]:
    """What one NRT wait contributes."""
    if row is None:
        return []
    at, dims = row["started_at"], _dims(row)
    out: list[Entry] = [(at, d, k, "wait", TOTAL, 1, 0.0) for d, k in dims]
    if row.get("wall_seconds") is not None:
        out += _timed(at, dims, "nrt", row["wall_seconds"])
    if row.get("business_seconds") is not None:
        out += _timed(at, dims, "nrtb", row["business_seconds"])
    return out


def survey_entries(row: Mapping[str, Any] | None) -> list[Entry]:
    """What one CSAT survey contributes: counted when sent, with its rating if any."""
    if row is None or row.get("state") != "sent":
        return []
    at = row["sent_at"]
    out: list[Entry] = [(at, "inbox", 0, "csat_sent", TOTAL, 1, 0.0)]
    rating = row.get("rating")
    if rating is not None:
        out.append((at, "inbox", 0, "csat", TOTAL, 1, float(rating)))
        if rating >= 4:
            out.append((at, "inbox", 0, "csat_sat", TOTAL, 1, 0.0))
    return out


def cells(
    entries: Iterable[Entry], zone: ZoneInfo, sign: int = 1, into: Cells | None = None
) -> Cells:
    """Sum entries per local day in ``zone``."""
    out: Cells = into if into is not None else defaultdict(lambda: [0, 0.0])
    for at, dim, key, metric, b, n, total in entries:
        local = at.astimezone(zone)
        if b == HOUR:
            b = local.hour
        cell = out[(local.date().toordinal(), dim, key, metric, b)]
        cell[0] += sign * n
        cell[1] += sign * total
    return out


def _upsert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(report_rollups)
    r = report_rollups.c
    return stmt.on_conflict_do_update(
        index_elements=[r.inbox_id, r.dim, r.day, r.key, r.metric, r.bucket],
        set_={"n": r.n + stmt.excluded.n, "total": r.total + stmt.excluded.total},
    )


def delta_rows(inbox_id: int, old: Cells | None, new: Cells) -> list[dict[str, Any]]:
    merged: Cells = defaultdict(lambda: [0, 0.0])
    for key, (n, total) in new.items():
        merged[key][0] += n
        merged[key][1] += total
    for key, (n, total) in (old or {}).items():
        merged[key][0] -= n
        merged[key][1] -= total
    return [
        {
            "inbox_id": inbox_id,
            "day": d,
            "dim": dim,
            "key": k,
            "metric": m,
            "bucket": b,
            "n": int(n),
            "total": float(total),
        }
        for (d, dim, k, m, b), (n, total) in sorted(merged.items())
        if n or abs(total) > 1e-9
    ]


async def apply(
    conn: Any, inbox_id: int, zone: ZoneInfo, old: Iterable[Entry], new: Iterable[Entry]
) -> None:
    """Add what changed to the rollups: one statement, one row per changed cell."""
    rows = delta_rows(inbox_id, cells(old, zone), cells(new, zone))
    if rows:
        await conn.execute(_upsert(conn.dialect.name), rows)


# -- rebuild (migration, time-zone change) -----------------------------------------------

_CHUNK = 20_000


def rebuild(conn: sa.Connection, inbox_ids: list[int] | None = None) -> None:
    """Recompute the rollups of ``inbox_ids`` (None: all) from the stored rows (sync)."""
    i = t.inboxes.c
    query = sa.select(i.id, i.business_hours)
    if inbox_ids is not None:
        query = query.where(i.id.in_(inbox_ids))
    zones = {int(r.id): zone_of(r.business_hours) for r in conn.execute(query)}
    scope = list(zones)
    if not scope:
        return
    conn.execute(sa.delete(report_rollups).where(report_rollups.c.inbox_id.in_(scope)))
    conn.execute(sa.delete(report_zones).where(report_zones.c.inbox_id.in_(scope)))
    conn.execute(report_zones.insert(), [{"inbox_id": k, "tz": z.key} for k, z in zones.items()])
    acc: dict[int, Cells] = {k: defaultdict(lambda: [0, 0.0]) for k in zones}
    sources = (
        (t.response_cycles, cycle_entries, t.response_cycles.c.inbox_id),
        (t.response_waits, wait_entries, t.response_waits.c.inbox_id),
        (csat_surveys, survey_entries, csat_surveys.c.inbox_id),
    )
    for table, entries_of, inbox_col in sources:
        last = 0
        pk = table.c.id
        while True:
            rows = conn.execute(
                sa.select(table).where(pk > last, inbox_col.in_(scope)).order_by(pk).limit(_CHUNK)
            ).all()
            if not rows:
                break
            for row in rows:
                m = row._mapping
                cells(entries_of(m), zones[m["inbox_id"]], into=acc[m["inbox_id"]])
            last = rows[-1].id
    for inbox_id, found in acc.items():
        batch = delta_rows(inbox_id, None, found)
        for start in range(0, len(batch), _CHUNK):
            conn.execute(report_rollups.insert(), batch[start : start + _CHUNK])


async def zone_changed(conn: Any, inbox: Any) -> None:
    """An inbox's settings changed: if its time zone moved, its rollups are rebuilt."""
    zone = zone_of(inbox.business_hours).key
    z = report_zones.c
    kept = (await conn.execute(sa.select(z.tz).where(z.inbox_id == inbox.id))).first()
    if kept is None or kept.tz != zone:
        await conn.run_sync(rebuild, [int(inbox.id)])


# -- read side ---------------------------------------------------------------------------

#: metric -> bucket -> [n, total]
Agg = dict[str, dict[int, list[float]]]


def new_agg() -> Agg:
    return defaultdict(lambda: defaultdict(lambda: [0, 0.0]))


def add(into: Agg, metric: str, b: int, n: float, total: float) -> None:
    cell = into[metric][b]
    cell[0] += n
    cell[1] += total


def merge(into: Agg, other: Agg) -> Agg:
    for metric, hist in other.items():
        for b, (n, total) in hist.items():
            add(into, metric, b, n, total)
    return into


def count(agg: Agg, metric: str) -> int:
    cell = agg.get(metric, {}).get(TOTAL)
    return int(cell[0]) if cell else 0


def total(agg: Agg, metric: str) -> float:
    cell = agg.get(metric, {}).get(TOTAL)
    return float(cell[1]) if cell else 0.0


def percentile(agg: Agg, metric: str, q: float) -> float | None:
    """Linear interpolation between closest ranks, over bucket values."""
    hist = sorted((b, int(c[0])) for b, c in agg.get(metric, {}).items() if b >= 0 and c[0] > 0)
    n = sum(c for _, c in hist)
    if n == 0:
        return None
    pos = (n - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)

    def at(rank: int) -> float:
        seen = 0
        for b, c in hist:
            seen += c
            if rank < seen:
                return value_of(b)
        return value_of(hist[-1][0])

    low = at(lo)
    return low + (at(hi) - low) * (pos - lo)


def mean(agg: Agg, metric: str) -> float | None:
    n = count(agg, metric)
    return total(agg, metric) / n if n else None


def whole_days(
    start: datetime, end: datetime, zone: ZoneInfo
) -> tuple[int, int, datetime, datetime]:
    """The local days wholly inside [start, end): first and end ordinals and their instants."""
    first = start.astimezone(zone).date()
    first_at = midnight(first, zone)
    if first_at < start:
        first += timedelta(days=1)
        first_at = midnight(first, zone)
    last = end.astimezone(zone).date()
    last_at = midnight(last, zone)
    if last_at <= first_at:
        return first.toordinal(), first.toordinal(), end, end
    return first.toordinal(), last.toordinal(), first_at, last_at


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


async def collect(
    conn: Any,
    zones: Mapping[int, ZoneInfo],
    start: datetime,
    end: datetime,
    dim: str,
    by: str,
    metrics: tuple[str, ...],
) -> dict[tuple[int | None, Any], Agg]:
    """Rollup figures of ``zones``' inboxes in [start, end): whole local days from
    ``report_rollups``, the partial days at either end from the stored rows themselves.
    ``by``: "day" (key = (day, None)), "inbox" or "key" (key = (None, group))."""
    out: dict[tuple[int | None, Any], Agg] = defaultdict(new_agg)
    by_zone: dict[str, list[int]] = defaultdict(list)
    for inbox_id, zone in zones.items():
        by_zone[zone.key].append(inbox_id)
    r = report_rollups.c
    for name, inbox_ids in by_zone.items():
        zone = ZoneInfo(name)
        d0, d1, m0, m1 = whole_days(start, end, zone)
        if d0 < d1:
            group_col = {"day": r.day, "inbox": r.inbox_id, "key": r.key}[by]
            rows = await conn.execute(
                sa.select(group_col, r.metric, r.bucket, sa.func.sum(r.n), sa.func.sum(r.total))
                .where(
                    r.dim == dim,
                    r.inbox_id.in_(inbox_ids),
                    r.day >= d0,
                    r.day < d1,
                    r.metric.in_(metrics),
                )
                .group_by(group_col, r.metric, r.bucket)
            )
            for g, metric, b, n, tot in rows:
                key = (int(g), None) if by == "day" else (None, int(g))
                add(out[key], metric, int(b), n, tot or 0.0)
        for lo, hi in ((start, m0), (m1, end)):
            if lo < hi:
                await _raw_edge(conn, inbox_ids, zone, lo, hi, dim, by, metrics, out)
    return out


async def _raw_edge(
    conn: Any,
    inbox_ids: list[int],
    zone: ZoneInfo,
    lo: datetime,
    hi: datetime,
    dim: str,
    by: str,
    metrics: tuple[str, ...],
    out: dict[tuple[int | None, Any], Agg],
) -> None:
    c, w, s = t.response_cycles, t.response_waits, csat_surveys
    queries = [
        (
            sa.select(c).where(
                c.c.inbox_id.in_(inbox_ids),
                sa.or_(
                    sa.and_(c.c.started_at >= lo, c.c.started_at < hi),
                    sa.and_(c.c.resolved_at >= lo, c.c.resolved_at < hi),
                ),
            ),
            cycle_entries,
        ),
        (
            sa.select(w).where(
                w.c.inbox_id.in_(inbox_ids), w.c.started_at >= lo, w.c.started_at < hi
            ),
            wait_entries,
        ),
    ]
    if any(m.startswith("csat") for m in metrics):
        queries.append(
            (
                sa.select(s).where(
                    s.c.inbox_id.in_(inbox_ids), s.c.sent_at >= lo, s.c.sent_at < hi
                ),
                survey_entries,
            )
        )
    wanted = set(metrics)
    for query, entries_of in queries:
        for row in await conn.execute(query):
            m = row._mapping
            for at, d, k, metric, b, n, tot in entries_of(m):
                if d != dim or metric not in wanted or not lo <= at < hi:
                    continue
                local = at.astimezone(zone)
                if b == HOUR:
                    b = local.hour
                key: tuple[int | None, Any]
                if by == "day":
                    key = (local.date().toordinal(), None)
                elif by == "inbox":
                    key = (None, int(m["inbox_id"]))
                else:
                    key = (None, k)
                add(out[key], metric, b, n, tot)
