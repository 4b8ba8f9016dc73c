"""Bad input answers a precise 4xx and the server keeps serving (issue 11, hole 7), on
SQLite and PostgreSQL alike: crafted cursors and ids, deeply nested JSON, U+0000 and lone
surrogates in any text, name or id, numbers no column can hold."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from tests.conftest import Running
from tests.support.api import INBOUND_TOKEN, create_api_inbox, post_inbound
from tests.widget.helpers import create_webchat_inbox

DEEP = b"[" * 100_000 + b"]" * 100_000


def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


async def _assert_422(response: httpx.Response) -> None:
    assert response.status_code == 422, (response.request.url, response.text)
    assert response.json()["error"]["code"] == "invalid_input", response.text


async def _seed(server: Running, admin: httpx.AsyncClient) -> tuple[dict[str, Any], int]:
    inbox = await create_api_inbox(admin)
    created = await post_inbound(server.client(), inbox, text="Where is my order?")
    assert created.status_code == 201, created.text
    return inbox, created.json()["conversation_id"]


async def test_crafted_cursors_and_ids_answer_422(
    server: Running, admin: httpx.AsyncClient
) -> None:
    _, cid = await _seed(server, admin)
    for sort, cursor in [
        ("recent", _cursor({"at": "2026-01-01T00:00:00+00:00", "id": 1})),  # an object
        ("recent", _cursor(["2026-01-01T00:00:00", 1])),  # a naive date
        ("recent", _cursor([1])),  # wrong shape
        ("recent", _cursor(["2026-01-01T00:00:00+00:00", {"id": 1}])),
        ("recent", _cursor(["0001-01-01T00:00:00+14:00", 1])),  # before year 1 in UTC
        ("recent", base64.urlsafe_b64encode(b"[" * 3000 + b"]" * 3000).decode()),
        ("waiting", _cursor([0, "2026-01-01T00:00:00", 1])),  # a naive date
        ("waiting", _cursor([0, None, 1])),
        ("waiting", _cursor([2, None, "x"])),
        ("waiting", _cursor([0, "2026-01-01T00:00:00+00:00"])),
    ]:
        await _assert_422(
            await admin.get("/api/conversations", params={"sort": sort, "cursor": cursor})
        )
    for path, params in [
        ("/api/conversations", {"inbox_id": "²"}),  # "²".isdigit() is true; int("²") fails
        ("/api/conversations", {"assignee": "³"}),
        ("/api/conversations", {"limit": "²"}),
        ("/api/conversations", {"team_id": "9" * 30}),
        ("/api/contacts", {"cursor": "²"}),
        ("/api/contacts", {"cursor": "9" * 30}),
        (f"/api/conversations/{cid}/messages", {"before": "²"}),
        (f"/api/conversations/{cid}/messages", {"limit": "¹"}),
        ("/api/reports/frt", {"inbox_id": "²"}),
        ("/api/reports/frt", {"inbox_id": "9" * 30}),
        ("/api/reports/frt", {"to": "0001-01-05"}),  # "from" defaults to 30 days earlier
        ("/api/reports/frt", {"from": "0001-01-01", "to": "9999-12-31T23:59:59-14:00"}),
    ]:
        await _assert_422(await admin.get(path, params=params))
    await _assert_422(await admin.get("/api/conversations/²"))
    assert (await admin.get("/api/conversations")).status_code == 200


async def test_visitor_history_refuses_crafted_ids(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox = await create_webchat_inbox(admin)
    client = server.client()
    widget = f"/api/widget/{inbox['public_key']}"
    token = (await client.post(f"{widget}/sessions", json={})).json()["token"]
    visitor = {"authorization": f"Bearer {token}"}
    for params in ({"before": "²"}, {"limit": "²"}, {"before": "9" * 40}):
        await _assert_422(await client.get(f"{widget}/messages", params=params, headers=visitor))
    assert (await client.get(f"{widget}/messages", headers=visitor)).status_code == 200


async def test_deeply_nested_json_answers_422_everywhere(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox, cid = await _seed(server, admin)
    chat = await create_webchat_inbox(admin)
    client = server.client()
    widget = f"/api/widget/{chat['public_key']}"
    token = (await client.post(f"{widget}/sessions", json={})).json()["token"]
    json_type = {"content-type": "application/json"}
    nested_form = b'{"form": {"name": ' + DEEP + b"}}"
    for who, path, body, headers in [
        (admin, f"/api/conversations/{cid}/labels", DEEP, {}),
        (client, f"{widget}/sessions", nested_form, {}),  # no login needed
        (client, f"{widget}/messages", DEEP, {"authorization": f"Bearer {token}"}),
        (client, f"{widget}/attributes", DEEP, {"authorization": f"Bearer {token}"}),
        (
            client,
            f"/api/channels/api/{inbox['public_key']}/messages",
            DEEP,
            {"authorization": f"Bearer {INBOUND_TOKEN}"},
        ),
    ]:
        response = await who.post(path, content=body, headers={**json_type, **headers})
        await _assert_422(response)
        assert "nested deeper than 32" in response.json()["error"]["message"]
    assert (await admin.get(f"/api/conversations/{cid}")).status_code == 200


async def test_nested_json_in_a_widget_jwt_is_refused_not_a_500(
    server: Running, admin: httpx.AsyncClient
) -> None:
    chat = await create_webchat_inbox(
        admin, identity_verification="optional", hmac_secret="widget-secret-0123456789"
    )
    nested = base64.urlsafe_b64encode(b"[" * 1450 + b"]" * 1450).decode().rstrip("=")
    body = {"user": {"jwt": f"{nested}.e30.c2ln"}}
    response = await server.client().post(f"/api/widget/{chat['public_key']}/sessions", json=body)
    assert response.status_code == 401, response.text
    assert "not base64url JSON" in response.json()["error"]["message"]


async def test_nul_and_surrogates_answer_422_the_same_on_both_databases(
    server: Running, admin: httpx.AsyncClient
) -> None:
    inbox, cid = await _seed(server, admin)
    intake = server.client()
    for extra in (
        {"text": "hello\x00world"},
        {"external_id": "id\x00"},
        {"contact": {"external_id": "c\x00", "name": "Customer"}},
        {"contact": {"external_id": "c1", "name": "Na\x00me"}},
    ):
        await _assert_422(await post_inbound(intake, inbox, **extra))
    reply = {"text": "reply\x00", "client_id": "nul-reply-0001"}
    await _assert_422(await admin.post(f"/api/conversations/{cid}/messages", json=reply))
    surrogate = b'{"text": "\\ud800", "client_id": "surrogate-0001"}'
    response = await admin.post(
        f"/api/conversations/{cid}/messages",
        content=surrogate,
        headers={"content-type": "application/json"},
    )
    await _assert_422(response)
    await _assert_422(await admin.get("/api/conversations", params={"q": "a\x00b"}))
    await _assert_422(await admin.get("/api/contacts", params={"q": "\x00"}))
    await _assert_422(await intake.get("/api/widget/%00/config"))
    await _assert_422(await intake.post("/webhooks/%00", content=b"{}"))
    chat = await create_webchat_inbox(admin)
    widget = f"/api/widget/{chat['public_key']}"
    token = (await intake.post(f"{widget}/sessions", json={})).json()["token"]
    visitor = {"authorization": f"Bearer {token}"}
    message = {"client_id": "visitor-nul-1", "text": "hi\x00"}
    await _assert_422(await intake.post(f"{widget}/messages", json=message, headers=visitor))
    attrs = {"attributes": {"plan\x00": "pro"}}
    await _assert_422(await intake.post(f"{widget}/attributes", json=attrs, headers=visitor))
    assert (await admin.get(f"/api/conversations/{cid}/messages")).status_code == 200


async def test_numbers_no_column_can_hold_answer_422(
    server: Running, admin: httpx.AsyncClient
) -> None:
    chat = await create_webchat_inbox(admin)
    client = server.client()
    widget = f"/api/widget/{chat['public_key']}"
    token = (await client.post(f"{widget}/sessions", json={})).json()["token"]
    visitor = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    for body in (
        b'{"message_id": 100000000000000000000000}',  # beyond BIGINT
        b'{"message_id": "100000000000000000000000"}',  # the same, as text
    ):
        await _assert_422(await client.post(f"{widget}/seen", content=body, headers=visitor))
    for body in (b'{"attributes": {"x": NaN}}', b'{"attributes": {"x": 1e999}}'):
        await _assert_422(await client.post(f"{widget}/attributes", content=body, headers=visitor))
    assert (await client.get(f"{widget}/session", headers=visitor)).status_code == 200
