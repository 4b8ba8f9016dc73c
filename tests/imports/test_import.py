"""History import (docs/import.md): what a team moving from another tool gets.

The central proof: one scenario run live through the API, then the same history imported
into a twin inbox with the original times, gives identical first-response, next-response
and resolution figures, conversation by conversation and in the reports.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from tests.conftest import Running
from tests.support.api import create_agent, create_api_inbox, post_inbound

HOURS = {
    "timezone": "Europe/Warsaw",
    "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": [],
}
SETTINGS = {"business_hours": HOURS, "frt_targets": {"default": 7200}}
ID_FIELDS = {
    "id",
    "calendar_id",
    "inbox_id",
    "conversation_id",
    "start_message_id",
    "response_message_id",
    "end_message_id",
    "message_id",
}


async def _live_scenario(server: Running, admin: httpx.AsyncClient, inbox: dict[str, Any]) -> int:
    """A customer writes days ago; a bot greets; a note; Hana answers; a follow-up and its
    answer (NRT); resolved; the customer comes back; answered again."""
    hana = await server.login("hana@example.test", "agent-password-1")
    bot = await server.login("bot@example.test", "agent-password-1")
    started = (datetime.now(UTC) - timedelta(days=3, hours=2)).replace(microsecond=0)
    first = await post_inbound(
        server.client(), inbox, text="My order is late", sent_at=started.isoformat()
    )
    cid = int(first.json()["conversation_id"])
    url = f"/api/conversations/{cid}/messages"
    await bot.post(url, json={"text": "Thanks! An agent will reply soon."})
    await hana.post(url, json={"text": "checking the courier", "private": True})
    await hana.post(url, json={"text": "It ships today."})
    await post_inbound(server.client(), inbox, text="Which courier?")
    await hana.post(url, json={"text": "DPD, tracking 123."})
    assert (
        await hana.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
    ).status_code == 200
    await post_inbound(server.client(), inbox, text="It arrived broken")
    await hana.post(url, json={"text": "Sorry! A replacement is on its way."})
    return cid


async def _as_import_record(admin: httpx.AsyncClient, cid: int) -> dict[str, Any]:
    """The live conversation's stored history, written as an export would carry it."""
    messages = (await admin.get(f"/api/conversations/{cid}/messages", params={"limit": 200})).json()
    agents = {a["id"]: a for a in (await admin.get("/api/admin/agents")).json()["items"]}
    events: list[dict[str, Any]] = []
    for m in messages["items"]:
        base = {"id": str(m["id"]), "at": m["sent_at"]}
        sender = agents.get(m.get("sender_id")) if m["sender_type"] == "agent" else None
        person = (
            {"external_id": f"u{sender['id']}", "email": sender["email"], "name": sender["name"]}
            if sender
            else None
        )
        if m["kind"] == "activity":
            status = (m.get("content_attributes") or {}).get("status")
            if status:
                events.append({**base, "type": "status", "status": status, "agent": person})
        elif m["direction"] == "in":
            events.append({**base, "type": "message", "from": "customer", "text": m["text"]})
        elif m["kind"] == "note":
            events.append({**base, "type": "note", "agent": person, "text": m["text"]})
        elif sender and sender.get("is_bot"):
            events.append({**base, "type": "message", "from": "bot", "text": m["text"]})
        else:
            events.append(
                {**base, "type": "message", "from": "agent", "agent": person, "text": m["text"]}
            )
    return {
        "external_id": f"live-{cid}",
        "contact": {"external_id": "c1", "name": "Ada"},
        "events": events,
    }


def _figures(detail: dict[str, Any]) -> dict[str, Any]:
    def clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in ID_FIELDS} for r in rows]

    keys = (
        "status",
        "frt_seconds",
        "frt_business_seconds",
        "first_response_at",
        "first_responder_id",
        "waiting_since",
        "resolved_at",
    )
    return {
        **{k: detail.get(k) for k in keys},
        "cycles": clean(detail["response_cycles"]),
        "waits": clean(detail.get("response_waits", [])),
    }


async def test_imported_history_gives_the_figures_live_traffic_gave(
    server: Running, admin: httpx.AsyncClient
) -> None:
    hana = await create_agent(admin, "hana@example.test", name="Hana")
    bot = await create_agent(admin, "bot@example.test", name="Greeter", is_bot=True)
    members = [hana["id"], bot["id"]]
    live = await create_api_inbox(admin, name="Live", members=members, **SETTINGS)
    twin = await create_api_inbox(admin, name="Imported", members=members, **SETTINGS)
    cid = await _live_scenario(server, admin, live)
    record = await _as_import_record(admin, cid)

    result = await admin.post(
        "/api/admin/import", json={"inbox_id": twin["id"], "conversations": [record]}
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["created"] == 1 and body["failed"] == 0
    imported_id = body["results"][0]["conversation_id"]

    live_detail = (await admin.get(f"/api/conversations/{cid}")).json()
    imported_detail = (await admin.get(f"/api/conversations/{imported_id}")).json()
    assert len(live_detail["response_cycles"]) == 2
    assert (
        live_detail["response_cycles"][0]["business_seconds"]
        != live_detail["response_cycles"][0]["wall_seconds"]
    )
    a, b = _figures(imported_detail), _figures(live_detail)
    for key in a:
        assert a[key] == b[key], (key, a[key], b[key])

    period = {"from": "2000-01-01T00:00:00Z", "group_by": "inbox"}
    report = (await admin.get("/api/reports/frt", params=period)).json()
    groups = {g["key"]: g for g in report["groups"]}
    same = {k: v for k, v in groups[live["id"]].items() if k not in ("key", "label")}
    assert same["count"] == 2 and same["answered"] == 2
    assert {k: v for k, v in groups[twin["id"]].items() if k not in ("key", "label")} == same


async def test_reimport_changes_nothing_and_adds_only_what_is_new(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin, name="Old tool")
    ann = {"external_id": "7", "email": "ann@old.test", "name": "Ann"}
    t0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    record = {
        "external_id": "ticket-1",
        "contact": {"external_id": "cust-9", "name": "Bo", "email": "bo@example.test"},
        "labels": ["billing"],
        "events": [
            {
                "id": "a",
                "type": "message",
                "from": "customer",
                "at": t0.isoformat(),
                "text": "Invoice wrong",
            },
            {
                "id": "b",
                "type": "message",
                "from": "agent",
                "agent": ann,
                "text": "Fixed",
                "at": (t0 + timedelta(minutes=30)).isoformat(),
            },
            {
                "id": "c",
                "type": "status",
                "status": "resolved",
                "agent": ann,
                "at": (t0 + timedelta(minutes=31)).isoformat(),
            },
        ],
    }
    batch = {"inbox_id": inbox["id"], "conversations": [record]}
    first = (await admin.post("/api/admin/import", json=batch)).json()
    assert first["created"] == 1
    cid = first["results"][0]["conversation_id"]
    detail = (await admin.get(f"/api/conversations/{cid}")).json()
    assert detail["status"] == "resolved" and detail["frt_seconds"] == 1800
    assert detail["labels"] == ["billing"]
    before = await _counts(server)

    again = (await admin.post("/api/admin/import", json=batch)).json()
    assert again["unchanged"] == 1 and again["created"] == 0
    assert await _counts(server) == before  # no message, event or version moved
    assert (await admin.get(f"/api/conversations/{cid}")).json()["version"] == detail["version"]

    record["events"].append(
        {
            "id": "d",
            "type": "message",
            "from": "customer",
            "text": "Thanks!",
            "at": (t0 + timedelta(hours=2)).isoformat(),
        }
    )
    more = (await admin.post("/api/admin/import", json=batch)).json()
    assert more["updated"] == 1 and more["results"][0]["added_events"] == 1
    reopened = (await admin.get(f"/api/conversations/{cid}")).json()
    assert reopened["status"] == "open" and len(reopened["response_cycles"]) == 2

    # the departed agent is kept for reports, and cannot log in
    login = await server.client().post(
        "/api/auth/login", json={"email": "ann@old.test", "password": ""}
    )
    assert login.status_code in (401, 422)
    assert (await _counts(server))["outbox"] == 0  # nothing was sent to anyone


async def _counts(server: Running) -> dict[str, int]:
    from server.storage import schema as t

    async with server.ctx.db.read() as conn:
        out = {}
        for name, table in (("messages", t.messages), ("events", t.events), ("outbox", t.outbox)):
            out[name] = int(
                (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
            )
    return out


async def test_bad_records_are_named_and_the_rest_still_import(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_api_inbox(admin)
    good = {
        "external_id": "ok",
        "contact": {"external_id": "c"},
        "events": [
            {"type": "message", "from": "customer", "at": "2025-01-01T10:00:00Z", "text": "hi"}
        ],
    }
    bad = [
        (
            {"external_id": "x", "contact": {"external_id": "c"}, "events": []},
            "events: a conversation needs",
        ),
        (
            {
                **good,
                "events": [{"type": "message", "from": "customer", "at": "2025-01-01T10:00:00"}],
            },
            "events[0].at",
        ),
        (
            {
                **good,
                "events": [{"type": "message", "from": "agent", "at": "2025-01-01T10:00:00Z"}],
            },
            "events[0].agent",
        ),
        (
            {
                **good,
                "events": [{"type": "status", "status": "closed", "at": "2025-01-01T10:00:00Z"}],
            },
            "events[0].status",
        ),
        (
            {
                **good,
                "events": [{"type": "message", "from": "customer", "at": "2999-01-01T10:00:00Z"}],
            },
            "future",
        ),
        ({**good, "contact": "bob"}, "contact"),
        ("not an object", "record"),
    ]
    body = (
        await admin.post(
            "/api/admin/import",
            json={"inbox_id": inbox["id"], "conversations": [good] + [b for b, _ in bad]},
        )
    ).json()
    assert body["created"] == 1 and body["failed"] == len(bad)
    for result, (_, words) in zip(body["results"][1:], bad, strict=True):
        assert words in result["error"], (words, result)

    agent = await create_agent(admin, "ag@example.test")
    client = await server.login(agent["email"], "agent-password-1")
    denied = await client.post(
        "/api/admin/import", json={"inbox_id": inbox["id"], "conversations": [good]}
    )
    assert denied.status_code == 403
    missing = await admin.post(
        "/api/admin/import", json={"inbox_id": 999999, "conversations": [good]}
    )
    assert missing.status_code == 404
