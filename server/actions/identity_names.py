"""Contact names follow the newest mail of each identity (issue 14).

A contact is named after the first message of its first identity. People change how their
name appears ("j.smith" becomes "Jane Smith"), and one contact can write from several
identities (an email address, a Telegram account). Each identity keeps the display name it
last wrote under (``contact_identities.name`` / ``name_seen_at``); a message older than that
(a backfill, a late delivery) changes nothing. The contact's own name follows when it still
shows this identity's previous name — never over a name an agent typed, nor over the name
another identity gave it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from adapters.base import ContactInfo
from server import serialize
from server.actions._tx import Tx
from server.events.types import EventType
from server.storage import schema as t
from server.storage.schema import utcnow


async def note_name(
    tx: Tx, channel: str, info: ContactInfo, seen_at: datetime, ident: Any = None
) -> None:
    """Record the name ``info`` carries for its identity; rename the contact if it follows.

    ``ident``: the identity row (``IDENTITY_COLUMNS``) when the caller has read it already.
    """
    if not info.name:
        return
    if ident is None:
        ident = await _identity(tx, channel, info)
    if ident is None or ident.name == info.name:
        return  # unchanged: no write (the common case costs one indexed read)
    if ident.name_seen_at is not None and seen_at < ident.name_seen_at:
        return
    ci = t.contact_identities.c
    await tx.conn.execute(
        sa.update(t.contact_identities)
        .where(ci.id == ident.id)
        .values(name=info.name, name_seen_at=seen_at)
    )
    previous = ident.name if ident.name is not None else ident.contact_name
    follows = ident.contact_name is None or ident.contact_name == previous
    if info.name != ident.contact_name and follows and ident.merged_into_id is None:
        await _rename(tx, int(ident.contact_id), info.name)


_ci, _c = t.contact_identities.c, t.contacts.c
IDENTITY_COLUMNS = (
    _ci.id,
    _ci.name,
    _ci.name_seen_at,
    _ci.contact_id,
    _c.name.label("contact_name"),
    _c.merged_into_id,
)


async def _identity(tx: Tx, channel: str, info: ContactInfo) -> Any:
    ci, c = t.contact_identities.c, t.contacts.c
    return (
        await tx.conn.execute(
            sa.select(*IDENTITY_COLUMNS)
            .join(t.contacts, c.id == ci.contact_id)
            .where(
                ci.channel == channel, ci.scope == info.scope, ci.external_id == info.external_id
            )
        )
    ).first()


async def _rename(tx: Tx, contact_id: int, name: str) -> None:
    c = t.contacts.c
    await tx.conn.execute(
        sa.update(t.contacts).where(c.id == contact_id).values(name=name, updated_at=utcnow())
    )
    row = (await tx.conn.execute(sa.select(t.contacts).where(c.id == contact_id))).one()
    data = serialize.contact(row)
    conv = t.conversations.c
    inboxes = await tx.conn.execute(
        sa.select(conv.inbox_id).where(conv.contact_id == contact_id).distinct()
    )
    for (inbox_id,) in inboxes.all():
        await tx.emit(EventType.CONTACT_UPDATED, {"contact": data}, inbox_id=int(inbox_id))
