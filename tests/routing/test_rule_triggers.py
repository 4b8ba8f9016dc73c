"""Every trigger, the loop limit and save-time refusals, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.actions import rules
from server.storage.schema import utcnow
from tests.conftest import make_settings, start_server
from tests.routing.conftest import Desk, eventually
from tests.routing.test_rules import activity, add_rule, runs

LABEL = [{"type": "add_label", "label": "fired"}]


async def labels(desk: Desk, conversation_id: int) -> list[str]:
    return (await desk.conversation(conversation_id))["labels"]  # type: ignore[no-any-return]


async def test_conversation_created_fires_once_per_conversation(desk: Desk) -> None:
    rule = await add_rule(desk, trigger="conversation_created", actions=LABEL)
    conversation = await desk.chat("c1", "first")
    await desk.chat("c1", "second")
    assert await labels(desk, conversation) == ["fired"]
    assert len(await runs(desk, rule)) == 1


async def test_customer_message_fires_per_message(desk: Desk) -> None:
    rule = await add_rule(desk, actions=[{"type": "add_note", "text": "seen"}])
    await desk.chat("c1", "one")
    await desk.chat("c1", "two")
    assert len(await runs(desk, rule)) == 2


async def test_agent_message_fires_on_a_public_reply_not_a_note(desk: Desk) -> None:
    rule = await add_rule(desk, trigger="agent_message", actions=LABEL)
    conversation = await desk.chat("c1")
    url = f"/api/conversations/{conversation}/messages"
    await desk.admin.post(url, json={"text": "note", "private": True})
    assert await runs(desk, rule) == []
    r = await desk.admin.post(url, json={"text": "Hello!"})
    assert r.status_code == 201, r.text
    assert await labels(desk, conversation) == ["fired"]


async def test_conversation_updated_and_resolved(desk: Desk) -> None:
    updated = await add_rule(
        desk,
        name="Urgent VIP",
        trigger="conversation_updated",
        conditions=[{"field": "labels", "op": "has", "value": "vip"}],
        actions=[{"type": "set_priority", "priority": "urgent"}],
    )
    resolved = await add_rule(
        desk,
        name="Bye",
        trigger="conversation_resolved",
        actions=[{"type": "add_label", "label": "done"}],
    )
    conversation = await desk.chat("c1")
    r = await desk.admin.post(f"/api/conversations/{conversation}/labels", json={"add": ["vip"]})
    assert r.status_code == 200, r.text
    assert r.json()["conversation"]["priority"] == "urgent"  # the answer carries the rule's change
    assert "Rule 'Urgent VIP' set priority to urgent" in await activity(desk, conversation)
    await desk.status(conversation, "resolved")
    assert "done" in await labels(desk, conversation)
    assert len(await runs(desk, resolved)) == 1 and len(await runs(desk, updated)) >= 1


async def test_waiting_longer_fires_once_per_wait(desk: Desk) -> None:
    rule = await add_rule(desk, trigger="waiting_longer", params={"minutes": 30}, actions=LABEL)
    conversation = await desk.chat("c1")
    ctx = desk.server.ctx
    assert await rules.run_timers(ctx, utcnow() + timedelta(minutes=29)) == 0
    assert await rules.run_timers(ctx, utcnow() + timedelta(minutes=31)) == 1
    assert await rules.run_timers(ctx, utcnow() + timedelta(minutes=60)) == 0  # same wait
    assert await labels(desk, conversation) == ["fired"]
    [run] = await runs(desk, rule)
    assert run["status"] == "ok" and run["trigger"] == "waiting_longer"


async def test_sla_alerts_fire_rules_and_tell_the_assignee(desk: Desk) -> None:
    # target 10 s: near breach at 80 % (8 s, docs/frt.md), breach at 10 s; the timer
    # worker notices each within a second
    r = await desk.admin.patch(
        f"/api/admin/inboxes/{desk.inbox['id']}", json={"frt_targets": {"default": 10}}
    )
    assert r.status_code == 200, r.text
    near = await add_rule(
        desk,
        name="Hurry",
        trigger="sla_near_breach",
        actions=[{"type": "add_label", "label": "hurry"}],
    )
    breached = await add_rule(
        desk,
        name="Escalate",
        trigger="sla_breached",
        actions=[{"type": "set_priority", "priority": "urgent"}],
    )
    await add_rule(
        desk,
        name="Owner",
        trigger="conversation_created",
        actions=[{"type": "assign_agent", "agent_id": desk.ana.id}],
    )
    conversation = await desk.chat("c1")

    async def escalated() -> bool:
        return (await desk.conversation(conversation))["priority"] == "urgent"

    await eventually(escalated, timeout=60)
    assert "hurry" in await labels(desk, conversation)
    assert [x["status"] for x in await runs(desk, near)] == ["ok"]
    assert [x["status"] for x in await runs(desk, breached)] == ["ok"]
    notes = (await desk.ana.http.get("/api/notifications")).json()["notifications"]
    kinds = [n["kind"] for n in notes]
    assert (kinds.count("sla_near_breach"), kinds.count("sla_breached")) == (1, 1)


async def test_rules_that_trigger_each_other_stop_at_the_depth_limit(desk: Desk) -> None:
    up = await add_rule(
        desk,
        name="Up",
        trigger="conversation_updated",
        conditions=[{"field": "priority", "op": "is", "value": "high"}],
        actions=[{"type": "set_priority", "priority": "urgent"}],
    )
    down = await add_rule(
        desk,
        name="Down",
        trigger="conversation_updated",
        conditions=[{"field": "priority", "op": "is", "value": "urgent"}],
        actions=[{"type": "set_priority", "priority": "high"}],
    )
    conversation = await desk.chat("c1")
    r = await desk.admin.post(
        f"/api/conversations/{conversation}/priority", json={"priority": "high"}
    )
    assert r.status_code == 200, r.text
    statuses = [x["status"] for x in await runs(desk, up) + await runs(desk, down)]
    assert statuses.count("stopped") == 1
    assert statuses.count("ok") == 3  # depth 0, 1, 2 ran; depth 3 was stopped
    stopped = [x for x in await runs(desk, up) + await runs(desk, down) if x["status"] == "stopped"]
    assert "more than 3 levels deep" in stopped[0]["results"][0]["error"]


async def test_a_deactivated_agent_is_a_recorded_failure_at_run_time(desk: Desk) -> None:
    rule = await add_rule(
        desk,
        name="To Cy",
        actions=[{"type": "assign_agent", "agent_id": desk.cy.id}, *LABEL],
    )
    r = await desk.admin.patch(f"/api/admin/agents/{desk.cy.id}", json={"is_active": False})
    assert r.status_code == 200, r.text
    conversation = await desk.chat("c1")
    [run] = await runs(desk, rule)
    assert run["status"] == "failed" and "deactivated" in run["results"][0]["error"]
    assert await labels(desk, conversation) == ["fired"]
    assert (await desk.conversation(conversation))["assignee_id"] is None


def rule_body(**changes: Any) -> dict[str, Any]:
    return {
        "name": "R",
        "trigger": "customer_message",
        "conditions": [],
        "actions": LABEL,
        **changes,
    }


REFUSED = [
    (
        "unknown field",
        rule_body(conditions=[{"field": "mood", "op": "is", "value": "x"}]),
        "conditions[0].field",
    ),
    (
        "unknown operator",
        rule_body(conditions=[{"field": "priority", "op": "gt", "value": "x"}]),
        "conditions[0].op",
    ),
    ("unknown action", rule_body(actions=[{"type": "explode"}]), "actions[0].type"),
    (
        "runaway regex",
        rule_body(conditions=[{"field": "message.text", "op": "matches", "value": "(a+)+$"}]),
        "conditions[0].value",
    ),
    (
        "deleted agent",
        rule_body(actions=[{"type": "assign_agent", "agent_id": 987654}]),
        "actions[0].agent_id",
    ),
    (
        "deleted team",
        rule_body(actions=[{"type": "assign_team", "team_id": 987654}]),
        "actions[0].team_id",
    ),
    (
        "webhook to a private address",
        rule_body(actions=[{"type": "webhook", "url": "http://127.0.0.1:9/hook"}]),
        "actions[0].url",
    ),
    (
        "webhook not http",
        rule_body(actions=[{"type": "webhook", "url": "file:///etc/passwd"}]),
        "actions[0].url",
    ),
]


@pytest.fixture
async def guarded_admin(tmp_path: Path, database_url: str) -> Any:
    """A server with the private-address guard on (the shared fixture turns it off)."""
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, _set_admin_password

    running = await start_server(make_settings(tmp_path, database_url, allow_private_urls=False))
    await _set_admin_password(running)
    try:
        yield await running.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    finally:
        await running.stop()


async def test_bad_rules_are_refused_with_a_precise_422(guarded_admin: httpx.AsyncClient) -> None:
    for name, body, field in REFUSED:
        r = await guarded_admin.post("/api/admin/rules", json=body)
        assert r.status_code == 422, (name, r.text)
        text = r.text
        assert field in text, (name, text)
    assert (await guarded_admin.get("/api/admin/rules")).json()["rules"] == []


CONDITIONS: list[tuple[str, dict[str, Any], bool]] = [
    ("channel is api", {"field": "channel", "op": "is", "value": "api"}, True),
    ("channel is email", {"field": "channel", "op": "is", "value": "email"}, False),
    ("contact name", {"field": "contact.name", "op": "contains", "value": "customer c1"}, True),
    (
        "custom attribute",
        {"field": "contact.attributes.plan", "op": "is", "value": "enterprise"},
        True,
    ),
    ("language", {"field": "language", "op": "is", "value": "de"}, True),
    ("text matches", {"field": "message.text", "op": "matches", "value": r"order\s+#?\d+"}, True),
    ("no team", {"field": "team_id", "op": "absent"}, True),
    ("priority", {"field": "priority", "op": "is", "value": "urgent"}, False),
    (
        "business hours (never open)",
        {"field": "within_business_hours", "op": "is", "value": True},
        False,
    ),
    (
        "outside business hours",
        {"field": "within_business_hours", "op": "is", "value": False},
        True,
    ),
]


async def test_conditions_read_the_stored_conversation(desk: Desk) -> None:
    # an inbox that is never open: within_business_hours is False whatever the time
    r = await desk.admin.patch(
        f"/api/admin/inboxes/{desk.inbox['id']}",
        json={"business_hours": {"timezone": "UTC", "weekly": {}}},
    )
    assert r.status_code == 200, r.text
    for n, (_name, condition, _fires) in enumerate(CONDITIONS):
        await add_rule(
            desk,
            name=f"c{n}",
            trigger="customer_message",
            conditions=[condition, {"field": "message.text", "op": "contains", "value": "order"}],
            actions=[{"type": "add_label", "label": f"c{n}"}],
        )
    first = await desk.chat("c1", "hello")  # creates the contact; no rule matches "hello"
    contact_id = (await desk.conversation(first))["contact_id"]
    r = await desk.admin.patch(
        f"/api/contacts/{contact_id}", json={"attributes": {"plan": "enterprise", "language": "de"}}
    )
    assert r.status_code == 200, r.text
    await desk.chat("c1", "where is my order #4521?")
    got = set(await labels(desk, first))
    expected = {f"c{n}" for n, (_name, _c, fires) in enumerate(CONDITIONS) if fires}
    assert got == expected, {CONDITIONS[int(x[1:])][0] for x in got ^ expected}
