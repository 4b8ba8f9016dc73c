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
from server.reporting.stats import GROUP_KEYS, SegmentRow, group
from server.storage import schema as t
from server.storage.schema import utcnow

api = Api()
TAG = "reports"
MAX_SEGMENTS = 50_000  # a report over more is a data export; keep the response bounded


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
) -> list[SegmentRow]:
    r = table.c
    query = sa.select(table).where(r.started_at >= start, r.started_at < end)
    if visible is not None:
        query = query.where(r.inbox_id.in_(visible))
    if inbox_id:
        if not (inbox_id.isascii() and inbox_id.isdigit() and len(inbox_id) <= 18):
            raise InvalidInput(f"inbox_id: expected an integer, got {inbox_id!r}")
        query = query.where(r.inbox_id == int(inbox_id))
    rows = (await conn.execute(query.order_by(r.started_at).limit(MAX_SEGMENTS))).all()

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
    query={k: Q_STR for k in ("from", "to", "group_by", "format", "inbox_id")},
)
async def frt_report(request: Request) -> Any:
    return await _report(request, t.response_cycles, "segments")


@api.route(
    "GET",
    "/api/reports/nrt",
    tag=TAG,
    summary="Next-response time (median, p90, mean; wall-clock and business) per "
    "group_by=inbox|channel|agent|team over from..to, with the waits; format=csv",
    query={k: Q_STR for k in ("from", "to", "group_by", "format", "inbox_id")},
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
    frt = table is t.response_cycles
    async with request.app.state.ctx.db.read() as conn:
        visible = await visible_inbox_ids(conn, actor)
        segments = await _segments(conn, visible, start, end, inbox_id, table)
        groups = group(segments, by, await _labels(conn, by), resolution=frt)
    if request.query_params.get("format") == "csv":
        return _csv(segments, "first-response.csv" if frt else "next-response.csv", frt)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "group_by": by,
        "groups": groups,
        rows_key: [_row(s, frt) for s in segments],
    }


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
