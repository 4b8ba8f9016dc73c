"""Automation rules through the REST API, on SQLite and PostgreSQL (docs/automation.md).

Each action, each trigger and the loop limit, seen the way an admin sees them: the
conversation's state, its activity lines, and the rule's recorded runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
import sqlalchemy as sa

from server.actions import rule_webhooks
from server.storage import schema as t
from server.storage.schema import utcnow
from tests.routing.conftest import Desk, eventually
from tests.support.receiver import Receiver


async def add_rule(desk: Desk, **rule: Any) -> dict[str, Any]:
    body = {"name": "R", "trigger": "customer_message", "conditions": [], **rule}
    r = await desk.admin.post("/api/admin/rules", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def runs(desk: Desk, rule: dict[str, Any]) -> list[dict[str, Any]]:
    r = await desk.admin.get(f"/api/admin/rules/{rule['id']}/runs")
    assert r.status_code == 200, r.text
    return r.json()["runs"]  # type: ignore[no-any-return]


async def activity(desk: Desk, conversation_id: int) -> list[str]:
    return [m["text"] for m in await desk.messages(conversation_id) if m["kind"] == "activity"]


def when(keyword: str) -> list[dict[str, Any]]:
    return [{"field": "message.text", "op": "contains", "value": keyword}]


# Actions -------------------------------------------------------------------------------

ACTIONS: list[tuple[str, list[dict[str, Any]], str, dict[str, Any]]] = [
    ("add_label", [{"type": "add_label", "label": "vip"}], "added label vip", {"labels": ["vip"]}),
    (
        "set_priority",
        [{"type": "set_priority", "priority": "urgent"}],
        "set priority to urgent",
        {"priority": "urgent"},
    ),
    (
        "snooze",
        [{"type": "snooze", "minutes": 30}],
        "snoozed for 30 minutes",
        {"status": "snoozed"},
    ),
    ("resolve", [{"type": "resolve"}], "resolved the conversation", {"status": "resolved"}),
    (
        "add then remove a label",
        [{"type": "add_label", "label": "tmp"}, {"type": "remove_label", "label": "tmp"}],
        "added label tmp and removed label tmp",
        {"labels": []},
    ),
]


@pytest.mark.parametrize(("name", "actions", "line", "state"), ACTIONS, ids=[a[0] for a in ACTIONS])
async def test_conversation_actions(
    desk: Desk, name: str, actions: list[dict[str, Any]], line: str, state: dict[str, Any]
) -> None:
    await add_rule(desk, name="VIP", conditions=when("order"), actions=actions)
    untouched = await desk.chat("other", "just saying hi")
    conversation = await desk.chat("c1", "where is my order?")
    got = await desk.conversation(conversation)
    assert {k: got[k] for k in state} == state
    assert f"Rule 'VIP' {line}" in await activity(desk, conversation)
    assert await activity(desk, untouched) == []


async def test_assign_agent_and_team(desk: Desk) -> None:
    team = (await desk.admin.post("/api/admin/teams", json={"name": "Billing"})).json()
    await add_rule(
        desk,
        name="Billing",
        conditions=when("invoice"),
        actions=[
            {"type": "assign_agent", "agent_id": desk.ben.id},
            {"type": "assign_team", "team_id": team["id"]},
        ],
    )
    conversation = await desk.chat("c1", "my invoice is wrong")
    got = await desk.conversation(conversation)
    assert (got["assignee_id"], got["team_id"]) == (desk.ben.id, team["id"])
    assert "Rule 'Billing' assigned to Ben and assigned to team Billing" in await activity(
        desk, conversation
    )
    r = await desk.ben.http.get("/api/notifications")
    assert [n["kind"] for n in r.json()["notifications"]] == ["assigned"]


async def test_canned_reply_is_automatic_and_never_stops_the_clock(desk: Desk) -> None:
    await add_rule(
        desk,
        name="Ack",
        trigger="conversation_created",
        actions=[{"type": "send_reply", "text": "Thanks, we got your message."}],
    )
    conversation = await desk.chat("c1", "help")
    messages = await desk.messages(conversation)
    auto = [m for m in messages if m["kind"] == "message" and m["direction"] == "out"]
    assert [m["text"] for m in auto] == ["Thanks, we got your message."]
    got = await desk.conversation(conversation)
    assert got["first_response_at"] is None and got["waiting_since"] is not None
    # a human reply then does stop it
    r = await desk.admin.post(f"/api/conversations/{conversation}/messages", json={"text": "Hi!"})
    assert r.status_code == 201, r.text
    assert (await desk.conversation(conversation))["first_response_at"] is not None


async def test_private_note(desk: Desk) -> None:
    await add_rule(
        desk,
        name="Note",
        conditions=when("lawyer"),
        actions=[{"type": "add_note", "text": "Legal!"}],
    )
    conversation = await desk.chat("c1", "my lawyer will call")
    notes = [m for m in await desk.messages(conversation) if m["kind"] == "note"]
    assert [n["text"] for n in notes] == ["Legal!"]


async def test_signed_webhook_goes_through_the_durable_queue(desk: Desk) -> None:
    async with Receiver() as receiver:
        receiver.script.append(503)  # the first attempt fails and is retried
        rule = await add_rule(
            desk,
            name="Hook",
            conditions=when("refund"),
            actions=[{"type": "webhook", "url": receiver.url}],
        )
        conversation = await desk.chat("c1", "refund please")
        # the automation timer delivers within a second; deliver now too (claims are
        # atomic, so whichever gets there first sends it, once)
        await rule_webhooks.deliver_due(desk.server.ctx)
        await eventually(lambda: _count(receiver, 1))
        await _retry_now(desk)
        await rule_webhooks.deliver_due(desk.server.ctx)
        await eventually(lambda: _count(receiver, 2))
    body = receiver.requests[-1].body
    expected = (
        "sha256=" + hmac.new(rule["webhook_secret"].encode(), body, hashlib.sha256).hexdigest()
    )
    assert receiver.requests[-1].headers["x-switchboard-signature"] == expected
    assert json.loads(body)["conversation"]["id"] == conversation


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.requests) >= n


async def _retry_now(desk: Desk) -> None:
    """Make the backed-off retry due now (the test does not wait out the backoff)."""
    async with desk.server.ctx.db.write() as conn:
        await conn.execute(
            sa.update(t.rule_webhooks).values(next_attempt_at=utcnow(), claimed_until=None)
        )


async def test_email_without_a_mail_server_is_a_recorded_failure(desk: Desk) -> None:
    rule = await add_rule(
        desk,
        name="Mail",
        conditions=when("urgent"),
        actions=[{"type": "email", "to": "boss@example.test"}, {"type": "add_label", "label": "x"}],
    )
    conversation = await desk.chat("c1", "urgent!")
    [run] = await runs(desk, rule)
    assert run["status"] == "failed"
    assert [r["ok"] for r in run["results"]] == [False, True]
    assert "no outgoing mail server" in run["results"][0]["error"]
    lines = await activity(desk, conversation)
    assert any(x.startswith("Rule 'Mail' could not send the email") for x in lines), lines
    assert (await desk.conversation(conversation))["labels"] == ["x"]  # the rest still ran
