"""Account lifecycle over the REST API (docs/accounts.md): invite, reset by email, 2FA with
recovery codes, sessions and API tokens, the audit log. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import httpx
import pyotp
import sqlalchemy as sa

from server.crypto import token_hash
from server.storage import schema as t
from tests.accounts.conftest import PASSWORD, Outgoing, agent_login, link_in, login_token
from tests.conftest import ADMIN_EMAIL, Running
from tests.realtime.wsclient import AgentSocket
from tests.support.api import eventually


async def test_an_invite_link_is_mailed_works_once_and_is_stored_hashed(
    mail_server: Running, smtp: Outgoing
) -> None:
    admin = await mail_server.login(ADMIN_EMAIL, "admin-password-1")
    response = await admin.post(
        "/api/admin/invites", json={"email": "ines@example.test", "name": "Ines"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["emailed"] is True
    assert response.json()["user"]["pending_invite"] is True
    await eventually(lambda: _some(smtp.mails))
    token = link_in(smtp.mails[0])
    assert len(token) >= 22  # ≥128 bits of url-safe base64
    assert smtp.mails[0]["To"] == "ines@example.test"
    async with mail_server.ctx.db.read() as conn:
        stored = (await conn.execute(sa.select(t.account_links.c.token_hash))).scalars().all()
        queued = (await conn.execute(sa.select(t.account_mail.c.body))).scalars().all()
    assert stored == [token_hash(token)]  # only the hash is kept
    assert all(token not in body for body in queued)  # the mail body is erased or encrypted

    anon = mail_server.client()
    info = await anon.post("/api/auth/links/invite", json={"token": token})
    assert info.json() == {"email": "ines@example.test", "name": "Ines"}
    accepted = await anon.post(
        "/api/auth/invite/accept", json={"token": token, "password": "ines-password-1"}
    )
    assert accepted.status_code == 200, accepted.text
    again = await mail_server.client().post(
        "/api/auth/invite/accept", json={"token": token, "password": "someone-else-1"}
    )
    assert again.status_code == 404
    assert await login_token(mail_server, "ines@example.test", "ines-password-1")


async def _some(items: list[object]) -> bool:
    return bool(items)


async def test_an_install_without_mail_shows_the_invite_link_to_the_admin(
    server: Running, admin: httpx.AsyncClient
) -> None:
    response = await admin.post(
        "/api/admin/invites", json={"email": "jan@example.test", "name": "Jan"}
    )
    body = response.json()
    assert body["emailed"] is False and "#/invite/" in body["invite_url"]


async def test_a_password_reset_answers_alike_for_known_and_unknown_addresses(
    mail_server: Running, smtp: Outgoing
) -> None:
    admin = await mail_server.login(ADMIN_EMAIL, "admin-password-1")
    _, session = await agent_login(mail_server, admin, "kim@example.test")
    sock = await AgentSocket.open(mail_server.ws_url, session)
    anon = mail_server.client()
    known = await anon.post("/api/auth/password-reset", json={"email": "KIM@example.test"})
    unknown = await anon.post("/api/auth/password-reset", json={"email": "nobody@example.test"})
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    await eventually(lambda: _some(smtp.mails))
    assert [m["To"] for m in smtp.mails] == ["kim@example.test"]
    token = link_in(smtp.mails[0])

    short = await anon.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "short"}
    )
    assert short.status_code == 422
    done = await anon.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "kim-new-password"}
    )
    assert done.status_code == 200, done.text
    assert (await sock.closed(timeout=5))[0] == 4401  # a reset ends every session
    reused = await anon.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "kim-other-pass"}
    )
    assert reused.status_code == 404
    assert await login_token(mail_server, "kim@example.test", "kim-new-password")


async def test_two_factor_login_with_totp_then_a_recovery_code_once(
    server: Running, admin: httpx.AsyncClient
) -> None:
    _, session = await agent_login(server, admin, "lea@example.test")
    me = server.client(session)
    setup = (await me.post("/api/account/totp/setup")).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(setup["secret"])
    wrong = await me.post("/api/account/totp/enable", json={"code": "000000"})
    assert wrong.status_code == 422
    codes = (await me.post("/api/account/totp/enable", json={"code": totp.now()})).json()[
        "recovery_codes"
    ]
    assert len(codes) == 10

    anon = server.client()
    creds = {"email": "lea@example.test", "password": PASSWORD}
    first = await anon.post("/api/auth/login", json=creds)
    assert (first.status_code, first.json()["error"]["code"]) == (401, "totp_required")
    bad = await anon.post("/api/auth/login", json={**creds, "code": "123456"})
    assert bad.status_code == 401
    assert await login_token(server, "lea@example.test", PASSWORD, codes[0].upper())
    spent = await anon.post("/api/auth/login", json={**creds, "code": codes[0]})
    assert spent.status_code == 401  # a recovery code works once
    async with server.ctx.db.read() as conn:
        hashes = (await conn.execute(sa.select(t.recovery_codes.c.code_hash))).scalars().all()
    assert not set(codes) & set(hashes)


async def test_required_two_factor_gives_a_setup_only_session(
    server: Running, admin: httpx.AsyncClient
) -> None:
    refused = await admin.put("/api/admin/security", json={"require_two_factor": True})
    assert refused.status_code == 409  # the admin must have it first
    secret = (await admin.post("/api/account/totp/setup")).json()["secret"]
    await admin.post("/api/account/totp/enable", json={"code": pyotp.TOTP(secret).now()})
    _, before = await agent_login(server, admin, "max@example.test")
    switched = await admin.put("/api/admin/security", json={"require_two_factor": True})
    assert switched.status_code == 200, switched.text
    assert (await server.client(before).get("/api/me")).status_code == 401

    setup_only = await login_token(server, "max@example.test", PASSWORD)
    client = server.client(setup_only)
    blocked = await client.get("/api/conversations")
    assert blocked.status_code == 403
    refused = await AgentSocket.open(server.ws_url, setup_only, hello=False)
    assert (await refused.closed())[0] == 4401  # no live events before 2FA is on
    assert (await client.get("/api/me")).json()["account"]["two_factor_setup_required"]
    own = (await client.post("/api/account/totp/setup")).json()["secret"]
    enabled = await client.post("/api/account/totp/enable", json={"code": pyotp.TOTP(own).now()})
    assert enabled.status_code == 200
    assert (await client.get("/api/conversations")).status_code == 200


async def test_sessions_and_api_tokens_are_listed_and_revocable(
    server: Running, admin: httpx.AsyncClient
) -> None:
    _, session = await agent_login(server, admin, "ned@example.test")
    me = server.client(session)
    made = await me.post("/api/auth/tokens", json={"name": "CI bot", "expires_in_days": 30})
    api_token = made.json()["token"]
    assert (await server.client(api_token).get("/api/me")).status_code == 200
    tokens = (await me.get("/api/account/tokens")).json()["items"]
    assert [(i["name"], i["expires_at"] is not None) for i in tokens] == [("CI bot", True)]
    assert tokens[0]["last_used_at"] is not None
    assert "token" not in tokens[0] and "token_hash" not in tokens[0]

    other = await login_token(server, "ned@example.test", PASSWORD)
    sock = await AgentSocket.open(server.ws_url, other)
    sessions = (await me.get("/api/account/sessions")).json()["items"]
    assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
    target = next(s for s in sessions if not s["current"])
    assert (await me.delete(f"/api/account/sessions/{target['id']}")).status_code == 200
    assert (await sock.closed(timeout=5))[0] == 4401
    assert (await me.delete(f"/api/account/tokens/{tokens[0]['id']}")).status_code == 200
    assert (await server.client(api_token).get("/api/me")).status_code == 401
    # someone else's session is "not found", like one that does not exist
    assert (await admin.delete(f"/api/account/sessions/{target['id']}")).status_code == 404

    assert (await me.post("/api/account/logout-everywhere")).status_code == 200
    assert (await server.client(session).get("/api/me")).status_code == 401


async def test_admin_actions_are_audited_without_secret_values(
    server: Running, admin: httpx.AsyncClient
) -> None:
    created = await admin.post(
        "/api/admin/agents",
        json={"email": "ola@example.test", "name": "Ola", "password": "ola-secret-password"},
    )
    user_id = created.json()["id"]
    await admin.patch(f"/api/admin/agents/{user_id}", json={"role": "admin"})
    await admin.patch(f"/api/admin/agents/{user_id}", json={"password": "another-secret-pw"})
    await admin.post(
        "/api/admin/inboxes",
        json={"name": "Hooks", "kind": "api", "config": {"inbound_token": "inbound-secret-123"}},
    )
    items = (await admin.get("/api/admin/audit")).json()["items"]
    actions = [i["action"] for i in items]
    assert actions[:4] == ["inbox.create", "agent.update", "agent.update", "agent.create"]
    assert all(i["actor_name"] == "Admin" and i["address"] == "127.0.0.1" for i in items[:4])
    assert items[2]["details"]["role"] == "admin"
    exported = await admin.get("/api/admin/audit.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    for secret in ("ola-secret-password", "another-secret-pw", "inbound-secret-123"):
        assert secret not in exported.text and secret not in str(items)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows[0]["action"] == "inbox.create"
    _, agent_session = await agent_login(server, admin, "pat@example.test")
    assert (await server.client(agent_session).get("/api/admin/audit")).status_code == 403


async def test_a_link_of_a_deactivated_account_sets_no_password(
    server: Running, admin: httpx.AsyncClient
) -> None:
    made = (
        await admin.post("/api/admin/invites", json={"email": "yuri@example.test", "name": "Yuri"})
    ).json()
    token = made["invite_url"].rsplit("/", 1)[1]
    await admin.patch(f"/api/admin/agents/{made['user']['id']}", json={"is_active": False})
    anon = server.client()
    assert (await anon.post("/api/auth/links/invite", json={"token": token})).status_code == 404
    accepted = await anon.post(
        "/api/auth/invite/accept", json={"token": token, "password": "yuri-password-1"}
    )
    assert accepted.status_code == 404
