"""Credentials out of log lines (pure): tokens in URLs, bearer headers, secrets in
``key=value`` pairs, passwords in ``scheme://user:password@host`` URLs.

A log line is kept for weeks and read by many; a session token in it is a session anyone
can take over. Every record that reaches our log handler passes through
:class:`RedactFilter` (server/logs.py), uvicorn's access log included, so a credential
that slips into a URL (``/ws?token=``, Meta's ``hub.verify_token``) is masked whatever
printed it.
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"
#: A parameter whose name says it is a credential: token, access_token, hub.verify_token,
#: password, client_secret, signature, jwt, api_key, authorization… (case-insensitive).
_PARAM = re.compile(
    r"(?i)(?P<name>[\w.\-]*(?:token|secret|passw(?:or)?d|signature|jwt|api_?key|authorization)[\w.\-]*)"
    r"(?P<sep>=|%3D)(?P<value>[^&\s\"';,]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{8,}")
#: user:password@ in a URL (a database, Redis or SMTP URL printed in an error)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]*):[^/\s@]+@")


def redact(text: str) -> str:
    """``text`` with every credential-looking value replaced by ``[redacted]``."""
    text = _PARAM.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    text = _USERINFO.sub(lambda m: f"{m[1]}:{MASK}@", text)
    return _BEARER.sub(lambda m: f"{m[1]} {MASK}", text)


class RedactFilter(logging.Filter):
    """Rewrite a record's message with credentials masked (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's own error to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
