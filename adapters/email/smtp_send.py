"""Deliver one composed email over SMTP (aiosmtplib), mapping failures to the adapter
error tree: 4xx and dropped connections are transient (the outbox retries with the same
Message-ID), 5xx is permanent and carries the server's own reason for the agent.
"""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from adapters.base import PermanentError, TransientError
from adapters.email.config import EmailConfig
from adapters.email.oauth2 import OAuth2Refused, TokenSource
from adapters.email.sign_in import smtp_sign_in
from adapters.email.tls import check_pin, tls_context
from adapters.outbound_guard import refuse_private_host

REFUSED_SEND_RETRY = 300.0  # 5 min: time for an admin to reconnect the mailbox


async def send_mail(
    config: EmailConfig,
    msg: EmailMessage,
    sender: str,
    recipients: list[str],
    *,
    allow_private: bool = False,
    tokens: TokenSource | None = None,
) -> None:
    """Send one mail; ``allow_private`` is SWITCHBOARD_ALLOW_PRIVATE_URLS (outbound_guard).

    A refused OAuth2 refresh is retried later (``REFUSED_SEND_RETRY``): the admin is told
    through channel health, and the reply goes out once the mailbox is reconnected."""
    if not config.smtp_host:
        raise PermanentError("this inbox has no SMTP server configured (smtp_host)")
    await refuse_private_host(config.smtp_host, allow_private)
    try:
        await _deliver(config, msg, sender, recipients, tokens)
    except OAuth2Refused as exc:
        raise TransientError(exc.reason, code=exc.code, retry_after=REFUSED_SEND_RETRY) from None
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise _classify_recipients(exc) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise _classify(exc.code, exc.message) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise TransientError(f"SMTP connection failed: {_describe(exc)}") from None


async def _deliver(
    config: EmailConfig,
    msg: EmailMessage,
    sender: str,
    recipients: list[str],
    tokens: TokenSource | None,
) -> None:
    """Connect (TLS or STARTTLS as configured), check a pinned certificate, then log in
    and send: credentials never reach a server whose certificate is not the trusted one."""
    smtp = aiosmtplib.SMTP(
        hostname=config.smtp_host,
        port=config.smtp_port,
        timeout=config.timeout,
        use_tls=config.smtp_security == "ssl",
        start_tls=config.smtp_security == "starttls",
        tls_context=tls_context(config) if config.smtp_security != "none" else None,
    )
    async with smtp:
        if config.smtp_security != "none":
            check_pin(config, smtp.get_transport_info("ssl_object"))
        await smtp_sign_in(smtp, config, tokens)
        await smtp.send_message(msg, sender=sender, recipients=recipients)


def _classify(code: int, message: str) -> TransientError | PermanentError:
    reason = f"SMTP server answered {code} {' '.join(str(message).split())[:300]}"
    if 400 <= code < 500 or code < 200:  # < 200: aiosmtplib's pseudo-codes for drops
        return TransientError(reason, code=str(code))
    return PermanentError(reason, code=str(code))


def _classify_recipients(exc: aiosmtplib.SMTPRecipientsRefused) -> TransientError | PermanentError:
    errors = [_classify(e.code, e.message) for e in exc.recipients]
    if errors and all(isinstance(e, PermanentError) for e in errors):
        return errors[0]
    return errors[0] if errors else TransientError("SMTP server refused every recipient")


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
