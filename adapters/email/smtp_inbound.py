"""Optional inbound SMTP endpoint (aiosmtpd): an MTA delivers straight to Switchboard.

An alternative to IMAP for those who run their own MX. Recipients are checked at RCPT
time — only the inbox address and its ``+token`` form are accepted, everything else gets
``550 5.1.1`` before any data is sent. DATA is answered ``250`` only after the mail is
committed (``ingest`` returned); a failure answers ``451`` so the MTA keeps the mail and
retries. Every node may listen: Message-ID dedupe makes double delivery harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger(__name__)
IngestRaw = Callable[[bytes], Awaitable[None]]


def accepts(recipient: str, inbox_address: str) -> bool:
    local, _, domain = recipient.strip().lower().rpartition("@")
    base_local, _, base_domain = inbox_address.lower().rpartition("@")
    return domain == base_domain and local.split("+", 1)[0] == base_local


class _Handler:
    def __init__(self, address: str, ingest_raw: IngestRaw) -> None:
        self.address, self.ingest_raw = address, ingest_raw

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not accepts(address, self.address):
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            await self.ingest_raw(raw)
        except asyncio.CancelledError:
            raise
        except Exception:  # per-delivery boundary: the MTA keeps the mail and retries
            log.exception("inbound SMTP delivery for %s could not be stored", self.address)
            return "451 4.3.0 Temporary failure, please retry"
        return "250 OK stored"


class InboundSmtp:
    """One listening socket for one inbox, in the server's own event loop."""

    def __init__(
        self, host: str, port: int, address: str, ingest_raw: IngestRaw, max_bytes: int
    ) -> None:
        self.host, self.port, self.max_bytes = host, port, max_bytes
        self.handler = _Handler(address, ingest_raw)
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)

    def _protocol(self) -> Any:
        return SMTP(
            self.handler, data_size_limit=self.max_bytes, hostname="switchboard", timeout=60
        )

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await asyncio.wait_for(server.wait_closed(), timeout=3)
