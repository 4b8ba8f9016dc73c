"""Tables of the history import (docs/import.md)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.storage.schema import Id, UTCDateTime, metadata, utcnow

#: Which conversation an imported one became: re-importing it finds it again.
imported_conversations = sa.Table(
    "imported_conversations",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id"), nullable=False),
    sa.Column("external_id", sa.String(200), nullable=False),
    sa.Column(
        "conversation_id",
        Id,
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.UniqueConstraint("inbox_id", "external_id", name="uq_imported_inbox_external"),
)


def create(_ops: Operations, conn: Connection) -> None:
    """Migration: the import map (idempotent)."""
    imported_conversations.create(conn, checkfirst=True)
