"""Test helpers: captured-style payload fixtures, signed deliveries, inbox setup, reads."""

from __future__ import annotations

import hashlib
import hmac
import json
import string
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.api import eventually

PAYLOADS = Path(__file__).parent / "payloads"
APP_SECRET = "meta-app-secret-0123456789abcdef"
VERIFY_TOKEN = "verify-token-abc"
PAGE_ID = "104251758921234"
IG_ID = "17841400000000001"
PHONE_ID = "106540352242922"
APP_ID = "1517776481860111"
TG_SECRET = "tg-secret_token-42"


def payload(name: str, **values: Any) -> dict[str, Any]:
    """A fixture from payloads/ with its $PLACEHOLDERS filled in."""
    text = string.Template((PAYLOADS / f"{name}.json").read_text())
    defaults = {
        "TS": int(time.time() * 1000),
        "PAGE_ID": PAGE_ID,
        "IG_ID": IG_ID,
        "PHONE_ID": PHONE_ID,
        "APP_ID": APP_ID,
    }
    return json.loads(text.safe_substitute({**defaults, **values}))  # type: ignore[no-any-return]


def meta_signature(body: bytes, secret: str = APP_SECRET) -> str:
    """Exactly what Meta sends: sha256= + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def meta_post(
    client: httpx.AsyncClient,
    inbox: dict[str, Any],
    data: Any,
    *,
    signature: str | None = "compute",
) -> httpx.Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {"content-type": "application/json"}
    if signature == "compute":
        headers["x-hub-signature-256"] = meta_signature(body)
    elif signature is not None:
        headers["x-hub-signature-256"] = signature
    return await client.post(f"/webhooks/{inbox['public_key']}", content=body, headers=headers)


async def telegram_post(
    client: httpx.AsyncClient, inbox: dict[str, Any], update: Any, *, secret: str | None = TG_SECRET
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    return await client.post(f"/webhooks/{inbox['public_key']}", json=update, headers=headers)


def meta_config(kind: str, token: str) -> dict[str, Any]:
    account = {
        "messenger": ("page_id", PAGE_ID),
        "instagram": ("ig_account_id", IG_ID),
        "whatsapp": ("phone_number_id", PHONE_ID),
    }[kind]
    config = {
        account[0]: account[1],
        "access_token": token,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY_TOKEN,
    }
    if kind != "whatsapp":
        config["app_id"] = APP_ID
    return config


async def create_inbox(
    admin: httpx.AsyncClient, kind: str, config: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    response = await admin.post(
        "/api/admin/inboxes",
        json={"name": name or kind.title(), "kind": kind, "config": config, "member_ids": []},
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def conversations(admin: httpx.AsyncClient, inbox: dict[str, Any]) -> list[Any]:
    response = await admin.get("/api/conversations", params={"inbox_id": inbox["id"], "limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def messages(admin: httpx.AsyncClient, conversation_id: int) -> list[Any]:
    response = await admin.get(
        f"/api/conversations/{conversation_id}/messages", params={"limit": 200}
    )
    assert response.status_code == 200, response.text
    return sorted(response.json()["items"], key=lambda m: m["id"])


async def all_messages(admin: httpx.AsyncClient, inbox: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for conv in await conversations(admin, inbox):
        out.extend(await messages(admin, conv["id"]))
    return sorted(out, key=lambda m: m["id"])


async def wait_status(
    admin: httpx.AsyncClient,
    conversation_id: int,
    message_id: int,
    status: str,
    within: float = 15.0,
) -> dict[str, Any]:
    async def check() -> Any:
        found = [m for m in await messages(admin, conversation_id) if m["id"] == message_id]
        return found[0] if found and found[0]["status"] == status else None

    return await eventually(check, timeout=within)  # type: ignore[no-any-return]
