"""Email ingestion: IMAP APPEND → message.created on the bus, and backfill throughput.

Runs a real Switchboard in this process (SQLite by default, or --postgres for a throw-away
PostgreSQL) against a real Dovecot, and subscribes to ``ctx.bus`` (the in-process bus that
feeds agent sockets) to time events:

1. latency: ``--mails`` (default 300) mails APPENDed one at a time over one IMAP connection;
   per mail, time from the start of APPEND to its ``message.created`` event (p50/p99).
   DESIGN.md targets: p50 < 1 s, p99 < 3 s. Dovecot itself holds IDLE notifications back
   for 0.5 s (it batches mailbox changes), so ~500 ms of the figure is the server's; a mail
   announced while the watcher is busy (EXISTS outside IDLE) is seen at once.
2. backfill: ``--backfill`` (default 10,000) mails dropped into the Maildir before the inbox
   exists; time from creating the inbox to the last ``message.created`` (mails/s).

    .venv/bin/python bench/email_latency.py [--mails 300] [--backfill 10000] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import ADMIN_EMAIL, make_settings, start_server  # noqa: E402
from tests.support.services import DovecotServer, PostgresServer  # noqa: E402

PASSWORD = "bench-password-1"


def mail(i: int, address: str) -> bytes:
    return (
        f"From: Customer {i} <c{i}@example.org>\r\nTo: {address}\r\n"
        f"Subject: bench {i}\r\nMessage-ID: <bench-{i}-{time.time_ns()}@example.org>\r\n"
        f"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nHello number {i}\r\n"
    ).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Events:
    """Counts message.created events per inbox and wakes waiters (one bus subscription)."""

    def __init__(self, bus: Any) -> None:
        self.sub = bus.subscribe()
        self.seen: dict[int, int] = {}
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for item in self.sub:
            event = item.event
            if event.type == "message.created" and event.inbox_id is not None:
                self.seen[event.inbox_id] = self.seen.get(event.inbox_id, 0) + 1
                self.changed.set()

    async def wait_for(self, inbox_id: int, count: int) -> None:
        while self.seen.get(inbox_id, 0) < count:
            self.changed.clear()
            await self.changed.wait()


async def create_inbox(admin: Any, dovecot: DovecotServer, address: str, name: str) -> int:
    response = await admin.post(
        "/api/admin/inboxes",
        json={
            "name": name,
            "kind": "email",
            "config": {
                "address": address,
                "imap_host": dovecot.host,
                "imap_port": dovecot.port,
                "imap_security": "none",
                "imap_password": PASSWORD,
            },
        },
    )
    response.raise_for_status()
    return int(response.json()["id"])


async def latency(
    running: Any, admin: Any, events: Events, dovecot: DovecotServer, count: int
) -> None:
    address = "latency@example.test"
    inbox_id = await create_inbox(admin, dovecot, address, "latency")
    imap = imaplib.IMAP4(dovecot.host, dovecot.port)
    imap.login(address, PASSWORD)
    samples: list[float] = []
    for i in range(count):
        raw = mail(i, address)
        started = time.perf_counter()
        await asyncio.to_thread(imap.append, "INBOX", None, None, raw)
        await events.wait_for(inbox_id, i + 1)
        samples.append(time.perf_counter() - started)
    imap.logout()
    print(
        f"APPEND → message.created over {count} mails: "
        f"p50 {percentile(samples, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(samples, 0.99) * 1000:.1f} ms, "
        f"mean {statistics.mean(samples) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms"
    )


def fill_maildir(dovecot: DovecotServer, address: str, count: int) -> None:
    imap = imaplib.IMAP4(dovecot.host, dovecot.port)  # the first login creates the Maildir
    imap.login(address, PASSWORD)
    imap.select("INBOX")
    imap.logout()
    new = dovecot.mail_dir / address / "Maildir" / "new"
    owner = new.stat()
    for i in range(count):
        path = new / f"{i}.bench"
        path.write_bytes(mail(i, address))
        os.chown(path, owner.st_uid, owner.st_gid)


async def backfill(admin: Any, events: Events, dovecot: DovecotServer, count: int) -> None:
    address = "backfill@example.test"
    await asyncio.to_thread(fill_maildir, dovecot, address, count)
    started = time.perf_counter()
    inbox_id = await create_inbox(admin, dovecot, address, "backfill")
    await events.wait_for(inbox_id, count)
    elapsed = time.perf_counter() - started
    print(f"backfill of {count} mails: {elapsed:.1f} s, {count / elapsed:.0f} mails/s")


async def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    with DovecotServer() as dovecot, tempfile.TemporaryDirectory() as tmp:
        for user in ("latency@example.test", "backfill@example.test"):
            dovecot.add_user(user, PASSWORD)
        pg = PostgresServer() if args.postgres else None
        if pg is not None:
            pg.start()
        try:
            url = pg.create_database("bench_email") if pg else f"sqlite:///{tmp}/sb.db"
            print(f"database: {'PostgreSQL' if pg else 'SQLite'}")
            settings = make_settings(Path(tmp), url)
            running = await start_server(settings)
            try:
                await _measure(running, dovecot, args)
            finally:
                await running.stop()
        finally:
            if pg is not None:
                pg.close()


async def _measure(running: Any, dovecot: DovecotServer, args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from server.crypto import hash_password
    from server.storage import schema as t

    async with running.ctx.db.write() as conn:
        await conn.execute(
            sa.update(t.users)
            .where(t.users.c.email == ADMIN_EMAIL)
            .values(password_hash=hash_password(PASSWORD))
        )
    admin = await running.login(ADMIN_EMAIL, PASSWORD)
    events = Events(running.ctx.bus)
    if args.mails:
        await latency(running, admin, events, dovecot, args.mails)
    if args.backfill:
        await backfill(admin, events, dovecot, args.backfill)
    events.task.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--backfill", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
