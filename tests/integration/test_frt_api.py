"""First-response time through the API: what stops the clock, cycles, reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Running
from tests.support.api import create_agent, create_api_inbox, post_inbound


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_only_a_human_public_reply_stops_the_clock(
    server: Running, admin: httpx.AsyncClient
) -> None:
    bot = await create_agent(admin, "bot@example.test", name="Greeter", is_bot=True)
    human = await create_agent(admin, "hana@example.test", name="Hana")
    inbox = await create_api_inbox(admin, members=[bot["id"], human["id"]])
    started = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    created = await post_inbound(server.client(), inbox, sent_at=started.isoformat())
    cid = created.json()["conversation_id"]
    bot_client = await server.login("bot@example.test", "agent-password-1")
    hana = await server.login("hana@example.test", "agent-password-1")
    url = f"/api/conversations/{cid}/messages"
    await bot_client.post(url, json={"text": "Thanks, an agent will be with you soon"})
    await hana.post(url, json={"text": "checking the order system", "private": True})
    waiting = (await hana.get(f"/api/conversations/{cid}")).json()
    assert waiting["first_response_at"] is None
    assert _at(waiting["waiting_since"]) == started
    reply = (await hana.post(url, json={"text": "Found it, ships today"})).json()["message"]
    conv = (await hana.get(f"/api/conversations/{cid}")).json()
    expected = (_at(reply["sent_at"]) - started).total_seconds()
    assert conv["first_response_message_id"] == reply["id"]
    assert conv["first_responder_id"] == human["id"]
    assert conv["frt_seconds"] == expected
    assert conv["frt_business_seconds"] == expected  # no business hours set: 24/7
    assert conv["waiting_since"] is None
    assert [c["index"] for c in conv["response_cycles"]] == [0]

    resolved = (
        await hana.post(f"/api/conversations/{cid}/status", json={"status": "resolved"})
    ).json()["conversation"]
    cycle = (await hana.get(f"/api/conversations/{cid}")).json()["response_cycles"][0]
    assert cycle["resolved_at"] == resolved["resolved_at"]
    assert cycle["resolution_seconds"] == (_at(resolved["resolved_at"]) - started).total_seconds()
    again = await post_inbound(server.client(), inbox, text="One more thing")
    assert again.json()["conversation_id"] == cid  # the same customer thread reopens
    conv = (await hana.get(f"/api/conversations/{cid}")).json()
    assert conv["status"] == "open"
    assert len(conv["response_cycles"]) == 2
    assert conv["response_cycles"][1]["responded_at"] is None
    assert conv["first_response_at"] is None  # the current cycle waits again

    report = (await admin.get("/api/reports/frt", params={"group_by": "agent"})).json()
    by_agent = {g["key"]: g for g in report["groups"]}
    assert by_agent[human["id"]]["median"] == round(expected, 1)  # reports round to 0.1 s
    assert by_agent[human["id"]]["count"] == 1
    assert by_agent[None]["answered"] == 0  # the waiting second cycle
    assert by_agent[human["id"]]["resolution_median"] == round(cycle["resolution_seconds"], 1)
    assert by_agent[None]["resolved"] == 0
    csv_text = (await admin.get("/api/reports/frt", params={"format": "csv"})).text
    assert csv_text.splitlines()[0].startswith("conversation_id,")
    assert len(csv_text.strip().splitlines()) == 3


async def test_business_hours_and_sla_deadline(server: Running, admin: httpx.AsyncClient) -> None:
    hours = {
        "timezone": "Europe/Berlin",
        "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": [],
    }
    inbox = await create_api_inbox(admin, business_hours=hours, frt_targets={"default": 3600})
    # Friday 2026-01-09 16:30 Berlin (15:30 UTC): 30 business minutes left that day
    cid = (await post_inbound(server.client(), inbox, sent_at="2026-01-09T15:30:00Z")).json()[
        "conversation_id"
    ]
    conv = (await admin.get(f"/api/conversations/{cid}")).json()
    # 3600 business seconds = 30 min Friday + 30 min from Monday 09:00 Berlin (08:00 UTC)
    assert conv["sla_due_at"] == "2026-01-12T08:30:00Z"

    async def breached() -> bool:
        current = (await admin.get(f"/api/conversations/{cid}")).json()
        return current["sla_breached_at"] is not None

    from tests.support.api import eventually

    await eventually(breached)  # the deadline is in the past: the timer marks it at once
    bad = await admin.patch(
        f"/api/admin/inboxes/{inbox['id']}",
        json={"business_hours": {"timezone": "Mars/Base", "weekly": {}}},
    )
    assert bad.status_code == 422 and "Mars/Base" in bad.json()["error"]["message"]
