"""Macros: named action lists run on a conversation, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.routing.conftest import Agent, Desk


async def make_macro(who: Any, name: str, actions: list[dict[str, Any]], **kw: Any) -> Any:
    return await who.post("/api/macros", json={"name": name, "actions": actions, **kw})


async def run(agent: Agent, conversation: int, macro_id: int) -> Any:
    return await agent.http.post(f"/api/conversations/{conversation}/macros/{macro_id}")


async def test_a_macro_runs_its_actions_in_one_go(desk: Desk) -> None:
    r = await make_macro(
        desk.ana.http,
        "Refund done",
        [
            {"type": "add_label", "label": "refund"},
            {"type": "set_priority", "priority": "low"},
            {"type": "send_reply", "text": "Your refund is on its way."},
            {"type": "resolve"},
        ],
    )
    assert r.status_code == 201, r.text
    conversation = await desk.chat("c1", "refund?")
    r = await run(desk.ana, conversation, r.json()["id"])
    assert r.status_code == 200, r.text
    got = await desk.conversation(conversation)
    assert (got["labels"], got["priority"], got["status"]) == (["refund"], "low", "resolved")
    assert got["first_response_at"] is not None  # the agent's macro reply is a human reply
    lines = [m["text"] for m in await desk.messages(conversation) if m["kind"] == "activity"]
    assert (
        "Macro 'Refund done' by Ana: added label refund, set priority to low, sent a reply "
        "and resolved the conversation"
    ) in lines


async def test_personal_macros_are_private_and_shared_ones_need_an_admin(desk: Desk) -> None:
    mine = (await make_macro(desk.ana.http, "Mine", [{"type": "add_label", "label": "a"}])).json()
    r = await make_macro(
        desk.ana.http, "For all", [{"type": "add_label", "label": "b"}], visibility="shared"
    )
    assert r.status_code == 403
    shared = await make_macro(
        desk.admin, "For all", [{"type": "add_label", "label": "b"}], visibility="shared"
    )
    assert shared.status_code == 201, shared.text
    names = [m["name"] for m in (await desk.ben.http.get("/api/macros")).json()["macros"]]
    assert names == ["For all"]
    conversation = await desk.chat("c1")
    assert (await run(desk.ben, conversation, mine["id"])).status_code == 404
    assert (await desk.ben.http.delete(f"/api/macros/{shared.json()['id']}")).status_code == 403


async def test_bad_macros_are_refused_and_run_time_failures_listed(desk: Desk) -> None:
    r = await make_macro(desk.ana.http, "Bad", [{"type": "assign_agent", "agent_id": 987654}])
    assert r.status_code == 422 and "actions[0].agent_id" in r.text
    r = await make_macro(desk.ana.http, "Hook", [{"type": "webhook", "url": "https://x.test"}])
    assert r.status_code == 422 and "actions[0].type" in r.text
    macro = (
        await make_macro(
            desk.ana.http,
            "To Cy",
            [{"type": "assign_agent", "agent_id": desk.cy.id}, {"type": "add_label", "label": "x"}],
        )
    ).json()
    r = await desk.admin.patch(f"/api/admin/agents/{desk.cy.id}", json={"is_active": False})
    assert r.status_code == 200, r.text
    conversation = await desk.chat("c1")
    r = await run(desk.ana, conversation, macro["id"])
    assert r.status_code == 200, r.text
    assert [x["ok"] for x in r.json()["results"]] == [False, True]
    assert r.json()["conversation"]["labels"] == ["x"]
