"""Report trends over time (docs/reports.md): volume, FRT, NRT, resolution, SLA and CSAT
per day, week or month, the previous period beside, and a heatmap by hour of the week."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from server.actions.access import visible_inbox_ids
from server.api.auth import actor_from
from server.api.reports import period
from server.api.routing import Api
from server.exceptions import InvalidInput
from server.reporting import rollup, trends
from server.storage import schema as t
from server.storage.csat_schema import csat_surveys

api = Api()


@api.route(
    "GET",
    "/api/reports/trends",
    tag="reports",
    summary="Trends from..to per interval=day|week|month in tz (IANA zone, default the "
    "inbox's or UTC): new, reopened and resolved conversations, FRT/NRT/resolution median "
    "and p90 (seconds), SLA within target (%), CSAT; previous period; heatmap; format=csv",
)
async def trend_report(request: Request) -> Any:
    actor = await actor_from(request)
    params = request.query_params
    interval = params.get("interval", "day")
    if interval not in trends.INTERVALS:
        raise InvalidInput(f"interval: expected one of {', '.join(trends.INTERVALS)}")
    inbox_id = _inbox_param(params.get("inbox_id"))
    start, end = period(request)
    prev_start, _ = trends.previous_period(start, end)
    async with request.app.state.ctx.db.read() as conn:
        visible = await visible_inbox_ids(conn, actor)
        tz = _zone(params.get("tz") or await _inbox_zone(conn, inbox_id))
        zones = await rollup.in_scope(conn, visible, inbox_id)
        if await rollup.use_rollups(conn, zones, prev_start, end, tz):
            return await _from_rollups(conn, zones, start, end, prev_start, interval, tz, params)
        data = await _rows(conn, visible, inbox_id, prev_start, end)
    try:
        series = trends.series(start, end, interval, tz, *data)
    except ValueError as exc:
        raise InvalidInput(f"interval: {exc}") from None
    if params.get("format") == "csv":
        return _csv(series)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "interval": interval,
        "tz": tz.key,
        "series": series,
        "totals": trends.totals(start, end, *data),
        "previous": trends.totals(prev_start, start, *data),
        "heatmap": trends.heatmap(
            (c.started_at for c in data[1] if start <= c.started_at < end), tz
        ),
    }


async def _from_rollups(
    conn: Any,
    zones: dict[int, ZoneInfo],
    start: datetime,
    end: datetime,
    prev_start: datetime,
    interval: str,
    tz: ZoneInfo,
    params: Any,
) -> Any:
    def keyed(found: dict[tuple[int | None, Any], rollup.Agg]) -> dict[int, rollup.Agg]:
        return {int(k if k is not None else g): agg for (k, g), agg in found.items()}

    # Each part read at the coarsest grain that answers it (docs/reports.md): the series
    # per day, week or month (whole months from the month rows), the totals of this period
    # and the previous one from month rows where whole months fit, the heatmap per weekday.
    metrics = trends.METRICS
    found = await rollup.collect(conn, zones, start, end, "inbox", interval, metrics)
    try:
        series = trends.series_of(start, end, interval, tz, keyed(found))
    except ValueError as exc:
        raise InvalidInput(f"interval: {exc}") from None
    if params.get("format") == "csv":
        return _csv(series)
    now = keyed(await rollup.collect(conn, zones, start, end, "inbox", "key", metrics))
    before = keyed(await rollup.collect(conn, zones, prev_start, start, "inbox", "key", metrics))
    hours = keyed(await rollup.collect(conn, zones, start, end, "inbox", "weekday", ("hour",)))
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "interval": interval,
        "tz": tz.key,
        "series": series,
        "totals": trends.totals_of(now),
        "previous": trends.totals_of(before),
        "heatmap": trends.heatmap_of(hours),
    }


def _inbox_param(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidInput(f"inbox_id: expected an integer, got {raw!r}")
    return int(raw)


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"tz: {name!r} is not a time zone name (e.g. Europe/Warsaw)") from None


async def _inbox_zone(conn: Any, inbox_id: int | None) -> str | None:
    if inbox_id is None:
        return None
    row = (
        await conn.execute(sa.select(t.inboxes.c.business_hours).where(t.inboxes.c.id == inbox_id))
    ).first()
    hours = row.business_hours if row is not None else None
    return hours.get("timezone") if isinstance(hours, dict) else None


async def _rows(
    conn: Any, visible: set[int] | None, inbox_id: int | None, start: datetime, end: datetime
) -> tuple[list[datetime], list[trends.Cycle], list[trends.Wait], list[trends.Rating]]:
    def scoped(query: Any, column: Any) -> Any:
        if visible is not None:
            query = query.where(column.in_(visible))
        return query if inbox_id is None else query.where(column == inbox_id)

    r, w, s = t.response_cycles.c, t.response_waits.c, csat_surveys.c
    cycle_rows = await conn.execute(
        scoped(
            sa.select(
                r.inbox_id,
                r.idx,
                r.started_at,
                r.wall_seconds,
                r.business_seconds,
                r.resolved_at,
                r.resolution_seconds,
                r.target_seconds,
            ).where(
                sa.or_(
                    sa.and_(r.started_at >= start, r.started_at < end),
                    sa.and_(r.resolved_at >= start, r.resolved_at < end),
                )
            ),
            r.inbox_id,
        )
    )
    waits = await conn.execute(
        scoped(
            sa.select(w.started_at, w.wall_seconds).where(
                w.started_at >= start, w.started_at < end
            ),
            w.inbox_id,
        )
    )
    ratings = await conn.execute(
        scoped(
            sa.select(s.sent_at, s.rating).where(
                s.sent_at >= start, s.sent_at < end, s.state == "sent"
            ),
            s.inbox_id,
        )
    )
    cycles = [_cycle(row) for row in cycle_rows]
    return (
        [c.started_at for c in cycles if c.idx == 0],  # a conversation's first segment
        cycles,
        [trends.Wait(row.started_at, row.wall_seconds) for row in waits],
        [trends.Rating(row.sent_at, row.rating) for row in ratings],
    )


def _cycle(row: Any) -> trends.Cycle:
    return trends.Cycle(
        row.started_at,
        row.idx,
        row.wall_seconds,
        row.business_seconds,
        row.resolved_at,
        row.resolution_seconds,
        row.target_seconds,
    )


def _csv(series: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(series[0]) if series else ["start"])
    writer.writeheader()
    writer.writerows(series)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="trends.csv"'},
    )


#: Figures of a trend and the rows behind them (docs/reports.md, "Drill-down").
_BEHIND: dict[str, tuple[str, str | None]] = {
    "new": ("new", None),
    "segments": ("segments", None),
    "reopened": ("reopened", None),
    "frt_median_seconds": ("answered", "wall_seconds"),
    "frt_p90_seconds": ("answered", "wall_seconds"),
    "frt_business_median_seconds": ("answered", "business_seconds"),
    "frt_business_p90_seconds": ("answered", "business_seconds"),
    "sla_measured": ("sla", "business_seconds"),
    "sla_within_percent": ("sla", "business_seconds"),
    "resolved": ("resolved", "resolution_seconds"),
    "resolution_median_seconds": ("resolved", "resolution_seconds"),
    "resolution_p90_seconds": ("resolved", "resolution_seconds"),
    "nrt_median_seconds": ("waits", "wall_seconds"),
    "nrt_p90_seconds": ("waits", "wall_seconds"),
    "csat_answers": ("csat", "rating"),
    "csat_average": ("csat", "rating"),
    "csat_satisfied_percent": ("csat", "rating"),
}
DRILL_LIMIT = 500


@api.route(
    "GET",
    "/api/reports/trends/conversations",
    tag="reports",
    summary="The conversations behind one trend figure: figure=<a series column> in one "
    "bucket (bucket=YYYY-MM-DD, the bucket's first day, with interval and tz as for the "
    "trend) or the whole from..to; the segments, waits or surveys counted, newest last",
)
async def trend_drill(request: Request) -> Any:
    actor = await actor_from(request)
    params = request.query_params
    figure = params.get("figure", "")
    if figure not in _BEHIND:
        raise InvalidInput(f"figure: expected one of {', '.join(_BEHIND)}")
    interval = params.get("interval", "day")
    if interval not in trends.INTERVALS:
        raise InvalidInput(f"interval: expected one of {', '.join(trends.INTERVALS)}")
    inbox_id = _inbox_param(params.get("inbox_id"))
    start, end = period(request)
    async with request.app.state.ctx.db.read() as conn:
        visible = await visible_inbox_ids(conn, actor)
        tz = _zone(params.get("tz") or await _inbox_zone(conn, inbox_id))
        lo, hi = _bucket_range(params.get("bucket"), interval, tz, start, end)
        kind, column = _BEHIND[figure]
        query, at, table = _behind(kind, lo, hi)
        if visible is not None:
            query = query.where(table.c.inbox_id.in_(visible))
        if inbox_id is not None:
            query = query.where(table.c.inbox_id == inbox_id)
        total = (
            await conn.execute(sa.select(sa.func.count()).select_from(query.subquery()))
        ).scalar_one()
        rows = (await conn.execute(query.order_by(at, table.c.id).limit(DRILL_LIMIT))).all()

    def iso(v: datetime | None) -> str | None:
        return v.isoformat().replace("+00:00", "Z") if v else None

    items = []
    for row in rows:
        m = row._mapping
        item = {
            "conversation_id": m["conversation_id"],
            "inbox_id": m["inbox_id"],
            "at": iso(m[at.name]),
            "value": m[column] if column else None,
        }
        if kind == "sla":
            item["within"] = (m["business_seconds"] or 0) <= (m["target_seconds"] or 0)
        items.append(item)
    return {
        "figure": figure,
        "unit": "rating" if kind == "csat" else ("seconds" if column else None),
        "from": lo.isoformat(),
        "to": hi.isoformat(),
        "total": int(total),
        "truncated": int(total) > len(items),
        "items": items,
    }


def _bucket_range(
    raw: str | None, interval: str, tz: ZoneInfo, start: datetime, end: datetime
) -> tuple[datetime, datetime]:
    if not raw:
        return start, end
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"bucket: expected a date (YYYY-MM-DD), got {raw!r}") from None
    if trends.day_bucket(day, interval) != day:
        raise InvalidInput(f"bucket: {raw} does not start a {interval}")
    following = trends._next(day, interval)
    lo, hi = rollup.midnight(day, tz), rollup.midnight(following, tz)
    return max(lo, start), min(hi, end)


def _behind(kind: str, lo: datetime, hi: datetime) -> tuple[Any, Any, sa.Table]:
    r, w, s = t.response_cycles, t.response_waits, csat_surveys
    if kind == "resolved":
        return (
            sa.select(r).where(r.c.resolved_at >= lo, r.c.resolved_at < hi),
            r.c.resolved_at,
            r,
        )
    if kind == "waits":
        query = sa.select(w).where(
            w.c.started_at >= lo, w.c.started_at < hi, w.c.wall_seconds.is_not(None)
        )
        return query, w.c.started_at, w
    if kind == "csat":
        query = sa.select(s).where(
            s.c.sent_at >= lo, s.c.sent_at < hi, s.c.state == "sent", s.c.rating.is_not(None)
        )
        return query, s.c.sent_at, s
    query = sa.select(r).where(r.c.started_at >= lo, r.c.started_at < hi)
    if kind == "new":
        query = query.where(r.c.idx == 0)
    elif kind == "reopened":
        query = query.where(r.c.idx > 0)
    elif kind == "answered":
        query = query.where(r.c.wall_seconds.is_not(None))
    elif kind == "sla":
        query = query.where(
            r.c.wall_seconds.is_not(None),
            r.c.business_seconds.is_not(None),
            r.c.target_seconds.is_not(None),
        )
    return query, r.c.started_at, r
