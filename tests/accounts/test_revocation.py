"""Issue 11 holes 2 and 3: a password change ends every other session, API token and socket
of the user (4401); a role change is re-evaluated on open sockets at once."""

from __future__ import annotations

import httpx

from tests.accounts.conftest import PASSWORD, agent_login
from tests.conftest import Running
from tests.realtime.wsclient import AgentSocket
from tests.support.api import create_api_inbox, post_inbound


async def _me(server: Running, token: str) -> int:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/api/me", headers={"authorization": f"Bearer {token}"})
    return response.status_code


async def test_an_admin_password_reset_ends_every_session_token_and_socket(
    server: Running, admin: httpx.AsyncClient
) -> None:
    user, session = await agent_login(server, admin, "nina@example.test")
    api_token = (
        await server.client(session).post("/api/auth/tokens", json={"name": "script"})
    ).json()["token"]
    sock = await AgentSocket.open(server.ws_url, session)

    response = await admin.patch(
        f"/api/admin/agents/{user['id']}", json={"password": "brand-new-password"}
    )
    assert response.status_code == 200, response.text
    assert (await sock.closed(timeout=5))[0] == 4401
    assert await _me(server, session) == 401
    assert await _me(server, api_token) == 401
    assert (await admin.get("/api/me")).status_code == 200  # the admin's own session stays


async def test_an_own_password_change_keeps_only_the_session_that_made_it(
    server: Running, admin: httpx.AsyncClient
) -> None:
    _, first = await agent_login(server, admin, "omar@example.test")
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        second = (
            await http.post(
                "/api/auth/login", json={"email": "omar@example.test", "password": PASSWORD}
            )
        ).json()["token"]
    here = await AgentSocket.open(server.ws_url, first)
    there = await AgentSocket.open(server.ws_url, second)

    response = await server.client(first).post(
        "/api/account/password",
        json={"current_password": PASSWORD, "new_password": "omar-new-password"},
    )
    assert response.status_code == 200, response.text
    assert (await there.closed(timeout=5))[0] == 4401
    assert await _me(server, second) == 401
    assert await _me(server, first) == 200
    await here.send({"type": "ping"})
    assert await here.until(lambda f: f["type"] == "pong")


async def test_a_wrong_current_password_changes_nothing(
    server: Running, admin: httpx.AsyncClient
) -> None:
    _, session = await agent_login(server, admin, "pia@example.test")
    response = await server.client(session).post(
        "/api/account/password",
        json={"current_password": "not-it-at-all", "new_password": "pia-new-password"},
    )
    assert response.status_code == 403
    assert await _me(server, session) == 200


async def test_a_demoted_admin_loses_admin_visibility_on_an_open_socket_at_once(
    server: Running, admin: httpx.AsyncClient
) -> None:
    boss, token = await agent_login(server, admin, "boss@example.test", role="admin")
    inbox = await create_api_inbox(admin, name="Not hers")  # boss is no member
    sock = await AgentSocket.open(server.ws_url, token)
    await post_inbound(server.client(), inbox, text="seen while admin")
    seen = await sock.until(
        lambda f: f["type"] == "event" and f["event"]["type"] == "message.created"
    )
    assert seen["event"]["payload"]["message"]["text"] == "seen while admin"

    demoted = await admin.patch(f"/api/admin/agents/{boss['id']}", json={"role": "agent"})
    assert demoted.status_code == 200, demoted.text
    await sock.until(lambda f: f["type"] == "event" and f["event"]["type"] == "agent.updated")
    await post_inbound(server.client(), inbox, text="after the demotion", contact="other")
    marker = await create_api_inbox(admin, name="Marker", members=[boss["id"]])
    await post_inbound(server.client(), marker, text="marker")
    frame = await sock.until(
        lambda f: f["type"] == "event" and f["event"]["type"] == "message.created"
    )
    # the first message event she gets after the demotion is the one in her own inbox
    assert frame["event"]["payload"]["message"]["text"] == "marker"


async def test_the_last_active_admin_cannot_be_demoted_or_disabled(
    server: Running, admin: httpx.AsyncClient
) -> None:
    me = (await admin.get("/api/me")).json()["user"]
    for change in ({"role": "agent"}, {"is_active": False}):
        refused = await admin.patch(f"/api/admin/agents/{me['id']}", json=change)
        assert refused.status_code == 409, refused.text
    await agent_login(server, admin, "second@example.test", role="admin")
    allowed = await admin.patch(f"/api/admin/agents/{me['id']}", json={"role": "agent"})
    assert allowed.status_code == 200


async def test_a_role_change_tells_other_agents_no_email_address(
    server: Running, admin: httpx.AsyncClient
) -> None:
    _, watcher = await agent_login(server, admin, "wes@example.test")
    other, _ = await agent_login(server, admin, "xena@example.test")
    sock = await AgentSocket.open(server.ws_url, watcher)
    await admin.patch(f"/api/admin/agents/{other['id']}", json={"role": "admin"})
    frame = await sock.until(
        lambda f: f["type"] == "event" and f["event"]["type"] == "agent.updated"
    )
    assert frame["event"]["payload"]["user"]["role"] == "admin"
    assert "xena@example.test" not in str(frame)
