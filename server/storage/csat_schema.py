"""Tables of customer satisfaction surveys (docs/csat.md)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.storage.schema import Id, UTCDateTime, metadata, utcnow

#: Per inbox: whether customers are asked, in which language, with which question.
csat_settings = sa.Table(
    "csat_settings",
    metadata,
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("enabled", sa.Boolean, nullable=False, default=False),
    sa.Column("language", sa.String(8), nullable=False, default="en"),
    sa.Column("question", sa.String(500), nullable=True),  # null: the language's default
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
)

#: One survey per segment (response cycle) of a conversation; the answer lives on it.
csat_surveys = sa.Table(
    "csat_surveys",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "conversation_id", Id, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("inbox_id", Id, sa.ForeignKey("inboxes.id"), nullable=False),
    sa.Column("cycle_idx", sa.Integer, nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("agent_id", Id, nullable=True),  # who owned the conversation when resolved
    sa.Column("team_id", Id, nullable=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("labels", sa.JSON, nullable=False, default=list),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("message_id", Id, nullable=True),  # the message that carried the link
    sa.Column("state", sa.String(16), nullable=False),  # sent | not_sent
    sa.Column("reason", sa.String(300), nullable=True),  # why not sent
    sa.Column("rating", sa.Integer, nullable=True),  # 1..5
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("answered_at", UTCDateTime, nullable=True),
    sa.Column("editable_until", UTCDateTime, nullable=False),
    sa.UniqueConstraint("conversation_id", "cycle_idx", name="uq_csat_conversation_cycle"),
)
sa.Index("ix_csat_surveys_inbox_sent", csat_surveys.c.inbox_id, csat_surveys.c.sent_at)


def create(_ops: Operations, conn: Connection) -> None:
    """Migration: CSAT settings and surveys (idempotent)."""
    csat_settings.create(conn, checkfirst=True)
    csat_surveys.create(conn, checkfirst=True)
