"""Next-response time through the API (docs/frt.md, "NRT"): waits, deadlines, alarms, report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from server.actions import sla
from server.storage import schema as t
from tests.conftest import Running
from tests.support.api import create_agent, create_api_inbox, post_inbound


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _z(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def _message(client: httpx.AsyncClient, cid: int, mid: int) -> dict[str, Any]:
    items = (await client.get(f"/api/conversations/{cid}/messages")).json()["items"]
    return next(m for m in items if m["id"] == mid)  # type: ignore[no-any-return]


async def _customer(server: Running, inbox: dict[str, Any], text: str) -> int:
    response = await post_inbound(server.client(), inbox, text=text)
    assert response.status_code in (200, 201), response.text
    return int(response.json()["message_id"])


async def test_a_follow_up_waits_for_the_next_human_reply(
    server: Running, admin: httpx.AsyncClient
) -> None:
    bot = await create_agent(admin, "bot@example.test", name="Greeter", is_bot=True)
    human = await create_agent(admin, "hana@example.test", name="Hana")
    inbox = await create_api_inbox(
        admin,
        members=[bot["id"], human["id"]],
        frt_targets={"default": 3600},
        nrt_targets={"default": 1800, "urgent": 300},
    )
    first = await post_inbound(server.client(), inbox)
    cid = first.json()["conversation_id"]
    hana = await server.login("hana@example.test", "agent-password-1")
    greeter = await server.login("bot@example.test", "agent-password-1")
    url = f"/api/conversations/{cid}/messages"
    await hana.post(url, json={"text": "Hello, looking now"})  # the first response
    follow_up = await _customer(server, inbox, "Any news?")
    started = _at((await _message(hana, cid, follow_up))["sent_at"])
    conv = (await hana.get(f"/api/conversations/{cid}")).json()
    assert conv["nrt_due_at"] == _z(started + timedelta(seconds=1800))  # 24/7 calendar
    assert conv["nrt_warn_at"] == _z(started + timedelta(seconds=1440))  # 80 %
    assert conv["sla_due_at"] is None and _at(conv["waiting_since"]) == started
    await _customer(server, inbox, "Hello?")  # already waiting: no second wait
    await greeter.post(url, json={"text": "An agent will answer soon"})
    await hana.post(url, json={"text": "asking the warehouse", "private": True})
    moved = await admin.post(f"/api/conversations/{cid}/priority", json={"priority": "urgent"})
    assert moved.status_code == 200, moved.text
    conv = (await hana.get(f"/api/conversations/{cid}")).json()
    assert conv["nrt_due_at"] == _z(started + timedelta(seconds=300))  # the urgent target
    assert [
        (w["index"], w["start_message_id"], w["responded_at"]) for w in conv["response_waits"]
    ] == [(0, follow_up, None)]

    answer = (await hana.post(url, json={"text": "It ships today"})).json()["message"]
    conv = (await hana.get(f"/api/conversations/{cid}")).json()
    wall = (_at(answer["sent_at"]) - started).total_seconds()
    (wait,) = conv["response_waits"]
    assert (wait["response_message_id"], wait["responder_id"]) == (answer["id"], human["id"])
    assert wait["wall_seconds"] == wall and wait["business_seconds"] == wall
    assert wait["calendar_id"] is not None
    assert conv["nrt_due_at"] is None and conv["waiting_since"] is None
    assert len(conv["response_cycles"]) == 1  # follow-ups never start a segment

    report = (await admin.get("/api/reports/nrt", params={"group_by": "agent"})).json()
    (row,) = report["groups"]
    assert (row["key"], row["label"], row["count"], row["answered"]) == (
        human["id"],
        "Hana",
        1,
        1,
    )
    assert row["median"] == round(wall, 1) and row["business_p90"] == round(wall, 1)
    assert [w["conversation_id"] for w in report["waits"]] == [cid]
    csv_text = (await admin.get("/api/reports/nrt", params={"format": "csv"})).text
    assert csv_text.splitlines()[0].startswith("conversation_id,")
    assert "resolution_seconds" not in csv_text.splitlines()[0]


async def _alarms(server: Running, cid: int) -> list[tuple[str, str, str]]:
    e = t.events.c
    async with server.ctx.db.read() as conn:
        rows = await conn.execute(
            sa.select(e.type, e.payload)
            .where(e.conversation_id == cid, e.type.in_(["sla.near_breach", "sla.breached"]))
            .order_by(e.id)
        )
        return [(r.type, r.payload["metric"], r.payload["due_at"]) for r in rows]


async def test_near_breach_and_breach_fire_once_for_frt_and_nrt(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(
        admin, frt_targets={"default": 3600}, nrt_targets={"default": 600}
    )
    cid = (await post_inbound(server.client(), inbox)).json()["conversation_id"]
    conv = (await admin.get(f"/api/conversations/{cid}")).json()
    frt_due, frt_warn = _at(conv["sla_due_at"]), _at(conv["sla_warn_at"])
    assert (frt_due - frt_warn).total_seconds() == 720  # the last fifth of 3600 s
    second = timedelta(seconds=1)
    await sla.mark_breaches(server.ctx, now=frt_warn + second)
    await sla.mark_breaches(server.ctx, now=frt_warn + second)  # fired already: nothing
    assert await _alarms(server, cid) == [("sla.near_breach", "frt", _z(frt_due))]
    await sla.mark_breaches(server.ctx, now=frt_due + second)
    assert (await admin.get("/api/reports/live")).json()["breaching"] == 1

    await admin.post(f"/api/conversations/{cid}/messages", json={"text": "on it"})
    await _customer(server, inbox, "and another question")
    conv = (await admin.get(f"/api/conversations/{cid}")).json()
    nrt_due, nrt_warn = _at(conv["nrt_due_at"]), _at(conv["nrt_warn_at"])
    assert conv["sla_due_at"] is None and (nrt_due - nrt_warn).total_seconds() == 120
    # waiting again, on a new deadline: the first response's breach is history
    assert (await admin.get("/api/reports/live")).json()["breaching"] == 0
    await sla.mark_breaches(server.ctx, now=nrt_warn + second)
    await sla.mark_breaches(server.ctx, now=nrt_due + second)
    await sla.mark_breaches(server.ctx, now=nrt_due + 2 * second)
    assert await _alarms(server, cid) == [
        ("sla.near_breach", "frt", _z(frt_due)),
        ("sla.breached", "frt", _z(frt_due)),
        ("sla.near_breach", "nrt", _z(nrt_due)),
        ("sla.breached", "nrt", _z(nrt_due)),
    ]
    conv = (await admin.get(f"/api/conversations/{cid}")).json()
    assert conv["nrt_breached_at"] is not None
    assert (await admin.get("/api/reports/live")).json()["breaching"] == 1
