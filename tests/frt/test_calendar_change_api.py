"""docs/frt.md, "Calendar changes": new business hours or targets move the deadlines of
waiting conversations at once (and their breach timers); a measured cycle keeps the calendar
it was measured under, also when its conversation's history is replayed later."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa

from server.storage import schema as t
from tests.conftest import Running
from tests.support.api import create_api_inbox, eventually, post_inbound


def _weekdays(tz: str) -> dict[str, Any]:
    days = ("mon", "tue", "wed", "thu", "fri")
    return {"timezone": tz, "weekly": {d: [["09:00", "17:00"]] for d in days}, "holidays": []}


async def _conversation(admin: httpx.AsyncClient, cid: int) -> dict[str, Any]:
    return (await admin.get(f"/api/conversations/{cid}")).json()  # type: ignore[no-any-return]


async def test_a_calendar_change_moves_open_deadlines_and_keeps_measured_cycles(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(
        admin, business_hours=_weekdays("Europe/Berlin"), frt_targets={"default": 3600}
    )
    # Friday 2026-01-09 15:30Z is 16:30 in Berlin and 10:30 in New York.
    waiting = await post_inbound(
        server.client(), inbox, contact="a", sent_at="2026-01-09T15:30:00Z"
    )
    a = waiting.json()["conversation_id"]
    assert (await _conversation(admin, a))["sla_due_at"] == "2026-01-12T08:30:00Z"
    answered = await post_inbound(
        server.client(), inbox, contact="b", sent_at="2026-01-09T15:30:00Z"
    )
    b = answered.json()["conversation_id"]
    await admin.post(f"/api/conversations/{b}/messages", json={"text": "here we are"})
    measured = (await _conversation(admin, b))["response_cycles"][0]
    assert measured["calendar_id"] is not None

    changed = await admin.patch(
        f"/api/admin/inboxes/{inbox['id']}", json={"business_hours": _weekdays("America/New_York")}
    )
    assert changed.status_code == 200, changed.text
    # at once: 30 min of business time left on Friday in Berlin, a full hour in New York
    assert (await _conversation(admin, a))["sla_due_at"] == "2026-01-09T16:30:00Z"

    async def breach_at_the_new_deadline() -> list[Any]:
        e = t.events.c
        async with server.ctx.db.read() as conn:
            rows = await conn.execute(
                sa.select(e.payload).where(e.conversation_id == a, e.type == "sla.breached")
            )
            return [
                r.payload["due_at"] for r in rows if r.payload["due_at"].startswith("2026-01-09")
            ]

    assert await eventually(breach_at_the_new_deadline) == ["2026-01-09T16:30:00Z"]

    # A back-dated message rewrites b's history: the clock replays it, and the measured
    # segment keeps the Berlin calendar it was measured under.
    late = await post_inbound(server.client(), inbox, contact="b", sent_at="2026-01-09T15:40:00Z")
    assert late.json()["conversation_id"] == b
    replayed = (await _conversation(admin, b))["response_cycles"]
    assert replayed == [measured]

    # A cycle measured from now on uses the new calendar.
    await post_inbound(server.client(), inbox, contact="b", text="one more thing")
    await admin.post(f"/api/conversations/{b}/messages", json={"text": "sure"})
    (wait,) = (await _conversation(admin, b))["response_waits"]
    assert wait["calendar_id"] not in (None, measured["calendar_id"])


async def test_a_target_change_moves_open_deadlines_at_once(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, frt_targets={"default": 3600})
    cid = (await post_inbound(server.client(), inbox, sent_at="2026-01-05T09:00:00Z")).json()[
        "conversation_id"
    ]
    assert (await _conversation(admin, cid))["sla_due_at"] == "2026-01-05T10:00:00Z"
    await admin.patch(f"/api/admin/inboxes/{inbox['id']}", json={"frt_targets": {"default": 60}})
    assert (await _conversation(admin, cid))["sla_due_at"] == "2026-01-05T09:01:00Z"


async def test_targets_are_whole_seconds_per_priority(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    url = f"/api/admin/inboxes/{inbox['id']}"
    negative = await admin.patch(url, json={"frt_targets": {"default": -5}})
    assert negative.status_code == 422
    assert negative.json()["error"]["message"] == (
        "frt_targets.default: expected whole seconds above 0, got -5"
    )
    unknown = await admin.patch(url, json={"nrt_targets": {"soon": 60}})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"].startswith("nrt_targets.soon: expected one of")
    cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
    assert (await _conversation(admin, cid))["sla_due_at"] is None  # nothing was stored
