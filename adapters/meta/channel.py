"""The shell shared by the Meta adapters: webhook verification, routing, ingest, receipts.

One webhook URL per inbox (``/webhooks/{public key}``). A POST is verified with
``X-Hub-Signature-256`` before anything is parsed; an unverified request stores nothing
(403). Every entry and every item is processed in order; entries addressed to another
page / phone number are dropped and logged. The 200 goes out only after every message of
the batch is committed, so a failure makes Meta redeliver (dedupe is by message id).
A signed body that is no payload, and malformed items inside one, are logged and
acknowledged (adapters/meta/parse.py): a redelivery could not make them any better.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from adapters import storable
from adapters.base import (
    AdapterContext,
    Attachment,
    Capabilities,
    ConfigInvalid,
    ContactInfo,
    InboundMessage,
    OutboundMessage,
    SendResult,
    StatusUpdate,
    WebhookRequest,
    WebhookResponse,
)
from adapters.meta import marker
from adapters.meta.events import Incoming, MediaRef, Receipt
from adapters.meta.net import Graph, fetch_bytes, refuse_private
from adapters.meta.parse import PayloadInvalid, parse_batch
from adapters.meta.signature import handshake, signature_ok

log = logging.getLogger(__name__)
RECENT_SENDS = 50  # per customer, for Messenger read watermarks (reads name no message)
COMMON_FIELDS = ("access_token", "app_secret", "verify_token", "app_id")


class MetaChannel:
    kind: ClassVar[str] = ""
    account_field: ClassVar[str] = ""  # config key holding the page / account / phone id
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, ctx: AdapterContext) -> None:
        self.ctx = ctx
        self.account_id = str(ctx.config.get(self.account_field) or "")
        self.graph = Graph(
            str(ctx.settings.get("meta_graph_base") or ""),
            str(ctx.config.get("access_token") or ""),
        )
        self._profiles: dict[str, ContactInfo] = {}

    # -- configuration --------------------------------------------------------------------

    @classmethod
    def validate_config(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        known = {cls.account_field, *COMMON_FIELDS}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigInvalid(f"unknown field(s): {', '.join(unknown)}", code=unknown[0])
        for name in (cls.account_field, "access_token", "app_secret", "verify_token"):
            if not str(config.get(name) or "").strip():
                raise ConfigInvalid(f"{name}: required", code=name)
        account = str(config[cls.account_field]).strip()
        if not account.isdigit():
            raise ConfigInvalid(
                f"{cls.account_field}: expected a numeric id", code=cls.account_field
            )
        return {**config, cls.account_field: account}

    async def test_connection(self) -> dict[str, Any]:
        checks: list[dict[str, Any]] = []
        try:
            info = await self.graph.get(self.account_id, {"fields": "id,name"})
            checks.append(
                {"name": "graph", "ok": True, "detail": str(info.get("name") or info.get("id"))}
            )
        except Exception as exc:  # every failure is a check result, never a 500
            checks.append(
                {"name": "graph", "ok": False, "detail": getattr(exc, "reason", type(exc).__name__)}
            )
        url = f"{self.ctx.settings.get('public_url') or ''}/webhooks/{self.ctx.public_key}"
        checks.append({"name": "webhook_url", "ok": True, "detail": url})
        return {"ok": all(c["ok"] for c in checks), "checks": checks}

    # -- lifecycle: webhooks only, nothing to watch -----------------------------------------

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    # -- webhooks ---------------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResponse:
        if request.method == "GET":
            challenge = handshake(request.query, str(self.ctx.config.get("verify_token") or ""))
            if challenge is None:
                return WebhookResponse(403, b"verification failed")
            return WebhookResponse(200, challenge.encode())
        secret = str(self.ctx.config.get("app_secret") or "")
        if not signature_ok(secret, request.body, request.headers.get("x-hub-signature-256")):
            log.warning(
                "%s inbox %s: webhook with a missing or wrong signature refused",
                self.kind,
                self.ctx.inbox_id,
            )
            return WebhookResponse(403, b"bad signature")
        try:
            events, dropped = parse_batch(storable.loads(request.body))
        except (storable.PayloadRefused, PayloadInvalid) as exc:
            # Signed by Meta, yet unusable: acknowledged, or Meta redelivers it for days.
            log.warning("%s inbox %s: webhook body dropped: %s", self.kind, self.ctx.inbox_id, exc)
            return WebhookResponse(200, b"EVENT_RECEIVED")
        for note in dropped:  # acknowledged with the rest: a redelivery would not fix them
            log.warning(
                "%s inbox %s: malformed item skipped: %s", self.kind, self.ctx.inbox_id, note
            )
        for event in events:
            if event.account_id != self.account_id:
                log.warning(
                    "%s inbox %s: dropped an item for account %s (this inbox is %s)",
                    self.kind,
                    self.ctx.inbox_id,
                    event.account_id,
                    self.account_id,
                )
                continue
            if isinstance(event, Incoming):
                await self._incoming(event)
            else:
                await self._receipt(event)
        return WebhookResponse(200, b"EVENT_RECEIVED")

    async def _incoming(self, ev: Incoming) -> None:
        ours = marker.read(ev.metadata)
        if ev.is_echo and (
            ours is not None
            or (ev.app_id and ev.app_id == str(self.ctx.config.get("app_id") or ""))
        ):
            # Our own send coming back: the outbox row is the message. Record the mid so a
            # retry after a lost Send API answer does not send the part twice.
            if ours is not None:
                await self._remember_part(ours[0], ours[1], ev.mid)
            return
        contact = ContactInfo(ev.user_id, scope=self.account_id, name=ev.name)
        if not ev.is_echo:
            contact = await self.profile(contact)
        await self.ctx.ingest(
            InboundMessage(
                external_id=ev.mid,
                contact=contact,
                text=ev.text,
                sent_at=ev.sent_at,
                thread_refs=(ev.reply_to,) if ev.reply_to else (),
                is_echo=ev.is_echo,
                attachments=await self._media(ev),
                content_attributes=_media_attributes(ev),
            )
        )

    async def _media(self, ev: Incoming) -> tuple[Attachment, ...]:
        out: list[Attachment] = []
        for n, ref in enumerate(ev.media, start=1):
            try:
                data, kind = await self.download(ref)
            except Exception as exc:  # the message goes in; the reference stays in attributes
                log.info(
                    "%s inbox %s: media %s not fetched: %s",
                    self.kind,
                    self.ctx.inbox_id,
                    ref.kind,
                    getattr(exc, "reason", type(exc).__name__),
                )
                continue
            content_type = ref.mime_type or kind or "application/octet-stream"
            out.append(Attachment(ref.filename or f"{ref.kind}-{n}", content_type, data))
        return tuple(out)

    async def download(self, ref: MediaRef) -> tuple[bytes, str | None]:
        """Messenger/Instagram give a CDN url; WhatsApp overrides this to resolve an id."""
        if not ref.url:
            raise ValueError("no url")
        return await fetch_bytes(ref.url, **self.fetch_options())

    def fetch_options(self) -> dict[str, Any]:
        return {
            "allow_private": bool(self.ctx.settings.get("allow_private_urls")),
            "max_bytes": int(self.ctx.settings.get("max_attachment_bytes") or 20_000_000),
        }

    async def _receipt(self, ev: Receipt) -> None:
        mids = list(ev.mids)
        if not mids and ev.watermark is not None:
            mids = await self._sent_before(ev.user_id, ev.watermark.timestamp())
        for mid in mids:
            await self.ctx.report_status(StatusUpdate(mid, ev.status, ev.at, ev.error))

    # -- contacts ---------------------------------------------------------------------------

    async def profile(self, contact: ContactInfo) -> ContactInfo:
        """The contact with the name the API allows us to see; cached per process."""
        if contact.name or contact.external_id in self._profiles:
            return self._profiles.get(contact.external_id, contact)
        try:
            await refuse_private(self.graph.base, bool(self.ctx.settings.get("allow_private_urls")))
            found = await self.fetch_profile(contact)
        except Exception as exc:  # a profile is a nicety; the message must still go in
            log.info(
                "%s inbox %s: no profile for a contact: %s",
                self.kind,
                self.ctx.inbox_id,
                getattr(exc, "reason", type(exc).__name__),
            )
            return contact
        self._profiles[contact.external_id] = found
        return found

    async def fetch_profile(self, contact: ContactInfo) -> ContactInfo:
        return contact

    # -- sending ----------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        last = ""
        for part, request in enumerate(await self.requests_for(message)):
            mid = await self.ctx.state.get(_part_key(message.message_id, part))
            if not mid:
                mid = await self.post_message(request)
                await self._remember_part(message.message_id, part, mid)
            last = str(mid)
        await self._note_sent(message.recipient.external_id, last)
        return SendResult(last)

    async def requests_for(self, message: OutboundMessage) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def post_message(self, request: dict[str, Any]) -> str:
        raise NotImplementedError

    async def _remember_part(self, message_id: int, part: int, mid: str) -> None:
        await self.ctx.state.set(_part_key(message_id, part), mid)

    async def _note_sent(self, user_id: str, mid: str) -> None:
        key = f"recent:{user_id}"
        recent = list(await self.ctx.state.get(key) or [])
        recent.append([mid, time.time()])
        await self.ctx.state.set(key, recent[-RECENT_SENDS:])

    async def _sent_before(self, user_id: str, watermark: float) -> list[str]:
        recent = await self.ctx.state.get(f"recent:{user_id}") or []
        return [str(mid) for mid, at in recent if float(at) <= watermark + 1]


def _part_key(message_id: int, part: int) -> str:
    return f"out:{message_id}:{part}"


def _media_attributes(ev: Incoming) -> dict[str, Any]:
    if not ev.media:
        return {}
    return {"media": [{k: v for k, v in vars(m).items() if v is not None} for m in ev.media]}
