"""Report rollups (docs/reports.md, "How reports stay fast").

Every FRT segment (``response_cycles``), NRT wait (``response_waits``) and CSAT survey
contributes *entries*: counts, sums and histogram counts, each anchored at an instant
(a segment at its start, its resolution at its resolve, a survey when it was sent). The
entries of an inbox are summed per local day and per local month in the inbox's time zone
and per dimension (the inbox as a whole, the responding agent, the team) into one row per
metric of ``report_rollups``: ``n``, ``total`` and a histogram in columns ``h0`` ...

Writers call ``apply`` with the entries of a row before and after a change in the same
transaction as the change: the difference is staged on the transaction and upserted once
just before its commit (``flush``: ``n = n + delta``, ``h7 = h7 + delta``, no read; all
of a transaction's rows in one statement, in primary-key order), so a rewrite of history
(a replay after an import or a calendar change) subtracts the old contribution and adds
the new one. ``rebuild`` recomputes an
inbox (or everything) from the stored rows: the migration that introduces rollups, and a
change of an inbox's time zone.

Percentiles come from the histograms: 1-second buckets below 10 s, then buckets 6 % wide
up to 10^7 s (115 days; longer times count in the last bucket); a bucket stands for its
lower bound (whole seconds: exact) or its middle, so a median or p90 read from rollups is
within 1 s (below 10 s) or 3 % of the exact figure.
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

SMALL = 10  # below: one bucket per whole second
RATIO = 1.06  # above: each bucket 6 % wider than the one before
_LOG = math.log(RATIO)
BUCKETS = SMALL + int(math.log(1e7 / SMALL) / _LOG) + 1  # histogram columns h0 ... h{BUCKETS-1}
TOTAL = -1  # the entry of a metric's count and sum
HOUR = -2  # placeholder: the local hour, filled in when the day is known
UTC = ZoneInfo("UTC")

#: (anchor instant, dimension, key, metric, bucket, n, total)
Entry = tuple[datetime, str, int, str, int, int, float]
#: (grain, first day's ordinal, dimension, key, metric) -> [n, total, {bucket: n}]
Cells = dict[tuple[str, int, str, int, str], list[Any]]
DIMS = ("inbox", "agent", "team")


def bucket(seconds: float) -> int:
    if seconds < SMALL:
        return max(0, int(seconds))
    return min(BUCKETS - 1, SMALL + int(math.log(seconds / SMALL) / _LOG))


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


def _dims(row: Mapping[Any, Any]) -> list[tuple[str, int]]:
    return [
        ("inbox", 0),
        ("agent", row.get("responder_id") or 0),
        ("team", row.get("team_id") or 0),
    ]


def cycle_entries(row: Mapping[Any, Any] | None) -> list[Entry]:
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


def wait_entries(row: Mapping[Any, Any] | None) -> list[Entry]:
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


def survey_entries(row: Mapping[Any, Any] | None) -> list[Entry]:
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


def _cell() -> list[Any]:
    return [0, 0.0, defaultdict(int)]


def cells(
    entries: Iterable[Entry], zone: ZoneInfo, sign: int = 1, into: Cells | None = None
) -> Cells:
    """Sum entries per local day and per local month in ``zone``."""
    out: Cells = into if into is not None else defaultdict(_cell)
    seen: dict[datetime, tuple[int, int, int]] = {}
    for at, dim, key, metric, b, n, total in entries:
        days = seen.get(at)
        if days is None:
            local = at.astimezone(zone)
            day = local.date()
            days = seen[at] = (day.toordinal(), day.replace(day=1).toordinal(), local.hour)
        if b == HOUR:
            b = days[2]
        for grain, first in (("d", days[0]), ("m", days[1])):
            cell = out[(grain, first, dim, key, metric)]
            if b == TOTAL:
                cell[0] += sign * n
                cell[1] += sign * total
            else:
                cell[2][b] += sign * n
    return out


H = [f"h{i}" for i in range(BUCKETS)]
_KEYS = ("inbox_id", "grain", "day", "dim", "key", "metric", "n", "total")
_UPSERTS: dict[tuple[str, tuple[int, ...]], Any] = {}


def _upsert(dialect: str, buckets: tuple[int, ...]) -> Any:
    """INSERT … ON CONFLICT DO UPDATE adding ``n``, ``total`` and the given histogram
    columns (the others keep their value; a new row has 0 in them)."""
    found = _UPSERTS.get((dialect, buckets))
    if found is not None:
        return found
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(report_rollups)
    r, x = report_rollups.c, stmt.excluded
    names = ("n", "total", *(H[b] for b in buckets))
    stmt = stmt.on_conflict_do_update(
        index_elements=[r.inbox_id, r.grain, r.dim, r.day, r.key, r.metric],
        set_={name: r[name] + x[name] for name in names},
    )
    if len(_UPSERTS) < 4096:
        _UPSERTS[(dialect, buckets)] = stmt
    return stmt


#: One transaction's rollup changes, merged: inbox -> its cells (``cells``).
Pending = dict[int, Cells]


async def apply(
    tx: Any, inbox_id: int, zone: ZoneInfo, old: Iterable[Entry], new: Iterable[Entry]
) -> None:
    """Stage what changed in the transaction ``tx`` (``tx.rollups``, a ``Pending``): the
    changes of the whole transaction are merged and written once by ``flush``, just before
    its commit."""
    pending: Pending = tx.rollups
    into = pending.get(inbox_id)
    if into is None:
        into = pending[inbox_id] = defaultdict(_cell)
    cells(old, zone, -1, into=into)
    cells(new, zone, 1, into=into)


async def flush(conn: Any, staged: Iterable[Pending]) -> None:
    """Write the staged changes of a transaction (of a group commit's units: several), in
    its transaction: first one upsert of every changed row in primary-key order (count
    and sum), then the histogram columns of those rows.

    Every writer takes its row locks in the same order, so two transactions touching the
    same rows wait for each other instead of deadlocking (PostgreSQL; a group commit's
    units, or a segment and a wait, used to write in the order they came)."""
    merged: dict[int, Cells] = {}
    for pending in staged:
        for inbox_id, cells_ in pending.items():
            if inbox_id not in merged:
                merged[inbox_id] = cells_
                continue
            into = merged[inbox_id]
            for key, (n, total, hist) in cells_.items():
                cell = into[key]
                cell[0] += n
                cell[1] += total
                for b, c in hist.items():
                    cell[2][b] += c
    rows: list[tuple[tuple[Any, ...], int, float, dict[int, int]]] = []
    for inbox_id, cells_ in merged.items():
        for (grain, day, dim, k, m), (n, total, hist) in cells_.items():
            moved = {b: c for b, c in hist.items() if c}
            if not n and abs(total) < 1e-9 and not moved:
                continue
            rows.append(((inbox_id, grain, dim, day, k, m), int(n), float(total), moved))
    if not rows:
        return
    rows.sort(key=lambda row: row[0])  # the primary key's column order
    dialect = conn.dialect.name
    # 1. every changed row, in key order: created or locked, count and sum added (one
    #    statement shape whatever the buckets, so it is built and compiled once)
    await conn.execute(
        _upsert(dialect, ()),
        [dict(zip(_PK, pk, strict=True), n=n, total=total) for pk, n, total, _ in rows],
    )
    # 2. the histogram columns of rows this transaction holds already: no new lock, so no
    #    lock order; one statement per column moved (248 shapes at most, each built once)
    by_bucket: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for pk, _, _, moved in rows:
        for b, c in moved.items():
            by_bucket[b].append({**dict(zip(_PK_PARAMS, pk, strict=True)), "c": c})
    for b, params in sorted(by_bucket.items()):
        await conn.execute(_add_to(b), params)


_PK = ("inbox_id", "grain", "dim", "day", "key", "metric")
_PK_PARAMS = tuple(f"p_{name}" for name in _PK)
_ADD_TO: dict[int, Any] = {}


def _add_to(b: int) -> Any:
    """UPDATE … SET h{b} = h{b} + :c WHERE the primary key is the given one."""
    found = _ADD_TO.get(b)
    if found is None:
        r = report_rollups.c
        found = _ADD_TO[b] = (
            sa.update(report_rollups)
            .where(*(r[name] == sa.bindparam(p) for name, p in zip(_PK, _PK_PARAMS, strict=True)))
            .values({H[b]: r[H[b]] + sa.bindparam("c")})
        )
    return found


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
    sources = (
        (t.response_cycles, cycle_entries),
        (t.response_waits, wait_entries),
        (csat_surveys, survey_entries),
    )
    for inbox_id, zone in zones.items():  # one inbox at a time: memory stays bounded
        acc: Cells = defaultdict(_cell)
        for table, entries_of in sources:
            last, pk = 0, table.c.id
            while True:
                rows = conn.execute(
                    sa.select(table)
                    .where(pk > last, table.c.inbox_id == inbox_id)
                    .order_by(pk)
                    .limit(_CHUNK)
                ).all()
                if not rows:
                    break
                for row in rows:
                    cells(entries_of(row._mapping), zone, into=acc)
                last = rows[-1].id
        flat = []
        for (grain, day, dim, k, m), (n, total, hist) in sorted(acc.items()):
            if not n and abs(total) < 1e-9 and not any(hist.values()):
                continue
            counts = [0] * BUCKETS
            for b, c in hist.items():
                counts[b] = c
            flat.append((inbox_id, grain, day, dim, k, m, int(n), float(total), *counts))
        for start in range(0, len(flat), _CHUNK):
            conn.exec_driver_sql(_bulk_insert(conn.dialect), flat[start : start + _CHUNK])


def _bulk_insert(dialect: Any) -> str:
    """A plain INSERT of whole rows in the driver's own parameter style (a rebuild writes
    hundreds of thousands of rows of 256 columns: no per-value work in Python)."""
    columns = [*_KEYS, *H]
    style = dialect.paramstyle
    if style == "qmark":
        marks = ["?"] * len(columns)
    elif style in ("numeric_dollar", "numeric"):
        sign = "$" if style == "numeric_dollar" else ":"
        marks = [f"{sign}{i}" for i in range(1, len(columns) + 1)]
    else:
        marks = ["%s"] * len(columns)
    quoted = ", ".join(dialect.identifier_preparer.quote(c) for c in columns)
    return f"INSERT INTO report_rollups ({quoted}) VALUES ({', '.join(marks)})"


async def zone_changed(tx: Any, inbox: Any) -> None:
    """An inbox's settings changed: if its time zone moved, its rollups are rebuilt (what
    the transaction staged so far is written first: the rebuild replaces it)."""
    zone = zone_of(inbox.business_hours).key
    z = report_zones.c
    conn = tx.conn
    kept = (await conn.execute(sa.select(z.tz).where(z.inbox_id == inbox.id))).first()
    if kept is None or kept.tz != zone:
        await flush(conn, [tx.rollups])
        tx.rollups.clear()
        await conn.run_sync(rebuild, [int(inbox.id)])


# -- read side ---------------------------------------------------------------------------

#: Metrics with a histogram (the others are counts and sums only).
HISTOGRAMS = frozenset({"frt", "frtb", "res_s", "res", "nrt", "nrtb", "hour"})

#: Up to this many segments in a request's period, figures are computed from the stored
#: rows (exact percentiles); above, from the daily rollups (docs/reports.md).
EXACT_MAX = 5_000


async def in_scope(
    conn: Any, visible: set[int] | None, inbox_id: int | None
) -> dict[int, ZoneInfo]:
    """The inboxes a report covers, with the time zone of their rollup days."""
    i = t.inboxes.c
    query = sa.select(i.id, i.business_hours)
    if visible is not None:
        query = query.where(i.id.in_(visible))
    if inbox_id is not None:
        query = query.where(i.id == inbox_id)
    return {int(r.id): zone_of(r.business_hours) for r in await conn.execute(query)}


async def use_rollups(
    conn: Any,
    zones: dict[int, ZoneInfo],
    start: datetime,
    end: datetime,
    tz: ZoneInfo | None,
    table: sa.Table = t.response_cycles,
) -> bool:
    """Rollups answer when the period is large and (for trends) every inbox in scope
    counts its days in the zone asked for."""
    if not zones or (tz is not None and any(z.key != tz.key for z in zones.values())):
        return False
    r = table.c
    bounded = (
        sa.select(sa.literal(1))
        .where(r.started_at >= start, r.started_at < end, r.inbox_id.in_(list(zones)))
        .limit(EXACT_MAX + 1)
        .subquery()
    )
    found = (await conn.execute(sa.select(sa.func.count()).select_from(bounded))).scalar_one()
    return int(found) > EXACT_MAX


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
    return percentiles(agg, metric, (q,))[0]


def percentiles(agg: Agg, metric: str, qs: tuple[float, ...]) -> list[float | None]:
    """``percentile`` for each of ``qs``, in one pass over the histogram."""
    hist = sorted((b, int(c[0])) for b, c in agg.get(metric, {}).items() if b >= 0 and c[0] > 0)
    n = sum(c for _, c in hist)
    if n == 0:
        return [None for _ in qs]
    positions = [(n - 1) * q for q in qs]
    ranks = sorted({r for pos in positions for r in (math.floor(pos), math.ceil(pos))})
    values: dict[int, float] = {}
    seen, i = 0, 0
    for b, c in hist:
        seen += c
        while i < len(ranks) and ranks[i] < seen:
            values[ranks[i]] = value_of(b)
            i += 1
        if i == len(ranks):
            break
    for rank in ranks[i:]:  # beyond the counted ranks: the last bucket (as before)
        values[rank] = value_of(hist[-1][0])
    out: list[float | None] = []
    for pos in positions:
        lo, hi = math.floor(pos), math.ceil(pos)
        low = values[lo]
        out.append(low + (values[hi] - low) * (pos - lo))
    return out


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


#: How ``collect`` groups: a calendar bucket of local days (its first day's ordinal), the
#: weekday (0 = Monday; the heatmap), or a group (the inbox, the dimension's key).
BY = ("day", "week", "month", "weekday", "inbox", "key")


def week_of(ordinal: int) -> int:
    """The ordinal of the Monday of ``ordinal``'s week (ordinal 1, 1 Jan 1, is a Monday)."""
    return ordinal - (ordinal - 1) % 7


def _bucket_key(by: str, day: date) -> int:
    """The key of a local day when grouping ``by`` a calendar bucket or the weekday."""
    if by == "week":
        return week_of(day.toordinal())
    if by == "month":
        return day.replace(day=1).toordinal()
    if by == "weekday":
        return day.weekday()
    return day.toordinal()


async def collect(
    conn: Any,
    zones: Mapping[int, ZoneInfo],
    start: datetime,
    end: datetime,
    dim: str,
    by: str,
    metrics: tuple[str, ...],
) -> dict[tuple[int | None, Any], Agg]:
    """Rollup figures of ``zones``' inboxes in [start, end): whole local months from the
    month rows (unless grouped finer), whole local days from the day rows, a partial day at
    either end from the stored rows in it, or (when that is less) its day row less the
    stored rows of its part outside the period. ``by`` (``BY``): "day", "week" or
    "month" (key = (the bucket's first day's ordinal, None)), "weekday" (key = (0 to 6,
    None)), "inbox" or "key" (key = (None, group)). The sums are made by the database
    (GROUP BY the bucket), so a year of days costs one row per bucket and metric here."""
    out: dict[tuple[int | None, Any], Agg] = defaultdict(new_agg)
    by_zone: dict[str, list[int]] = defaultdict(list)
    for inbox_id, zone in zones.items():
        by_zone[zone.key].append(inbox_id)
    for name, inbox_ids in by_zone.items():
        zone = ZoneInfo(name)
        d0, d1, m0, m1 = whole_days(start, end, zone)
        edges: list[tuple[datetime, datetime, int]] = []  # (from, to, sign) from stored rows
        if m0 == end:  # no midnight inside: the period is a part of one or two days
            edges.append((start, end, 1))
        else:
            # a partial day at either end is its day row less the part outside the period
            # when that part is the smaller one (a period from UTC midnight in Warsaw:
            # one hour less, not 23 hours added)
            if start < m0:
                day_at = midnight(date.fromordinal(d0 - 1), zone)
                if start - day_at < m0 - start:
                    d0 -= 1
                    edges.append((day_at, start, -1))
                else:
                    edges.append((start, m0, 1))
            if m1 < end:
                next_at = midnight(date.fromordinal(d1 + 1), zone)
                if next_at - end < end - m1:
                    d1 += 1
                    edges.append((end, next_at, -1))
                else:
                    edges.append((m1, end, 1))
        if d0 < d1:
            await _stored(conn, inbox_ids, d0, d1, dim, by, metrics, out)
        for lo, hi, sign in edges:
            if lo < hi:
                await _raw_edge(conn, inbox_ids, zone, lo, hi, dim, by, metrics, out, sign)
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
    sign: int = 1,
) -> None:
    """Add (``sign`` -1: subtract) what the stored rows anchored in [lo, hi) contribute."""
    c, w, s = t.response_cycles, t.response_waits, csat_surveys
    started = sa.and_(c.c.started_at >= lo, c.c.started_at < hi)
    resolved = sa.and_(c.c.resolved_at >= lo, c.c.resolved_at < hi)
    queries = [  # one index range each (an OR of two ranges scans the table)
        (sa.select(c).where(c.c.inbox_id.in_(inbox_ids), started), cycle_entries),
        (
            sa.select(c).where(c.c.inbox_id.in_(inbox_ids), resolved, sa.not_(started)),
            cycle_entries,
        ),
    ]
    if any(m in ("wait", "nrt", "nrtb") for m in metrics):
        queries.append(
            (
                sa.select(w).where(
                    w.c.inbox_id.in_(inbox_ids), w.c.started_at >= lo, w.c.started_at < hi
                ),
                wait_entries,
            )
        )
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
                if by == "inbox":
                    key = (None, int(m["inbox_id"]))
                elif by == "key":
                    key = (None, k)
                else:
                    key = (_bucket_key(by, local.date()), None)
                add(out[key], metric, b, sign * n, sign * tot)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_plan(d0: int, d1: int) -> tuple[list[int], list[tuple[int, int]], list[tuple[int, int]]]:
    """How to read the local days [d0, d1) with the fewest rollup rows: the months read
    from their month rows (first days' ordinals), the day ranges added, and the day ranges
    subtracted (a month mostly inside is its month row less the days outside)."""
    months: list[int] = []
    plus: list[tuple[int, int]] = []
    minus: list[tuple[int, int]] = []
    month = date.fromordinal(d0).replace(day=1)
    while month.toordinal() < d1:
        a, b = month.toordinal(), _next_month(month).toordinal()
        lo, hi = max(a, d0), min(b, d1)
        if hi - lo > (b - a) - (hi - lo):  # more days inside than outside
            months.append(a)
            minus += [(x, y) for x, y in ((a, lo), (hi, b)) if x < y]
        else:
            plus.append((lo, hi))
        month = _next_month(month)
    return months, plus, minus


def _days_in(r: Any, ranges: list[tuple[int, int]]) -> Any:
    return sa.and_(r.grain == "d", sa.or_(*(sa.and_(r.day >= lo, r.day < hi) for lo, hi in ranges)))


#: Literals, not parameters: PostgreSQL matches a GROUP BY expression to the selected one
#: by its text, and two parameters ($1, $5) would not match.
_ONE: Any = sa.literal_column("1")
_SEVEN: Any = sa.literal_column("7")


async def _stored(
    conn: Any,
    inbox_ids: list[int],
    d0: int,
    d1: int,
    dim: str,
    by: str,
    metrics: tuple[str, ...],
    out: dict[tuple[int | None, Any], Agg],
) -> None:
    """Sum the rollup rows of the local days [d0, d1), summed and grouped by the database:
    per day, week or weekday from the day rows; otherwise (per month, inbox or key) a month
    mostly inside the period from its month row less its days outside, the other days from
    their day rows (``month_plan``)."""
    r = report_rollups.c
    # (rows, group column, sign, day -> its month in Python)
    parts: list[tuple[Any, Any, int, bool]] = []
    if by in ("day", "week", "weekday"):
        group_col = {
            "day": r.day,
            "week": r.day - (r.day - _ONE) % _SEVEN,
            "weekday": (r.day - _ONE) % _SEVEN,
        }[by]
        parts.append((sa.and_(r.grain == "d", r.day >= d0, r.day < d1), group_col, 1, False))
    else:
        months, plus, minus = month_plan(d0, d1)
        whole = sa.and_(r.grain == "m", r.day.in_(months)) if months else None
        added = _days_in(r, plus) if plus else None
        if by == "month":  # the month rows are keyed by their first day already
            if whole is not None:
                parts.append((whole, r.day, 1, False))
            if added is not None:
                parts.append((added, r.day, 1, True))
            if minus:
                parts.append((_days_in(r, minus), r.day, -1, True))
        else:
            group_col = {"inbox": r.inbox_id, "key": r.key}[by]
            either = [x for x in (whole, added) if x is not None]
            parts.append((sa.or_(*either), group_col, 1, False))
            if minus:
                parts.append((_days_in(r, minus), group_col, -1, False))
    timed = by in ("day", "week", "month", "weekday")
    for when, group_col, sign, to_month in parts:
        for names, columns in (
            ([m for m in metrics if m not in HISTOGRAMS], []),
            ([m for m in metrics if m in HISTOGRAMS], H),
        ):
            if not names:
                continue
            width = 24 if names == ["hour"] else len(columns)
            sums = [sa.func.sum(r[c]) for c in columns[:width]]
            g = group_col.label("g")
            rows = await conn.execute(
                sa.select(g, r.metric, sa.func.sum(r.n), sa.func.sum(r.total), *sums)
                .where(r.dim == dim, r.inbox_id.in_(inbox_ids), r.metric.in_(names), when)
                .group_by(g, r.metric)
            )
            for group, metric, n, tot, *hist in rows:
                if to_month:
                    group = date.fromordinal(int(group)).replace(day=1).toordinal()
                key = (int(group), None) if timed else (None, int(group))
                _add_row(out[key], metric, n or 0, tot or 0.0, hist, sign)


def _add_row(agg: Agg, metric: str, n: float, tot: float, hist: list[Any], sign: int = 1) -> None:
    """Add (``sign`` -1: subtract) one summed rollup row: count, sum, histogram columns."""
    cells = agg[metric]
    cell = cells[TOTAL]
    cell[0] += sign * n
    cell[1] += sign * tot
    get = cells.get
    for b, c in enumerate(hist):
        if c:
            found = get(b)
            if found is None:
                cells[b] = [sign * c, 0.0]
            else:
                found[0] += sign * c
