"""CSAT figures per agent, team, inbox, channel or label (docs/csat.md), read side."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from server.domain.csat import RATINGS, Summary, summarise
from server.storage import schema as t
from server.storage.csat_schema import csat_surveys

GROUPS = ("agent", "team", "inbox", "channel", "label")
MAX_ROWS = 100_000  # a larger period is an export; keep one answer bounded


async def surveys(
    conn: Any, visible: set[int] | None, start: datetime, end: datetime, inbox_id: int | None
) -> list[Any]:
    s = csat_surveys.c
    query = sa.select(csat_surveys).where(s.sent_at >= start, s.sent_at < end, s.state == "sent")
    if visible is not None:
        query = query.where(s.inbox_id.in_(visible))
    if inbox_id is not None:
        query = query.where(s.inbox_id == inbox_id)
    return list((await conn.execute(query.order_by(s.sent_at).limit(MAX_ROWS))).all())


def keys_of(row: Any, by: str) -> list[Any]:
    if by == "label":
        return list(row.labels or []) or [None]
    return [
        {"agent": row.agent_id, "team": row.team_id, "inbox": row.inbox_id, "channel": row.channel}[
            by
        ]
    ]


def grouped(rows: Iterable[Any], by: str, names: dict[Any, str]) -> list[dict[str, Any]]:
    buckets: dict[Any, list[Any]] = {}
    for row in rows:
        for key in keys_of(row, by):
            buckets.setdefault(key, []).append(row)
    out = []
    for key, members in sorted(buckets.items(), key=lambda kv: names.get(kv[0], str(kv[0]))):
        figures = summarise(len(members), (r.rating for r in members if r.rating is not None))
        out.append({"key": key, "label": names.get(key, _unnamed(by, key)), **as_json(figures)})
    return out


def _unnamed(by: str, key: Any) -> str:
    if key is None:
        return {"agent": "Nobody assigned", "team": "No team", "label": "No label"}.get(by, "—")
    return str(key)


def as_json(figures: Summary) -> dict[str, Any]:
    return {
        "sent": figures.sent,
        "answered": figures.answered,
        "response_rate_percent": figures.response_rate,
        "average_rating": figures.average,
        "satisfied_percent": figures.satisfied,
        "distribution": {str(r): figures.distribution[r] for r in RATINGS},
    }


async def names(conn: Any, by: str) -> dict[Any, str]:
    table = {"agent": t.users, "team": t.teams, "inbox": t.inboxes}.get(by)
    if table is None:
        return {}
    rows = await conn.execute(sa.select(table.c.id, table.c.name))
    return {r.id: r.name for r in rows}
