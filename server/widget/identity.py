"""Identity verification for widget visitors (pure).

The host site signs its logged-in user's id on its own server::

    signature = hex(HMAC-SHA256(hmac_secret, "<user_id>:<timestamp>"))

and passes ``user_id``, ``timestamp`` (unix seconds) and ``signature`` to
``Switchboard.setUser``. The timestamp bounds replay of a leaked signature to
``MAX_SKEW`` seconds either side of our clock.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

MAX_SKEW = 600  # 10 min: covers client clock drift and a slow page load, limits replay


class Verdict(StrEnum):
    VERIFIED = "verified"
    ANONYMOUS = "anonymous"  # no identity given


@dataclass(frozen=True)
class IdentityClaim:
    user_id: str
    timestamp: int
    signature: str


class IdentityRefused(Exception):
    """The claim is forged, expired, or verification is required and none was given."""


def sign(secret: str, user_id: str, timestamp: int) -> str:
    message = f"{user_id}:{timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(mode: str, secret: str | None, claim: IdentityClaim | None, now: float) -> Verdict:
    """Decide a visitor's identity; raise IdentityRefused with the reason."""
    if claim is None:
        if mode == "required":
            raise IdentityRefused("this chat needs a verified user: call Switchboard.setUser")
        return Verdict.ANONYMOUS
    if mode == "off" or not secret:
        raise IdentityRefused("identity verification is not enabled for this inbox")
    if abs(now - claim.timestamp) > MAX_SKEW:
        raise IdentityRefused(f"timestamp is more than {MAX_SKEW} s away from server time")
    expected = sign(secret, claim.user_id, claim.timestamp)
    if not hmac.compare_digest(expected, claim.signature.lower()):
        raise IdentityRefused("signature does not match user_id and timestamp")
    return Verdict.VERIFIED
