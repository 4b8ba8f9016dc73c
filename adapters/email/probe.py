"""The admin's "test connection": each step reported on its own, so the answer says exactly
what failed — DNS, TCP, TLS, authentication or the mailbox — for IMAP and for SMTP.
Checks after a failed step are not run (they could only fail for the same reason).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aioimaplib
import aiosmtplib

from adapters.base import ChannelError
from adapters.email.config import EmailConfig
from adapters.email.oauth2 import TokenSource
from adapters.email.sign_in import imap_sign_in, smtp_sign_in
from adapters.email.tls import (
    CertificateNotTrusted,
    check_pin,
    close_imap,
    imap_client,
    peer_fingerprint,
    tls_context,
)
from adapters.outbound_guard import refuse_private_host

Check = dict[str, Any]


def _check(name: str, ok: bool, detail: str) -> Check:
    return {"name": name, "ok": ok, "detail": detail}


def _err(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def run_checks(
    config: EmailConfig, *, allow_private: bool = False, tokens: TokenSource | None = None
) -> dict[str, Any]:
    """``allow_private``: SWITCHBOARD_ALLOW_PRIVATE_URLS; without it a host that resolves
    to a private or loopback address is refused before any connection (outbound_guard).
    ``tokens``: the inbox's OAuth2 token source when it signs in with XOAUTH2."""
    checks: list[Check] = []
    if config.imap_host:
        checks += await _imap_checks(config, allow_private, tokens)
    if config.smtp_host:
        checks += await _smtp_checks(config, allow_private, tokens)
    if not checks:
        checks.append(_check("config", False, "neither imap_host nor smtp_host is set"))
    return {"ok": all(c["ok"] for c in checks), "checks": checks}


async def _network(
    prefix: str, host: str, port: int, wait: float, allow_private: bool
) -> list[Check]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), wait)
    except (OSError, TimeoutError) as exc:
        return [_check(f"{prefix}.dns", False, f"cannot resolve {host!r}: {_err(exc)}")]
    checks = [_check(f"{prefix}.dns", True, f"{host} → {infos[0][4][0]}")]
    try:
        await asyncio.wait_for(refuse_private_host(host, allow_private), wait)
    except (ChannelError, TimeoutError) as exc:
        # No connection at all: the probe must not become an internal port scanner.
        reason = exc.reason if isinstance(exc, ChannelError) else "timed out"
        return [*checks, _check(f"{prefix}.address", False, reason)]
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), wait)
    except (OSError, TimeoutError) as exc:
        checks.append(
            _check(f"{prefix}.tcp", False, f"cannot connect to {host}:{port}: {_err(exc)}")
        )
        return checks
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    checks.append(_check(f"{prefix}.tcp", True, f"connected to {host}:{port}"))
    return checks


async def _imap_checks(
    cfg: EmailConfig, allow_private: bool, tokens: TokenSource | None
) -> list[Check]:
    checks = await _network("imap", cfg.imap_host, cfg.imap_port, cfg.timeout, allow_private)
    if not all(c["ok"] for c in checks):
        return checks
    try:
        client = await imap_client(cfg)
    except Exception as exc:  # each failure is reported, none escapes
        name = "imap.tls" if cfg.imap_security != "none" else "imap.greeting"
        return [*checks, _check(name, False, await _tls_failure(cfg, exc, _imap_seen))]
    try:
        if cfg.imap_security != "none":
            how = "STARTTLS" if cfg.imap_security == "starttls" else "TLS"
            checks.append(_check("imap.tls", True, f"{how} handshake completed"))
        return checks + await _imap_login_and_select(client, cfg, tokens)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.logout(), timeout=2)
        close_imap(client)


async def _tls_failure(
    cfg: EmailConfig, exc: BaseException, seen: Callable[[EmailConfig], Awaitable[str | None]]
) -> str:
    """The error; for an untrusted certificate also its fingerprint, so an admin can
    choose to trust exactly that certificate (``tls_trusted_fingerprint``)."""
    if not _about_the_certificate(exc):
        return _err(exc)
    try:
        found = await seen(replace(cfg, validate_certs=False, tls_trusted_fingerprint=""))
    except Exception:  # the second look failed too: the first error is the answer
        found = None
    if not found:
        return f"the server's certificate is not trusted ({_err(exc)})"
    return (
        f"the server's certificate is not trusted ({_err(exc)}). Its SHA-256 fingerprint is "
        f"{found}. If this is your own server's certificate, trust exactly this certificate "
        "by setting tls_trusted_fingerprint to that value."
    )


def _about_the_certificate(exc: BaseException | None) -> bool:
    """Also when a library wrapped the TLS error in its own (aiosmtplib does)."""
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, ssl.SSLCertVerificationError | CertificateNotTrusted):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


async def _imap_seen(cfg: EmailConfig) -> str | None:
    client = await imap_client(cfg)
    try:
        return peer_fingerprint(client.protocol.transport.get_extra_info("ssl_object"))
    finally:
        close_imap(client)


async def _imap_login_and_select(
    client: aioimaplib.IMAP4, cfg: EmailConfig, tokens: TokenSource | None
) -> list[Check]:
    try:
        login = await imap_sign_in(client, cfg, tokens)
    except ChannelError as exc:  # the OAuth2 token endpoint refused or failed
        return [_check("imap.auth", False, exc.reason)]
    except Exception as exc:
        return [_check("imap.auth", False, _err(exc))]
    if login.result != "OK":
        return [_check("imap.auth", False, f"login refused for {cfg.imap_username!r}")]
    how = " with OAuth2 (XOAUTH2)" if tokens is not None else ""
    checks = [_check("imap.auth", True, f"logged in as {cfg.imap_username}{how}")]
    quoted = '"' + cfg.imap_mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'
    try:
        selected = await client.select(quoted)
    except Exception as exc:
        return [*checks, _check("imap.mailbox", False, _err(exc))]
    if selected.result != "OK":
        return [
            *checks,
            _check("imap.mailbox", False, f"mailbox {cfg.imap_mailbox!r} cannot be selected"),
        ]
    idle = client.has_capability("IDLE")
    checks.append(_check("imap.mailbox", True, f"{cfg.imap_mailbox} selected"))
    checks.append(
        _check(
            "imap.idle",
            idle,
            "IDLE supported"
            if idle
            else "the server does not support IDLE: new mail would be late",
        )
    )
    return checks


async def _smtp_checks(
    cfg: EmailConfig, allow_private: bool, tokens: TokenSource | None
) -> list[Check]:
    checks = await _network("smtp", cfg.smtp_host, cfg.smtp_port, cfg.timeout, allow_private)
    if not all(c["ok"] for c in checks):
        return checks
    smtp = _smtp_client(cfg)
    try:
        await smtp.connect()
        if cfg.smtp_security == "ssl":
            check_pin(cfg, smtp.get_transport_info("ssl_object"))
    except Exception as exc:
        name = "smtp.tls" if cfg.smtp_security == "ssl" else "smtp.greeting"
        return [*checks, _check(name, False, await _tls_failure(cfg, exc, _smtp_seen))]
    try:
        return checks + await _smtp_session(smtp, cfg, tokens)
    finally:
        with contextlib.suppress(Exception):
            await smtp.quit()


def _smtp_client(cfg: EmailConfig) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=cfg.smtp_host,
        port=cfg.smtp_port,
        timeout=cfg.timeout,
        use_tls=cfg.smtp_security == "ssl",
        start_tls=False,
        tls_context=tls_context(cfg) if cfg.smtp_security == "ssl" else None,
    )


async def _smtp_seen(cfg: EmailConfig) -> str | None:
    smtp = _smtp_client(cfg)
    try:
        await smtp.connect()
        if cfg.smtp_security == "starttls":
            await smtp.starttls(tls_context=tls_context(cfg))
        return peer_fingerprint(smtp.get_transport_info("ssl_object"))
    finally:
        with contextlib.suppress(Exception):
            await smtp.quit()


async def _smtp_session(
    smtp: aiosmtplib.SMTP, cfg: EmailConfig, tokens: TokenSource | None
) -> list[Check]:
    checks: list[Check] = []
    if cfg.smtp_security == "starttls":
        try:
            await smtp.starttls(tls_context=tls_context(cfg))
            check_pin(cfg, smtp.get_transport_info("ssl_object"))
        except Exception as exc:
            detail = await _tls_failure(cfg, exc, _smtp_seen)
            return [_check("smtp.tls", False, f"STARTTLS failed: {detail}")]
    if cfg.smtp_security != "none":
        checks.append(_check("smtp.tls", True, "TLS established"))
    try:
        user = await smtp_sign_in(smtp, cfg, tokens)
    except ChannelError as exc:  # the OAuth2 token endpoint refused or failed
        return [*checks, _check("smtp.auth", False, exc.reason)]
    except aiosmtplib.SMTPException as exc:
        return [*checks, _check("smtp.auth", False, _err(exc))]
    if not user:
        return [*checks, _check("smtp.auth", True, "no authentication configured")]
    how = " with OAuth2 (XOAUTH2)" if tokens is not None else ""
    return [*checks, _check("smtp.auth", True, f"authenticated as {user}{how}")]
