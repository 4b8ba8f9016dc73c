"""Two-factor authentication: TOTP (RFC 6238, through pyotp) and one-time recovery codes.
Pure: the caller passes the time and the last accepted time step (docs/accounts.md).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import pyotp

ISSUER = "Switchboard"
#: One step either side of now: phones whose clocks are up to 30 s off still work.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: codes are typed by hand


def new_secret() -> str:
    """A 160-bit base32 secret (RFC 4226 recommends 160 bits)."""
    return pyotp.random_base32(32)


def otpauth_uri(secret: str, account: str) -> str:
    """The otpauth:// URI an authenticator app imports (also shown as text to type in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def accepted_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step ``code`` is valid for, or None.

    A step at or before ``last_step`` is refused: each code logs in once (RFC 6238 §5.2).
    """
    if not looks_like_totp(code):
        return None
    digits = "".join(code.split())
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        if secrets.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes like ``k7pq-3mwx-ta9e`` (12 characters of a 31-letter alphabet: 59 bits)."""
    return ["-".join(_chunk() for _ in range(3)) for _ in range(count)]


def _chunk() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(4))


def recovery_hash(code: str) -> str:
    """The stored form of a recovery code: case, spaces and dashes do not matter."""
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(b"switchboard-recovery\x00" + normal.encode()).hexdigest()


def looks_like_totp(code: str) -> bool:
    digits = "".join(code.split())
    # ASCII only: str.isdigit() is also true for other scripts' digits ("١٢٣"), which
    # compare_digest cannot compare.
    return len(digits) == 6 and digits.isascii() and digits.isdigit()
