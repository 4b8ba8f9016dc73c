"""One IMAP mailbox watched with IDLE, with a durable cursor and exactly one watcher.

Lifecycle (``WatchState``)::

    STANDBY ──lease──▶ CONNECTING ──▶ SYNCING ⇄ IDLE
       ▲                   │             │
       └──── BACKOFF ◀─────┴─────────────┘   (any error: jittered backoff, forever)

* Cursor: ``{"uidvalidity", "last_uid", "mailbox"}`` in ``ctx.state``, written only after
  ``deliver`` (which awaits ``ctx.ingest``) returned for every mail up to ``last_uid``. A
  crash re-fetches at most one batch, which ingest deduplicates by Message-ID. A new
  UIDVALIDITY (mailbox recreated) restarts from UID 0: dedupe again keeps it exact.
* IDLE is re-issued every ``imap_idle_seconds`` (default 5 min, always < 29 min, RFC 2177)
  and every re-issue is preceded by a sync, so a missed push costs at most that long.
* Lease ``imap:<inbox id>``: held with a TTL of 30 s and renewed every 10 s; a dead node's
  mailbox moves to another node within ~30 s. Losing the lease ends the session at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aioimaplib

from adapters.base import AdapterContext
from adapters.email.config import EmailConfig
from adapters.email.imap_proto import Fetched, parse_fetch, parse_search, parse_select, uid_set
from adapters.email.oauth2 import OAuth2Refused, TokenSource
from adapters.email.sign_in import imap_sign_in
from adapters.email.tls import imap_client
from adapters.outbound_guard import refuse_private_host

log = logging.getLogger(__name__)
LEASE_TTL = 30.0
LEASE_RENEW = 10.0  # a third of the TTL: two renewals may fail before the lease lapses
FETCH_CHUNK = 100  # UIDs per size probe
BATCH_BYTES = 8 * 1_048_576  # bodies fetched per round trip; bounds memory during backfill
BACKOFF_MAX = 60.0  # a mailbox that is down is retried at least once a minute, forever
LAG_WARNING = 60.0
CURSOR_KEY = "imap_cursor"


@dataclass(frozen=True)
class RawMail:
    raw: bytes
    received_at: datetime | None  # IMAP INTERNALDATE
    truncated_from: int | None  # full size when only max_message_bytes were fetched
    delivery: str | None = None  # "<mailbox> <uidvalidity>/<uid>": where it was read


# Commits every mail of a batch (in any order it likes) and returns only then.
Deliver = Callable[[Sequence[RawMail]], Awaitable[None]]


class WatchState(enum.StrEnum):
    STANDBY = "standby"  # another node holds the lease
    CONNECTING = "connecting"
    SYNCING = "syncing"
    IDLE = "idle"
    BACKOFF = "backoff"
    STOPPED = "stopped"


class ConnectionLost(Exception):
    pass


class LeaseLost(Exception):
    pass


def backoff(attempt: int) -> float:
    """1, 2, 4 … 60 s with full jitter, so many watchers do not reconnect in lockstep."""
    return random.uniform(0.5, 1.0) * min(BACKOFF_MAX, 2.0 ** max(0, attempt - 1))


class ImapWatcher:
    def __init__(
        self,
        ctx: AdapterContext,
        config: EmailConfig,
        deliver: Deliver,
        tokens: TokenSource | None = None,  # auth_method oauth2: XOAUTH2 (sign_in.py)
    ) -> None:
        self.ctx, self.config, self.deliver, self.tokens = ctx, config, deliver, tokens
        self.state = WatchState.STOPPED
        self.lease_name = f"imap:{ctx.inbox_id}"
        self._lost = asyncio.Event()
        self._new_mail = asyncio.Event()  # an EXISTS seen outside IDLE (see _watch_exists)
        self._error: str | None = None
        self._detail: dict[str, Any] = {}
        self._warned_at = -LAG_WARNING

    async def run(self) -> None:
        """Watch until cancelled; never gives up."""
        attempt = 0
        try:
            while True:
                try:
                    # inside the loop boundary: a lease the database cannot answer for
                    # (an outage) is a failure to back off from, not the watcher's end
                    if not await self.ctx.lease.acquire(self.lease_name, LEASE_TTL):
                        self._report(WatchState.STANDBY)
                        await asyncio.sleep(LEASE_RENEW * random.uniform(0.8, 1.2))
                        continue
                    await self._leased_session()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the watcher's loop boundary
                    worked = self.state in (WatchState.SYNCING, WatchState.IDLE)
                    attempt = 1 if worked else attempt + 1  # a fresh outage starts fast
                    self._error = _describe(exc)
                    log.warning("IMAP watcher of inbox %s: %s", self.ctx.inbox_id, self._error)
                    self._report(WatchState.BACKOFF)
                    await asyncio.sleep(backoff(attempt))
                else:
                    attempt = 0
        finally:
            self._report(WatchState.STOPPED)
            with contextlib.suppress(Exception):
                await asyncio.shield(self.ctx.lease.release(self.lease_name))

    async def _leased_session(self) -> None:
        self._lost.clear()
        session = asyncio.ensure_future(self._session())
        renew = asyncio.ensure_future(self._renew())
        # A dropped connection ends the session at once, whatever it was waiting for: a
        # command in flight would otherwise only notice after its own timeout.
        lost = asyncio.ensure_future(self._connection_lost())
        tasks = (session, renew, lost)
        try:
            done, _ = await asyncio.wait(set(tasks), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            task.result()  # re-raise the failure that ended the session

    async def _connection_lost(self) -> None:
        await self._lost.wait()
        raise ConnectionLost("the IMAP server closed the connection")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(LEASE_RENEW)
            if not await self.ctx.lease.acquire(self.lease_name, LEASE_TTL):
                raise LeaseLost("another node took over this mailbox")

    async def _session(self) -> None:
        self._report(WatchState.CONNECTING)
        client = await self._connect()
        try:
            cursor = await self._select(client)
            self._error = None
            while True:
                cursor = await self._sync(client, cursor)
                await self._idle(client)
        finally:
            await _close(client)

    async def _connect(self) -> aioimaplib.IMAP4:
        cfg = self.config
        self._lost.clear()
        await refuse_private_host(cfg.imap_host, bool(self.ctx.settings.get("allow_private_urls")))
        client = await imap_client(cfg, conn_lost_cb=lambda _exc: self._lost.set())
        _watch_exists(client, self._new_mail)
        try:
            login = await imap_sign_in(client, cfg, self.tokens)
            if login.result != "OK":
                raise PermissionError(f"IMAP login refused: {_text(login.lines)}")
        except BaseException:  # cancelled or failed half-way: never leak the socket
            await _close(client)
            raise
        return client

    async def _select(self, client: aioimaplib.IMAP4) -> dict[str, Any]:
        mailbox = self.config.imap_mailbox
        response = await client.select(_quote(mailbox))
        if response.result != "OK":
            raise LookupError(
                f"IMAP mailbox {mailbox!r} cannot be selected: {_text(response.lines)}"
            )
        selected = parse_select(response.lines)
        stored = await self.ctx.state.get(CURSOR_KEY)
        if (
            isinstance(stored, dict)
            and stored.get("uidvalidity") == selected.uidvalidity
            and stored.get("mailbox") == mailbox
        ):
            return stored
        if stored is None and self.config.imap_start == "new" and selected.uidnext:
            last = selected.uidnext - 1
        else:
            last = 0  # first start with "all", or the mailbox was recreated: dedupe keeps it exact
        cursor = {"uidvalidity": selected.uidvalidity, "last_uid": last, "mailbox": mailbox}
        await self.ctx.state.set(CURSOR_KEY, cursor)
        return cursor

    async def _sync(self, client: aioimaplib.IMAP4, cursor: dict[str, Any]) -> dict[str, Any]:
        self._report(WatchState.SYNCING)
        self._new_mail.clear()  # anything announced from here on is caught by the next sync
        last = int(cursor["last_uid"])
        found = await client.uid_search(f"UID {last + 1}:*", charset=None)
        _check(found, "UID SEARCH")
        uids = parse_search(found.lines, last)
        self._detail["backlog"] = len(uids)
        for start in range(0, len(uids), FETCH_CHUNK):
            cursor = await self._fetch_chunk(client, cursor, uids[start : start + FETCH_CHUNK])
        self._detail.update(
            last_sync=_now_iso(),
            backlog=0,
            last_uid=cursor["last_uid"],
            uidvalidity=cursor["uidvalidity"],
        )
        return cursor

    async def _fetch_chunk(
        self, client: aioimaplib.IMAP4, cursor: dict[str, Any], uids: list[int]
    ) -> dict[str, Any]:
        sizes = await client.uid("fetch", uid_set(uids), "(UID RFC822.SIZE)")
        _check(sizes, "UID FETCH sizes")
        by_uid = {f.uid: f.size or 0 for f in parse_fetch(sizes.lines)}
        for batch in _batches([u for u in uids if u in by_uid], by_uid):
            limit = self.config.max_message_bytes
            part = f"(UID INTERNALDATE RFC822.SIZE BODY.PEEK[]<0.{limit}>)"
            response = await client.uid("fetch", uid_set(batch), part)
            _check(response, "UID FETCH")
            fetched = sorted(parse_fetch(response.lines), key=lambda f: f.uid)
            await self._deliver(fetched, limit, cursor)
            cursor = {**cursor, "last_uid": max(batch)}
            await self.ctx.state.set(CURSOR_KEY, cursor)  # only after every ingest returned
            self._detail["backlog"] = max(0, self._detail.get("backlog", 0) - len(batch))
        return cursor

    async def _deliver(self, fetched: list[Fetched], limit: int, cursor: dict[str, Any]) -> None:
        # a body-less entry was expunged between SEARCH and FETCH: nothing left to ingest
        where = f"{cursor['mailbox']} {cursor['uidvalidity']}"
        mails = [
            RawMail(
                f.body,
                f.internaldate,
                f.size if f.size is not None and f.size > limit else None,
                f"{where}/{f.uid}",
            )
            for f in fetched
            if f.body is not None
        ]
        if mails:
            await self.deliver(mails)
        dates = [m.received_at for m in mails if m.received_at is not None]
        if dates:
            self._note_lag(max(0.0, time.time() - min(dates).timestamp()))

    def _note_lag(self, lag: float) -> None:
        self._detail["lag_seconds"] = round(lag, 3)
        now = time.monotonic()
        if lag > LAG_WARNING and now - self._warned_at > LAG_WARNING:  # once a minute
            self._warned_at = now
            log.warning(
                "IMAP inbox %s is %.0f s behind (backlog %s)",
                self.ctx.inbox_id,
                lag,
                self._detail.get("backlog"),
            )

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        seconds = self.config.imap_idle_seconds
        idle = await asyncio.wait_for(client.idle_start(timeout=seconds), self.config.timeout)
        self._report(WatchState.IDLE)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            while not self._new_mail.is_set() and not await self._wait_push(client, lost, seconds):
                pass
            client.idle_done()
            await asyncio.wait_for(idle, timeout=self.config.timeout)
        finally:
            lost.cancel()
            # the connection lost inside IDLE: aioimaplib's IDLE task would wait forever
            # (and be logged as "destroyed but it is pending" once collected)
            idle.cancel()

    async def _wait_push(
        self, client: aioimaplib.IMAP4, lost: asyncio.Future[Any], seconds: float
    ) -> bool:
        """True when it is time to sync: new mail, expunge, or the re-IDLE timer."""
        push = asyncio.ensure_future(client.wait_server_push(timeout=seconds + 30))
        done, _ = await asyncio.wait({push, lost}, return_when=asyncio.FIRST_COMPLETED)
        if lost in done:
            push.cancel()
            raise ConnectionLost("the IMAP server closed the connection")
        lines = push.result()
        if lines == aioimaplib.STOP_WAIT_SERVER_PUSH:
            return True
        return any(b"EXISTS" in bytes(line) for line in lines)

    def refresh_health(self) -> None:
        """Report again: the OAuth2 sign-in's problem changed (TokenSource.on_problem)."""
        self._report(self.state)

    def _report(self, state: WatchState) -> None:
        self.state = state
        connected = state in (WatchState.SYNCING, WatchState.IDLE)
        self.ctx.health.report(
            connected=connected,
            error=self._error or (self.tokens.problem if self.tokens else None),
            lag=self._detail.get("lag_seconds"),
            detail={**self._detail, "state": state.value},
        )


def _watch_exists(client: aioimaplib.IMAP4, seen: asyncio.Event) -> None:
    """Note every untagged EXISTS, also those aioimaplib drops.

    Mail that arrives while a SEARCH/FETCH runs (or between the last command and IDLE) is
    announced once, outside IDLE, and aioimaplib logs it as "ignored". Without this, such
    a mail would wait for the next re-IDLE (minutes). The hook wraps one protocol method.
    """
    protocol: Any = client.protocol
    original = protocol._untagged_response

    def spy(line: bytes) -> Any:
        if line.rstrip().endswith(b"EXISTS"):
            seen.set()
        return original(line)

    protocol._untagged_response = spy


def _batches(uids: list[int], sizes: dict[int, int]) -> list[list[int]]:
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for uid in uids:
        if current and total + sizes[uid] > BATCH_BYTES:
            batches.append(current)
            current, total = [], 0
        current.append(uid)
        total += sizes[uid]
    if current:
        batches.append(current)
    return batches


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(response: Any, what: str) -> None:
    if response.result != "OK":
        raise RuntimeError(f"{what} failed: {_text(response.lines)}")


def _text(lines: Any) -> str:
    return " ".join(
        bytes(x).decode("utf-8", "replace") for x in lines if isinstance(x, bytes | bytearray)
    )[:200]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OAuth2Refused):
        return exc.reason  # a sentence for the admin: who refused what, and what to do
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


async def _close(client: aioimaplib.IMAP4) -> None:
    """LOGOUT when the connection is usable; inside IDLE (or dead) just drop the socket:
    waiting for a LOGOUT that cannot be answered would only slow shutdown down."""
    if not client.has_pending_idle():
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.logout(), timeout=1)
    with contextlib.suppress(Exception):
        if client.protocol.transport is not None:
            client.protocol.transport.close()
