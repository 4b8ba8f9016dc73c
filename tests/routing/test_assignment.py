"""Auto-assignment through the REST API, on SQLite and PostgreSQL (docs/automation.md).

Agents are online when they hold a real /ws socket (presence); conversations arrive
through the API channel like any customer message.
"""

from __future__ import annotations

from collections import Counter

from tests.routing.conftest import Desk, eventually


async def test_round_robin_spreads_new_conversations_evenly(desk: Desk) -> None:
    await desk.online(desk.ana, desk.ben, desk.cy)
    await desk.routing("round_robin")
    ids = [await desk.chat(f"c{n}") for n in range(6)]
    owners = [await desk.assignee(i) for i in ids]
    assert owners == [desk.ana.id, desk.ben.id, desk.cy.id] * 2
    lines = [m["text"] for m in await desk.messages(ids[0]) if m["kind"] == "activity"]
    assert "Assigned to Ana automatically (round robin)" in lines


async def test_offline_agents_get_nothing(desk: Desk) -> None:
    await desk.online(desk.ana, desk.cy)  # ben stays offline
    await desk.routing("round_robin")
    owners = Counter([await desk.assignee(await desk.chat(f"c{n}")) for n in range(4)])
    assert owners == {desk.ana.id: 2, desk.cy.id: 2}


async def test_off_leaves_conversations_unassigned(desk: Desk) -> None:
    await desk.online(desk.ana)
    assert await desk.assignee(await desk.chat("c1")) is None


async def test_least_loaded_prefers_the_emptiest_agent(desk: Desk) -> None:
    await desk.online(desk.ana, desk.ben)
    await desk.routing("round_robin")
    first = [await desk.chat(f"c{n}") for n in range(2)]  # ana 1, ben 1
    await desk.status(first[0], "resolved")  # ana 0, ben 1
    await desk.routing("least_loaded")
    assert await desk.assignee(await desk.chat("c9")) == desk.ana.id


async def test_capacity_queues_and_a_resolve_serves_the_oldest_waiting(desk: Desk) -> None:
    await desk.online(desk.ana)
    await desk.capacity(desk.ana, 1)
    await desk.routing("round_robin")
    a, b, c = [await desk.chat(f"c{n}") for n in range(3)]
    assert [await desk.assignee(i) for i in (a, b, c)] == [desk.ana.id, None, None]
    await desk.status(a, "resolved", desk.ana)
    assert [await desk.assignee(i) for i in (b, c)] == [desk.ana.id, None]  # oldest first


async def test_per_inbox_capacity(desk: Desk) -> None:
    await desk.online(desk.ana)
    await desk.capacity(desk.ana, None, **{str(desk.inbox["id"]): 2})
    await desk.routing("round_robin")
    owners = [await desk.assignee(await desk.chat(f"c{n}")) for n in range(3)]
    assert owners == [desk.ana.id, desk.ana.id, None]


async def test_an_agent_coming_online_takes_the_queue(desk: Desk) -> None:
    await desk.routing("round_robin")
    waiting = [await desk.chat(f"c{n}") for n in range(2)]
    assert [await desk.assignee(i) for i in waiting] == [None, None]
    await desk.online(desk.ben)

    async def served() -> bool:
        return [await desk.assignee(i) for i in waiting] == [desk.ben.id, desk.ben.id]

    await eventually(served)


async def test_raising_capacity_serves_the_queue(desk: Desk) -> None:
    await desk.online(desk.ana)
    await desk.capacity(desk.ana, 0)
    await desk.routing("round_robin")
    waiting = await desk.chat("c1")
    assert await desk.assignee(waiting) is None
    await desk.capacity(desk.ana, 5)
    assert await desk.assignee(waiting) == desk.ana.id


async def test_a_reopened_unassigned_conversation_is_assigned(desk: Desk) -> None:
    conversation = await desk.chat("c1")
    await desk.status(conversation, "resolved")
    await desk.online(desk.cy)
    await desk.routing("round_robin")
    assert await desk.chat("c1", "me again") == conversation  # the same conversation reopens
    assert await desk.assignee(conversation) == desk.cy.id


async def test_handing_a_conversation_over_frees_room_for_the_queue(desk: Desk) -> None:
    await desk.online(desk.ana)
    await desk.capacity(desk.ana, 1)
    await desk.routing("round_robin")
    a, b = await desk.chat("c1"), await desk.chat("c2")
    assert await desk.assignee(b) is None
    r = await desk.admin.post(
        f"/api/conversations/{a}/assignment", json={"assignee_id": desk.ben.id}
    )
    assert r.status_code == 200, r.text
    assert await desk.assignee(b) == desk.ana.id


async def test_settings_are_admin_only_and_validated(desk: Desk) -> None:
    r = await desk.ana.http.put(
        f"/api/admin/inboxes/{desk.inbox['id']}/routing", json={"policy": "round_robin"}
    )
    assert r.status_code == 403
    r = await desk.admin.put(
        f"/api/admin/inboxes/{desk.inbox['id']}/routing", json={"policy": "random"}
    )
    assert r.status_code == 422
    r = await desk.admin.put("/api/admin/inboxes/999999/routing", json={"policy": "off"})
    assert r.status_code == 404
    r = await desk.admin.put(f"/api/admin/agents/{desk.ana.id}/capacity", json={"max_open": -1})
    assert r.status_code == 422
