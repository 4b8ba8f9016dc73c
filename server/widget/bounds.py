"""What one anonymous visitor can make the server store or send, bounded (pure).

Every widget endpoint is reachable without a login, so each is capped in size, count and
rate (docs/security.md). The numbers are generous for a real host page (a plan name, a
cart value, a dozen ids) and small enough that a visitor script looping on them costs
the server nothing worth having: 50 keys of at most 1 KiB each, 16 KiB in all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from server.exceptions import InvalidInput, TooLarge

MAX_ATTRIBUTES = 50  # keys on one contact set by the host page
MAX_KEY_CHARS = 100
MAX_VALUE_CHARS = 1_000  # a string value; numbers and booleans are small by nature
MAX_TOTAL_BYTES = 16_384  # the whole set as JSON, as it is stored and shown


def check_entries(incoming: Mapping[str, Any]) -> None:
    """Each key and value within its own limit (422 naming the first that is not)."""
    for key, value in incoming.items():
        if not key.strip() or len(key) > MAX_KEY_CHARS:
            raise InvalidInput(
                f"attributes: a name must be 1 to {MAX_KEY_CHARS} characters, got {len(key)}",
                details=[{"field": f"attributes.{key[:40]}", "message": "bad name length"}],
            )
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            raise InvalidInput(
                f"attributes.{key}: longer than {MAX_VALUE_CHARS} characters",
                details=[{"field": f"attributes.{key}", "message": "value too long"}],
            )


def merge(
    current: Mapping[str, Any], incoming: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the merged set, only the entries that changed); 413 when the set grows too big."""
    check_entries(incoming)
    changed = {k: v for k, v in incoming.items() if k not in current or current[k] != v}
    if not changed:  # a page re-sending what it sent before: nothing to store or send
        return dict(current), {}
    merged = {**current, **changed}
    if len(merged) > MAX_ATTRIBUTES:
        raise TooLarge(
            f"attributes: at most {MAX_ATTRIBUTES} per visitor, this would make {len(merged)}"
        )
    size = len(json.dumps(merged, ensure_ascii=False).encode())
    if size > MAX_TOTAL_BYTES:
        raise TooLarge(
            f"attributes: at most {MAX_TOTAL_BYTES} bytes in all, this would make {size}"
        )
    return merged, changed
