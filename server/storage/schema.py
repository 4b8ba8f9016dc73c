"""The relational schema (SQLAlchemy Core), identical on SQLite and PostgreSQL.

Uniqueness that protects a guarantee is a database constraint, never a read-then-write:
inbound dedupe is ``uq_messages_inbox_external``; idempotent client sends are
``uq_messages_inbox_client``; one contact per channel identity is ``uq_identity``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


#: (this process's monotonic clock, the shared clock's time at that instant); None: the
#: wall clock. Set by server/storage/shared_clock.py on each heartbeat (PostgreSQL).
_anchor: tuple[float, datetime] | None = None
#: how far the wall clock may be from the shared clock before the shared clock is used
WALL_CLOCK_TOLERANCE = timedelta(seconds=1)


def utcnow() -> datetime:
    """Now, in UTC, for every time Switchboard stores or compares.

    On PostgreSQL: the database's clock, read at each heartbeat and carried forward by this
    process's monotonic clock in between (server/storage/shared_clock.py), whenever the
    wall clock is more than a second from it; within that second, the wall clock. So every
    node stamps messages, and measures response times, by one clock give or take NTP's
    milliseconds, and a step of a node's own wall clock (a wrong NTP step) changes none of
    it, from the instant it happens. Before the first reading, and on SQLite (one node,
    whose clock is the only one): the wall clock.
    """
    wall = datetime.now(UTC)
    anchor = _anchor
    if anchor is None:
        return wall
    shared = anchor[1] + timedelta(seconds=time.monotonic() - anchor[0])
    # Within the tolerance the wall clock is as good (NTP keeps nodes milliseconds apart)
    # and agrees with every other clock of this process to the microsecond; beyond it, the
    # wall clock stepped (or never was right), and the shared clock is used at once, not
    # at the next heartbeat.
    return wall if abs(wall - shared) <= WALL_CLOCK_TOLERANCE else shared


def set_clock_anchor(anchor: tuple[float, datetime] | None) -> None:
    global _anchor
    _anchor = anchor


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER only


def _pk() -> sa.Column[int]:
    return sa.Column("id", Id, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, *, nullable: bool = False, ondelete: str | None = None) -> Any:
    return sa.Column(name, Id, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable)


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow)


users = sa.Table(
    "users",
    metadata,
    _pk(),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("role", sa.String(16), nullable=False),  # agent | admin
    sa.Column("is_bot", sa.Boolean, nullable=False, default=False),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    sa.Column("avatar_url", sa.String(2000), nullable=True),
    _created(),
    # Accounts (docs/accounts.md): TOTP secret Fernet-encrypted; last accepted time step
    # (a code is good once); when the password last changed.
    sa.Column("totp_secret", sa.Text, nullable=True),
    sa.Column("totp_enabled_at", UTCDateTime, nullable=True),
    sa.Column("totp_last_step", sa.BigInteger, nullable=True),
    sa.Column("password_changed_at", UTCDateTime, nullable=True),
)

auth_tokens = sa.Table(
    "auth_tokens",
    metadata,
    _pk(),
    _fk("user_id", "users.id", ondelete="CASCADE"),
    sa.Column("kind", sa.String(16), nullable=False),  # session | api
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=True),
    _created(),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("user_agent", sa.String(300), nullable=True),  # the device, for the sessions list
    sa.Column("address", sa.String(64), nullable=True),  # client address at login
)

teams = sa.Table(
    "teams",
    metadata,
    _pk(),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    _created(),
)

team_members = sa.Table(
    "team_members",
    metadata,
    _fk("team_id", "teams.id", ondelete="CASCADE"),
    _fk("user_id", "users.id", ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("team_id", "user_id"),
)

inboxes = sa.Table(
    "inboxes",
    metadata,
    _pk(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("public_key", sa.String(64), nullable=False, unique=True),
    sa.Column("config", sa.JSON, nullable=False, default=dict),  # non-secret settings
    sa.Column("secrets", sa.Text, nullable=True),  # Fernet-encrypted JSON, write-only over API
    sa.Column("business_hours", sa.JSON, nullable=True),  # null: 24/7
    sa.Column("frt_targets", sa.JSON, nullable=True),  # {"default": s, "urgent": s, ...}
    sa.Column("nrt_targets", sa.JSON, nullable=True),  # next-response targets, same shape
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    _created(),
)

inbox_members = sa.Table(
    "inbox_members",
    metadata,
    _fk("inbox_id", "inboxes.id", ondelete="CASCADE"),
    _fk("user_id", "users.id", ondelete="CASCADE"),
    sa.PrimaryKeyConstraint("inbox_id", "user_id"),
)

inbox_state = sa.Table(
    "inbox_state",
    metadata,
    _fk("inbox_id", "inboxes.id", ondelete="CASCADE"),
    sa.Column("key", sa.String(100), nullable=False),
    sa.Column("value", sa.JSON, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    sa.PrimaryKeyConstraint("inbox_id", "key"),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

nodes = sa.Table(
    "nodes",
    metadata,
    sa.Column("node_id", sa.String(200), primary_key=True),
    sa.Column("seen_at", UTCDateTime, nullable=False),
)

contacts = sa.Table(
    "contacts",
    metadata,
    _pk(),
    sa.Column("name", sa.String(300), nullable=True),
    sa.Column("email", sa.String(320), nullable=True, index=True),
    sa.Column("phone", sa.String(64), nullable=True),
    sa.Column("avatar_url", sa.String(2000), nullable=True),
    sa.Column("attributes", sa.JSON, nullable=False, default=dict),
    _fk("merged_into_id", "contacts.id", nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
)

contact_identities = sa.Table(
    "contact_identities",
    metadata,
    _pk(),
    _fk("contact_id", "contacts.id", ondelete="CASCADE"),
    sa.Column("channel", sa.String(32), nullable=False),
    # scope: where the external id is unique (a Meta page id, a bot id; "" when global)
    sa.Column("scope", sa.String(200), nullable=False, default=""),
    sa.Column("external_id", sa.String(500), nullable=False),
    sa.Column("verified", sa.Boolean, nullable=False, default=False),
    _created(),
    # the display name this identity last wrote under, and when (server/actions/identity_names.py)
    sa.Column("name", sa.String(200), nullable=True),
    sa.Column("name_seen_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("channel", "scope", "external_id", name="uq_identity"),
)

conversations = sa.Table(
    "conversations",
    metadata,
    _pk(),
    _fk("inbox_id", "inboxes.id"),
    _fk("contact_id", "contacts.id"),
    sa.Column("status", sa.String(16), nullable=False),
    _fk("assignee_id", "users.id", nullable=True),
    _fk("team_id", "teams.id", nullable=True),
    sa.Column("priority", sa.String(16), nullable=False, default="none"),
    sa.Column("labels", sa.JSON, nullable=False, default=list),
    sa.Column("subject", sa.String(1000), nullable=True),
    sa.Column("token", sa.String(64), nullable=False, unique=True),  # unguessable, e.g. reply-to
    sa.Column("channel_data", sa.JSON, nullable=False, default=dict),  # adapter thread state
    sa.Column("snoozed_until", UTCDateTime, nullable=True),
    sa.Column("waiting_since", UTCDateTime, nullable=True, index=True),
    sa.Column("first_response_at", UTCDateTime, nullable=True),
    sa.Column("first_response_message_id", Id, nullable=True),  # no FK: avoids a cycle
    _fk("first_responder_id", "users.id", nullable=True),
    sa.Column("frt_seconds", sa.Float, nullable=True),
    sa.Column("frt_business_seconds", sa.Float, nullable=True),
    sa.Column("sla_due_at", UTCDateTime, nullable=True, index=True),
    sa.Column("sla_breached_at", UTCDateTime, nullable=True),
    # the response clock (docs/frt.md): its incremental state, NRT deadline, near-breach
    sa.Column("clock_state", sa.JSON, nullable=True),
    sa.Column("sla_warn_at", UTCDateTime, nullable=True, index=True),
    sa.Column("sla_warned_at", UTCDateTime, nullable=True),
    sa.Column("nrt_due_at", UTCDateTime, nullable=True, index=True),
    sa.Column("nrt_breached_at", UTCDateTime, nullable=True),
    sa.Column("nrt_warn_at", UTCDateTime, nullable=True, index=True),
    sa.Column("nrt_warned_at", UTCDateTime, nullable=True),
    sa.Column("reply_window_closes_at", UTCDateTime, nullable=True),
    sa.Column("last_message_at", UTCDateTime, nullable=True, index=True),
    sa.Column("last_customer_message_at", UTCDateTime, nullable=True),
    sa.Column("resolved_at", UTCDateTime, nullable=True),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
)
sa.Index("ix_conversations_inbox_status", conversations.c.inbox_id, conversations.c.status)
sa.Index("ix_conversations_contact_inbox", conversations.c.contact_id, conversations.c.inbox_id)

messages = sa.Table(
    "messages",
    metadata,
    _pk(),
    _fk("conversation_id", "conversations.id", ondelete="CASCADE"),
    _fk("inbox_id", "inboxes.id"),
    sa.Column("direction", sa.String(8), nullable=False),  # in | out
    sa.Column("kind", sa.String(16), nullable=False),  # message | note | activity
    sa.Column("sender_type", sa.String(16), nullable=False),  # contact | agent | bot | system
    sa.Column("sender_id", Id, nullable=True),  # contact id or user id
    sa.Column("is_auto", sa.Boolean, nullable=False, default=False),  # auto-reply / bounce / bulk
    sa.Column("text", sa.Text, nullable=True),
    sa.Column("html", sa.Text, nullable=True),  # sanitized before storing
    sa.Column("attachments", sa.JSON, nullable=False, default=list),
    sa.Column("external_id", sa.String(1000), nullable=True),
    sa.Column("client_id", sa.String(100), nullable=True),
    sa.Column("provider_id", sa.String(1000), nullable=True),  # id at the provider (Message-ID)
    # received | pending | sent | delivered | read | failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("content_attributes", sa.JSON, nullable=False, default=dict),
    sa.Column("sent_at", UTCDateTime, nullable=False),  # when it was written (source time)
    sa.Column("version", sa.Integer, nullable=False, default=1),
    _created(),
    sa.UniqueConstraint("inbox_id", "external_id", name="uq_messages_inbox_external"),
    sa.UniqueConstraint("inbox_id", "client_id", name="uq_messages_inbox_client"),
)
sa.Index("ix_messages_conversation_sent", messages.c.conversation_id, messages.c.sent_at)
sa.Index("ix_messages_conversation_id", messages.c.conversation_id, messages.c.id)  # clock
sa.Index("ix_messages_provider", messages.c.inbox_id, messages.c.provider_id)

attachments = sa.Table(
    "attachments",
    metadata,
    _pk(),
    _fk("inbox_id", "inboxes.id"),
    _fk("message_id", "messages.id", nullable=True, ondelete="CASCADE"),
    sa.Column("filename", sa.String(500), nullable=False),
    sa.Column("content_type", sa.String(200), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("content_id", sa.String(500), nullable=True),  # for inline images (cid:)
    sa.Column("data", sa.LargeBinary, nullable=False),
    _created(),
)

events = sa.Table(
    "events",
    metadata,
    _pk(),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("inbox_id", Id, nullable=True),
    sa.Column("conversation_id", Id, nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
    _created(),
    sa.Column("published", sa.Boolean, nullable=False, default=False, index=True),
)

outbox = sa.Table(
    "outbox",
    metadata,
    _pk(),
    _fk("message_id", "messages.id", ondelete="CASCADE"),
    _fk("inbox_id", "inboxes.id"),
    sa.Column("state", sa.String(16), nullable=False),  # queued | done | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    sa.UniqueConstraint("message_id", name="uq_outbox_message"),
)

response_cycles = sa.Table(
    "response_cycles",
    metadata,
    _pk(),
    _fk("conversation_id", "conversations.id", ondelete="CASCADE"),
    _fk("inbox_id", "inboxes.id"),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False, index=True),
    sa.Column("start_message_id", Id, nullable=True),
    sa.Column("responded_at", UTCDateTime, nullable=True),
    sa.Column("response_message_id", Id, nullable=True),
    sa.Column("responder_id", Id, nullable=True),
    sa.Column("team_id", Id, nullable=True),
    sa.Column("wall_seconds", sa.Float, nullable=True),
    sa.Column("business_seconds", sa.Float, nullable=True),
    sa.Column("ended_unanswered_at", UTCDateTime, nullable=True),
    sa.Column("resolved_at", UTCDateTime, nullable=True, index=True),  # the resolve that closed it
    sa.Column("resolution_seconds", sa.Float, nullable=True),
    sa.Column("calendar_id", Id, nullable=True),  # calendars.id it was measured under
    sa.Column("observed_at", UTCDateTime, nullable=True),  # counted in /metrics (once)
    sa.Column("target_seconds", sa.Float, nullable=True),  # FRT target in force (SLA)
    sa.UniqueConstraint("conversation_id", "idx", name="uq_cycles_conversation_idx"),
)

calendars = sa.Table(  # every business-hours calendar an inbox had (docs/frt.md)
    "calendars",
    metadata,
    _pk(),
    _fk("inbox_id", "inboxes.id", ondelete="CASCADE"),
    sa.Column("digest", sa.String(64), nullable=False),  # sha256 of the canonical JSON
    sa.Column("business_hours", sa.JSON, nullable=True),  # null: 24/7
    _created(),
)
sa.Index("ix_calendars_inbox_digest", calendars.c.inbox_id, calendars.c.digest)

response_waits = sa.Table(  # next-response waits (NRT), one row per wait (docs/frt.md)
    "response_waits",
    metadata,
    _pk(),
    _fk("conversation_id", "conversations.id", ondelete="CASCADE"),
    _fk("inbox_id", "inboxes.id"),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("segment_idx", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False, index=True),
    sa.Column("start_message_id", Id, nullable=True),
    sa.Column("responded_at", UTCDateTime, nullable=True),
    sa.Column("response_message_id", Id, nullable=True),
    sa.Column("responder_id", Id, nullable=True),
    sa.Column("team_id", Id, nullable=True),
    sa.Column("wall_seconds", sa.Float, nullable=True),
    sa.Column("business_seconds", sa.Float, nullable=True),
    sa.Column("ended_unanswered_at", UTCDateTime, nullable=True),
    sa.Column("calendar_id", Id, nullable=True),
    sa.UniqueConstraint("conversation_id", "idx", name="uq_waits_conversation_idx"),
)

canned_responses = sa.Table(
    "canned_responses",
    metadata,
    _pk(),
    sa.Column("short_code", sa.String(100), nullable=False, unique=True),
    sa.Column("content", sa.Text, nullable=False),
    _created(),
)

visitor_sessions = sa.Table(
    "visitor_sessions",
    metadata,
    _pk(),
    _fk("inbox_id", "inboxes.id", ondelete="CASCADE"),
    _fk("contact_id", "contacts.id"),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("verified_identifier", sa.String(500), nullable=True),
    _created(),
    sa.Column("last_seen_at", UTCDateTime, nullable=True),
)

# Accounts (docs/accounts.md) --------------------------------------------------------------

account_links = sa.Table(  # invite and password-reset links: single use, expiring, hashed
    "account_links",
    metadata,
    _pk(),
    _fk("user_id", "users.id", ondelete="CASCADE"),
    sa.Column("purpose", sa.String(16), nullable=False),  # invite | reset
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    _created(),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
)

recovery_codes = sa.Table(  # two-factor recovery codes: one use each, stored hashed
    "recovery_codes",
    metadata,
    _pk(),
    _fk("user_id", "users.id", ondelete="CASCADE"),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("used_at", UTCDateTime, nullable=True),
)

audit_log = sa.Table(  # append-only: written by server/actions/audit.py, never updated
    "audit_log",
    metadata,
    _pk(),
    sa.Column("at", UTCDateTime, nullable=False, index=True),
    sa.Column("actor_id", Id, nullable=True),  # no FK: the record outlives the account
    sa.Column("actor_name", sa.String(200), nullable=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=True),
    sa.Column("target_id", sa.String(64), nullable=True),
    sa.Column("address", sa.String(64), nullable=True),
    sa.Column("details", sa.JSON, nullable=False, default=dict),  # never a secret value
)

workspace_settings = sa.Table(  # workspace-wide switches (e.g. two-factor required)
    "workspace_settings",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.JSON, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
)

account_mail = sa.Table(  # durable outbox for account emails (invites, resets)
    "account_mail",
    metadata,
    _pk(),
    sa.Column("to_address", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # queued | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    _created(),
    sa.Column("sent_at", UTCDateTime, nullable=True),
)

# Routing and automation (issue 15, docs/automation.md) ---------------------------------

inbox_routing = sa.Table(
    "inbox_routing",
    metadata,
    _fk("inbox_id", "inboxes.id", ondelete="CASCADE"),
    sa.Column("policy", sa.String(16), nullable=False, default="off"),  # off|round_robin|...
    sa.Column("last_user_id", Id, nullable=True),  # round-robin cursor
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    sa.PrimaryKeyConstraint("inbox_id", name="pk_inbox_routing"),
)

agent_capacity = sa.Table(
    "agent_capacity",
    metadata,
    _fk("user_id", "users.id", ondelete="CASCADE"),
    sa.Column("max_open", sa.Integer, nullable=True),  # global limit; null: none
    sa.Column("inbox_limits", sa.JSON, nullable=False, default=dict),  # {"<inbox id>": n}
    sa.PrimaryKeyConstraint("user_id", name="pk_agent_capacity"),
)

automation_rules = sa.Table(
    "automation_rules",
    metadata,
    _pk(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("trigger", sa.String(40), nullable=False, index=True),
    sa.Column("params", sa.JSON, nullable=False, default=dict),  # e.g. {"minutes": 30}
    sa.Column("conditions", sa.JSON, nullable=False, default=list),
    sa.Column("actions", sa.JSON, nullable=False, default=list),
    sa.Column("is_active", sa.Boolean, nullable=False, default=True),
    _fk("created_by", "users.id", nullable=True, ondelete="SET NULL"),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
)

rule_runs = sa.Table(
    "rule_runs",
    metadata,
    _pk(),
    _fk("rule_id", "automation_rules.id", ondelete="CASCADE"),
    _fk("conversation_id", "conversations.id", ondelete="CASCADE"),
    sa.Column("trigger", sa.String(40), nullable=False),
    sa.Column("once_key", sa.String(200), nullable=True),  # timer triggers fire once per key
    sa.Column("status", sa.String(16), nullable=False),  # ok | failed | stopped
    sa.Column("results", sa.JSON, nullable=False, default=list),
    _created(),
    sa.UniqueConstraint("rule_id", "conversation_id", "once_key", name="uq_rule_runs_once"),
)

notifications = sa.Table(
    "notifications",
    metadata,
    _pk(),
    _fk("user_id", "users.id", ondelete="CASCADE"),
    sa.Column("kind", sa.String(40), nullable=False),
    _fk("conversation_id", "conversations.id", nullable=True, ondelete="CASCADE"),
    sa.Column("inbox_id", Id, nullable=True),
    sa.Column("text", sa.String(1000), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False, default=dict),
    sa.Column("read_at", UTCDateTime, nullable=True),
    sa.Column("once_key", sa.String(200), nullable=True),  # alerts every node sees: once
    _created(),
    sa.UniqueConstraint("user_id", "once_key", name="uq_notifications_once"),
)
sa.Index("ix_notifications_user", notifications.c.user_id, notifications.c.id)

notification_prefs = sa.Table(
    "notification_prefs",
    metadata,
    _fk("user_id", "users.id", ondelete="CASCADE"),
    sa.Column("prefs", sa.JSON, nullable=False, default=dict),  # {kind: {"app": bool, ...}}
    sa.PrimaryKeyConstraint("user_id", name="pk_notification_prefs"),
)

macros = sa.Table(
    "macros",
    metadata,
    _pk(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("actions", sa.JSON, nullable=False, default=list),
    sa.Column("visibility", sa.String(16), nullable=False),  # shared | personal
    _fk("owner_id", "users.id", ondelete="CASCADE"),
    _created(),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
)

rule_webhooks = sa.Table(  # durable outbox of rules' signed webhooks
    "rule_webhooks",
    metadata,
    _pk(),
    _fk("rule_id", "automation_rules.id", ondelete="CASCADE"),
    _fk("conversation_id", "conversations.id", nullable=True, ondelete="CASCADE"),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the exact JSON bytes that are signed
    sa.Column("state", sa.String(16), nullable=False),  # queued | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    _created(),
    sa.Column("sent_at", UTCDateTime, nullable=True),
)

agent_signatures = sa.Table(  # an agent's own email signature (server/actions/signatures.py)
    "agent_signatures",
    metadata,
    _fk("user_id", "users.id", ondelete="CASCADE"),
    sa.Column("signature", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow),
    sa.PrimaryKeyConstraint("user_id", name="pk_agent_signatures"),
)
