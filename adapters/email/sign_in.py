"""Signing in to IMAP and SMTP: by password, or by XOAUTH2 with a token from ``oauth2.py``.

A server that refuses an access token our cache still holds (revoked, or expired before
its ``expires_in``) gets one more try with a freshly refreshed token; a second refusal is
the answer. Failed XOAUTH2 exchanges end with an empty client response, as Google's
protocol document says: the server first sends its error as a ``+`` continuation.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aioimaplib
import aiosmtplib

from adapters.email.config import EmailConfig
from adapters.email.oauth2 import TokenSource, xoauth2_string


async def imap_sign_in(
    client: aioimaplib.IMAP4, cfg: EmailConfig, tokens: TokenSource | None
) -> Any:
    """LOGIN or AUTHENTICATE XOAUTH2; returns aioimaplib's response (``result`` OK/NO)."""
    if cfg.auth_method != "oauth2" or tokens is None:
        return await client.login(cfg.imap_username, cfg.imap_password)
    token = await tokens.token()
    answer = await _imap_xoauth2(client, cfg.imap_username, token)
    if answer.result == "OK":
        return answer
    tokens.invalidate(token)
    return await _imap_xoauth2(client, cfg.imap_username, await tokens.token())


async def _imap_xoauth2(client: aioimaplib.IMAP4, user: str, token: str) -> Any:
    protocol: Any = client.protocol
    original = protocol._continuation

    def end_failed_exchange(line: bytes) -> Any:
        command = protocol.pending_sync_command
        if command is not None and command.name == "AUTHENTICATE":
            protocol.transport.write(b"\r\n")  # the server then answers NO with its reason
            return None
        return original(line)

    protocol._continuation = end_failed_exchange
    try:
        sasl = xoauth2_string(user, token)
        command = aioimaplib.Command(
            "AUTHENTICATE", protocol.new_tag(), "XOAUTH2", sasl, loop=protocol.loop
        )
        answer = await asyncio.wait_for(protocol.execute(command, scrub=sasl), client.timeout)
    finally:
        protocol._continuation = original
    if answer.result == "OK":
        protocol.state = aioimaplib.AUTH
    return answer


async def smtp_sign_in(smtp: aiosmtplib.SMTP, cfg: EmailConfig, tokens: TokenSource | None) -> str:
    """AUTH as configured; returns who signed in ("" when the server needs no AUTH)."""
    if cfg.auth_method != "oauth2" or tokens is None:
        if cfg.smtp_username:
            await smtp.login(cfg.smtp_username, cfg.smtp_password)
        return cfg.smtp_username
    user = cfg.smtp_username or cfg.address
    token = await tokens.token()
    try:
        await smtp.auth_xoauth2(user, token)
    except aiosmtplib.SMTPAuthenticationError:
        tokens.invalidate(token)
        await smtp.auth_xoauth2(user, await tokens.token())
    return user
