"""Schema migrations: an ordered list, recorded in ``schema_version``, run at start-up
and by ``switchboard migrate``.

Migration 1 creates the schema from ``schema.metadata``. Later migrations append a
function that receives an Alembic ``Operations`` bound to the connection (add_column,
create_index, …), so each change is written once and runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.storage import (
    clock_migration,
    continuity_schema,
    csat_schema,
    identity_name_migration,
    identity_scope_migration,
    import_schema,
    notification_mail_schema,
    rollup_schema,
    search_index,
    signature_migration,
    views_schema,
)
from server.storage.db import Database
from server.storage.schema import metadata

Migration = Callable[[Operations, Connection], None]

_version_table = sa.Table(
    "schema_version",
    sa.MetaData(),
    sa.Column("version", sa.Integer, nullable=False),
)


def _initial(_ops: Operations, conn: Connection) -> None:
    metadata.create_all(conn)


def _nodes(_ops: Operations, conn: Connection) -> None:
    """Node heartbeats, so work claimed by a crashed node is retried at once."""
    from server.storage.schema import nodes

    nodes.create(conn, checkfirst=True)


def _contact_index(ops: Operations, conn: Connection) -> None:
    """Chat channels continue a contact's latest conversation: look it up by index."""
    names = {ix["name"] for ix in sa.inspect(conn).get_indexes("conversations")}
    if "ix_conversations_contact_inbox" not in names:
        ops.create_index(
            "ix_conversations_contact_inbox", "conversations", ["contact_id", "inbox_id"]
        )


def _resolution(ops: Operations, conn: Connection) -> None:
    """Resolution time per cycle, for reports."""
    have = {c["name"] for c in sa.inspect(conn).get_columns("response_cycles")}
    from server.storage.schema import UTCDateTime

    if "resolved_at" not in have:
        ops.add_column("response_cycles", sa.Column("resolved_at", UTCDateTime, nullable=True))
    if "resolution_seconds" not in have:
        ops.add_column("response_cycles", sa.Column("resolution_seconds", sa.Float, nullable=True))


def _accounts(ops: Operations, conn: Connection) -> None:
    """Accounts (docs/accounts.md): 2FA and password columns, session devices, invite and
    reset links, recovery codes, audit log, workspace switches, account mail."""
    from server.storage import schema as s

    inspector = sa.inspect(conn)
    for table, names in (
        ("users", ("totp_secret", "totp_enabled_at", "totp_last_step", "password_changed_at")),
        ("auth_tokens", ("user_agent", "address")),
    ):
        have = {c["name"] for c in inspector.get_columns(table)}
        for name in names:
            if name not in have:
                column = s.metadata.tables[table].c[name]
                ops.add_column(table, sa.Column(name, column.type, nullable=True))
    for new_table in (
        s.account_links,
        s.recovery_codes,
        s.audit_log,
        s.workspace_settings,
        s.account_mail,
    ):
        new_table.create(conn, checkfirst=True)


def _automation(_ops: Operations, conn: Connection) -> None:
    """Routing and automation (docs/automation.md): assignment policy and capacity,
    rules and their runs, notifications and preferences, macros."""
    from server.storage import schema as s

    for table in (
        s.inbox_routing,
        s.agent_capacity,
        s.automation_rules,
        s.rule_runs,
        s.notifications,
        s.notification_prefs,
        s.macros,
        s.rule_webhooks,
    ):
        table.create(conn, checkfirst=True)


MIGRATIONS: list[Migration] = [
    _initial,
    _nodes,
    _contact_index,
    _resolution,
    _accounts,
    _automation,
    search_index.create,
    clock_migration.migrate,
    identity_name_migration.migrate,
    import_schema.create,
    identity_scope_migration.migrate,  # issue 11, hole 1
    csat_schema.create,
    views_schema.create,
    signature_migration.migrate,  # issue 14
    notification_mail_schema.create,  # issue 15: e-mail digests
    continuity_schema.create,  # issue 14: email continuity through a durable queue
    rollup_schema.create,  # issue 13: daily report rollups, backfilled
    rollup_schema.reshape,  # issue 13: rollups as one row per metric with histogram columns
]


def _current(conn: Connection) -> int:
    _version_table.create(conn, checkfirst=True)
    row = conn.execute(sa.select(_version_table.c.version)).first()
    if row is None:
        conn.execute(_version_table.insert().values(version=0))
        return 0
    return int(row.version)


def _upgrade(conn: Connection) -> tuple[int, int]:
    if conn.dialect.name == "postgresql":
        # Several nodes may start at once: one migrates, the others wait for it.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7201001)"))
    before = _current(conn)
    ops = Operations(MigrationContext.configure(conn))
    for version, migration in enumerate(MIGRATIONS[before:], start=before + 1):
        migration(ops, conn)
        conn.execute(_version_table.update().values(version=version))
    return before, len(MIGRATIONS)


async def migrate(db: Database) -> tuple[int, int]:
    """Bring the schema up to date; returns (version before, version after)."""
    async with db.write(unbounded=True) as conn:  # no statement timeout: tables are rewritten
        return await conn.run_sync(_upgrade)
