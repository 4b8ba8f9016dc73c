"""Read side of accounts: a user's sessions and API tokens, the audit log (docs/accounts.md)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.storage import schema as t
from server.storage.schema import utcnow

AUDIT_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "address",
    "details",
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def live_tokens(
    conn: AsyncConnection, user_id: int, kinds: tuple[str, ...]
) -> list[dict[str, Any]]:
    """A user's tokens that still work, newest first (never the token itself)."""
    a = t.auth_tokens.c
    rows = await conn.execute(
        sa.select(t.auth_tokens)
        .where(
            a.user_id == user_id,
            a.kind.in_(kinds),
            a.revoked_at.is_(None),
            sa.or_(a.expires_at.is_(None), a.expires_at > utcnow()),
        )
        .order_by(a.id.desc())
    )
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "name": r.name,
            "user_agent": r.user_agent,
            "address": r.address,
            "created_at": _iso(r.created_at),
            "last_used_at": _iso(r.last_used_at),
            "expires_at": _iso(r.expires_at),
        }
        for r in rows
    ]


async def audit_page(
    conn: AsyncConnection, *, before: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Entries newest first; ``before`` is the id of the last entry of the previous page."""
    c = t.audit_log.c
    query = sa.select(t.audit_log).order_by(c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(c.id < before)
    return [_audit(r) for r in await conn.execute(query)]


def _audit(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": _iso(row.at),
        "actor_id": row.actor_id,
        "actor_name": row.actor_name,
        "action": row.action,
        "target_type": row.target_type,
        "target_id": row.target_id,
        "address": row.address,
        "details": row.details or {},
    }


def audit_csv(entries: list[dict[str, Any]]) -> str:
    """CSV of entries; cells that a spreadsheet would run as a formula are quoted with '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    for entry in entries:
        writer.writerow([_cell(entry[k]) for k in AUDIT_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else _json(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _json(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
