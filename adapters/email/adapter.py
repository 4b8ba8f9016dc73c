"""The email channel: IMAP IDLE in (imap_watcher), SMTP out (smtp_send), MIME in pure
modules (parse, compose). See README.md in this folder for setup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from adapters.base import (
    AdapterContext,
    Capabilities,
    ConfigInvalid,
    InboundMessage,
    OutboundMessage,
    PermanentError,
    SendResult,
    StatusUpdate,
    TransientError,
)
from adapters.email import probe
from adapters.email.compose import ComposeError, Sender, compose_reply, domain_of
from adapters.email.config import EmailConfig, normalise, parse_config
from adapters.email.imap_watcher import ImapWatcher, RawMail
from adapters.email.oauth2 import OAuth2Client, TokenSource
from adapters.email.parse import MailContext, failed_sends, parse_or_quarantine, quarantine
from adapters.email.signature import compose_signature, signature_values, with_signature
from adapters.email.smtp_inbound import InboundSmtp
from adapters.email.smtp_send import send_mail

log = logging.getLogger(__name__)
# mails in flight during a backfill: they share group commits (docs/ingest.md)
BATCH_CONCURRENCY = 64


class EmailAdapter:
    kind: ClassVar[str] = "email"
    capabilities: ClassVar[Capabilities] = Capabilities(
        text=True,
        html=True,
        attachments=True,
        watcher=True,
        secret_fields=(
            "imap_password",
            "smtp_password",
            "oauth2_client_secret",
            "oauth2_refresh_token",
        ),
    )

    def __init__(self, ctx: AdapterContext) -> None:
        self.ctx = ctx
        self._task: asyncio.Task[None] | None = None
        try:
            self.config: EmailConfig | None = parse_config(ctx.config)
            self._config_error: str | None = None
        except ConfigInvalid as exc:  # stored before a validation rule existed
            self.config, self._config_error = None, exc.reason
        self.tokens = self._token_source()
        self.watcher = (
            ImapWatcher(ctx, self.config, self.ingest_batch, self.tokens)
            if self.config and self.config.watches
            else None
        )
        self.endpoint = (
            InboundSmtp(
                self.config.inbound_smtp_host,
                self.config.inbound_smtp_port,
                self.config.address,
                self._ingest_arrived,
                self.config.max_message_bytes,
            )
            if self.config and self.config.inbound_smtp_port
            else None
        )

    @staticmethod
    def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
        return normalise(config)

    async def start(self) -> None:
        if self._config_error:
            self.ctx.health.report(connected=False, error=f"config: {self._config_error}")
        if self.watcher is not None and self._task is None:
            self._task = asyncio.create_task(
                self.watcher.run(), name=f"imap-watcher-{self.ctx.inbox_id}"
            )
        if self.endpoint is not None:
            try:
                await self.endpoint.start()
            except OSError as exc:  # port taken: report it, keep the rest of the inbox alive
                self.ctx.health.report(connected=False, error=f"inbound SMTP endpoint: {exc}")

    async def stop(self) -> None:
        if self.endpoint is not None:
            with contextlib.suppress(Exception):
                await self.endpoint.stop()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=4)

    def mail_context(
        self,
        received_at: datetime | None = None,
        truncated_from: int | None = None,
        delivery: str | None = None,
    ) -> MailContext:
        address = self.config.address if self.config else ""
        return MailContext(
            inbox_address=address,
            own_domain=domain_of(address),
            received_at=received_at,
            truncated_from=truncated_from,
            delivery=delivery,
        )

    async def ingest_raw(
        self, raw: bytes, received_at: datetime | None = None, truncated_from: int | None = None
    ) -> None:
        """Parse and ingest one mail; returns only once it is committed."""
        mc = self.mail_context(received_at, truncated_from)
        await self._store(raw, mc, parse_or_quarantine(raw, mc))

    async def ingest_batch(self, mails: Sequence[RawMail]) -> None:
        """Commit a batch; returns only once every mail of it is committed.

        Mails that start a conversation are independent and are stored up to
        ``BATCH_CONCURRENCY`` at a time (a backfill is otherwise bound by one transaction
        after another). A mail with threading hints waits until everything before it is
        stored, so it finds the conversation an earlier mail of the same batch started.
        """
        running: set[asyncio.Task[None]] = set()
        started: list[asyncio.Task[None]] = []
        try:
            for mail in mails:
                mc = self.mail_context(mail.received_at, mail.truncated_from, mail.delivery)
                msg = parse_or_quarantine(mail.raw, mc)
                threaded = bool(msg.thread_refs or msg.conversation_token or msg.is_echo)
                while running and (threaded or len(running) >= BATCH_CONCURRENCY):
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()  # a failure stops the batch: the cursor stays put
                task = asyncio.create_task(self._store(mail.raw, mc, msg))
                running.add(task)
                started.append(task)
            for task in [*running]:
                await task
                running.discard(task)
        finally:
            for task in running:
                task.cancel()
            # A database outage fails many of the batch's stores at once: the first failure
            # ends the batch (above); the others are collected here, so they are not each
            # logged with a traceback as "Task exception was never retrieved".
            await asyncio.gather(*started, return_exceptions=True)

    async def _store(self, raw: bytes, mc: MailContext, msg: InboundMessage) -> None:
        try:
            result = await self.ctx.ingest(msg)
        except TransientError:  # the store failed, not the mail: the cursor stays, retried
            raise
        except Exception as exc:  # one hostile mail must not block the mailbox
            if msg.content_attributes.get("quarantined"):
                raise
            log.warning(
                "inbox %s: ingest of %s failed (%s); storing it quarantined",
                self.ctx.inbox_id,
                msg.external_id[:80],
                type(exc).__name__,
            )
            await self.ctx.ingest(_requarantine(raw, mc, exc, msg))
            return
        if result.created:
            await self._report_bounce(msg, mc)

    async def _report_bounce(self, msg: InboundMessage, mc: MailContext) -> None:
        """A bounce about one of our replies marks that reply failed, with the reason.

        Only our own ids are reported (a bounce about someone else's mail names nothing we
        sent). Reported after the bounce is committed: the bounce itself is never lost.
        """
        for provider_id, reason in failed_sends(msg, mc.own_domain):
            try:
                await self.ctx.report_status(StatusUpdate(provider_id, "failed", error=reason))
            except Exception:  # the bounce is stored and visible; the mark is best effort
                log.warning("inbox %s: could not mark %s failed", self.ctx.inbox_id, provider_id)

    async def _ingest_arrived(self, raw: bytes) -> None:
        await self.ingest_raw(raw, datetime.now(UTC))  # arrival time, like INTERNALDATE

    async def send(self, message: OutboundMessage) -> SendResult:
        if self.config is None:
            raise PermanentError(f"the inbox configuration is invalid: {self._config_error}")
        sender = Sender(self.config.address, self.config.from_name or self.ctx.inbox_name)
        try:
            mail, provider_id = compose_reply(self._signed(message), sender, datetime.now(UTC))
        except ComposeError as exc:
            raise PermanentError(str(exc)) from None
        recipient = message.recipient.email or message.recipient.external_id
        await send_mail(
            self.config,
            mail,
            self.config.address,
            [recipient],
            allow_private=self._allow_private,
            tokens=self.tokens,
        )
        return SendResult(provider_id)

    def _signed(self, message: OutboundMessage) -> OutboundMessage:
        """The reply with the inbox's signature under it (email only, never chat)."""
        assert self.config is not None
        own = str(message.content_attributes.get("agent_signature") or "")  # the outbox's
        if not self.config.signature and not own:
            return message
        values = signature_values(message.author_name, self.ctx.inbox_name, self.config.address)
        signature = compose_signature(self.config.signature, own, values)
        return replace(message, text=with_signature(message.text, signature))

    async def test_connection(self) -> dict[str, Any]:
        if self.config is None:
            return {
                "ok": False,
                "checks": [{"name": "config", "ok": False, "detail": self._config_error}],
            }
        return await probe.run_checks(
            self.config, allow_private=self._allow_private, tokens=self.tokens
        )

    def _token_source(self) -> TokenSource | None:
        """One per inbox (IMAP and SMTP share it) when it signs in with OAuth2."""
        cfg = self.config
        if cfg is None or cfg.auth_method != "oauth2":
            return None
        client = OAuth2Client(
            cfg.oauth2_token_url,
            cfg.oauth2_client_id,
            cfg.oauth2_client_secret,
            cfg.oauth2_scope,
            cfg.oauth2_refresh_token,
        )
        return TokenSource(
            client,
            allow_private=self._allow_private,
            secrets=self.ctx.secrets,
            on_problem=self._oauth2_problem_changed,
        )

    def _oauth2_problem_changed(self) -> None:
        if self.watcher is not None:
            self.watcher.refresh_health()
        elif self.tokens is not None:  # SMTP only: the token source is the whole story
            problem = self.tokens.problem
            self.ctx.health.report(connected=problem is None, error=problem)

    @property
    def _allow_private(self) -> bool:
        return bool(self.ctx.settings.get("allow_private_urls"))


def _requarantine(
    raw: bytes, mc: MailContext, exc: Exception, parsed: InboundMessage
) -> InboundMessage:
    held = quarantine(raw, mc, f"could not be stored: {type(exc).__name__}")
    # keep the original's id so a redelivery of the same mail still deduplicates
    return InboundMessage(**{**held.__dict__, "external_id": parsed.external_id})


__all__ = ["EmailAdapter"]
