"""Telegram bot adapter.

Config: ``bot_token`` (secret), ``mode`` = ``webhook`` (default) or ``polling``,
``secret_token`` (secret; required in webhook mode, sent by Telegram in
``X-Telegram-Bot-Api-Secret-Token`` — the bot token never appears in our URL),
``poll_timeout`` (seconds a getUpdates may hang, default 25).
The admin "test connection" action calls getMe and registers the webhook (setWebhook with
our URL and the secret token) or, in polling mode, removes it (deleteWebhook), because
Telegram refuses getUpdates while a webhook is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
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
    WebhookRequest,
    WebhookResponse,
)
from adapters.meta.net import refuse_private
from adapters.telegram import compose
from adapters.telegram.api import BotApi
from adapters.telegram.parse import (
    FileRef,
    TgMessage,
    UpdateInvalid,
    bot_id,
    file_name,
    parse_update,
    update_id_of,
)
from adapters.telegram.poller import Poller

log = logging.getLogger(__name__)
FIELDS = ("bot_token", "mode", "secret_token", "poll_timeout")
ALLOWED_UPDATES = ["message", "edited_message"]


class TelegramAdapter:
    kind: ClassVar[str] = "telegram"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text=True,
        attachments=True,
        max_text_length=compose.TEXT_LIMIT,
        webhooks=True,
        watcher=True,
        secret_fields=("bot_token", "secret_token"),
    )

    def __init__(self, ctx: AdapterContext) -> None:
        self.ctx = ctx
        token = str(ctx.config.get("bot_token") or "")
        self.bot_id = bot_id(token)
        self.api = BotApi(str(ctx.settings.get("telegram_api_base") or ""), token)
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(config) - set(FIELDS))
        if unknown:
            raise ConfigInvalid(f"unknown field(s): {', '.join(unknown)}", code=unknown[0])
        if not bot_id(str(config.get("bot_token") or "")):
            raise ConfigInvalid(
                "bot_token: expected <bot id>:<secret> as given by @BotFather", code="bot_token"
            )
        mode = str(config.get("mode") or "webhook")
        if mode not in ("webhook", "polling"):
            raise ConfigInvalid("mode: expected 'webhook' or 'polling'", code="mode")
        secret = str(config.get("secret_token") or "")
        if mode == "webhook" and not (
            1 <= len(secret) <= 256 and all(c.isalnum() or c in "_-" for c in secret)
        ):
            raise ConfigInvalid(
                "secret_token: required in webhook mode, 1-256 of A-Z a-z 0-9 _ -",
                code="secret_token",
            )
        timeout = config.get("poll_timeout", 25)
        if not isinstance(timeout, int) or not 0 <= timeout <= 50:
            raise ConfigInvalid("poll_timeout: expected whole seconds 0-50", code="poll_timeout")
        return {**config, "mode": mode, "poll_timeout": timeout}

    @property
    def mode(self) -> str:
        return str(self.ctx.config.get("mode") or "webhook")

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        if self.mode != "polling" or self._task is not None:
            return
        poller = Poller(self.ctx, self._get_updates, self._handle_update, f"telegram:{self.bot_id}")
        self._task = asyncio.create_task(poller.run(), name=f"telegram-{self.ctx.inbox_id}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        with contextlib.suppress(Exception):  # the lease expires on its own otherwise
            await self.ctx.lease.release(f"telegram:{self.bot_id}")

    async def _get_updates(self, offset: int) -> list[Any]:
        timeout = int(self.ctx.config.get("poll_timeout", 25))
        result = await self.api.call(
            "getUpdates",
            {
                "offset": offset,
                "timeout": timeout,
                "allowed_updates": ALLOWED_UPDATES,
            },
            http_timeout=timeout + 10,
        )
        return list(result or [])

    # -- inbound ----------------------------------------------------------------------------

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResponse:
        expected = str(self.ctx.config.get("secret_token") or "")
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if (
            request.method != "POST"
            or not expected
            or not hmac.compare_digest(given.encode(), expected.encode())
        ):
            log.warning(
                "telegram inbox %s: webhook without the right secret token refused",
                self.ctx.inbox_id,
            )
            return WebhookResponse(403, b"forbidden")
        try:
            update = storable.loads(request.body)
        except storable.PayloadRefused as exc:
            # Acknowledged: Telegram would redeliver the same bytes for a day otherwise.
            log.warning("telegram inbox %s: webhook body dropped: %s", self.ctx.inbox_id, exc)
            return WebhookResponse(200, b"ok")
        await self._handle_update(update)
        return WebhookResponse(200, b"ok")

    async def _handle_update(self, update: Any) -> None:
        """Ingest one update; a malformed one is logged and skipped (its 200 / offset
        still goes out), so Telegram never redelivers it. Ingest errors propagate."""
        try:
            msg = parse_update(update)
        except UpdateInvalid as exc:
            log.warning(
                "telegram inbox %s: malformed update %s dropped: %s",
                self.ctx.inbox_id,
                update_id_of(update),
                exc,
            )
            return
        if msg is None:
            return
        await self.ctx.ingest(
            InboundMessage(
                external_id=str(msg.update_id),
                contact=ContactInfo(msg.user_id, scope=self.bot_id, name=msg.name),
                text=msg.text,
                sent_at=msg.sent_at,
                attachments=await self._files(msg),
                thread_refs=(f"{msg.chat_id}:{msg.reply_to}",) if msg.reply_to else (),
                content_attributes={**msg.attributes, **_file_notes(msg)},
                channel_data={"chat_id": msg.chat_id},
            )
        )

    async def _files(self, msg: TgMessage) -> tuple[Attachment, ...]:
        out: list[Attachment] = []
        for ref in msg.files:
            try:
                out.append(await self._download(ref))
            except Exception as exc:  # the message goes in; the file is noted as missing
                log.info(
                    "telegram inbox %s: file %s not fetched: %s",
                    self.ctx.inbox_id,
                    ref.kind,
                    getattr(exc, "reason", type(exc).__name__),
                )
        return tuple(out)

    async def _download(self, ref: FileRef) -> Attachment:
        await refuse_private(self.api.base, bool(self.ctx.settings.get("allow_private_urls")))
        info = await self.api.call("getFile", {"file_id": ref.file_id})
        path = str((info or {}).get("file_path") or "")
        limit = int(self.ctx.settings.get("max_attachment_bytes") or 20_000_000)
        data = await self.api.download(path, limit)
        return Attachment(file_name(ref, path), ref.mime_type or "application/octet-stream", data)

    # -- outbound ---------------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        chat_id = message.channel_data.get("chat_id") or message.recipient.external_id
        last = ""
        for part, (method, body, files) in enumerate(_requests(chat_id, message)):
            key = f"out:{message.message_id}:{part}"
            sent = await self.ctx.state.get(key)  # a retry skips parts already delivered
            if not sent:
                result = await self.api.call(method, body, files=files)
                sent = f"{chat_id}:{(result or {}).get('message_id')}"
                await self.ctx.state.set(key, sent)
            last = str(sent)
        return SendResult(last)

    async def test_connection(self) -> dict[str, Any]:
        checks = [await self._check("getMe", {})]
        if self.mode == "webhook":
            url = f"{self.ctx.settings.get('public_url') or ''}/webhooks/{self.ctx.public_key}"
            checks.append(
                await self._check(
                    "setWebhook",
                    {
                        "url": url,
                        "secret_token": self.ctx.config.get("secret_token"),
                        "allowed_updates": ALLOWED_UPDATES,
                    },
                )
            )
        else:
            checks.append(await self._check("deleteWebhook", {}))
        return {"ok": all(c["ok"] for c in checks), "checks": checks}

    async def _check(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            result = await self.api.call(method, body)
        except Exception as exc:  # every failure is a check result, never a 500
            return {"name": method, "ok": False, "detail": getattr(exc, "reason", str(type(exc)))}
        detail = result.get("username") if isinstance(result, dict) else "done"
        return {"name": method, "ok": True, "detail": str(detail)}


def _requests(
    chat_id: Any, message: OutboundMessage
) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    out: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    for att in message.attachments:
        method, field = compose.media_method(att.content_type)
        out.append(
            (method, {"chat_id": chat_id}, {field: (att.filename, att.data, att.content_type)})
        )
    if message.text:
        out.extend(
            ("sendMessage", compose.send_message(chat_id, part), None)
            for part in compose.split_text(message.text)
        )
    return out


def _file_notes(msg: TgMessage) -> dict[str, Any]:
    if not msg.files:
        return {}
    return {
        "telegram_files": [
            {"kind": f.kind, "emoji": f.emoji} if f.emoji else {"kind": f.kind} for f in msg.files
        ]
    }
