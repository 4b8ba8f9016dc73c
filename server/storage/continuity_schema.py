"""The durable queue of email-continuity mails (issue 14): ``continuity_mail``.

One row per agent chat reply that is emailed to a visitor who left; see
server/widget/continuity_outbox.py for why this is a queue of its own beside ``outbox``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.storage.schema import Id, UTCDateTime, metadata, utcnow

continuity_mail = sa.Table(
    "continuity_mail",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    # the chat reply this mail carries: at most one mail per reply (the unique key)
    sa.Column("message_id", Id, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("email_inbox_id", Id, sa.ForeignKey("inboxes.id"), nullable=False),
    sa.Column("to_address", sa.String(320), nullable=False),
    # the Message-ID (without brackets), fixed when queued: every retry carries the same one
    sa.Column("provider_id", sa.String(300), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # queued | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("sent_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("message_id", name="uq_continuity_mail_message"),
)


def create(_ops: Operations, conn: Connection) -> None:
    """Migration: the continuity mail queue (idempotent)."""
    continuity_mail.create(conn, checkfirst=True)
