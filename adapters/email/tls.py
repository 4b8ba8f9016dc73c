"""TLS for IMAP and SMTP: certificate verification on by default, STARTTLS for IMAP (which
aioimaplib lacks), and "trust this certificate" for self-hosted servers.

``tls_trusted_fingerprint`` (the SHA-256 of one certificate) trusts exactly that
certificate, whatever its issuer, name or dates: the handshake runs without chain checks,
and before a single credential is sent the server's certificate is compared with the pin.
A mismatch closes the connection (``CertificateNotTrusted``). Without a pin the system's
CA store and the host name are checked. ``validate_certs: false`` (the older switch) turns
checks off entirely; a pin is the safer way to the same end.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from typing import Any

import aioimaplib

from adapters.email.config import EmailConfig


class CertificateNotTrusted(ssl.SSLError):
    """The server's certificate is not the one the admin trusted."""


class StartTlsRefused(ConnectionError):
    """The server does not offer STARTTLS, or refused it: we never fall back to plain text."""


def tls_context(config: EmailConfig) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if config.tls_trusted_fingerprint or not config.validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the pin is checked by ``check_pin`` instead
    return context


def fingerprint(der: bytes) -> str:
    """``AB:CD:…``: the SHA-256 of a certificate in the form browsers and openssl show."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def peer_fingerprint(ssl_object: Any) -> str | None:
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return fingerprint(der) if der else None


def check_pin(config: EmailConfig, ssl_object: Any) -> None:
    """With a trusted fingerprint, the server must present exactly that certificate."""
    pinned = config.tls_trusted_fingerprint
    if not pinned:
        return
    seen = peer_fingerprint(ssl_object)
    if seen is None or seen.replace(":", "").lower() != pinned:
        raise CertificateNotTrusted(
            f"the server's certificate ({seen or 'none'}) is not the trusted certificate"
        )


async def imap_client(config: EmailConfig, **callbacks: Any) -> aioimaplib.IMAP4:
    """A connected IMAP client that has read the greeting, over TLS unless ``none``.

    ``callbacks`` go to the protocol before the greeting (``conn_lost_cb``)."""
    cfg = config
    client: aioimaplib.IMAP4
    if cfg.imap_security == "ssl":
        client = aioimaplib.IMAP4_SSL(
            host=cfg.imap_host,
            port=cfg.imap_port,
            timeout=cfg.timeout,
            ssl_context=tls_context(cfg),
        )
    else:
        client = aioimaplib.IMAP4(host=cfg.imap_host, port=cfg.imap_port, timeout=cfg.timeout)
    for name, value in callbacks.items():
        setattr(client.protocol, name, value)
    try:
        await client.wait_hello_from_server()
        if cfg.imap_security == "starttls":
            await _imap_starttls(client, cfg)
        if cfg.imap_security != "none":
            check_pin(cfg, client.protocol.transport.get_extra_info("ssl_object"))
    except BaseException:  # cancelled or failed half-way: never leak the socket
        close_imap(client)
        raise
    return client


async def _imap_starttls(client: aioimaplib.IMAP4, cfg: EmailConfig) -> None:
    """RFC 3501 STARTTLS: the command, the handshake on the same socket, then CAPABILITY
    again (RFC 3501 §6.2.1: what the server said before TLS must be forgotten)."""
    protocol: Any = client.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise StartTlsRefused("the IMAP server does not offer STARTTLS")
    command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
    response = await asyncio.wait_for(protocol.execute(command), cfg.timeout)
    if response.result != "OK":
        raise StartTlsRefused(f"the IMAP server refused STARTTLS: {response.result}")
    loop = asyncio.get_running_loop()
    protocol.transport = await asyncio.wait_for(
        loop.start_tls(
            protocol.transport, protocol, tls_context(cfg), server_hostname=cfg.imap_host
        ),
        cfg.timeout,
    )
    await asyncio.wait_for(protocol.capability(), cfg.timeout)


def close_imap(client: aioimaplib.IMAP4) -> None:
    transport = client.protocol.transport
    if transport is not None:
        transport.close()
