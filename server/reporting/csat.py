"""CSAT figures per agent, team, inbox, channel or label (docs/csat.md), read side."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from itertools import chain, repeat
from typing import Any

import sqlalchemy as sa

from server.domain.csat import RATINGS, Summary, summarise
from server.storage import schema as t
from server.storage.csat_schema import csat_surveys

GROUPS = ("agent", "team", "inbox", "channel", "label")


async def counts(
    conn: Any,
    visible: set[int] | None,
    start: datetime,
    end: datetime,
    inbox_id: int | None,
    by: str,
) -> dict[Any, Counter[int | None]]:
    """Surveys sent in [start, end) per group key and rating (None: not answered).

    Counted by the database (GROUP BY key, rating), every survey of the period: it used to
    fetch the surveys themselves, capped at 100,000, so a year of a busy team's CSAT was
    silently computed from its first 100,000 surveys. Labels are a list per survey, so
    that grouping reads (labels, rating) pairs, two small columns per survey.
    """
    s = csat_surveys.c
    where = [s.sent_at >= start, s.sent_at < end, s.state == "sent"]
    if visible is not None:
        where.append(s.inbox_id.in_(visible))
    if inbox_id is not None:
        where.append(s.inbox_id == inbox_id)
    out: dict[Any, Counter[int | None]] = {}
    if by == "label":
        for labels, rating in await conn.execute(sa.select(s.labels, s.rating).where(*where)):
            for key in list(labels or []) or [None]:
                out.setdefault(key, Counter())[rating] += 1
        return out
    column = {"agent": s.agent_id, "team": s.team_id, "inbox": s.inbox_id, "channel": s.channel}[by]
    query = sa.select(column, s.rating, sa.func.count()).where(*where).group_by(column, s.rating)
    for key, rating, n in await conn.execute(query):
        out.setdefault(key, Counter())[rating] += int(n)
    return out


def grouped(
    by_key: dict[Any, Counter[int | None]], by: str, names: dict[Any, str]
) -> list[dict[str, Any]]:
    out = []
    for key, ratings in sorted(by_key.items(), key=lambda kv: names.get(kv[0], str(kv[0]))):
        given = chain.from_iterable(repeat(r, n) for r, n in ratings.items() if r is not None)
        figures = summarise(sum(ratings.values()), given)
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
