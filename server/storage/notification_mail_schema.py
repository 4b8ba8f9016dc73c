"""Which notifications went out in an e-mail digest (docs/automation.md "E-mail digests")."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.storage.schema import Id, UTCDateTime, metadata, utcnow

#: One row per notification that was put in a digest; the primary key means a
#: notification is e-mailed at most once, whichever node gets to it.
notification_emails = sa.Table(
    "notification_emails",
    metadata,
    sa.Column(
        "notification_id",
        Id,
        sa.ForeignKey("notifications.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("user_id", Id, nullable=False),
    sa.Column("emailed_at", UTCDateTime, nullable=False, default=utcnow),
)


def create(_ops: Operations, conn: Connection) -> None:
    notification_emails.create(conn, checkfirst=True)
