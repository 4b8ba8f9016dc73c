"""The audit log: who did what to which target, when and from where (docs/accounts.md).

Append-only: ``record`` inserts a row inside the caller's transaction (so an action and
its audit entry commit together or not at all); nothing in the code base updates or
deletes these rows. Details name the fields that changed, never a secret's value.

Who and from where come from the request (``set_origin``, called where the API layer
authenticates an admin), so action signatures stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.actors import Actor
from server.storage import schema as t
from server.storage.schema import utcnow

#: Keys whose values never go into a log entry, whatever the action (only their names).
SECRET_WORDS = ("password", "secret", "token", "key", "code")


@dataclass(frozen=True)
class Origin:
    actor_id: int | None
    actor_name: str | None
    address: str | None


_ORIGIN: ContextVar[Origin | None] = ContextVar("audit_origin", default=None)


def set_origin(actor: Actor | None, address: str | None) -> None:
    """Who acts in this request (one request is one asyncio task: one context)."""
    _ORIGIN.set(Origin(actor.id if actor else None, actor.name if actor else None, address))


def current_address() -> str | None:
    origin = _ORIGIN.get()
    return origin.address if origin else None


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def redact(details: Mapping[str, Any]) -> dict[str, Any]:
    """Drop every value whose key looks like a secret; keep that it was set."""
    out: dict[str, Any] = {}
    for key, value in details.items():
        if is_secret(key):
            out[key] = "(set)" if value not in (None, "") else "(not set)"
        elif isinstance(value, Mapping):
            out[key] = redact(value)
        else:
            out[key] = value
    return out


async def record(
    conn: AsyncConnection,
    action: str,
    *,
    target_type: str | None = None,
    target_id: Any = None,
    details: Mapping[str, Any] | None = None,
    origin: Origin | None = None,
) -> None:
    """Append one entry in the caller's transaction."""
    who = origin or _ORIGIN.get() or Origin(None, None, None)  # None: the system
    await conn.execute(
        t.audit_log.insert().values(
            at=utcnow(),
            actor_id=who.actor_id,
            actor_name=who.actor_name,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            address=who.address,
            details=redact(details or {}),
        )
    )
