"""Read side of full-text search over message text (docs/search.md).

Finds messages and notes by their words in the inboxes the agent may see, with the
conversation filters of the list (status incl. all, inbox, channel, assignee, team,
label) and a date range, newest first, and returns a highlighted snippet per hit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server import queries
from server.actions.access import visible_inbox_ids
from server.actors import Actor
from server.domain.search_text import fts5_query, highlight, terms, tsquery
from server.exceptions import InvalidInput
from server.storage import schema as t

STATUSES = ("all", "open", "pending", "snoozed", "resolved")
KINDS = ("all", "message", "note")


async def search_messages(
    conn: AsyncConnection, actor: Actor, params: dict[str, str], limit: int
) -> dict[str, Any]:
    words = terms(params.get("q", ""))
    if not words:
        raise InvalidInput("q: type at least one word to search for")
    m = t.messages.c
    match = _matching(conn, words)
    rare = await _rare_hits(conn, match) if conn.dialect.name == "postgresql" else None
    query = _base().where(m.id.in_(rare) if rare is not None else match).order_by(m.id.desc())
    query = await _filters(conn, actor, query, params)
    rows = (await conn.execute(query.limit(limit + 1))).all()
    items = [_item(r, words) for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next_cursor": str(rows[limit - 1].id) if more else None}


def _base() -> Any:
    return (
        sa.select(
            t.messages.c.id,
            t.messages.c.conversation_id,
            t.messages.c.inbox_id,
            t.messages.c.kind,
            t.messages.c.direction,
            t.messages.c.sender_type,
            t.messages.c.sender_id,
            t.messages.c.text,
            t.messages.c.sent_at,
            t.conversations.c.status,
            t.conversations.c.subject,
            t.conversations.c.assignee_id,
            t.conversations.c.contact_id,
            t.inboxes.c.kind.label("channel"),
            t.inboxes.c.name.label("inbox_name"),
            t.contacts.c.name.label("contact_name"),
            t.contacts.c.email.label("contact_email"),
        )
        .join(t.conversations, t.conversations.c.id == t.messages.c.conversation_id)
        .join(t.inboxes, t.inboxes.c.id == t.messages.c.inbox_id)
        .join(t.contacts, t.contacts.c.id == t.conversations.c.contact_id)
    )


#: Fewer hits than this: PostgreSQL fetches them all through the GIN index and orders them.
#: More: it walks the newest messages and filters (the first page comes quickly). Its
#: planner cannot tell the two apart for a prefix query, so a bounded probe decides.
RARE_HITS = 1000


async def _rare_hits(conn: AsyncConnection, match: Any) -> list[int] | None:
    """The ids of every match when there are few (through the GIN index), else None."""
    await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
    await conn.execute(sa.text("SET LOCAL enable_indexscan = off"))
    try:
        probe = sa.select(t.messages.c.id).where(match).limit(RARE_HITS)
        ids = [int(r[0]) for r in await conn.execute(probe)]
    finally:
        await conn.execute(sa.text("SET LOCAL enable_seqscan = on"))
        await conn.execute(sa.text("SET LOCAL enable_indexscan = on"))
    return ids if len(ids) < RARE_HITS else None


def _matching(conn: AsyncConnection, words: list[str]) -> Any:
    m = t.messages.c
    if conn.dialect.name == "postgresql":
        vector: Any = sa.literal_column("messages.search_vector")
        q = sa.func.to_tsquery(
            sa.literal_column("'simple'::regconfig"), sa.func.sb_search_norm(tsquery(words))
        )
        return vector.op("@@")(q)
    fts = sa.text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :match").bindparams(
        match=fts5_query(words)
    )
    return m.id.in_(fts)


async def _filters(conn: AsyncConnection, actor: Actor, query: Any, params: dict[str, str]) -> Any:
    m, c = t.messages.c, t.conversations.c
    visible = await visible_inbox_ids(conn, actor)
    if visible is not None:
        query = query.where(m.inbox_id.in_(visible))
    query = query.where(m.kind != "activity")
    query = _choice(query, params, "status", STATUSES, c.status)
    query = _choice(query, params, "kind", KINDS, m.kind)
    if "inbox_id" in params:
        query = query.where(m.inbox_id == queries.int_param(params, "inbox_id"))
    if "team_id" in params:
        query = query.where(c.team_id == queries.int_param(params, "team_id"))
    if params.get("channel"):
        query = query.where(t.inboxes.c.kind == params["channel"])
    if params.get("label"):
        query = query.where(queries.has_label(conn, params["label"]))
    query = queries.assignee_filter(query, actor, params.get("assignee", "any"))
    if params.get("from"):
        query = query.where(m.sent_at >= _date(params, "from"))
    if params.get("to"):
        query = query.where(m.sent_at < _date(params, "to"))
    if params.get("cursor"):
        query = query.where(m.id < queries.int_param(params, "cursor"))
    return query


def _choice(
    query: Any, params: dict[str, str], name: str, allowed: tuple[str, ...], col: Any
) -> Any:
    value = params.get(name) or "all"
    if value not in allowed:
        raise InvalidInput(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return query if value == "all" else query.where(col == value)


def _date(params: dict[str, str], name: str) -> datetime:
    raw = params[name]
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name}: expected an ISO date or datetime, got {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _item(row: Any, words: list[str]) -> dict[str, Any]:
    return {
        "message_id": row.id,
        "conversation_id": row.conversation_id,
        "inbox_id": row.inbox_id,
        "inbox_name": row.inbox_name,
        "channel": row.channel,
        "kind": row.kind,
        "direction": row.direction,
        "sender_type": row.sender_type,
        "sent_at": row.sent_at.isoformat().replace("+00:00", "Z"),
        "snippet": [{"text": s.text, "hit": s.hit} for s in highlight(row.text or "", words)],
        "conversation": {
            "status": row.status,
            "subject": row.subject,
            "assignee_id": row.assignee_id,
        },
        "contact": {"id": row.contact_id, "name": row.contact_name, "email": row.contact_email},
    }
