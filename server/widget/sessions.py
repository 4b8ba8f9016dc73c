"""Visitor sessions: the widget's only writer of sessions and visitor contacts.

A session is a server-issued random token (256 bits, only its SHA-256 stored) bound to one
inbox and one contact. Anonymous visitors get a fresh contact with the identity
``visitor:<session id>``; verified users share the identity ``user:<their id>`` (verified),
so the same customer sees the same history on every device. An email typed into the
pre-chat form is stored on the new contact and never used to look anyone up: typing someone
else's address reveals nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from server.actions._tx import Tx, transaction
from server.actions.contacts import follow_merges
from server.context import AppContext
from server.crypto import new_token, token_hash
from server.events.types import EventType
from server.exceptions import Unauthorized
from server.storage import schema as t
from server.storage.schema import utcnow
from server.widget import bounds

CHANNEL = "webchat"
_PROFILE_KEYS = ("name", "email", "phone")


@dataclass(frozen=True)
class Visitor:
    session_id: int
    inbox_id: int
    contact_id: int
    external_id: str  # the contact identity messages are ingested under
    verified: bool


def scope(inbox_id: int) -> str:
    """Identities are per inbox: one site's user 42 is not another site's user 42."""
    return f"inbox:{inbox_id}"


async def create_session(
    ctx: AppContext, inbox_id: int, *, user_id: str | None, profile: Mapping[str, Any]
) -> tuple[str, Visitor]:
    """Open a session; ``user_id`` only when its signature was verified."""
    token = new_token(32)
    for _ in range(3):  # two first visits of one verified user race on uq_identity once
        try:
            async with transaction(ctx) as tx:
                visitor = await _create_in(tx, inbox_id, token, user_id, profile)
            return token, visitor
        except IntegrityError:
            continue
    raise RuntimeError("could not create a visitor session")


async def _create_in(
    tx: Tx, inbox_id: int, token: str, user_id: str | None, profile: Mapping[str, Any]
) -> Visitor:
    external = f"user:{user_id}" if user_id else None
    found = await _verified_contact(tx, inbox_id, external) if external else None
    if found is None:
        contact_id = await _new_contact(tx, profile)
    else:
        contact_id = found
        await _fill_profile(tx, inbox_id, contact_id, profile)
    now = utcnow()
    session_id = (
        await tx.conn.execute(
            t.visitor_sessions.insert()
            .values(
                inbox_id=inbox_id,
                contact_id=contact_id,
                token_hash=token_hash(token),
                verified_identifier=external,
                created_at=now,
                last_seen_at=now,
            )
            .returning(t.visitor_sessions.c.id)
        )
    ).scalar_one()
    if external is None:
        external = f"visitor:{session_id}"
        await _add_identity(tx, inbox_id, contact_id, external, verified=False)
    elif found is None:
        await _add_identity(tx, inbox_id, contact_id, external, verified=True)
    return Visitor(int(session_id), inbox_id, int(contact_id), external, user_id is not None)


async def _verified_contact(tx: Tx, inbox_id: int, external: str) -> int | None:
    ci = t.contact_identities.c
    row = (
        await tx.conn.execute(
            sa.select(ci.contact_id).where(
                ci.channel == CHANNEL,
                ci.scope == scope(inbox_id),
                ci.external_id == external,
                ci.verified.is_(True),
            )
        )
    ).first()
    return None if row is None else await follow_merges(tx.conn, int(row.contact_id))


async def _new_contact(tx: Tx, profile: Mapping[str, Any]) -> int:
    now = utcnow()
    extra = {k: v for k, v in profile.items() if k not in _PROFILE_KEYS}
    return int(
        (
            await tx.conn.execute(
                t.contacts.insert()
                .values(
                    name=profile.get("name"),
                    email=profile.get("email"),
                    phone=profile.get("phone"),
                    attributes=extra,
                    created_at=now,
                    updated_at=now,
                )
                .returning(t.contacts.c.id)
            )
        ).scalar_one()
    )


async def _fill_profile(tx: Tx, inbox_id: int, contact_id: int, profile: Mapping[str, Any]) -> None:
    """A verified user's name/email come from the site itself: keep them current."""
    values = {k: profile[k] for k in _PROFILE_KEYS if profile.get(k)}
    if values:
        await tx.conn.execute(
            sa.update(t.contacts)
            .where(t.contacts.c.id == contact_id)
            .values(**values, updated_at=utcnow())
        )
        await tx.emit(
            EventType.CONTACT_UPDATED, {"contact": {"id": contact_id, **values}}, inbox_id=inbox_id
        )


async def _add_identity(
    tx: Tx, inbox_id: int, contact_id: int, external: str, *, verified: bool
) -> None:
    await tx.conn.execute(
        t.contact_identities.insert().values(
            contact_id=contact_id,
            channel=CHANNEL,
            scope=scope(inbox_id),
            external_id=external,
            verified=verified,
            created_at=utcnow(),
        )
    )


# built once (every widget request reads it): compiled once, cache key computed once
_SESSION = sa.select(t.visitor_sessions).where(
    t.visitor_sessions.c.token_hash == sa.bindparam("hash"),
    t.visitor_sessions.c.inbox_id == sa.bindparam("inbox_id"),
)


async def visitor_for_token(ctx: AppContext, inbox_id: int, token: str) -> Visitor:
    async with ctx.db.read() as conn:
        row = (
            await conn.execute(_SESSION, {"hash": token_hash(token), "inbox_id": inbox_id})
        ).first()
        if row is None:
            raise Unauthorized("unknown or expired visitor token: start a new chat session")
        contact_id = await follow_merges(conn, int(row.contact_id))
    external = row.verified_identifier or f"visitor:{row.id}"
    return Visitor(int(row.id), inbox_id, contact_id, external, row.verified_identifier is not None)


async def touch(ctx: AppContext, visitor: Visitor) -> None:
    async with ctx.db.write() as conn:
        await conn.execute(
            sa.update(t.visitor_sessions)
            .where(t.visitor_sessions.c.id == visitor.session_id)
            .values(last_seen_at=utcnow())
        )


async def set_attributes(
    ctx: AppContext, visitor: Visitor, attributes: Mapping[str, Any]
) -> dict[str, Any]:
    """Host-page attributes (plan, cart value…) merged into the contact's attributes,
    within bounds.py's caps. Only the entries that changed are stored and broadcast
    (``attributes_changed``): a page re-sending its set costs one read."""
    async with transaction(ctx) as tx:
        row = (
            await tx.conn.execute(
                sa.select(t.contacts.c.attributes).where(t.contacts.c.id == visitor.contact_id)
            )
        ).one()
        merged, changed = bounds.merge(row.attributes or {}, attributes)
        if not changed:
            return merged
        await tx.conn.execute(
            sa.update(t.contacts)
            .where(t.contacts.c.id == visitor.contact_id)
            .values(attributes=merged, updated_at=utcnow())
        )
        await tx.emit(
            EventType.CONTACT_UPDATED,
            {"contact": {"id": visitor.contact_id, "attributes_changed": changed}},
            inbox_id=visitor.inbox_id,
        )
    return merged
