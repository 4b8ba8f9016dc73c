"""Online/offline for the widget header (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from server.domain.calendar import BusinessHours, is_open, next_open


def availability(
    hours_json: Mapping[str, Any] | None, agents_online: bool | None, reply_time: str, now: datetime
) -> dict[str, Any]:
    """``agents_online`` None means presence is unknown: business hours alone decide."""
    hours = BusinessHours.from_json(dict(hours_json)) if hours_json else BusinessHours.always()
    open_now = is_open(hours, now)
    online = open_now and agents_online is not False
    reopens = None if open_now else next_open(hours, now)
    return {
        "online": online,
        "within_business_hours": open_now,
        "agents_online": agents_online,
        "reply_time": reply_time if online else "We'll reply by email or when you return",
        "next_open_at": reopens.isoformat().replace("+00:00", "Z") if reopens else None,
    }
