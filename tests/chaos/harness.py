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
  imap_down      Dovecot stopped for 5 s: mail keeps arriving, backfilled once it is back

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
import signal
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from tests.faults.services import freeze, thaw
from tests.realtime.nodes import Node, migrate, start_node
from tests.support.api import INBOUND_TOKEN
from tests.support.ports import free_port
from tests.support.receiver import Receiver
from tests.support.services import DovecotServer, PostgresServer, RedisServer

FAULTS = ("node_kill", "redis_restart", "pg_stop", "pg_freeze", "imap_down")
NODE_ENV = {"SWITCHBOARD_ALLOW_PRIVATE_URLS": "true", "SWITCHBOARD_LOG_LEVEL": "WARNING"}
SETTLE = 90.0  # s a phase may take to converge after its last fault (outbox retries)
RECOVER = 60.0  # s after a fault's end before it counts as "did not recover"
SERIAL = itertools.count(1)
MAIL_PASSWORD = "chaos-mail-password"


@dataclass
class Cluster:
    tmp: Path
    pg: PostgresServer
    redis: RedisServer
    url: str
    nodes: list[Node]
    receiver: Receiver
    dovecot: DovecotServer
    token: str = ""
    inbox: dict[str, Any] = field(default_factory=dict)
    mailbox: str = "support@example.test"
    turn: itertools.count[int] = field(default_factory=itertools.count)

    def next_node(self) -> Node:
        return self.nodes[next(self.turn) % len(self.nodes)]

    async def restart_node(self, index: int) -> None:
        old = self.nodes[index]
        if old.log.exists():  # start_node rewrites it: keep the dead process's log
            old.log.rename(old.log.with_name(f"{old.name}.{old.process.pid}.log"))
        self.nodes[index] = await asyncio.to_thread(
            start_node, self.tmp, old.name, self.url, self.redis.url, **NODE_ENV
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

    def __init__(self, cluster: Cluster, senders: int = 3, pause: float = 0.08) -> None:
        self.cluster = cluster
        self.sent: list[Sent] = []
        self.replies: list[str] = []
        self.conversations: list[int] = []
        self.refused: Counter[int] = Counter()  # non-2xx answers by status (503 in outages)
        self._stopping = asyncio.Event()
        self._pause = pause
        self._http = httpx.AsyncClient(timeout=30)
        self._serial = SERIAL  # unique across phases: external and client ids never repeat
        self.tasks = [asyncio.create_task(self._sender(i)) for i in range(senders)]
        self.tasks.append(asyncio.create_task(self._replier()))
        self.tasks.append(asyncio.create_task(self._mailer()))

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
                response = await self._http.post(
                    url, json=body, headers={"authorization": f"Bearer {INBOUND_TOKEN}"}
                )
                if response.status_code >= 300:
                    self.refused[response.status_code] += 1
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
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            await asyncio.sleep(0.5)
            if not self.conversations:
                continue
            n = next(self._serial)
            conv = random.choice(self.conversations[-50:])
            body = {"text": f"re-{n}", "client_id": f"reply-{n:08d}"}
            deadline = loop.time() + SETTLE
            while loop.time() < deadline:
                node = self.cluster.next_node()
                with contextlib.suppress(httpx.HTTPError):
                    response = await self._http.post(
                        f"{node.base_url}/api/conversations/{conv}/messages",
                        json=body,
                        headers={"authorization": f"Bearer {self.cluster.token}"},
                    )
                    if response.status_code in (200, 201):
                        self.replies.append(body["text"])
                        break
                    self.refused[response.status_code] += 1
                await asyncio.sleep(0.25)

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
    assert cluster.redis.pid is not None
    os.kill(cluster.redis.pid, signal.SIGKILL)
    cluster.redis.stop()
    await asyncio.sleep(2.0)
    await asyncio.to_thread(cluster.redis.start)
    return asyncio.get_running_loop().time()


async def _pg_stop(cluster: Cluster, cycle: int) -> float:
    await asyncio.to_thread(cluster.pg.stop)
    await asyncio.sleep(3.0)
    await asyncio.to_thread(cluster.pg.start)
    return asyncio.get_running_loop().time()


async def _pg_freeze(cluster: Cluster, cycle: int) -> float:
    assert cluster.pg.pid is not None
    freeze(cluster.pg.pid)
    try:
        await asyncio.sleep(3.0)
    finally:
        thaw(cluster.pg.pid)
    return asyncio.get_running_loop().time()


async def _imap_down(cluster: Cluster, cycle: int) -> float:
    await asyncio.to_thread(cluster.dovecot.stop)
    await asyncio.sleep(5.0)
    await asyncio.to_thread(cluster.dovecot.start)
    return asyncio.get_running_loop().time()


def _drop_mail(cluster: Cluster, text: str) -> None:
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


INJECT = {
    "node_kill": _node_kill,
    "redis_restart": _redis_restart,
    "pg_stop": _pg_stop,
    "pg_freeze": _pg_freeze,
    "imap_down": _imap_down,
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


async def _rows(cluster: Cluster, load: Load) -> dict[str, int]:
    conn = await asyncpg.connect(cluster.url)
    try:
        texts = [s.text for s in load.sent]
        stored = await conn.fetch(
            "SELECT btrim(text, E' \\r\\n') AS t, count(*) AS n FROM messages "
            "WHERE direction = 'in' AND btrim(text, E' \\r\\n') = ANY($1) GROUP BY 1",
            texts,
        )
        replies = await conn.fetch(
            "SELECT client_id, count(*) AS n FROM messages WHERE text = ANY($1) GROUP BY client_id",
            load.replies,
        )
    finally:
        await conn.close()
    counts = {r["t"]: r["n"] for r in stored}
    return {
        "lost": sum(1 for t in texts if t not in counts) + len(load.replies) - len(replies),
        "duplicate_rows": sum(n - 1 for n in counts.values()) + sum(r["n"] - 1 for r in replies),
    }


async def run_phase(
    cluster: Cluster, watchers: list[Watcher], fault: str, cycles: int, gap: float
) -> dict[str, Any]:
    """``cycles`` faults of one kind under load, then the checks; one report row."""
    load = Load(cluster)
    resyncs_before = sum(len(w.resyncs) for w in watchers)
    requests_before = len(cluster.receiver.requests)
    recoveries = []
    await asyncio.sleep(gap)
    for cycle in range(cycles):
        ended = await INJECT[fault](cluster, cycle)
        recoveries.append(await _recovered(load, watchers, ended))
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
        "recover_max_s": round(max(recoveries), 2),
        "recover_median_s": round(statistics.median(recoveries), 2),
    }
    for watcher in watchers:  # the next phase counts its own
        watcher.twice = 0
    return report


# The cluster --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def cluster_running(tmp: Path) -> Any:
    """PostgreSQL, Redis, a webhook receiver and two nodes; everything stopped after."""
    pg, redis, dovecot = PostgresServer(), RedisServer(), DovecotServer()
    nodes: list[Node] = []
    try:
        pg.start()
        redis.start()
        dovecot.add_user("support@example.test", MAIL_PASSWORD)
        dovecot.start()
        url = pg.create_database("chaos")
        migrate(tmp, url, redis.url)
        async with Receiver() as receiver:
            cluster = Cluster(tmp, pg, redis, url, nodes, receiver, dovecot)
            for name in ("node-a", "node-b"):
                nodes.append(
                    await asyncio.to_thread(start_node, tmp, name, url, redis.url, **NODE_ENV)
                )
            await _admin_and_inbox(cluster)
            yield cluster
    finally:
        for node in nodes:
            node.kill(signal.SIGKILL)
        if pg.pid is not None:
            thaw(pg.pid)
        redis.close()
        dovecot.close()
        pg.close()


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
        response = await http.post(
            "/api/admin/inboxes",
            headers={"authorization": f"Bearer {cluster.token}"},
            json={"name": "Chaos mail", "kind": "email", "config": _email_config(cluster)},
        )
        assert response.status_code == 201, response.text


def _email_config(cluster: Cluster) -> dict[str, Any]:
    return {
        "address": cluster.mailbox,
        "imap_host": cluster.dovecot.host,
        "imap_port": cluster.dovecot.port,
        "imap_security": "none",
        "imap_password": MAIL_PASSWORD,
        "smtp_host": "127.0.0.1",
        "smtp_port": free_port(),  # replies go to the API channel only
        "smtp_security": "none",
    }


async def run(
    tmp: Path, faults: tuple[str, ...], cycles: int, sockets: int = 4, gap: float = 2.0
) -> list[dict[str, Any]]:
    async with cluster_running(tmp) as cluster:
        watchers = [Watcher(cluster, home=i % 2) for i in range(sockets)]
        try:
            while not all(w.connected for w in watchers):
                await asyncio.sleep(0.05)
            return [await run_phase(cluster, watchers, f, cycles, gap) for f in faults]
        finally:
            for watcher in watchers:
                watcher.task.cancel()
            await asyncio.gather(*(w.task for w in watchers), return_exceptions=True)


#: What must be zero in every row (the promises); the rest are figures.
MUST_BE_ZERO = (
    "lost",
    "duplicate_rows",
    "missed_without_resync",
    "twice_without_resync",
    "replies_undelivered",
    "delivered_under_two_ids",
)


def table(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)
