"""The channel adapter contract.

An adapter speaks one channel's protocol and nothing else: it never imports storage, HTTP
routes or the realtime hub. The server gives it an ``AdapterContext`` with everything it
may touch. Lifecycle::

    adapter = AdapterClass(ctx)      # cheap, no I/O
    await adapter.start()            # begin watching (IMAP IDLE, long polling…); may be a no-op
    result = await adapter.send(out) # called by the outbox worker, with retries on TransientError
    await adapter.stop()             # stop watching; must return promptly (<= 5 s)

Inbound: the adapter builds an ``InboundMessage`` and awaits ``ctx.ingest(msg)``. That call
returns only after the message is committed, so the adapter may then acknowledge it to
its source (HTTP 200, advancing an IMAP cursor). Redelivery of the same ``external_id``
returns the original message (``IngestResult.created`` is False) and stores nothing twice.

Webhooks: an adapter with ``capabilities.webhooks`` implements ``handle_webhook``; the server
routes ``/webhooks/{inbox public key}`` to it with the raw request, and answers with the
returned ``WebhookResponse``.

Errors: raise ``TransientError`` (retry with backoff) or ``PermanentError`` (the message is
marked failed with this reason, shown to the agent). Any other exception is treated as
transient and logged. Messages in these errors must never contain secrets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol


class ChannelError(Exception):
    """Base of adapter errors. ``reason`` is shown to agents; keep it free of secrets."""

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientError(ChannelError):
    """Worth retrying: timeouts, connection drops, 4xx SMTP, HTTP 429/5xx."""

    def __init__(self, reason: str, *, code: str | None = None, retry_after: float | None = None):
        super().__init__(reason, code=code)
        self.retry_after = retry_after


class PermanentError(ChannelError):
    """Retrying cannot help: 5xx SMTP, invalid recipient, closed reply window."""


class ConfigInvalid(ChannelError):
    """The inbox configuration is unusable (reported by validate_config / test_connection)."""


@dataclass(frozen=True)
class Capabilities:
    text: bool = True
    html: bool = False
    attachments: bool = False
    max_text_length: int | None = None
    reply_window_hours: float | None = None  # e.g. 24 for WhatsApp/Messenger; None: no window
    templates: bool = False  # approved templates may be sent outside the window
    typing: bool = False
    read_receipts: bool = False
    webhooks: bool = False  # implements handle_webhook
    watcher: bool = False  # start() runs a long-lived watcher (IMAP, long polling)
    secret_fields: tuple[str, ...] = ()  # config keys that are secrets (write-only, encrypted)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None  # inline images referenced as cid:


@dataclass(frozen=True)
class ContactInfo:
    """Who wrote: ``external_id`` is unique within (channel kind, scope)."""

    external_id: str
    scope: str = ""
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    avatar_url: str | None = None
    verified: bool = False


@dataclass(frozen=True)
class InboundMessage:
    external_id: str  # dedupe key, unique per inbox (Message-ID, update id, mid…)
    contact: ContactInfo
    text: str | None = None
    html: str | None = None  # raw; the server sanitizes before storing
    attachments: tuple[Attachment, ...] = ()
    sent_at: datetime | None = None  # source timestamp (aware UTC); None: now
    subject: str | None = None
    # Threading hints: message ids this one answers (email In-Reply-To/References, a
    # reply-to mid…) and a conversation token found in an address. Resolved by the server.
    thread_refs: tuple[str, ...] = ()
    conversation_token: str | None = None
    # auto-replies, bounces and bulk mail: visible, but never a customer message for FRT
    is_auto: bool = False
    # set by adapters for echoes of our own sends seen coming back (message from the page)
    is_echo: bool = False
    content_attributes: Mapping[str, Any] = field(default_factory=dict)
    channel_data: Mapping[str, Any] = field(default_factory=dict)  # merged into conversation


@dataclass(frozen=True)
class IngestResult:
    message_id: int
    conversation_id: int
    created: bool  # False: a redelivery, deduplicated


@dataclass(frozen=True)
class StatusUpdate:
    """A provider's report about an outbound message, found by its provider id."""

    provider_id: str
    status: str  # sent | delivered | read | failed
    at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    message_id: int
    conversation_id: int
    provider_id: str | None  # set when a previous attempt already assigned one: reuse it
    text: str | None
    html: str | None
    attachments: tuple[Attachment, ...]
    recipient: ContactInfo  # the conversation's contact identity on this channel
    author_name: str | None
    subject: str | None
    thread_refs: tuple[str, ...]  # provider ids of earlier messages, oldest first
    channel_data: Mapping[str, Any]  # the conversation's adapter state
    conversation_token: str
    content_attributes: Mapping[str, Any]  # e.g. {"template": {...}} for WhatsApp
    attempt: int  # 1 on the first try


@dataclass(frozen=True)
class SendResult:
    provider_id: str  # stored on the message; used to match receipts and echoes
    status: str = "sent"


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class WebhookResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


Ingest = Callable[[InboundMessage], Awaitable[IngestResult]]
ReportStatus = Callable[[StatusUpdate], Awaitable[None]]


class StateStore(Protocol):
    """Durable per-inbox key/value state (IMAP cursor, Telegram offset)."""

    async def get(self, key: str) -> Any: ...

    async def set(self, key: str, value: Any) -> None: ...


class HealthReporter(Protocol):
    """Where an adapter reports its watcher's state for admins and /readyz."""

    def report(
        self,
        *,
        connected: bool,
        error: str | None = None,
        lag: float | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None: ...


class SecretStore(Protocol):
    """The inbox's own secrets (encrypted at rest), for credentials a provider rotates."""

    async def get(self, name: str) -> str | None: ...

    async def replace(self, name: str, old: str, new: str) -> bool:
        """Store ``new`` only while ``old`` is stored (an admin's newer value wins)."""
        ...


class Lease(Protocol):
    """Exactly-one-watcher: ``acquire`` returns True when this node may watch."""

    async def acquire(self, name: str, ttl: float) -> bool: ...

    async def release(self, name: str) -> None: ...


@dataclass
class AdapterContext:
    inbox_id: int
    inbox_name: str
    public_key: str
    config: Mapping[str, Any]  # secrets already decrypted
    ingest: Ingest
    report_status: ReportStatus
    state: StateStore
    health: HealthReporter
    lease: Lease
    settings: Mapping[str, Any]  # server settings an adapter may read (API bases, public_url…)
    http_post: Callable[..., Awaitable[Any]] | None = None  # reserved; adapters use httpx
    secrets: SecretStore | None = None  # e.g. a rotated OAuth2 refresh token (email)


class Adapter(Protocol):
    kind: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, ctx: AdapterContext) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: OutboundMessage) -> SendResult: ...


class WebhookAdapter(Adapter, Protocol):
    async def handle_webhook(self, request: WebhookRequest) -> WebhookResponse: ...


class ConfigurableAdapter(Protocol):
    """Optional class-level hooks used by the admin API."""

    @staticmethod
    def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
        """Return the normalised config, or raise ConfigInvalid naming the bad field."""
        ...

    async def test_connection(self) -> dict[str, Any]:
        """Probe the channel; return {"ok": bool, "checks": [{"name", "ok", "detail"}]}."""
        ...
