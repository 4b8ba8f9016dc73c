"""Rows to JSON-ready dicts: the one shape of each entity on REST and WebSocket."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def conversation(row: Any, *, channel: str | None = None, contact: Any = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.id,
        "inbox_id": row.inbox_id,
        "contact_id": row.contact_id,
        "status": row.status,
        "assignee_id": row.assignee_id,
        "team_id": row.team_id,
        "priority": row.priority,
        "labels": list(row.labels or []),
        "subject": row.subject,
        "snoozed_until": _iso(row.snoozed_until),
        "waiting_since": _iso(row.waiting_since),
        "first_response_at": _iso(row.first_response_at),
        "first_response_message_id": row.first_response_message_id,
        "first_responder_id": row.first_responder_id,
        "frt_seconds": row.frt_seconds,
        "frt_business_seconds": row.frt_business_seconds,
        "sla_due_at": _iso(row.sla_due_at),
        "sla_breached_at": _iso(row.sla_breached_at),
        "sla_warn_at": _iso(getattr(row, "sla_warn_at", None)),
        "nrt_due_at": _iso(getattr(row, "nrt_due_at", None)),
        "nrt_warn_at": _iso(getattr(row, "nrt_warn_at", None)),
        "nrt_breached_at": _iso(getattr(row, "nrt_breached_at", None)),
        "reply_window_closes_at": _iso(row.reply_window_closes_at),
        "last_message_at": _iso(row.last_message_at),
        "resolved_at": _iso(row.resolved_at),
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
        "version": row.version,
    }
    if channel is not None:
        data["channel"] = channel
    if contact is not None:
        data["contact"] = contact_brief(contact)
    return data


def contact_brief(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "email": row.email, "avatar_url": row.avatar_url}


def contact(row: Any, identities: list[Any] | None = None) -> dict[str, Any]:
    data = {
        **contact_brief(row),
        "phone": row.phone,
        "attributes": dict(row.attributes or {}),
        "merged_into_id": row.merged_into_id,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }
    if identities is not None:
        data["identities"] = [
            {
                "channel": i.channel,
                "scope": i.scope,
                "external_id": i.external_id,
                "verified": i.verified,
            }
            for i in identities
        ]
    return data


def message(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "inbox_id": row.inbox_id,
        "direction": row.direction,
        "kind": row.kind,
        "private": row.kind == "note",
        "sender_type": row.sender_type,
        "sender_id": row.sender_id,
        "is_auto": row.is_auto,
        "text": row.text,
        "html": row.html,
        "attachments": list(row.attachments or []),
        "status": row.status,
        "error": row.error,
        "client_id": row.client_id,
        "content_attributes": dict(row.content_attributes or {}),
        "sent_at": _iso(row.sent_at),
        "created_at": _iso(row.created_at),
        "version": row.version,
    }


def public_message(row: Any) -> dict[str, Any]:
    """What a customer may see of a message (never notes, never internal fields)."""
    if row.kind != "message":
        raise ValueError("only public messages have a customer-facing shape")
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "direction": row.direction,
        "sender_type": row.sender_type,
        "text": row.text,
        "attachments": list(row.attachments or []),
        "status": row.status,
        "client_id": row.client_id,
        "sent_at": _iso(row.sent_at),
    }


def user(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "email": row.email,
        "name": row.name,
        "role": row.role,
        "is_bot": row.is_bot,
        "is_active": row.is_active,
        "avatar_url": row.avatar_url,
        # docs/accounts.md: an invited agent has no password until it accepts the invite
        "pending_invite": row.password_hash is None and not row.is_bot,
        "two_factor": getattr(row, "totp_enabled_at", None) is not None,
    }


def inbox(
    row: Any, secret_fields: tuple[str, ...] = (), stored_secrets: set[str] | None = None
) -> dict[str, Any]:
    """Secrets are write-only: only whether each is set is shown back."""
    stored = stored_secrets or set()
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "public_key": row.public_key,
        "config": dict(row.config or {}),
        "secrets_set": {name: name in stored for name in secret_fields},
        "business_hours": row.business_hours,
        "frt_targets": row.frt_targets,
        "nrt_targets": getattr(row, "nrt_targets", None),
        "is_active": row.is_active,
        "created_at": _iso(row.created_at),
    }
