"""Meta webhook verification (pure): the GET handshake and X-Hub-Signature-256.

Meta signs the exact bytes it sends: HMAC-SHA256 of the raw request body keyed with the
app secret, hex-encoded, prefixed ``sha256=``. Re-serialising parsed JSON would change the
bytes (escaping, spacing), so verification always runs on the raw body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

PREFIX = "sha256="


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta sends for ``body`` (also used by tests' stand-ins)."""
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of ``X-Hub-Signature-256``; no secret means nothing verifies."""
    if not app_secret or not header or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(app_secret, body).encode(), header.strip().encode())


def handshake(query: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to echo back when ``hub.mode=subscribe`` and the token matches."""
    if query.get("hub.mode") != "subscribe" or not verify_token:
        return None
    given = query.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    return query.get("hub.challenge", "")
