"""Migration for the response clock (docs/frt.md): NRT waits, calendars, clock state.

Idempotent: every table, column and index is created only if it is missing, because the
first migration builds a fresh database from ``schema.metadata`` (which has them already)
and other migrations land in an unknown order.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.storage import schema as s

_COLUMNS = {
    "inboxes": ("nrt_targets",),
    "conversations": (
        "clock_state",
        "sla_warn_at",
        "sla_warned_at",
        "nrt_due_at",
        "nrt_breached_at",
        "nrt_warn_at",
        "nrt_warned_at",
    ),
    "response_cycles": ("calendar_id", "observed_at"),
}
_INDEXES = {
    "conversations": ("sla_warn_at", "nrt_due_at", "nrt_warn_at"),
}


def migrate(ops: Operations, conn: Connection) -> None:
    s.calendars.create(conn, checkfirst=True)
    s.response_waits.create(conn, checkfirst=True)
    inspector = sa.inspect(conn)
    for table, names in _COLUMNS.items():
        have = {c["name"] for c in inspector.get_columns(table)}
        for name in names:
            if name not in have:
                column = s.metadata.tables[table].c[name]
                ops.add_column(table, sa.Column(name, column.type, nullable=True))
    for table, names in _INDEXES.items():
        indexes = {ix["name"] for ix in inspector.get_indexes(table)}
        for name in names:
            if f"ix_{table}_{name}" not in indexes:
                ops.create_index(f"ix_{table}_{name}", table, [name])
    if "ix_messages_conversation_id" not in {
        ix["name"] for ix in inspector.get_indexes("messages")
    }:
        ops.create_index("ix_messages_conversation_id", "messages", ["conversation_id", "id"])
