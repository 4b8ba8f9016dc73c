"""Configuration from SWITCHBOARD_* environment variables.

Every setting has a safe default except where noted; an invalid value stops start-up with
a ConfigError naming the variable. The README's configuration table documents each one.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from server.exceptions import ConfigError

PREFIX = "SWITCHBOARD_"


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true/false, got {raw!r}")


def _mail_url(raw: str) -> str:
    if raw and not raw.startswith(("smtp://", "smtps://", "smtp+plain://")):
        raise ValueError("expected an smtp://, smtps:// or smtp+plain:// URL")
    return raw


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(f"expected a positive integer, got {raw!r}")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise ValueError(f"expected a positive number, got {raw!r}")
    return value


def _database_url(raw: str) -> str:
    if raw.startswith(("sqlite://", "sqlite+aiosqlite://")):
        return raw
    if raw.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
        return raw
    raise ValueError(f"expected a sqlite:// or postgresql:// URL, got {raw.split(':')[0]}://…")


def _redis_url(raw: str) -> str:
    if raw and not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("expected a redis://, rediss:// or unix:// URL")
    return raw


def _secret_key(raw: str) -> str:
    if raw and len(raw) < 32:
        raise ValueError("must be at least 32 characters (generate one with `switchboard keygen`)")
    return raw


def _log_format(raw: str) -> str:
    if raw not in ("text", "json"):
        raise ValueError(f"expected 'text' or 'json', got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    """All settings. Field name ``x_y`` is read from ``SWITCHBOARD_X_Y``."""

    data_dir: Path = Path("data")
    database_url: str = ""  # default: sqlite file in data_dir
    redis_url: str = ""  # empty: in-process bus (single process)
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # external base URL used in webhook registration and embed snippets
    secret_key: str = ""  # default: generated once into data_dir/secret.key
    log_format: str = "text"
    log_level: str = "INFO"
    access_log: bool = False  # one line per HTTP request; costs ~10% of request throughput
    max_body_bytes: int = 1_048_576  # JSON API bodies; 1 MiB is far above any legitimate request
    max_attachment_bytes: int = 25 * 1_048_576  # 25 MiB: the common mail-server limit
    ws_max_frame_bytes: int = 65_536
    ws_queue_size: int = 1_000  # per-socket outbound queue before the overflow policy applies
    ws_ping_interval: float = 25.0  # below the common 30 s proxy idle timeout
    ws_ping_timeout: float = 20.0
    ws_compression: bool = False  # per-message deflate costs ~3x memory per socket
    event_history: int = 100_000  # events kept for resume before clients must resync
    outbox_poll_interval: float = 1.0
    outbox_max_attempts: int = 10
    session_days: int = 14
    allow_private_urls: bool = False  # outbound fetches to private/loopback addresses
    telegram_api_base: str = "https://api.telegram.org"
    meta_graph_base: str = "https://graph.facebook.com/v21.0"
    node_id: str = ""  # default: hostname-pid
    run_workers: bool = True  # outbox, timers and channel watchers in this process
    create_admin_email: str = "admin@localhost"
    # Account emails (invites, password resets; docs/accounts.md). Empty: no account mail,
    # invite links are shown to the admin instead.
    mail_url: str = ""  # smtp://user:pass@host:587 (STARTTLS), smtps://… (TLS), smtp+plain://…
    mail_from: str = ""  # the From address of account emails
    notify_email_minutes: float = 10.0  # notification e-mail digests (docs/automation.md)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'switchboard.db').resolve()}"


_PARSERS: dict[str, Callable[[str], Any]] = {
    "data_dir": Path,
    "database_url": _database_url,
    "redis_url": _redis_url,
    "port": _positive_int,
    "secret_key": _secret_key,
    "log_format": _log_format,
    "max_body_bytes": _positive_int,
    "max_attachment_bytes": _positive_int,
    "ws_max_frame_bytes": _positive_int,
    "ws_queue_size": _positive_int,
    "ws_ping_interval": _positive_float,
    "ws_ping_timeout": _positive_float,
    "ws_compression": _bool,
    "access_log": _bool,
    "event_history": _positive_int,
    "outbox_poll_interval": _positive_float,
    "outbox_max_attempts": _positive_int,
    "session_days": _positive_int,
    "allow_private_urls": _bool,
    "run_workers": _bool,
    "mail_url": _mail_url,
    "notify_email_minutes": _positive_float,
}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read settings from the environment; raise ConfigError naming a bad variable."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in fields(Settings):
        name = PREFIX + f.name.upper()
        if name not in env:
            continue
        parser = _PARSERS.get(f.name, str)
        try:
            values[f.name] = parser(env[name])
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    values.update(overrides)
    return Settings(**values)


def ensure_secret_key(settings: Settings) -> bytes:
    """The key that encrypts channel secrets at rest.

    Taken from SWITCHBOARD_SECRET_KEY, else generated once into data_dir/secret.key
    (mode 0600) so a single-node install works with no setup and survives restarts.
    """
    if settings.secret_key:
        return settings.secret_key.encode()
    path = settings.data_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(os.urandom(32))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


__all__ = ["Settings", "ensure_secret_key", "load_settings"]
