"""Read side: listing and fetching with access checks and cursor pagination."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server import serialize
from server.actions.access import conversation_for, visible_inbox_ids
from server.actors import Actor
from server.exceptions import InvalidInput
from server.storage import schema as t

STATUSES = ("open", "pending", "snoozed", "resolved")
NOT_A_CURSOR = "cursor: not a cursor this server issued"
SORTS = ("recent", "waiting")


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str) -> list[Any]:
    """The list inside a cursor; InvalidInput for anything this server did not issue."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, RecursionError):
        raise InvalidInput(NOT_A_CURSOR) from None
    if not isinstance(values, list):
        raise InvalidInput(NOT_A_CURSOR)
    return values


def recent_cursor(cursor: str) -> tuple[datetime, int]:
    """``[last activity (ISO, aware), conversation id]``."""
    match decode_cursor(cursor):
        case [str() as at, int() as cid]:
            return _cursor_time(at), _cursor_id(cid)
    raise InvalidInput(NOT_A_CURSOR)


def waiting_cursor(cursor: str) -> tuple[bool, datetime | None, int]:
    """``[1 if not waiting else 0, waiting since (ISO, aware) or None, conversation id]``."""
    match decode_cursor(cursor):
        case [int() as flag, None, int() as cid] if flag == 1 and flag is not True:
            return True, None, _cursor_id(cid)
        case [int() as flag, str() as since, int() as cid] if flag == 0 and flag is not False:
            return False, _cursor_time(since), _cursor_id(cid)
    raise InvalidInput(NOT_A_CURSOR)


def _cursor_id(value: int) -> int:
    if isinstance(value, bool) or not 0 <= value < 2**63:
        raise InvalidInput(NOT_A_CURSOR)
    return value


def _cursor_time(value: str) -> datetime:
    """Aware, and convertible to UTC (the database column's zone)."""
    try:
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(NOT_A_CURSOR) from None


async def list_conversations(
    conn: AsyncConnection, actor: Actor, params: dict[str, str], limit: int
) -> dict[str, Any]:
    c = t.conversations.c
    query = (
        sa.select(
            t.conversations,
            t.inboxes.c.kind.label("channel"),
            t.contacts.c.name.label("contact_name"),
            t.contacts.c.email.label("contact_email"),
            t.contacts.c.avatar_url.label("contact_avatar"),
        )
        .join(t.inboxes, t.inboxes.c.id == c.inbox_id)
        .join(t.contacts, t.contacts.c.id == c.contact_id)
    )
    query = await _scope(conn, actor, query, params)
    sort = params.get("sort", "recent")
    if sort not in SORTS:
        raise InvalidInput(f"sort: expected one of {', '.join(SORTS)}, got {sort!r}")
    query = _paginate(query, sort, params.get("cursor"))
    rows = (await conn.execute(query.limit(limit + 1))).all()
    items = [_conversation_item(r) for r in rows[:limit]]
    more = len(rows) > limit
    return {"items": items, "next_cursor": _next_cursor(rows[limit - 1], sort) if more else None}


async def _scope(conn: AsyncConnection, actor: Actor, query: Any, params: dict[str, str]) -> Any:
    c = t.conversations.c
    visible = await visible_inbox_ids(conn, actor)
    if visible is not None:
        query = query.where(c.inbox_id.in_(visible))
    status = params.get("status", "open")
    if status != "all":
        if status not in STATUSES:
            raise InvalidInput(f"status: expected all or one of {', '.join(STATUSES)}")
        query = query.where(c.status == status)
    if "inbox_id" in params:
        query = query.where(c.inbox_id == _int_param(params, "inbox_id"))
    if "team_id" in params:
        query = query.where(c.team_id == _int_param(params, "team_id"))
    if "contact_id" in params:
        query = query.where(c.contact_id == _int_param(params, "contact_id"))
    query = _assignee(query, actor, params.get("assignee", "any"))
    if "label" in params:
        query = query.where(_has_label(conn, params["label"]))
    if params.get("q"):
        like = f"%{params['q'].lower()[:200]}%"
        query = query.where(
            sa.or_(
                sa.func.lower(t.contacts.c.name).like(like),
                sa.func.lower(t.contacts.c.email).like(like),
                sa.func.lower(c.subject).like(like),
            )
        )
    return query


def _has_label(conn: AsyncConnection, label: str) -> Any:
    c = t.conversations.c
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return sa.cast(c.labels, JSONB).contains([label])
    each = sa.func.json_each(c.labels).table_valued("value")
    return sa.exists(sa.select(sa.literal(1)).select_from(each).where(each.c.value == label))


def _assignee(query: Any, actor: Actor, who: str) -> Any:
    c = t.conversations.c
    if who == "me":
        return query.where(c.assignee_id == actor.id)
    if who == "unassigned":
        return query.where(c.assignee_id.is_(None))
    if who == "any":
        return query
    if _is_id(who):
        return query.where(c.assignee_id == int(who))
    raise InvalidInput(f"assignee: expected me, unassigned, any or an agent id, got {who!r}")


def _int_param(params: dict[str, str], name: str) -> int:
    raw = params[name]
    if not _is_id(raw):
        raise InvalidInput(f"{name}: expected an integer, got {raw[:40]!r}")
    return int(raw)


def _is_id(raw: str) -> bool:
    """ASCII digits that fit BIGINT (``"²".isdigit()`` is true, and int() refuses it)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 18


def _paginate(query: Any, sort: str, cursor: str | None) -> Any:
    c = t.conversations.c
    if sort == "waiting":  # waiting longest first; conversations not waiting go last
        idle = sa.case((c.waiting_since.is_(None), 1), else_=0)
        query = query.order_by(idle, c.waiting_since, c.id)
        if cursor:
            query = query.where(_after_waiting(idle, *waiting_cursor(cursor)))
        return query
    key = sa.func.coalesce(c.last_message_at, c.created_at)
    query = query.order_by(key.desc(), c.id.desc())
    if cursor:
        at, cid = recent_cursor(cursor)
        query = query.where(sa.or_(key < at, sa.and_(key == at, c.id < cid)))
    return query


def _after_waiting(idle: Any, flag: bool, since: datetime | None, cid: int) -> Any:
    c = t.conversations.c
    if flag:  # the cursor is already among the idle ones: only id order remains
        return sa.and_(idle == 1, c.id > cid)
    later = sa.or_(c.waiting_since > since, sa.and_(c.waiting_since == since, c.id > cid))
    return sa.or_(idle == 1, sa.and_(idle == 0, later))


def _next_cursor(row: Any, sort: str) -> str:
    if sort == "waiting":
        waiting = row.waiting_since
        return encode_cursor(
            [0 if waiting else 1, waiting.isoformat() if waiting else None, row.id]
        )
    return encode_cursor([(row.last_message_at or row.created_at).isoformat(), row.id])


def _conversation_item(row: Any) -> dict[str, Any]:
    data = serialize.conversation(row, channel=row.channel)
    data["contact"] = {
        "id": row.contact_id,
        "name": row.contact_name,
        "email": row.contact_email,
        "avatar_url": row.contact_avatar,
    }
    return data


async def conversation_detail(
    conn: AsyncConnection, actor: Actor, conversation_id: int
) -> dict[str, Any]:
    row = await conversation_for(conn, actor, conversation_id)
    inbox = (
        await conn.execute(sa.select(t.inboxes.c.kind).where(t.inboxes.c.id == row.inbox_id))
    ).one()
    contact = (
        await conn.execute(sa.select(t.contacts).where(t.contacts.c.id == row.contact_id))
    ).one()
    data = serialize.conversation(row, channel=inbox.kind, contact=contact)
    cycles = (
        await conn.execute(
            sa.select(t.response_cycles)
            .where(t.response_cycles.c.conversation_id == row.id)
            .order_by(t.response_cycles.c.idx)
        )
    ).all()
    data["response_cycles"] = [_cycle(c) for c in cycles]
    data["response_waits"] = await response_waits(conn, row.id)
    return data


def _cycle(row: Any) -> dict[str, Any]:
    def iso(v: Any) -> Any:
        return v.isoformat().replace("+00:00", "Z") if v else None

    return {
        "index": row.idx,
        "started_at": iso(row.started_at),
        "start_message_id": row.start_message_id,
        "responded_at": iso(row.responded_at),
        "response_message_id": row.response_message_id,
        "responder_id": row.responder_id,
        "wall_seconds": row.wall_seconds,
        "business_seconds": row.business_seconds,
        "ended_unanswered_at": iso(row.ended_unanswered_at),
        "resolved_at": iso(row.resolved_at),
        "resolution_seconds": row.resolution_seconds,
        "calendar_id": row.calendar_id,
    }


async def response_waits(conn: AsyncConnection, conversation_id: int) -> list[dict[str, Any]]:
    """A conversation's next-response waits (docs/frt.md, "NRT")."""

    def _z(value: Any) -> Any:
        return value.isoformat().replace("+00:00", "Z") if value else None

    w = t.response_waits.c
    rows = await conn.execute(
        sa.select(t.response_waits).where(w.conversation_id == conversation_id).order_by(w.idx)
    )
    return [
        {
            "index": r.idx,
            "segment_index": r.segment_idx,
            "started_at": _z(r.started_at),
            "start_message_id": r.start_message_id,
            "responded_at": _z(r.responded_at),
            "response_message_id": r.response_message_id,
            "responder_id": r.responder_id,
            "wall_seconds": r.wall_seconds,
            "business_seconds": r.business_seconds,
            "ended_unanswered_at": _z(r.ended_unanswered_at),
            "calendar_id": r.calendar_id,
        }
        for r in rows
    ]


async def list_messages(
    conn: AsyncConnection, actor: Actor, conversation_id: int, before: int | None, limit: int
) -> dict[str, Any]:
    """Newest page first (``before`` = a message id), items in chronological order."""
    await conversation_for(conn, actor, conversation_id)
    m = t.messages.c
    query = sa.select(t.messages).where(m.conversation_id == conversation_id)
    if before is not None:
        anchor = (
            await conn.execute(
                sa.select(m.sent_at, m.id).where(
                    m.id == before, m.conversation_id == conversation_id
                )
            )
        ).first()
        if anchor is None:
            raise InvalidInput(f"before: message {before} is not in this conversation")
        query = query.where(
            sa.or_(
                m.sent_at < anchor.sent_at, sa.and_(m.sent_at == anchor.sent_at, m.id < anchor.id)
            )
        )
    rows = (
        await conn.execute(query.order_by(m.sent_at.desc(), m.id.desc()).limit(limit + 1))
    ).all()
    page = list(reversed(rows[:limit]))
    return {
        "items": [serialize.message(r) for r in page],
        "has_more": len(rows) > limit,
        "next_before": page[0].id if len(rows) > limit and page else None,
    }


#: Filters shared with the search read side (server/search.py).
has_label = _has_label
assignee_filter = _assignee
int_param = _int_param
#: The conversation list's filters, shared with saved views' counts (server/view_counts.py).
scope_filters = _scope
