"""API-channel identities scoped per inbox (issue 11, hole 1; docs/security.md).

Before this, an API-channel identity was unique per (channel, external id) across every
API inbox, so an integration on inbox A that named an id used on inbox B reached B's
contact. Each such identity (scope ``""``) is now scoped to the first API inbox whose
conversations reach its contact; every other API inbox gets an identity of its own:

* a contact with that one identity is split: the other inbox's conversations (and the
  customer's messages in them) move to a new contact that keeps only the name shown in
  them, none of the email, phone or attributes the first inbox knew;
* a contact with several identities was merged on purpose by an agent: it stays one
  contact, and the other inbox gets its own identity on it.

Idempotent: only identities still scoped ``""`` are touched, and none remain after a run.
Lightweight tables (only the columns used) keep it valid whatever later migrations add.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.storage.schema import UTCDateTime

_ci = sa.table(
    "contact_identities",
    sa.column("id"),
    sa.column("contact_id"),
    sa.column("channel"),
    sa.column("scope"),
    sa.column("external_id"),
    sa.column("verified", sa.Boolean),
    sa.column("created_at", UTCDateTime),
)
_contacts = sa.table(
    "contacts",
    sa.column("id"),
    sa.column("name"),
    sa.column("attributes", sa.JSON),
    sa.column("created_at", UTCDateTime),
    sa.column("updated_at", UTCDateTime),
)
_convs = sa.table("conversations", sa.column("id"), sa.column("contact_id"), sa.column("inbox_id"))
_inboxes = sa.table("inboxes", sa.column("id"), sa.column("kind"))
_messages = sa.table(
    "messages", sa.column("conversation_id"), sa.column("sender_type"), sa.column("sender_id")
)


def migrate(_ops: Operations, conn: Connection) -> None:
    legacy = conn.execute(
        sa.select(_ci.c.id, _ci.c.contact_id, _ci.c.external_id, _ci.c.verified).where(
            _ci.c.channel == "api", _ci.c.scope == ""
        )
    ).all()
    for ident in legacy:
        _rescope(conn, ident)


def _scope(inbox_id: int) -> str:
    return f"inbox:{inbox_id}"  # server/actions/contacts.py inbox_scope


def _rescope(conn: Connection, ident: Any) -> None:
    c = _convs.c
    inboxes = [
        int(r[0])
        for r in conn.execute(
            sa.select(c.inbox_id)
            .join(_inboxes, _inboxes.c.id == c.inbox_id)
            .where(c.contact_id == ident.contact_id, _inboxes.c.kind == "api")
            .group_by(c.inbox_id)
            .order_by(sa.func.min(c.id))
        )
    ]
    if not inboxes:  # no conversation reaches it: nothing can be filed under it again
        conn.execute(sa.delete(_ci).where(_ci.c.id == ident.id))
        return
    first, *others = inboxes
    conn.execute(sa.update(_ci).where(_ci.c.id == ident.id).values(scope=_scope(first)))
    alone = _identity_count(conn, ident.contact_id) == 1
    for inbox_id in others:
        owner = _split(conn, ident.contact_id, inbox_id) if alone else ident.contact_id
        _add_identity(conn, ident, owner, inbox_id)


def _identity_count(conn: Connection, contact_id: int) -> int:
    query = sa.select(sa.func.count()).select_from(_ci).where(_ci.c.contact_id == contact_id)
    return int(conn.execute(query).scalar_one())


def _split(conn: Connection, contact_id: int, inbox_id: int) -> int:
    """A new contact for ``inbox_id``'s conversations of ``contact_id``; its id."""
    now = datetime.now(UTC)
    name = conn.execute(
        sa.select(_contacts.c.name).where(_contacts.c.id == contact_id)
    ).scalar_one_or_none()
    new_id = int(
        conn.execute(
            sa.insert(_contacts)
            .values(name=name, attributes={}, created_at=now, updated_at=now)
            .returning(_contacts.c.id)
        ).scalar_one()
    )
    moved = sa.select(_convs.c.id).where(
        _convs.c.contact_id == contact_id, _convs.c.inbox_id == inbox_id
    )
    m = _messages.c
    conn.execute(
        sa.update(_messages)
        .where(m.conversation_id.in_(moved), m.sender_type == "contact", m.sender_id == contact_id)
        .values(sender_id=new_id)
    )
    conn.execute(
        sa.update(_convs)
        .where(_convs.c.contact_id == contact_id, _convs.c.inbox_id == inbox_id)
        .values(contact_id=new_id)
    )
    return new_id


def _add_identity(conn: Connection, ident: Any, owner: int, inbox_id: int) -> None:
    exists = conn.execute(
        sa.select(_ci.c.id).where(
            _ci.c.channel == "api",
            _ci.c.scope == _scope(inbox_id),
            _ci.c.external_id == ident.external_id,
        )
    ).first()
    if exists is None:
        conn.execute(
            sa.insert(_ci).values(
                contact_id=owner,
                channel="api",
                scope=_scope(inbox_id),
                external_id=ident.external_id,
                verified=ident.verified,
                created_at=datetime.now(UTC),
            )
        )
