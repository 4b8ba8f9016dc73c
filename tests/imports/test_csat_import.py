"""CSAT answers in imports (docs/import.md): a conversation run live with its survey
answered, then imported with the same history and the answer as a ``csat`` event, gives
the same CSAT figures in every report, from the rows and from the rollups; a re-import
changes nothing; an edited answer moves the figures."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.reporting import rollup
from tests.conftest import Running, make_settings, start_server
from tests.conftest import _set_admin_password as set_admin_password
from tests.imports.test_import import _as_import_record
from tests.support.api import create_agent, create_api_inbox, post_inbound
from tests.support.ports import free_port


@pytest.fixture
async def server(tmp_path: Path, database_url: str) -> AsyncIterator[Running]:
    port = free_port()
    settings = make_settings(
        tmp_path, database_url, port=port, public_url=f"http://127.0.0.1:{port}"
    )
    running = await start_server(settings)
    await set_admin_password(running)
    try:
        yield running
    finally:
        await running.stop()


async def _csat_figures(admin: httpx.AsyncClient, inbox_id: int) -> dict[str, Any]:
    by_agent = (
        await admin.get("/api/reports/csat", params={"group_by": "agent", "inbox_id": inbox_id})
    ).json()
    trends = (await admin.get("/api/reports/trends", params={"inbox_id": inbox_id})).json()
    keys = ("csat_answers", "csat_average", "csat_satisfied_percent")
    agents = [
        (g["label"], g["sent"], g["answered"], g["average_rating"]) for g in by_agent["groups"]
    ]
    return {
        "agents": agents,
        "totals": {k: trends["totals"][k] for k in keys},
        "days": [{k: b[k] for k in keys} for b in trends["series"]],
    }


async def test_imported_csat_answers_count_like_live_ones(
    server: Running, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ola = await create_agent(admin, "ola@example.test", name="Ola")
    live = await create_api_inbox(admin, name="Live", members=[ola["id"]])
    twin = await create_api_inbox(admin, name="Imported", members=[ola["id"]])
    for inbox in (live, twin):
        put = await admin.put(f"/api/admin/inboxes/{inbox['id']}/csat", json={"enabled": True})
        assert put.status_code == 200, put.text
    agent = await server.login("ola@example.test", "agent-password-1")
    cid = (await post_inbound(server.client(), live, text="Where is it?")).json()["conversation_id"]
    await agent.post(f"/api/conversations/{cid}/assignment", json={"assignee_id": ola["id"]})
    await agent.post(f"/api/conversations/{cid}/messages", json={"text": "Tomorrow."})
    await agent.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
    messages = (
        await admin.get(f"/api/conversations/{cid}/messages", params={"limit": 200})
    ).json()["items"]
    surveys = [m for m in messages if (m.get("content_attributes") or {}).get("csat_survey_id")]
    found = re.search(r"/csat/([\w-]+)", surveys[0]["text"])
    assert found is not None
    answer = await server.client().post(
        f"/api/csat/{found.group(1)}", json={"rating": 4, "comment": "fine"}
    )
    assert answer.status_code == 200, answer.text
    answered_at = answer.json()["survey"]["answered_at"]

    record = await _as_import_record(admin, cid)
    record["events"] = [e for e in record["events"] if e["id"] != str(surveys[0]["id"])]
    record["events"].append(
        {"id": "csat-1", "type": "csat", "rating": 4, "comment": "fine", "at": answered_at}
    )
    record["events"].append(
        {"id": "assign-1", "type": "assign", "at": record["events"][0]["at"],
         "agent": {"external_id": "ola", "email": "ola@example.test"}}
    )  # fmt: skip
    batch = {"inbox_id": twin["id"], "conversations": [record]}
    first = (await admin.post("/api/admin/import", json=batch)).json()
    assert first["created"] == 1 and first["failed"] == 0, first

    live_figures = await _csat_figures(admin, live["id"])
    assert live_figures["totals"]["csat_answers"] == 1
    assert live_figures["totals"]["csat_average"] == 4.0
    assert await _csat_figures(admin, twin["id"]) == live_figures
    monkeypatch.setattr(rollup, "EXACT_MAX", -1)  # the same from the rollups
    assert await _csat_figures(admin, live["id"]) == live_figures
    assert await _csat_figures(admin, twin["id"]) == live_figures

    again = (await admin.post("/api/admin/import", json=batch)).json()
    assert again["unchanged"] == 1, again
    assert await _csat_figures(admin, twin["id"]) == live_figures

    record["events"][-2] = {**record["events"][-2], "rating": 2}  # the old tool's edit
    edited = (await admin.post("/api/admin/import", json=batch)).json()
    assert edited["updated"] == 1, edited
    moved = await _csat_figures(admin, twin["id"])
    assert moved["totals"]["csat_average"] == 2.0 and moved["totals"]["csat_answers"] == 1
    monkeypatch.setattr(rollup, "EXACT_MAX", 5_000)
    assert await _csat_figures(admin, twin["id"]) == moved

    bad = {**record, "external_id": "bad", "events": [*record["events"][:1]]}
    bad["events"].append({"id": "x", "type": "csat", "rating": 6, "at": answered_at})
    refused = (
        await admin.post("/api/admin/import", json={"inbox_id": twin["id"], "conversations": [bad]})
    ).json()
    assert refused["failed"] == 1 and "rating" in str(refused["results"]), refused
