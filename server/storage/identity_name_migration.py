"""Display names per contact identity (issue 14): ``contact_identities.name`` and
``name_seen_at``. Idempotent: columns are added only when missing."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.storage.schema import UTCDateTime


def migrate(ops: Operations, conn: Connection) -> None:
    have = {c["name"] for c in sa.inspect(conn).get_columns("contact_identities")}
    if "name" not in have:
        ops.add_column("contact_identities", sa.Column("name", sa.String(200), nullable=True))
    if "name_seen_at" not in have:
        ops.add_column("contact_identities", sa.Column("name_seen_at", UTCDateTime, nullable=True))
