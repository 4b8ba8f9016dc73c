"""Chaos harness: real processes under steady load while faults are injected.

The production shape: two ``serve`` nodes sharing one PostgreSQL and one Redis, a webhook
receiver for the API channel's replies, Dovecot for an email inbox. Load: API-channel
senders (each message retried with the same external id until acknowledged, as an
integration does), mail delivered into the mailbox the way a local MTA does (also while
Dovecot is down), an agent replying to recent conversations (retried with the same
client id), and agent sockets on both nodes that reconnect with their last event id
whenever they drop.

Faults, one kind per phase, ``cycles`` times each:
  node_kill      kill -9 of a node (alternating), restarted under the same node id
  redis_restart  Redis SIGKILLed, restarted empty on the same port 2 s later
  pg_stop        PostgreSQL shut down for 3 s
  pg_freeze      PostgreSQL frozen (SIGSTOP, postmaster and backends) for 3 s
  pg_kill        PostgreSQL SIGKILLed (postmaster and backends, no shutdown checkpoint),
                 restarted 3 s later: crash recovery from its WAL
  imap_down      Dovecot stopped for 5 s: mail keeps arriving, backfilled once it is back
  imap_kill      Dovecot SIGKILLed (its whole process group, mid-delivery), restarted 2 s
                 later: its UID list may not have been written (UIDs reused?)
  smtp_errors    the email inbox's SMTP server answers 451 to every mail for 3 s, then 550
                 to some recipients for 3 s, then recovers; an agent replies to email
                 conversations all along (checked: each 4xx'd reply delivered exactly once
                 under one Message-ID, each 5xx'd one failed with the server's reason)
  clock_jump     node-b's wall clock (libfaketime, CLOCK_REALTIME only, as an NTP step)
                 jumps 1 h forward for 3 s, then back (checked besides: no message stored
                 with a time ahead of the database's clock)
  disk_full      a different shape: ONE node on SQLite whose data disk is a small tmpfs,
                 filled by another file for 3 s, then freed (checked: 503 + Retry-After
                 while full, never a 500 or a hang, PRAGMA integrity_check afterwards)

Per phase it reports what PROTOCOL.md and DESIGN.md promise to be zero: acknowledged
messages lost, duplicate rows, events missed by a socket without a resync, events a
socket got twice without a resync, replies never delivered, replies delivered under more
than one delivery id — and how long recovery took (from the fault's end until a new
message reached every socket). Used by tests/chaos/test_chaos_short.py (a few cycles)
and bench/chaos.py (the long run; figures in bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiosmtpd.controller import Controller
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from tests.faults.services import freeze, thaw
from tests.realtime.nodes import Node, migrate, start_node
from tests.support.api import INBOUND_TOKEN
from tests.support.ports import free_port
from tests.support.receiver import Receiver
from tests.support.services import DovecotServer, PostgresServer, RedisServer

FAULTS = (
    "node_kill",
    "redis_restart",
    "pg_stop",
    "pg_freeze",
    "pg_kill",
    "imap_down",
    "imap_kill",
    "smtp_errors",
    "clock_jump",
    "disk_full",
)
SINGLE_NODE = ("disk_full",)
MAIL_FAULTS = (
    "smtp_errors",
    "clock_jump",
)  # phases with email replies (checked)  # phases on their own one-node SQLite set-up
FAKETIME = next(  # Debian's libfaketime, whatever the architecture
    Path("/usr/lib").glob("*/faketime/libfaketime.so.1"),
    Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
)
JUMP = 3600  # s: the clock_jump step (forward, then back)
DOOMED = {f"carol-{d}@example.org" for d in "56789"}  # 550 for these in the 5xx window
DISK_MB = 96  # the SQLite disk of disk_full (a tmpfs)
NODE_ENV = {"SWITCHBOARD_ALLOW_PRIVATE_URLS": "true", "SWITCHBOARD_LOG_LEVEL": "WARNING"}
SETTLE = 90.0  # s a phase may take to converge after its last fault (outbox retries)
RECOVER = 60.0  # s after a fault's end before it counts as "did not recover"
SERIAL = itertools.count(1)
MAIL_PASSWORD = "chaos-mail-password"


class SmtpPeer:
    """A controllable SMTP server (aiosmtpd, its own thread) for the email inbox.

    ``mode``: "ok" accepts every mail, "4xx" answers 451 to every mail, "5xx" answers 550
    to the DOOMED recipients and accepts the others. Every DATA is logged with the mail's
    Message-ID, its recipient, the reply text it carries and the code answered.
    """

    def __init__(self) -> None:
        self.mode = "ok"
        self.log: list[tuple[str, str, str, int]] = []  # (message-id, rcpt, text, code)
        self.times: list[float] = []  # monotonic time of each DATA (for the trouble list)
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = BytesParser(policy=policy.default).parsebytes(envelope.original_content or b"")
        message_id = str(mail.get("Message-ID", "")).strip().strip("<>")
        body = mail.get_body(("plain",))
        found = re.search(r"re-mail-\d+", body.get_content() if body is not None else "")
        rcpt = (envelope.rcpt_tos or [""])[0].lower()
        mode = self.mode
        if mode == "4xx":
            code, answer = 451, "451 4.3.0 Mailbox temporarily unavailable, try again later"
        elif mode == "5xx" and rcpt in DOOMED:
            code, answer = 550, f"550 5.1.1 <{rcpt}>: no such mailbox here"
        else:
            code, answer = 250, "250 OK queued"
        self.log.append((message_id, rcpt, found.group(0) if found else "", code))
        self.times.append(round(time.monotonic(), 2))
        return answer


@dataclass
class Cluster:
    tmp: Path
    pg: PostgresServer | None
    redis: RedisServer | None
    url: str
    nodes: list[Node]
    receiver: Receiver
    dovecot: DovecotServer | None
    smtp: SmtpPeer | None = None
    token: str = ""
    inbox: dict[str, Any] = field(default_factory=dict)
    mail_inbox_id: int | None = None
    mailbox: str = "support@example.test"
    turn: itertools.count[int] = field(default_factory=itertools.count)
    node_env: dict[str, dict[str, str]] = field(default_factory=dict)  # extra env per node
    disk: Path | None = None  # disk_full: the small filesystem the SQLite file lives on
    sqlite_path: Path | None = None

    @property
    def redis_url(self) -> str:
        return self.redis.url if self.redis is not None else ""

    def next_node(self) -> Node:
        return self.nodes[next(self.turn) % len(self.nodes)]

    async def restart_node(self, index: int) -> None:
        old = self.nodes[index]
        if old.log.exists():  # start_node rewrites it: keep the dead process's log
            old.log.rename(old.log.with_name(f"{old.name}.{old.process.pid}.log"))
        env = {**NODE_ENV, **self.node_env.get(old.name, {})}
        self.nodes[index] = await asyncio.to_thread(
            start_node, self.tmp, old.name, self.url, self.redis_url, **env
        )


@dataclass
class Sent:
    text: str
    started: float


class Watcher:
    """An agent socket that reconnects (to either node) with its last event id."""

    def __init__(self, cluster: Cluster, home: int) -> None:
        self.cluster, self.home = cluster, home
        self.last_id: str | None = None
        self.seen: set[str] = set()
        self.since_resync: set[str] = set()
        self.twice = 0
        self.resyncs: list[float] = []
        self.connected = False
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        attempt = 0
        while True:
            node = self.cluster.nodes[(self.home + attempt) % len(self.cluster.nodes)]
            with contextlib.suppress(OSError, WebSocketException, TimeoutError, ValueError):
                await self._session(node)
            self.connected = False
            attempt += 1
            await asyncio.sleep(0.2)

    async def _session(self, node: Node) -> None:
        headers = {"authorization": f"Bearer {self.cluster.token}"}
        async with connect(f"{node.ws_url}/ws", additional_headers=headers) as ws:
            await ws.send(json.dumps({"type": "hello", "last_event_id": self.last_id}))
            async for raw in ws:
                frame = json.loads(raw)
                for one in frame["frames"] if frame["type"] == "batch" else [frame]:
                    self._frame(one)

    def _frame(self, frame: dict[str, Any]) -> None:
        kind, now = frame["type"], asyncio.get_running_loop().time()
        if kind == "ready":
            self.last_id, self.connected = frame["last_event_id"], True
        elif kind == "resync_required":
            self.resyncs.append(now)
            self.since_resync.clear()
        elif kind == "event":
            self.last_id = frame["id"]
            event = frame["event"]
            if event["type"] == "message.created":
                self._message(str(event["payload"]["message"]["text"]))

    def _message(self, text: str) -> None:
        text = text.strip()
        if not text.startswith("in-"):
            return
        if text in self.since_resync:
            self.twice += 1
        self.since_resync.add(text)
        self.seen.add(text)

    def owes(self, sent: Sent) -> bool:
        """A resync after the message was sent excuses it: the client refetched."""
        return not any(r >= sent.started for r in self.resyncs)

    def missing(self, sent: list[Sent]) -> list[str]:
        return [s.text for s in sent if s.text not in self.seen and self.owes(s)]


class Load:
    """Senders and a replier; everything acknowledged is kept for the checks."""

    def __init__(
        self, cluster: Cluster, senders: int = 3, pause: float = 0.08, mail_replies: bool = False
    ) -> None:
        self.cluster = cluster
        self.sent: list[Sent] = []
        self.replies: list[str] = []
        self.mail_replies: list[tuple[str, float]] = []  # (text, loop time acknowledged)
        self.conversations: list[int] = []
        self.refused: Counter[int] = Counter()  # non-2xx answers by status (503 in outages)
        self.no_retry_after = 0  # 503s without a Retry-After header
        self.slowest = 0.0  # s: the longest any request waited for its answer
        self._stopping = asyncio.Event()
        self._pause = pause
        self._http = httpx.AsyncClient(timeout=30)
        self._serial = SERIAL  # unique across phases: external and client ids never repeat
        self.tasks = [asyncio.create_task(self._sender(i)) for i in range(senders)]
        self.tasks.append(asyncio.create_task(self._replier()))
        if cluster.dovecot is not None:
            self.tasks.append(asyncio.create_task(self._mailer()))
        if mail_replies:  # three agents: enough replies land in each 3 s window
            self.tasks += [asyncio.create_task(self._mail_replier()) for _ in range(3)]

    def _answered(self, response: httpx.Response, started: float) -> None:
        self.slowest = max(self.slowest, asyncio.get_running_loop().time() - started)
        if response.status_code >= 300:
            self.refused[response.status_code] += 1
        if response.status_code == 503 and not response.headers.get("retry-after"):
            self.no_retry_after += 1

    async def post(self, text: str) -> Sent | None:
        """Send one inbound message until a node acknowledges it (same external id)."""
        loop = asyncio.get_running_loop()
        sent = Sent(text, loop.time())
        deadline = sent.started + SETTLE
        body = {"external_id": text, "text": text, "contact": {"external_id": text[-1]}}
        while loop.time() < deadline:
            node = self.cluster.next_node()
            url = f"{node.base_url}/api/channels/api/{self.cluster.inbox['public_key']}/messages"
            with contextlib.suppress(httpx.HTTPError):
                started = loop.time()
                response = await self._http.post(
                    url, json=body, headers={"authorization": f"Bearer {INBOUND_TOKEN}"}
                )
                self._answered(response, started)
                if response.status_code in (200, 201):
                    self.sent.append(sent)
                    self.conversations.append(int(response.json()["conversation_id"]))
                    return sent
            await asyncio.sleep(0.25)
        return None

    async def _sender(self, index: int) -> None:
        while not self._stopping.is_set():
            await self.post(f"in-{index}-{next(self._serial)}")
            await asyncio.sleep(self._pause)

    async def _replier(self) -> None:
        while not self._stopping.is_set():
            await asyncio.sleep(0.5)
            if not self.conversations:
                continue
            n = next(self._serial)
            conv = random.choice(self.conversations[-50:])
            if await self._reply(conv, f"re-{n}", f"reply-{n:08d}"):
                self.replies.append(f"re-{n}")

    async def _reply(self, conv: int, text: str, client_id: str) -> bool:
        """Post an agent reply until a node acknowledges it (same client id)."""
        loop = asyncio.get_running_loop()
        body = {"text": text, "client_id": client_id}
        deadline = loop.time() + SETTLE
        while loop.time() < deadline:
            node = self.cluster.next_node()
            with contextlib.suppress(httpx.HTTPError):
                started = loop.time()
                response = await self._http.post(
                    f"{node.base_url}/api/conversations/{conv}/messages",
                    json=body,
                    headers={"authorization": f"Bearer {self.cluster.token}"},
                )
                self._answered(response, started)
                if response.status_code in (200, 201):
                    return True
            await asyncio.sleep(0.25)
        return False

    async def _mail_replier(self) -> None:
        """Agent replies on email conversations, one every 0.3 s when answers are quick."""
        loop = asyncio.get_running_loop()
        conversations: list[int] = []
        refreshed = 0.0
        while not self._stopping.is_set():
            await asyncio.sleep(0.3)
            if loop.time() - refreshed > 2.0:
                conversations = await _mail_conversations(self.cluster)
                refreshed = loop.time()
            if not conversations:
                continue
            n = next(self._serial)
            text = f"re-mail-{n}"
            if await self._reply(random.choice(conversations), text, f"mail-reply-{n:08d}"):
                self.mail_replies.append((text, loop.time()))

    async def _mailer(self) -> None:
        """One mail a second, dropped into the maildir as an MTA does: acknowledged once
        the file is there, whether Dovecot runs or not."""
        while not self._stopping.is_set():
            text = f"in-mail-{next(self._serial)}"
            sent = Sent(text, asyncio.get_running_loop().time())
            await asyncio.to_thread(_drop_mail, self.cluster, text)
            self.sent.append(sent)
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.gather(*self.tasks)
        await self._http.aclose()


# Faults: each returns the loop time at which the fault ended (the service is back) -------


async def _node_kill(cluster: Cluster, cycle: int) -> float:
    index = cycle % len(cluster.nodes)
    cluster.nodes[index].kill(signal.SIGKILL)
    await asyncio.sleep(1.0)
    await cluster.restart_node(index)
    return asyncio.get_running_loop().time()


async def _redis_restart(cluster: Cluster, cycle: int) -> float:
    assert cluster.redis is not None and cluster.redis.pid is not None
    os.kill(cluster.redis.pid, signal.SIGKILL)
    cluster.redis.stop()
    await asyncio.sleep(2.0)
    await asyncio.to_thread(cluster.redis.start)
    return asyncio.get_running_loop().time()


async def _pg_stop(cluster: Cluster, cycle: int) -> float:
    assert cluster.pg is not None
    await asyncio.to_thread(cluster.pg.stop)
    await asyncio.sleep(3.0)
    await asyncio.to_thread(cluster.pg.start)
    return asyncio.get_running_loop().time()


async def _pg_freeze(cluster: Cluster, cycle: int) -> float:
    assert cluster.pg is not None and cluster.pg.pid is not None
    freeze(cluster.pg.pid)
    try:
        await asyncio.sleep(3.0)
    finally:
        thaw(cluster.pg.pid)
    return asyncio.get_running_loop().time()


async def _pg_kill(cluster: Cluster, cycle: int) -> float:
    assert cluster.pg is not None and cluster.pg.pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(cluster.pg.pid, signal.SIGKILL)
    await asyncio.to_thread(cluster.pg.stop)  # reaps it
    await asyncio.sleep(3.0)
    await asyncio.to_thread(cluster.pg.start)
    return asyncio.get_running_loop().time()


async def _imap_down(cluster: Cluster, cycle: int) -> float:
    assert cluster.dovecot is not None
    await asyncio.to_thread(cluster.dovecot.stop)
    await asyncio.sleep(5.0)
    await asyncio.to_thread(cluster.dovecot.start)
    return asyncio.get_running_loop().time()


async def _imap_kill(cluster: Cluster, cycle: int) -> float:
    assert cluster.dovecot is not None and cluster.dovecot.pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(cluster.dovecot.pid, signal.SIGKILL)
    await asyncio.to_thread(cluster.dovecot.stop)  # reaps it; nothing left to stop politely
    await asyncio.sleep(2.0)
    await asyncio.to_thread(cluster.dovecot.start)
    return asyncio.get_running_loop().time()


def _drop_mail(cluster: Cluster, text: str) -> None:
    assert cluster.dovecot is not None
    maildir = cluster.dovecot.mail_dir / cluster.mailbox / "Maildir"
    owner = maildir.parent.parent.stat()
    for part in (maildir.parent, maildir, maildir / "new", maildir / "cur", maildir / "tmp"):
        if not part.exists():
            part.mkdir()
            os.chown(part, owner.st_uid, owner.st_gid)
    raw = (
        f"From: Carol <carol-{text[-1]}@example.org>\r\nTo: {cluster.mailbox}\r\n"
        f"Subject: {text}\r\nMessage-ID: <{text}@chaos.example>\r\n"
        f"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n{text}\r\n"
    ).encode()
    tmp = maildir / "tmp" / f"{text}.eml"
    tmp.write_bytes(raw)
    os.chown(tmp, owner.st_uid, owner.st_gid)
    tmp.rename(maildir / "new" / f"{text}.eml")  # atomic, as maildir delivery is


async def _smtp_errors(cluster: Cluster, cycle: int) -> float:
    assert cluster.smtp is not None
    cluster.smtp.mode = "4xx"
    await asyncio.sleep(3.0)
    cluster.smtp.mode = "5xx"
    await asyncio.sleep(3.0)
    cluster.smtp.mode = "ok"
    return asyncio.get_running_loop().time()


async def _clock_jump(cluster: Cluster, cycle: int) -> float:
    """node-b's CLOCK_REALTIME steps JUMP s forward, runs so for 3 s, steps back."""
    offset = cluster.tmp / "node-b.faketime"
    assert cluster.smtp is not None
    cluster.smtp.mode = "4xx"  # email replies sent meanwhile are retried: when?
    offset.write_text(f"+{JUMP}\n")
    await asyncio.sleep(3.0)
    offset.write_text("+0\n")
    await asyncio.sleep(1.0)  # FAKETIME_CACHE_DURATION: the step back is seen within 1 s
    cluster.smtp.mode = "ok"
    return asyncio.get_running_loop().time()


async def _disk_full(cluster: Cluster, cycle: int) -> float:
    """Another file takes every free byte of the SQLite disk for 3 s, then is deleted."""
    assert cluster.disk is not None
    filler = cluster.disk / "filler"
    await asyncio.to_thread(_fill, filler)
    await asyncio.sleep(3.0)
    filler.unlink()
    return asyncio.get_running_loop().time()


def _fill(path: Path) -> None:
    """Write until ENOSPC (unbuffered: nothing is left to fail at close)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (1 << 20, 1 << 12, 1):
            chunk = b"\0" * size
            with contextlib.suppress(OSError):
                while os.write(fd, chunk):
                    pass
    finally:
        os.close(fd)


INJECT = {
    "node_kill": _node_kill,
    "redis_restart": _redis_restart,
    "pg_stop": _pg_stop,
    "pg_freeze": _pg_freeze,
    "pg_kill": _pg_kill,
    "imap_down": _imap_down,
    "imap_kill": _imap_kill,
    "smtp_errors": _smtp_errors,
    "clock_jump": _clock_jump,
    "disk_full": _disk_full,
}


# Checks -----------------------------------------------------------------------------------


async def _recovered(load: Load, watchers: list[Watcher], ended: float) -> float:
    """Seconds from the fault's end until a new message reached every socket."""
    loop = asyncio.get_running_loop()
    sent = await load.post(f"in-probe-{next(load._serial)}")
    if sent is None:
        return float("inf")
    probe = sent.text
    while loop.time() - ended < RECOVER:
        if all(probe in w.seen or not w.owes(sent) for w in watchers):
            return loop.time() - ended
        await asyncio.sleep(0.05)
    return float("inf")


def _delivered(cluster: Cluster) -> dict[str, set[str]]:
    """Reply text -> the delivery ids it arrived under at the webhook receiver."""
    ids: dict[str, set[str]] = {}
    for request in cluster.receiver.requests:
        text = json.loads(request.body)["message"]["text"]
        ids.setdefault(text, set()).add(request.headers.get("x-switchboard-delivery", ""))
    return ids


async def _settle(cluster: Cluster, load: Load, watchers: list[Watcher]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE
    while loop.time() < deadline:
        delivered = _delivered(cluster)
        sockets_done = all(not w.missing(load.sent) for w in watchers)
        if sockets_done and all(r in delivered for r in load.replies):
            return
        await asyncio.sleep(0.2)


async def _messages(
    cluster: Cluster, where: str = ""
) -> list[tuple[str, str, str | None, str, str | None]]:
    """Message rows: (direction, text, client_id, status, error), either engine."""
    sql = f"SELECT direction, text, client_id, status, error FROM messages {where}"
    if cluster.sqlite_path is not None:
        path = cluster.sqlite_path

        def read() -> list[Any]:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                return db.execute(sql).fetchall()

        rows = await asyncio.to_thread(read)
    else:
        conn = await asyncpg.connect(cluster.url)
        try:
            rows = await conn.fetch(
                "SELECT direction, text, client_id, status, error FROM messages"
            )
        finally:
            await conn.close()
    return [(r[0], (r[1] or "").strip(" \r\n"), r[2], r[3], r[4]) for r in rows]


async def _stamped_off_clock(cluster: Cluster) -> int:
    """Messages stored with a time more than a minute ahead of PostgreSQL's clock: what a
    node stamping by its own wall clock, stepped an hour ahead, would store (each node
    keeps time by the database's clock: README.md, "Operating it": clocks)."""
    conn = await asyncpg.connect(cluster.url)
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM messages WHERE created_at > now() + interval '60 seconds'"
        )
    finally:
        await conn.close()
    return int(count)


async def _mail_conversations(cluster: Cluster) -> list[int]:
    """The newest conversations of the email inbox (the mail replier answers them)."""
    if cluster.mail_inbox_id is None or cluster.pg is None:
        return []
    with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
        conn = await asyncpg.connect(cluster.url, timeout=3)
        try:
            rows = await conn.fetch(
                "SELECT id FROM conversations WHERE inbox_id = $1 ORDER BY id DESC LIMIT 30",
                cluster.mail_inbox_id,
            )
        finally:
            await conn.close()
        return [r["id"] for r in rows]
    return []


async def _rows(cluster: Cluster, load: Load) -> dict[str, int]:
    rows = await _messages(cluster)
    inbound = Counter(text for direction, text, *_ in rows if direction == "in")
    outbound = Counter(text for direction, text, *_ in rows if direction == "out")
    texts = [s.text for s in load.sent]
    return {
        "lost": sum(1 for t in texts if not inbound[t])
        + sum(1 for r in load.replies if not outbound[r]),
        "duplicate_rows": sum(inbound[t] - 1 for t in set(texts) if inbound[t] > 1)
        + sum(outbound[r] - 1 for r in set(load.replies) if outbound[r] > 1),
    }


FINAL = ("sent", "delivered", "read", "failed")
MAIL_REPLIES = "WHERE direction = 'out' AND text LIKE 're-mail-%'"


async def _mail_final(cluster: Cluster, texts: list[str]) -> bool:
    mails = await _messages(cluster, MAIL_REPLIES)
    status = {text: st for _d, text, _c, st, _e in mails}
    return all(status.get(t) in FINAL for t in texts)


async def _mail_recovered(cluster: Cluster, load: Load, ended: float) -> float:
    """Seconds from the SMTP server's recovery until every email reply acknowledged
    before it was sent or marked failed (measured after the socket probe)."""
    loop = asyncio.get_running_loop()
    owed = [text for text, at in load.mail_replies if at <= ended]
    while loop.time() - ended < RECOVER:
        if await _mail_final(cluster, owed):
            return loop.time() - ended
        await asyncio.sleep(0.2)
    return float("inf")


async def _mail_report(cluster: Cluster, load: Load) -> dict[str, int]:
    """The promises of the email outbox under SMTP errors, from the rows and the mails the
    SMTP server saw."""
    assert cluster.smtp is not None
    texts = [text for text, _at in load.mail_replies]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE
    while loop.time() < deadline and not await _mail_final(cluster, texts):
        await asyncio.sleep(0.5)
    rows = {
        text: (st, err or "") for d, text, _c, st, err in await _messages(cluster) if d == "out"
    }
    seen: dict[str, list[tuple[str, int]]] = {}
    when: dict[str, list[float]] = {}
    for (message_id, _rcpt, text, code), at in zip(
        cluster.smtp.log, cluster.smtp.times, strict=True
    ):
        seen.setdefault(text, []).append((message_id, code))
        when.setdefault(text, []).append(at)
    trouble: dict[str, Any] = {}
    report = Counter[str]()
    for text in texts:
        status, error = rows.get(text, ("missing", ""))
        attempts = seen.get(text, [])
        codes = [code for _mid, code in attempts]
        report["mail_replies"] += 1
        report["mail_sent"] += status in ("sent", "delivered", "read")
        report["mail_failed"] += status == "failed"
        report["mail_answered_4xx"] += sum(1 for c in codes if c == 451)
        report["mail_answered_5xx"] += sum(1 for c in codes if c == 550)
        report["mail_lost"] += status not in FINAL  # never settled: stuck or missing
        report["mail_sent_not_received"] += status == "sent" and 250 not in codes
        report["mail_received_twice"] += codes.count(250) > 1
        report["mail_message_id_changed"] += len({mid for mid, _c in attempts}) > 1
        report["mail_failed_without_reason"] += status == "failed" and "550" not in error
        report["mail_failed_without_5xx"] += status == "failed" and 550 not in codes
        first_5xx = codes.index(550) if 550 in codes else len(codes)
        report["mail_retried_after_5xx"] += len(codes) > first_5xx + 1
        if len(codes) > first_5xx + 1 or codes.count(250) > 1 or status not in FINAL:
            trouble[text] = {"status": status, "codes": codes, "at": when.get(text, [])}
    keys = (
        "mail_replies",
        "mail_sent",
        "mail_failed",
        "mail_answered_4xx",
        "mail_answered_5xx",
        *MAIL_MUST_BE_ZERO,
    )
    return {k: report[k] for k in keys} | ({"mail_trouble": trouble} if trouble else {})


def _integrity(cluster: Cluster) -> str:
    assert cluster.sqlite_path is not None
    path = cluster.sqlite_path
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return ", ".join(str(r[0]) for r in db.execute("PRAGMA integrity_check").fetchall())


async def run_phase(
    cluster: Cluster, watchers: list[Watcher], fault: str, cycles: int, gap: float
) -> dict[str, Any]:
    """``cycles`` faults of one kind under load, then the checks; one report row."""
    mail = fault in MAIL_FAULTS
    load = Load(cluster, mail_replies=mail)
    began = asyncio.get_running_loop().time()
    services = {"pg": cluster.pg, "dovecot": cluster.dovecot}
    killed_before = {k: v.killed_at_stop for k, v in services.items() if v is not None}
    resyncs_before = sum(len(w.resyncs) for w in watchers)
    requests_before = len(cluster.receiver.requests)
    recoveries, settled = [], []
    if mail:  # email conversations to answer before the first fault
        deadline = asyncio.get_running_loop().time() + SETTLE
        while not await _mail_conversations(cluster):
            assert asyncio.get_running_loop().time() < deadline, "no email conversation"
            await asyncio.sleep(0.5)
    await asyncio.sleep(gap)
    for cycle in range(cycles):
        ended = await INJECT[fault](cluster, cycle)
        recoveries.append(await _recovered(load, watchers, ended))
        if mail:
            settled.append(await _mail_recovered(cluster, load, ended))
        await asyncio.sleep(gap)
    await load.stop()
    await _settle(cluster, load, watchers)
    delivered = _delivered(cluster)
    ids = Counter(
        r.headers.get("x-switchboard-delivery") for r in cluster.receiver.requests[requests_before:]
    )
    report = {
        "fault": fault,
        "cycles": cycles,
        "acked": len(load.sent),
        "replies": len(load.replies),
        **await _rows(cluster, load),
        "missed_without_resync": sum(len(w.missing(load.sent)) for w in watchers),
        "twice_without_resync": sum(w.twice for w in watchers),
        "resyncs": sum(len(w.resyncs) for w in watchers) - resyncs_before,
        "replies_undelivered": sum(1 for r in load.replies if r not in delivered),
        "delivered_under_two_ids": sum(1 for r in load.replies if len(delivered.get(r, ())) > 1),
        "redelivered_same_id": sum(n - 1 for n in ids.values() if n > 1),
        "refused": dict(sorted(load.refused.items())),
        "errors_not_503": sum(n for code, n in load.refused.items() if code >= 500 and code != 503),
        "503_without_retry_after": load.no_retry_after,
        "slowest_answer_s": round(load.slowest, 2),
        "recover_max_s": round(max(recoveries), 2),
        "recover_median_s": round(statistics.median(recoveries), 2),
    }
    if mail:
        report["mail_settled_max_s"] = round(max(settled), 2)
        report.update(await _mail_report(cluster, load))
    if fault == "clock_jump":
        report["stamped_off_clock"] = await _stamped_off_clock(cluster)
    report["phase_s"] = round(asyncio.get_running_loop().time() - began)
    for name, before in killed_before.items():  # stops that ended in SIGKILL (a shutdown
        server = services[name]  # slower than STOP_GRACE under load): diagnostics
        assert server is not None
        report[f"{name}_killed"] = server.killed_at_stop - before
    if cluster.sqlite_path is not None:
        report["integrity_check"] = await asyncio.to_thread(_integrity, cluster)
    for watcher in watchers:  # the next phase counts its own
        watcher.twice = 0
    return report


# The cluster --------------------------------------------------------------------------------


def _faketime_env(tmp: Path, name: str) -> dict[str, str]:
    """A node whose CLOCK_REALTIME follows an offset file; CLOCK_MONOTONIC stays true, as
    under an NTP step. (libfaketime 0.9.10 then fails time.sleep's absolute monotonic
    clock_nanosleep with EINVAL; the server never calls it: asyncio waits in epoll.)"""
    if not FAKETIME.exists():
        raise RuntimeError(f"clock_jump needs libfaketime ({FAKETIME})")
    offset = tmp / f"{name}.faketime"
    offset.write_text("+0\n")
    return {
        "LD_PRELOAD": str(FAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_CACHE_DURATION": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


@contextlib.asynccontextmanager
async def cluster_running(tmp: Path, clock_jump: bool = False) -> Any:
    """PostgreSQL, Redis, Dovecot, an SMTP server, a webhook receiver and two nodes
    (node-b under libfaketime when ``clock_jump``); everything stopped after."""
    # durable: a commit PostgreSQL acknowledged survives its process being killed (a stop
    # slower than STOP_GRACE ends in SIGKILL; with synchronous_commit off, as in the other
    # tests, that lost the last commits, which would be counted against Switchboard)
    pg, redis, dovecot = PostgresServer(durable=True), RedisServer(), DovecotServer()
    smtp = SmtpPeer()
    nodes: list[Node] = []
    try:
        pg.start()
        redis.start()
        smtp.start()
        dovecot.add_user("support@example.test", MAIL_PASSWORD)
        dovecot.start()
        url = pg.create_database("chaos")
        migrate(tmp, url, redis.url)
        async with Receiver() as receiver:
            cluster = Cluster(tmp, pg, redis, url, nodes, receiver, dovecot, smtp)
            if clock_jump:
                cluster.node_env["node-b"] = _faketime_env(tmp, "node-b")
            for name in ("node-a", "node-b"):
                env = {**NODE_ENV, **cluster.node_env.get(name, {})}
                nodes.append(await asyncio.to_thread(start_node, tmp, name, url, redis.url, **env))
            await _admin_and_inbox(cluster)
            yield cluster
    finally:
        for node in nodes:
            node.kill(signal.SIGKILL)
        for server in (pg, redis, dovecot):  # next to the node logs (kept with --keep):
            for log in server._log_files():  # a crash of PostgreSQL shows there
                with contextlib.suppress(OSError):
                    (tmp / f"service-{log.name}").write_bytes(log.read_bytes())
        if pg.pid is not None:
            thaw(pg.pid)
        smtp.stop()
        redis.close()
        dovecot.close()
        pg.close()


@contextlib.asynccontextmanager
async def sqlite_on_small_disk(tmp: Path) -> Any:
    """disk_full's shape: one node (in-process bus) whose SQLite file lives on a
    DISK_MB tmpfs, a webhook receiver; the tmpfs is unmounted after."""
    disk = tmp / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        raise RuntimeError(f"disk_full needs to mount a tmpfs (root): {mounted.stderr.strip()}")
    nodes: list[Node] = []
    try:
        db = disk / "switchboard.db"
        async with Receiver() as receiver:
            cluster = Cluster(tmp, None, None, f"sqlite:///{db}", nodes, receiver, None)
            cluster.disk, cluster.sqlite_path = disk, db
            nodes.append(
                await asyncio.to_thread(start_node, tmp, "solo", cluster.url, "", **NODE_ENV)
            )
            await _admin_and_inbox(cluster)
            yield cluster
    finally:
        for node in nodes:
            node.kill(signal.SIGKILL)
        for _ in range(50):  # a killed node's files close a moment later
            if subprocess.run(["umount", str(disk)], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)


async def _admin_and_inbox(cluster: Cluster) -> None:
    node = cluster.nodes[0]
    password = node.admin_password()
    async with httpx.AsyncClient(base_url=node.base_url, timeout=30) as http:
        login = await http.post(
            "/api/auth/login", json={"email": "admin@example.test", "password": password}
        )
        cluster.token = login.json()["token"]
        response = await http.post(
            "/api/admin/inboxes",
            headers={"authorization": f"Bearer {cluster.token}"},
            json={
                "name": "Chaos",
                "kind": "api",
                "member_ids": [],
                "config": {
                    "inbound_token": INBOUND_TOKEN,
                    "webhook_url": cluster.receiver.url,
                    "webhook_secret": "chaos-secret",
                },
            },
        )
        assert response.status_code == 201, response.text
        cluster.inbox = response.json()
        if cluster.dovecot is None:
            return
        response = await http.post(
            "/api/admin/inboxes",
            headers={"authorization": f"Bearer {cluster.token}"},
            json={"name": "Chaos mail", "kind": "email", "config": _email_config(cluster)},
        )
        assert response.status_code == 201, response.text
        cluster.mail_inbox_id = int(response.json()["id"])


def _email_config(cluster: Cluster) -> dict[str, Any]:
    assert cluster.dovecot is not None and cluster.smtp is not None
    return {
        "address": cluster.mailbox,
        "imap_host": cluster.dovecot.host,
        "imap_port": cluster.dovecot.port,
        "imap_security": "none",
        "imap_password": MAIL_PASSWORD,
        "smtp_host": "127.0.0.1",
        "smtp_port": cluster.smtp.port,
        "smtp_security": "none",
    }


async def _phases(
    cluster: Cluster, faults: tuple[str, ...], cycles: Cycles, sockets: int, gap: float
) -> list[dict[str, Any]]:
    watchers = [Watcher(cluster, home=i % len(cluster.nodes)) for i in range(sockets)]
    try:
        while not all(w.connected for w in watchers):
            await asyncio.sleep(0.05)
        return [
            await run_phase(
                cluster, watchers, f, cycles if isinstance(cycles, int) else cycles[f], gap
            )
            for f in faults
        ]
    finally:
        for watcher in watchers:
            watcher.task.cancel()
        await asyncio.gather(*(w.task for w in watchers), return_exceptions=True)


Cycles = int | dict[str, int]  # the same for every fault, or per fault


async def run(
    tmp: Path, faults: tuple[str, ...], cycles: Cycles, sockets: int = 4, gap: float = 2.0
) -> list[dict[str, Any]]:
    """The two-node cluster's phases, then (if asked) the one-node SQLite ones."""
    rows = []
    shared = tuple(f for f in faults if f not in SINGLE_NODE)
    if shared:
        async with cluster_running(tmp, clock_jump="clock_jump" in shared) as cluster:
            rows += await _phases(cluster, shared, cycles, sockets, gap)
    single = tuple(f for f in faults if f in SINGLE_NODE)
    if single:
        async with sqlite_on_small_disk(tmp) as cluster:
            rows += await _phases(cluster, single, cycles, sockets, gap)
    return rows


#: What must be zero in every row (the promises); the rest are figures.
MAIL_MUST_BE_ZERO = (
    "mail_lost",
    "mail_sent_not_received",
    "mail_received_twice",
    "mail_message_id_changed",
    "mail_failed_without_reason",
    "mail_failed_without_5xx",
    "mail_retried_after_5xx",
)
MUST_BE_ZERO = (
    "lost",
    "duplicate_rows",
    "missed_without_resync",
    "twice_without_resync",
    "replies_undelivered",
    "delivered_under_two_ids",
    "errors_not_503",
    "503_without_retry_after",
    "stamped_off_clock",
    *MAIL_MUST_BE_ZERO,
)


def broken(row: dict[str, Any]) -> dict[str, Any]:
    """The promises a report row breaks ({} when it keeps them all)."""
    found = {k: row[k] for k in MUST_BE_ZERO if row.get(k)}
    if row.get("integrity_check", "ok") != "ok":
        found["integrity_check"] = row["integrity_check"]
    return found


def table(rows: list[dict[str, Any]]) -> str:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines)
