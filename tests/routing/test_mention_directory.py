"""The directory the composer's @-completion reads (docs/automation.md, Mentions): every
agent sees which inboxes each agent is in and who belongs to each team, so it offers only
people and teams who can see the conversation's inbox. SQLite and PostgreSQL."""

from __future__ import annotations

from tests.routing.conftest import Desk


async def test_agents_see_team_members_and_agent_inboxes_for_mentions(desk: Desk) -> None:
    r = await desk.admin.post(
        "/api/admin/teams", json={"name": "Tier two", "member_ids": [desk.ben.id, desk.cy.id]}
    )
    assert r.status_code == 201, r.text
    await desk.admin.post("/api/admin/teams", json={"name": "Empty"})
    teams = (await desk.ana.http.get("/api/teams")).json()["items"]
    assert [(x["name"], x["member_ids"]) for x in teams] == [
        ("Empty", []),
        ("Tier two", sorted([desk.ben.id, desk.cy.id])),
    ]
    agents = {a["id"]: a for a in (await desk.ana.http.get("/api/agents")).json()["items"]}
    assert agents[desk.ben.id]["inbox_ids"] == [desk.inbox["id"]]
