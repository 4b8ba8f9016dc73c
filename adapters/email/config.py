"""The email inbox configuration: validated once, typed everywhere after. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from adapters.base import ConfigInvalid
from adapters.email.compose import valid_address
from adapters.email.signature import check_signature

IMAP_SECURITY = ("ssl", "starttls", "none")  # STARTTLS: adapters/email/tls.py
SMTP_SECURITY = ("ssl", "starttls", "none")
DEFAULT_PORTS = {
    ("imap", "ssl"): 993,
    ("imap", "starttls"): 143,
    ("imap", "none"): 143,
    ("smtp", "ssl"): 465,
    ("smtp", "starttls"): 587,
    ("smtp", "none"): 25,
}
IDLE_LIMIT = 29 * 60  # RFC 2177: servers may drop an IDLE after 30 minutes

_FIELDS = {
    "address",
    "from_name",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "imap_password",
    "imap_mailbox",
    "imap_start",
    "imap_idle_seconds",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "smtp_password",
    "timeout",
    "max_message_bytes",
    "validate_certs",
    "tls_trusted_fingerprint",
    "signature",
    "inbound_smtp_host",
    "inbound_smtp_port",
    *("auth_method", "oauth2_client_id", "oauth2_client_secret", "oauth2_token_url"),
    *("oauth2_scope", "oauth2_refresh_token"),
}
AUTH_METHODS = ("password", "oauth2")  # oauth2: XOAUTH2 for IMAP and SMTP (oauth2.py)
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class EmailConfig:
    address: str
    from_name: str = ""
    imap_host: str = ""
    imap_port: int = 993
    imap_security: str = "ssl"
    imap_username: str = ""
    imap_password: str = ""
    imap_mailbox: str = "INBOX"
    imap_start: str = "all"  # first start: "all" backfills the mailbox, "new" skips old mail
    imap_idle_seconds: float = 300.0  # re-IDLE every 5 min: under NAT timeouts and 29 min
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    timeout: float = 30.0
    max_message_bytes: int = 25 * 1_048_576  # the common mail-server size limit
    validate_certs: bool = True
    tls_trusted_fingerprint: str = ""  # SHA-256 hex of the one certificate trusted (tls.py)
    signature: str = ""  # under every email reply, with variables (signature.py)
    inbound_smtp_host: str = "127.0.0.1"  # the optional SMTP endpoint (an MTA delivers here)
    inbound_smtp_port: int = 0  # 0: no SMTP endpoint
    auth_method: str = "password"
    oauth2_client_id: str = ""
    oauth2_client_secret: str = ""
    oauth2_token_url: str = ""
    oauth2_scope: str = ""
    oauth2_refresh_token: str = ""

    @property
    def watches(self) -> bool:
        return bool(self.imap_host)


def _choice(config: Mapping[str, Any], key: str, options: tuple[str, ...], default: str) -> str:
    value = str(config.get(key) or default).lower()
    if value not in options:
        raise ConfigInvalid(f"{key}: expected one of {', '.join(options)}, got {value!r}")
    return value


def _number(config: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    raw = config.get(key)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigInvalid(f"{key}: expected a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigInvalid(f"{key}: expected {low:g}..{high:g}, got {value:g}")
    return value


def _host(config: Mapping[str, Any], key: str) -> str:
    value = str(config.get(key) or "").strip()
    if any(ch.isspace() or ch in "/@:" for ch in value):
        raise ConfigInvalid(f"{key}: expected a host name or IP address, got {value!r}")
    return value


def _fingerprint(config: Mapping[str, Any]) -> str:
    raw = str(config.get("tls_trusted_fingerprint") or "")
    value = "".join(raw.split()).replace(":", "").lower()
    if value and (len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value)):
        raise ConfigInvalid(
            f"tls_trusted_fingerprint: expected a SHA-256 fingerprint (64 hex digits), got {raw!r}"
        )
    return value


def parse_config(config: Mapping[str, Any]) -> EmailConfig:
    unknown = set(config) - _FIELDS
    if unknown:
        raise ConfigInvalid(f"unknown field(s): {', '.join(sorted(unknown))}")
    address = str(config.get("address") or "").strip().lower()
    if not valid_address(address):
        raise ConfigInvalid(f"address: expected the inbox's email address, got {address!r}")
    imap_sec = _choice(config, "imap_security", IMAP_SECURITY, "ssl")
    smtp_sec = _choice(config, "smtp_security", SMTP_SECURITY, "starttls")
    return EmailConfig(
        address=address,
        from_name=str(config.get("from_name") or "").strip(),
        imap_host=_host(config, "imap_host"),
        imap_port=int(_number(config, "imap_port", DEFAULT_PORTS["imap", imap_sec], 1, 65535)),
        imap_security=imap_sec,
        imap_username=str(config.get("imap_username") or address),
        imap_password=str(config.get("imap_password") or ""),
        imap_mailbox=str(config.get("imap_mailbox") or "INBOX"),
        imap_start=_choice(config, "imap_start", ("all", "new"), "all"),
        imap_idle_seconds=_number(config, "imap_idle_seconds", 300.0, 1, IDLE_LIMIT),
        smtp_host=_host(config, "smtp_host"),
        smtp_port=int(_number(config, "smtp_port", DEFAULT_PORTS["smtp", smtp_sec], 1, 65535)),
        smtp_security=smtp_sec,
        smtp_username=str(config.get("smtp_username") or ""),
        smtp_password=str(config.get("smtp_password") or ""),
        timeout=_number(config, "timeout", 30.0, 1, 300),
        max_message_bytes=int(_number(config, "max_message_bytes", 25 * 1_048_576, 1024, 1 << 31)),
        validate_certs=bool(config.get("validate_certs", True)),
        tls_trusted_fingerprint=_fingerprint(config),
        signature=check_signature(str(config.get("signature") or "")),
        inbound_smtp_host=_host(config, "inbound_smtp_host") or "127.0.0.1",
        inbound_smtp_port=int(_number(config, "inbound_smtp_port", 0, 0, 65535)),
        **_oauth2(config),
    )


def _oauth2(config: Mapping[str, Any]) -> dict[str, str]:
    fields = ("oauth2_client_id", "oauth2_client_secret", "oauth2_scope", "oauth2_refresh_token")
    found = {k: str(config.get(k) or "").strip() for k in fields}
    return {
        "auth_method": _choice(config, "auth_method", AUTH_METHODS, "password"),
        "oauth2_token_url": _token_url(config),
        **found,
    }


def _token_url(config: Mapping[str, Any]) -> str:
    """HTTPS; plain HTTP only to this machine (a local test or a sidecar token service)."""
    value = str(config.get("oauth2_token_url") or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    local = parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK
    if not (parts.scheme == "https" or local) or not parts.hostname:
        raise ConfigInvalid(
            "oauth2_token_url: expected the provider's https:// token endpoint, "
            f"e.g. https://oauth2.googleapis.com/token, got {value!r}"
        )
    return value


def _check_oauth2(parsed: EmailConfig) -> None:
    if parsed.auth_method != "oauth2":
        return
    for key in ("oauth2_client_id", "oauth2_token_url", "oauth2_refresh_token"):
        if not getattr(parsed, key):
            raise ConfigInvalid(f"{key}: required when auth_method is oauth2")


def normalise(config: Mapping[str, Any]) -> dict[str, Any]:
    """What the admin API stores: the given fields, checked (defaults stay implicit)."""
    parsed = parse_config(config)
    if "imap_mailbox" in config and any(c in parsed.imap_mailbox for c in '\r\n"\\'):
        raise ConfigInvalid("imap_mailbox: must not contain quotes, backslashes or newlines")
    _check_oauth2(parsed)
    if parsed.imap_host and not parsed.imap_password and parsed.auth_method == "password":
        raise ConfigInvalid("imap_password: required when imap_host is set")
    return {k: v for k, v in config.items() if v is not None}
