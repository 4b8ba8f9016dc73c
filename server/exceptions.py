"""Switchboard's own error tree.

    SwitchboardError
    ├── ConfigError            a SWITCHBOARD_* setting is missing or invalid (start-up stops)
    ├── NotFound               the entity does not exist *or* the caller may not see it (404)
    ├── Forbidden              authenticated, but the role does not allow the action (403)
    ├── Unauthorized           no valid session / token (401)
    │   └── TwoFactorRequired  the password was right; now the second factor
    ├── Conflict               the request contradicts current state (409)
    │   ├── IllegalState       "expected X, got Y" state-machine refusals
    │   └── StaleReply         newer messages arrived since the author last looked
    ├── InvalidInput           the body or query is malformed (422)
    ├── TooLarge               body / frame / attachment above its limit (413)
    ├── RateLimited            too many requests (429)
    └── DatabaseUnavailable    the database is down, frozen or refusing (503, Retry-After)

Third-party exceptions are mapped into this tree at the module that calls the library;
the HTTP layer maps this tree to status codes in one place (server/api/errors.py).
"""

from __future__ import annotations

from typing import Any

from adapters.base import TransientError


class SwitchboardError(Exception):
    """Base of every error Switchboard raises on purpose."""

    code = "error"
    status = 500

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(SwitchboardError):
    code = "config_error"


class NotFound(SwitchboardError):
    code = "not_found"
    status = 404


class Forbidden(SwitchboardError):
    code = "forbidden"
    status = 403


class Unauthorized(SwitchboardError):
    code = "unauthorized"
    status = 401


class Conflict(SwitchboardError):
    code = "conflict"
    status = 409


class IllegalState(Conflict):
    code = "illegal_state"


class StaleReply(Conflict):
    """A reply's author has not seen the newest messages; `details` lists them."""

    code = "stale_reply"


class InvalidInput(SwitchboardError):
    code = "invalid_input"
    status = 422


class TooLarge(SwitchboardError):
    code = "too_large"
    status = 413


class RateLimited(SwitchboardError):
    code = "rate_limited"
    status = 429


class TwoFactorRequired(Unauthorized):
    """The password was right; the account also needs its second factor (401)."""

    code = "totp_required"


RETRY_AFTER = 5  # seconds: most outages (a restart, a failover) end within a few


class DatabaseUnavailable(SwitchboardError, TransientError):
    """The database did not answer (stopped, frozen, unreachable): retry later.

    Raised by server/storage/db.py for driver and pool failures of that kind, so every
    endpoint answers 503 with Retry-After instead of a 500 or a hang. It is also the
    adapter contract's TransientError: a channel adapter whose ``ctx.ingest`` fails this
    way retries later (the IMAP cursor stays put) instead of taking the mail for a bad one.
    """

    code = "database_unavailable"
    status = 503

    def __init__(self, message: str = "the database is unavailable; retry shortly") -> None:
        super().__init__(message, details={"retry_after": RETRY_AFTER})
        # TransientError's initialiser set its own fields (code=None shadows ours)
        self.code, self.retry_after = DatabaseUnavailable.code, RETRY_AFTER
