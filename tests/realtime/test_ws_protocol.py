"""The lighter queue and flag of server/realtime/ws_protocol.py behave like asyncio's."""

from __future__ import annotations

import asyncio

from server.realtime.ws_protocol import _Flag, _Inbox


async def test_inbox_is_fifo_and_wakes_a_waiting_reader() -> None:
    inbox = _Inbox()
    assert inbox.empty() and inbox.qsize() == 0
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert inbox.qsize() == 2 and await inbox.get() == 1 and await inbox.get() == 2
    assert inbox.empty()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not reader.done()
    inbox.put_nowait("late")
    assert await asyncio.wait_for(reader, 1) == "late"


async def test_a_cancelled_reader_leaves_the_inbox_usable() -> None:
    inbox = _Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    inbox.put_nowait("kept")
    assert await asyncio.wait_for(inbox.get(), 1) == "kept"


async def test_flag_waits_until_set_and_not_after() -> None:
    flag = _Flag()
    assert not flag.is_set()
    waiter = asyncio.create_task(flag.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    flag.set()
    assert await asyncio.wait_for(waiter, 1) is True
    assert await flag.wait() is True  # already set: returns at once
    flag.clear()
    again = asyncio.create_task(flag.wait())
    await asyncio.sleep(0.01)
    assert not again.done()
    flag.set()
    await asyncio.wait_for(again, 1)
