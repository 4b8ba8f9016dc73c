"""Sends queued account emails (invites, password resets) through the SMTP server of
``SWITCHBOARD_MAIL_URL`` (docs/accounts.md); runs on every node, rows claimed atomically."""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from adapters.base import PermanentError, TransientError
from adapters.email.config import EmailConfig
from adapters.email.smtp_send import send_mail
from server.actions import account_mail
from server.context import AppContext
from server.exceptions import ConfigError

log = logging.getLogger(__name__)
SCHEMES = {"smtp": ("starttls", 587), "smtps": ("ssl", 465), "smtp+plain": ("none", 25)}


def mail_config(url: str, sender: str) -> EmailConfig:
    """``smtp://user:pass@host:port`` → the SMTP half of an email configuration."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ConfigError("SWITCHBOARD_MAIL_URL: expected smtp://, smtps:// or smtp+plain://host")
    security, port = SCHEMES[parts.scheme]
    return EmailConfig(
        address=sender or f"switchboard@{parts.hostname}",
        smtp_host=parts.hostname,
        smtp_port=parts.port or port,
        smtp_security=security,
        smtp_username=unquote(parts.username or ""),
        smtp_password=unquote(parts.password or ""),
    )


async def run(ctx: AppContext) -> None:
    if not ctx.settings.mail_url:
        return
    config = mail_config(ctx.settings.mail_url, ctx.settings.mail_from)
    while True:
        try:
            for row in await account_mail.claim_due(ctx):
                await deliver(ctx, config, row)
        except asyncio.CancelledError:
            raise
        except Exception:  # the loop must outlive a database blip
            log.exception("account mail round failed")
        await asyncio.sleep(ctx.settings.outbox_poll_interval)


async def deliver(ctx: AppContext, config: EmailConfig, row: Any) -> None:
    msg = EmailMessage()
    msg["From"] = formataddr(("Switchboard", config.address))
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Message-ID"] = make_msgid(idstring=f"account-{row.id}")
    msg.set_content(ctx.secrets.decrypt_json(row.body).get("text", ""))
    try:
        # The operator set this host in the environment (often a local relay): it is not
        # an address an admin or outsider can aim, so the private-address guard stays off.
        await send_mail(config, msg, config.address, [row.to_address], allow_private=True)
    except PermanentError as exc:
        log.warning("account mail %s refused: %s", row.id, exc)
        await account_mail.mark_failed(ctx, row, str(exc), permanent=True)
        return
    except TransientError as exc:
        log.warning("account mail %s not sent yet: %s", row.id, exc)
        await account_mail.mark_failed(ctx, row, str(exc), permanent=False)
        return
    await account_mail.mark_sent(ctx, row.id)
