"""Hole 1: contacts never leak across inboxes. API-channel identities are scoped per
inbox like every other channel's; an agent reads only the identities its inboxes reach and
merges only contacts wholly inside its inboxes; the migration splits contacts that the
old global scope had shared. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from server.storage import identity_scope_migration
from server.storage import schema as t
from tests.conftest import Running
from tests.realtime.conftest import Team
from tests.support.api import create_api_inbox, eventually, post_inbound
from tests.support.receiver import Receiver


async def _conversation(server: Running, inbox: dict[str, Any], contact: str, **extra: Any) -> Any:
    response = await post_inbound(server.client(), inbox, contact=contact, **extra)
    assert response.status_code == 201, response.text
    return response.json()["conversation_id"]


async def _contact_of(client: httpx.AsyncClient, conv: int) -> int:
    response = await client.get(f"/api/conversations/{conv}")
    assert response.status_code == 200, response.text
    body = response.json()
    conversation = body.get("conversation", body)
    return int(conversation.get("contact_id") or conversation["contact"]["id"])


async def test_same_external_id_on_two_api_inboxes_gives_two_contacts(
    server: Running, admin: httpx.AsyncClient, team: Team
) -> None:
    b_conv = await _conversation(server, team.b, "cust-1")
    b_contact = await _contact_of(team.carol.http, b_conv)
    edit = await team.carol.http.patch(
        f"/api/contacts/{b_contact}",
        json={"email": "vip@b.example", "phone": "+4912345", "attributes": {"note": "B only"}},
    )
    assert edit.status_code == 200, edit.text
    a_conv = await _conversation(server, team.a, "cust-1")
    a_contact = await _contact_of(team.alice.http, a_conv)
    assert a_contact != b_contact
    mine = (await team.alice.http.get(f"/api/contacts/{a_contact}")).json()
    assert "vip@b.example" not in str(mine) and "B only" not in str(mine)
    assert (await team.alice.http.get(f"/api/contacts/{b_contact}")).status_code == 404
    hidden = await team.alice.http.patch(f"/api/contacts/{b_contact}", json={"name": "x"})
    assert hidden.status_code == 404
    listed = (await team.alice.http.get("/api/contacts")).json()["items"]
    assert [c["id"] for c in listed] == [a_contact]
    again = await _conversation(server, team.b, "cust-1")  # B keeps its own contact
    assert await _contact_of(team.carol.http, again) == b_contact


async def test_agents_see_their_inboxes_identities_and_merge_only_whole_contacts(
    server: Running, admin: httpx.AsyncClient, team: Team
) -> None:
    a_conv = await _conversation(server, team.a, "a-cust")
    b_conv = await _conversation(server, team.b, "b-cust")
    a_contact = await _contact_of(admin, a_conv)
    b_contact = await _contact_of(admin, b_conv)
    merged = await admin.post(f"/api/contacts/{a_contact}/merge", json={"source_id": b_contact})
    assert merged.status_code == 200, merged.text
    assert {i["external_id"] for i in merged.json()["identities"]} == {"a-cust", "b-cust"}
    seen = (await team.alice.http.get(f"/api/contacts/{a_contact}")).json()
    assert [i["external_id"] for i in seen["identities"]] == ["a-cust"]
    other = await _contact_of(team.alice.http, await _conversation(server, team.a, "a-two"))
    refused = await team.alice.http.post(
        f"/api/contacts/{other}/merge", json={"source_id": a_contact}
    )
    assert refused.status_code == 403, refused.text
    assert "only an admin" in refused.json()["error"]["message"]
    into = await team.alice.http.post(f"/api/contacts/{a_contact}/merge", json={"source_id": other})
    assert into.status_code == 403


async def test_migration_splits_contacts_the_global_scope_shared(
    server: Running, admin: httpx.AsyncClient, team: Team
) -> None:
    a_conv = await _conversation(server, team.a, "shared")
    b_conv = await _conversation(server, team.b, "shared")
    a_contact = await _contact_of(admin, a_conv)
    b_contact = await _contact_of(admin, b_conv)
    ci, c, m = t.contact_identities.c, t.conversations.c, t.messages.c
    async with server.ctx.db.write() as conn:  # the state the old global scope produced
        await conn.execute(sa.delete(t.contact_identities).where(ci.contact_id == b_contact))
        await conn.execute(
            sa.update(t.contact_identities).where(ci.contact_id == a_contact).values(scope="")
        )
        await conn.execute(
            sa.update(t.messages)
            .where(m.conversation_id == b_conv, m.sender_type == "contact")
            .values(sender_id=a_contact)
        )
        await conn.execute(
            sa.update(t.conversations).where(c.id == b_conv).values(contact_id=a_contact)
        )
    assert await _contact_of(team.carol.http, b_conv) == a_contact  # the leak
    for _ in range(2):  # idempotent
        async with server.ctx.db.write() as conn:
            await conn.run_sync(
                lambda sync: identity_scope_migration.migrate(
                    Operations(MigrationContext.configure(sync)), sync
                )
            )
    split = await _contact_of(team.carol.http, b_conv)
    assert split != a_contact
    assert (await team.carol.http.get(f"/api/contacts/{a_contact}")).status_code == 404
    async with server.ctx.db.read() as conn:
        idents = (await conn.execute(sa.select(ci.contact_id, ci.scope).order_by(ci.id))).all()
        senders = (
            await conn.execute(
                sa.select(m.sender_id).where(
                    m.conversation_id == b_conv, m.sender_type == "contact"
                )
            )
        ).all()
    assert sorted((i.contact_id, i.scope) for i in idents) == sorted(
        [(a_contact, f"inbox:{team.a['id']}"), (split, f"inbox:{team.b['id']}")]
    )
    assert {s.sender_id for s in senders} == {split}
    assert (
        await _contact_of(team.carol.http, await _conversation(server, team.b, "shared")) == split
    )


async def test_a_reply_names_the_inboxs_own_identity_of_a_merged_contact(
    server: Running, admin: httpx.AsyncClient
) -> None:
    async with Receiver() as receiver:
        a = await create_api_inbox(admin, name="A", webhook_url=receiver.url)
        b = await create_api_inbox(admin, name="B")
        a_conv = await _conversation(server, a, "a-cust")
        b_conv = await _conversation(server, b, "b-cust")  # the newer identity
        a_contact, b_contact = await _contact_of(admin, a_conv), await _contact_of(admin, b_conv)
        merge = await admin.post(f"/api/contacts/{a_contact}/merge", json={"source_id": b_contact})
        assert merge.status_code == 200, merge.text
        reply = await admin.post(
            f"/api/conversations/{a_conv}/messages", json={"text": "hi", "client_id": "merged-1"}
        )
        assert reply.status_code == 201, reply.text

        async def delivered() -> list[Any]:
            return receiver.requests

        (request,) = await eventually(delivered)
        assert json.loads(request.body)["contact"]["external_id"] == "a-cust"
