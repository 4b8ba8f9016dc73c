"""Saved views (docs/views.md): named filter sets, personal or shared."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.storage.schema import Id, UTCDateTime, metadata, utcnow

saved_views = sa.Table(
    "saved_views",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("owner_id", Id, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("shared", sa.Boolean, nullable=False, default=False),
    sa.Column("filters", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
)
sa.Index("ix_saved_views_owner", saved_views.c.owner_id)


def create(_ops: Operations, conn: Connection) -> None:
    """Migration: saved views (idempotent)."""
    saved_views.create(conn, checkfirst=True)
