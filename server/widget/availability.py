"""Online/offline for the widget header (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from server.domain.calendar import BusinessHours, is_open, next_open


def emails_missed_replies(config: Mapping[str, Any]) -> bool:
    """Whether an agent reply the visitor missed will be emailed: continuity switched on *and*
    pointed at an email inbox (server/widget/continuity.py sends nothing otherwise)."""
    rules = config.get("email_continuity") or {}
    return bool(rules.get("enabled", True)) and rules.get("email_inbox_id") is not None


def offline_text(emails_replies: bool, offline_message: str = "") -> str:
    """What the widget promises while nobody is available: only what will happen."""
    if offline_message:
        return offline_message
    if emails_replies:
        return "We'll reply here, or by email if you leave your address"
    return "Leave a message and we'll reply here when we're back"


def availability(
    hours_json: Mapping[str, Any] | None,
    agents_online: bool | None,
    reply_time: str,
    now: datetime,
    *,
    offline: str | None = None,
) -> dict[str, Any]:
    """``agents_online`` None means presence is unknown: business hours alone decide.
    ``offline`` is the header text while nobody is available (see offline_text)."""
    hours = BusinessHours.from_json(dict(hours_json)) if hours_json else BusinessHours.always()
    open_now = is_open(hours, now)
    online = open_now and agents_online is not False
    reopens = None if open_now else next_open(hours, now)
    return {
        "online": online,
        "within_business_hours": open_now,
        "agents_online": agents_online,
        "reply_time": reply_time if online else (offline or offline_text(False)),
        "next_open_at": reopens.isoformat().replace("+00:00", "Z") if reopens else None,
    }
