"""Identity verification for widget visitors (pure).

The host site signs its logged-in user's id on its own server::

    signature = hex(HMAC-SHA256(hmac_secret, "<user_id>:<timestamp>"))

and passes ``user_id``, ``timestamp`` (unix seconds) and ``signature`` to
``Switchboard.setUser``. The timestamp bounds replay of a leaked signature to
``MAX_SKEW`` seconds either side of our clock.

Or it passes a JWT signed with the same secret (HS256 only — the algorithm is fixed
here, never taken from the token, so "alg: none" and key-confusion tricks fail), with
``sub`` = the user id and ``exp`` no more than ``MAX_JWT_LIFETIME`` ahead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from enum import StrEnum

MAX_SKEW = 600  # 10 min: covers client clock drift and a slow page load, limits replay
MAX_JWT_LIFETIME = 86_400  # a day: a leaked token is useless after that, whatever exp says


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


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _jwt_json(part: str, what: str) -> dict[str, object]:
    try:
        value = json.loads(_b64url(part))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: nested too deep
        raise IdentityRefused(f"token {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise IdentityRefused(f"token {what} is not a JSON object")
    return value


def verify_jwt(mode: str, secret: str | None, token: str, now: float) -> str:
    """Check an HS256 JWT; return its ``sub`` (the user id) or raise IdentityRefused."""
    if mode == "off" or not secret:
        raise IdentityRefused("identity verification is not enabled for this inbox")
    parts = token.split(".")
    if len(parts) != 3:
        raise IdentityRefused("token is not a JWT (expected header.payload.signature)")
    header, claims = _jwt_json(parts[0], "header"), _jwt_json(parts[1], "payload")
    if header.get("alg") != "HS256":
        raise IdentityRefused(f"token algorithm must be HS256, got {header.get('alg')!r}")
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        given = _b64url(parts[2])
    except (binascii.Error, ValueError):
        raise IdentityRefused("token signature is not base64url") from None
    if not hmac.compare_digest(expected, given):
        raise IdentityRefused("token signature does not match")
    return _checked_sub(claims, now)


def _checked_sub(claims: dict[str, object], now: float) -> str:
    exp, sub = claims.get("exp"), claims.get("sub")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise IdentityRefused("token needs a numeric exp")
    if exp < now - MAX_SKEW:
        raise IdentityRefused("token expired")
    if exp > now + MAX_JWT_LIFETIME:
        raise IdentityRefused(f"token exp is more than {MAX_JWT_LIFETIME} s ahead")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf > now + MAX_SKEW:
        raise IdentityRefused("token is not valid yet")
    if not isinstance(sub, str) or not sub or len(sub) > 200:
        raise IdentityRefused("token needs sub: the user id, 1 to 200 characters")
    return sub
