"""A backfill batch that meets a database outage ends at its first failure (the cursor
stays put) and collects every other store of the batch: none is left to be logged as
"Task exception was never retrieved" (the chaos run's PostgreSQL stops logged 63 such
tracebacks per outage once 64 mails were in flight)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from adapters.base import AdapterContext
from adapters.email.adapter import EmailAdapter
from adapters.email.imap_watcher import RawMail
from server.exceptions import DatabaseUnavailable


def _mail(n: int, *, reply: bool = False) -> RawMail:
    thread = f"In-Reply-To: <m{n - 1}@example.org>\r\n" if reply else ""
    raw = (
        f"From: c{n}@example.org\r\nTo: support@example.test\r\nSubject: s{n}\r\n"
        f"Message-ID: <m{n}@example.org>\r\n{thread}\r\nbody {n}\r\n"
    ).encode()
    return RawMail(raw, None, None, f"INBOX 1/{n}")


async def test_an_outage_mid_batch_leaves_no_unretrieved_task_exception() -> None:
    calls = 0

    async def ingest_during_an_outage(msg: Any) -> Any:  # the database, down
        nonlocal calls
        calls += 1
        raise DatabaseUnavailable()  # every store of the batch fails before any is awaited

    ctx = AdapterContext(
        inbox_id=1,
        inbox_name="Mail",
        public_key="k",
        config={},
        ingest=ingest_during_an_outage,
        report_status=None,  # type: ignore[arg-type]
        state=None,  # type: ignore[arg-type]
        health=None,  # type: ignore[arg-type]
        lease=None,  # type: ignore[arg-type]
        settings={},
    )
    adapter = EmailAdapter(ctx)
    unretrieved: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: unretrieved.append(context))
    try:
        failed = False
        try:
            # a reply waits for every store before it: several have failed by then
            await adapter.ingest_batch([*(_mail(n) for n in range(20)), _mail(20, reply=True)])
        except DatabaseUnavailable:
            failed = True  # no traceback kept: it would keep the batch's tasks alive
        assert failed
        await asyncio.sleep(0.05)
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert calls > 1  # several stores were in flight when the first one failed
    assert not unretrieved, [c.get("message") for c in unretrieved]
