"""Graph API error classification (pure): retry (transient) or surface (permanent).

Codes from Meta's error reference: 1/2 unknown/service, 4/17/32/613 and 80007 rate limits,
130429/131048/131056 WhatsApp throughput limits, 131000 WhatsApp "something went wrong"
are worth retrying. Everything else in a 4xx (100 invalid parameter, 190 expired token,
551 person unavailable, 10/2018278 and 131047 outside the reply window) will fail the same
way again, so it is shown to the agent at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, 80007, 130429, 131000, 131048, 131056})
WINDOW_CODES = frozenset({131047})  # WhatsApp: more than 24 h since the customer wrote
WINDOW_SUBCODES = frozenset({2018278, 2534022})  # Messenger/Instagram: outside allowed window


@dataclass(frozen=True)
class GraphFailure:
    transient: bool
    reason: str
    code: str | None


def classify(http_status: int, body: Any) -> GraphFailure:
    """Turn a non-2xx Graph answer into a failure with an agent-readable reason."""
    err = body.get("error", {}) if isinstance(body, dict) else {}
    err = err if isinstance(err, dict) else {}
    code = _int(err.get("code"))
    subcode = _int(err.get("error_subcode"))
    message = str(err.get("message") or f"HTTP {http_status}")[:300]
    label = str(code) if code is not None else str(http_status)
    if code in WINDOW_CODES or subcode in WINDOW_SUBCODES:
        return GraphFailure(False, f"reply window closed ({label}): {message}", label)
    transient = http_status == 429 or http_status >= 500 or code in TRANSIENT_CODES
    return GraphFailure(transient, f"Graph API error {label}: {message}", label)


def status_error(errors: Any) -> str | None:
    """A WhatsApp ``statuses[].errors`` list as one line: ``131026: Message undeliverable``."""
    if not isinstance(errors, list) or not errors:
        return None
    first = errors[0] if isinstance(errors[0], dict) else {}
    details = (
        (first.get("error_data") or {}).get("details")
        if isinstance(first.get("error_data"), dict)
        else None
    )
    text = first.get("title") or first.get("message") or "failed"
    line = f"{first.get('code', '?')}: {text}"
    return f"{line} ({details})"[:500] if details else line[:500]


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
