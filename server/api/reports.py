"""Reports: first-response (FRT) and next-response (NRT) figures per inbox, channel, agent
or team, with the segments or waits behind every figure, as JSON or CSV; live counts.
The figures are defined in docs/frt.md."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from server.actions.access import visible_inbox_ids
from server.api.auth import actor_from
from server.api.routing import Q_STR, YEARS, Api
from server.exceptions import InvalidInput
from server.reporting import rollup
from server.reporting.stats import GROUP_KEYS, SegmentRow, group, group_from_rollups
from server.storage import schema as t
from server.storage.schema import utcnow

api = Api()
TAG = "reports"
#: Segments listed in a JSON report (figures always cover the whole period; the list is
#: what a reader scrolls: ``group_key`` narrows it to one group, ``format=csv`` has all).
LIST_LIMIT = 1_000
_GROUP_COLUMN = {
    "inbox": "inbox_id",
    "channel": "channel",
    "agent": "responder_id",
    "team": "team_id",
}


def period(request: Request) -> tuple[datetime, datetime]:
    """``from`` .. ``to`` of a report (default: the last 30 days), years bounded so period
    arithmetic cannot overflow; shared by every report endpoint."""

    def parse(name: str, default: datetime) -> datetime:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{name}: expected an ISO date or datetime, got {raw!r}") from None
        if not YEARS[0] <= value.year <= YEARS[1]:  # date arithmetic below must not overflow
            raise InvalidInput(f"{name}: expected a year from {YEARS[0]} to {YEARS[1]}")
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    end = parse("to", utcnow())
    start = parse("from", end - timedelta(days=30))
    if start >= end:
        raise InvalidInput("from: must be before to")
    return start, end


async def _segments(
    conn: Any,
    visible: set[int] | None,
    start: datetime,
    end: datetime,
    inbox_id: str | None,
    table: sa.Table = t.response_cycles,
    *,
    limit: int | None = None,
    group: tuple[str, str] | None = None,
) -> list[SegmentRow]:
    r = table.c
    query = sa.select(table).where(r.started_at >= start, r.started_at < end)
    if visible is not None:
        query = query.where(r.inbox_id.in_(visible))
    inbox = _inbox_id(inbox_id)
    if inbox is not None:
        query = query.where(r.inbox_id == inbox)
    if group is not None:
        column = r[_GROUP_COLUMN[group[0]]]
        if group[1] in ("", "none"):
            query = query.where(column.is_(None))
        elif group[0] == "channel":
            query = query.where(column == group[1])
        elif group[1].isascii() and group[1].isdigit() and len(group[1]) <= 18:
            query = query.where(column == int(group[1]))
        else:
            raise InvalidInput(f"group_key: expected an id or 'none', got {group[1]!r}")
    query = query.order_by(r.started_at, r.id)
    rows = (await conn.execute(query if limit is None else query.limit(limit))).all()

    def iso(v: datetime | None) -> str | None:
        return v.isoformat().replace("+00:00", "Z") if v else None

    return [
        SegmentRow(
            x.conversation_id,
            x.inbox_id,
            x.channel,
            x.responder_id,
            x.team_id,
            iso(x.started_at) or "",
            iso(x.responded_at),
            x.wall_seconds,
            x.business_seconds,
            getattr(x, "resolution_seconds", None),
        )
        for x in rows
    ]


def _inbox_id(raw: str | None) -> int | None:
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise InvalidInput(f"inbox_id: expected an integer, got {raw!r}")
    return int(raw)


async def _labels(conn: Any, by: str) -> dict[Any, str]:
    table = {"inbox": t.inboxes, "agent": t.users, "team": t.teams}.get(by)
    if table is None:
        return {}
    return {row.id: row.name for row in await conn.execute(sa.select(table.c.id, table.c.name))}


@api.route(
    "GET",
    "/api/reports/frt",
    tag=TAG,
    summary="First-response and resolution time (median, p90, mean; wall-clock and "
    "business) per group_by=inbox|channel|agent|team over from..to, with the segments; "
    "format=csv",
    query={k: Q_STR for k in ("from", "to", "group_by", "format", "inbox_id", "group_key")},
)
async def frt_report(request: Request) -> Any:
    return await _report(request, t.response_cycles, "segments")


@api.route(
    "GET",
    "/api/reports/nrt",
    tag=TAG,
    summary="Next-response time (median, p90, mean; wall-clock and business) per "
    "group_by=inbox|channel|agent|team over from..to, with the waits; format=csv",
    query={k: Q_STR for k in ("from", "to", "group_by", "format", "inbox_id", "group_key")},
)
async def nrt_report(request: Request) -> Any:
    return await _report(request, t.response_waits, "waits")


async def _report(request: Request, table: sa.Table, rows_key: str) -> Any:
    actor = await actor_from(request)
    by = request.query_params.get("group_by", "inbox")
    if by not in GROUP_KEYS:
        raise InvalidInput(f"group_by: expected one of {', '.join(GROUP_KEYS)}, got {by!r}")
    start, end = period(request)
    inbox_id = request.query_params.get("inbox_id")
    raw_key = request.query_params.get("group_key")
    one = (by, raw_key) if raw_key is not None else None
    frt = table is t.response_cycles
    csv_wanted = request.query_params.get("format") == "csv"
    async with request.app.state.ctx.db.read() as conn:
        visible = await visible_inbox_ids(conn, actor)
        labels = await _labels(conn, by)
        zones = await rollup.in_scope(conn, visible, _inbox_id(inbox_id))
        if csv_wanted:
            segments = await _segments(conn, visible, start, end, inbox_id, table, group=one)
            return _csv(segments, "first-response.csv" if frt else "next-response.csv", frt)
        if await rollup.use_rollups(conn, zones, start, end, None, table):
            groups = await _rollup_groups(conn, zones, start, end, by, labels, frt)
            segments = await _segments(
                conn, visible, start, end, inbox_id, table, limit=LIST_LIMIT + 1, group=one
            )
        else:
            segments = await _segments(conn, visible, start, end, inbox_id, table)
            groups = group(segments, by, labels, resolution=frt)
            if one is not None:
                segments = await _segments(conn, visible, start, end, inbox_id, table, group=one)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "group_by": by,
        "groups": groups,
        rows_key: [_row(s, frt) for s in segments[:LIST_LIMIT]],
        f"{rows_key}_truncated": len(segments) > LIST_LIMIT,
    }


async def _rollup_groups(
    conn: Any,
    zones: dict[int, Any],
    start: datetime,
    end: datetime,
    by: str,
    labels: dict[Any, str],
    frt: bool,
) -> list[dict[str, Any]]:
    metrics = ("seg", "frt", "frtb", "res_s") if frt else ("wait", "nrt", "nrtb")
    dim = {"agent": "agent", "team": "team"}.get(by, "inbox")
    found = await rollup.collect(
        conn, zones, start, end, dim, "key" if dim != "inbox" else "inbox", metrics
    )
    aggs: dict[Any, rollup.Agg] = {}
    kinds: dict[int, str] = {}
    if by == "channel":
        i = t.inboxes.c
        kinds = {int(r.id): r.kind for r in await conn.execute(sa.select(i.id, i.kind))}
    for (_, key), agg in found.items():
        if by == "channel":
            key = kinds.get(key, "")
        elif dim != "inbox" and key == 0:
            key = None
        rollup.merge(aggs.setdefault(key, rollup.new_agg()), agg)
    return group_from_rollups(aggs, labels, resolution=frt)


def _row(segment: SegmentRow, frt: bool) -> dict[str, Any]:
    data = vars(segment).copy()
    if not frt:
        del data["resolution_seconds"]
    return data


def _csv(segments: list[SegmentRow], filename: str, frt: bool) -> Response:
    out = io.StringIO()
    fields = [f for f in SegmentRow.__dataclass_fields__ if frt or f != "resolution_seconds"]
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for seg in segments:
        writer.writerow(_row(seg, frt))
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


c = t.conversations.c
#: The cycle waiting now is past its deadline: a breach of an earlier cycle does not count
#: (the deadline columns are set only while their kind of cycle waits).
_BREACHING = sa.or_(
    sa.and_(c.sla_due_at.is_not(None), c.sla_breached_at.is_not(None)),
    sa.and_(c.nrt_due_at.is_not(None), c.nrt_breached_at.is_not(None)),
)


@api.route(
    "GET", "/api/reports/live", tag=TAG, summary="Live counts: open, unassigned, waiting, breaching"
)
async def live(request: Request) -> Any:
    actor = await actor_from(request)
    c = t.conversations.c
    async with request.app.state.ctx.db.read() as conn:
        visible = await visible_inbox_ids(conn, actor)
        scope = c.status == "open"
        if visible is not None:
            scope = sa.and_(scope, c.inbox_id.in_(visible))
        counts = (
            await conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.count().filter(c.assignee_id.is_(None)),
                    sa.func.count().filter(c.waiting_since.is_not(None)),
                    sa.func.count().filter(c.waiting_since.is_not(None), _BREACHING),
                ).where(scope)
            )
        ).one()
    return {
        "open": counts[0],
        "unassigned": counts[1],
        "waiting": counts[2],
        "breaching": counts[3],
    }
