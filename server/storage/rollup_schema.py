"""Tables of the daily report rollups (docs/reports.md, "How reports stay fast")."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.storage import schema as s
from server.storage.schema import Id, metadata

#: Histogram columns h0 … (server/reporting/rollup.py: bucket bounds).
HISTOGRAM_COLUMNS = 248

#: Per inbox, grain (d: a local day, m: a local month), dimension, key and metric: a
#: count, a sum and a histogram.
report_rollups = sa.Table(
    "report_rollups",
    metadata,
    sa.Column("inbox_id", Id, primary_key=True, autoincrement=False),
    sa.Column("grain", sa.String(1), primary_key=True),  # d | m
    sa.Column("dim", sa.String(8), primary_key=True),  # inbox | agent | team
    sa.Column("day", sa.Integer, primary_key=True, autoincrement=False),  # date.toordinal()
    sa.Column("key", Id, primary_key=True, autoincrement=False),  # agent/team id; 0: none
    sa.Column("metric", sa.String(12), primary_key=True),
    sa.Column("n", sa.BigInteger, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
    *(
        sa.Column(f"h{i}", sa.Integer, nullable=False, server_default="0")
        for i in range(HISTOGRAM_COLUMNS)
    ),
    sqlite_with_rowid=False,
)

#: The time zone each inbox's rollup days are counted in.
report_zones = sa.Table(
    "report_zones",
    metadata,
    sa.Column("inbox_id", Id, primary_key=True, autoincrement=False),
    sa.Column("tz", sa.String(64), nullable=False),
)


def create(ops: Operations, conn: Connection) -> None:
    """Migration: rollup tables, the FRT target a segment was measured against, an index
    for resolutions by time; then the rollups are filled from the stored rows (idempotent:
    a rerun rebuilds them)."""
    from server.reporting import rollup  # the entries' definition lives with the readers

    inspector = sa.inspect(conn)
    if inspector.has_table("report_rollups") and "grain" not in {
        c["name"] for c in inspector.get_columns("report_rollups")
    }:
        report_rollups_v0 = sa.Table("report_rollups", sa.MetaData())
        report_rollups_v0.drop(conn)  # the first shape, on main for minutes: rebuilt below
    report_rollups.create(conn, checkfirst=True)
    report_zones.create(conn, checkfirst=True)
    inspector = sa.inspect(conn)
    if "target_seconds" not in {c["name"] for c in inspector.get_columns("response_cycles")}:
        ops.add_column("response_cycles", sa.Column("target_seconds", sa.Float, nullable=True))
        _fill_targets(conn)
    if "ix_response_cycles_resolved_at" not in {
        ix["name"] for ix in inspector.get_indexes("response_cycles")
    }:
        ops.create_index("ix_response_cycles_resolved_at", "response_cycles", ["resolved_at"])
    rollup.rebuild(conn)


def _fill_targets(conn: Connection) -> None:
    """Until now SLA used the inbox's current target for the conversation's priority."""
    i, c, r = s.inboxes.c, s.conversations.c, s.response_cycles.c
    for inbox in conn.execute(sa.select(i.id, i.frt_targets)).all():
        targets = inbox.frt_targets or {}
        for priority in ("none", "low", "medium", "high", "urgent"):
            value = targets.get(priority, targets.get("default"))
            if not value:
                continue
            conv = sa.select(c.id).where(c.inbox_id == inbox.id, c.priority == priority)
            conn.execute(
                sa.update(s.response_cycles)
                .where(r.inbox_id == inbox.id, r.conversation_id.in_(conv))
                .values(target_seconds=float(value))
            )


def reshape(ops: Operations, conn: Connection) -> None:
    """Migration: a database migrated while ``report_rollups`` had its first shape (one
    row per histogram bucket, on main for minutes) gets the current one, rebuilt."""
    if "grain" not in {c["name"] for c in sa.inspect(conn).get_columns("report_rollups")}:
        create(ops, conn)
