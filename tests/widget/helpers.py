"""Helpers for widget tests: a webchat inbox and a visitor driving the widget API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx

from server.widget.identity import sign

SECRET = "site-hmac-secret-0123456789"


async def create_webchat_inbox(admin: httpx.AsyncClient, **config: Any) -> dict[str, Any]:
    response = await admin.post(
        "/api/admin/inboxes", json={"name": "Website", "kind": "webchat", "config": config}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def signed_user(
    user_id: str, *, secret: str = SECRET, skew: int = 0, **extra: Any
) -> dict[str, Any]:
    ts = int(time.time()) + skew
    return {"id": user_id, "timestamp": ts, "signature": sign(secret, user_id, ts), **extra}


class Visitor:
    def __init__(self, client: httpx.AsyncClient, key: str, origin: str | None = None) -> None:
        self.client, self.key, self.token = client, key, ""
        self.headers = {"origin": origin} if origin else {}

    def url(self, tail: str) -> str:
        return f"/api/widget/{self.key}/{tail}"

    def auth(self) -> dict[str, str]:
        return {**self.headers, "authorization": f"Bearer {self.token}"}

    async def start(self, **body: Any) -> httpx.Response:
        response = await self.client.post(self.url("sessions"), json=body, headers=self.headers)
        if response.status_code == 201:
            self.token = response.json()["token"]
        return response

    async def send(self, text: str, client_id: str | None = None, **extra: Any) -> httpx.Response:
        return await self.client.post(
            self.url("messages"),
            headers=self.auth(),
            json={"client_id": client_id or uuid.uuid4().hex, "text": text, **extra},
        )

    async def history(self) -> list[dict[str, Any]]:
        response = await self.client.get(self.url("messages"), headers=self.auth())
        assert response.status_code == 200, response.text
        return response.json()["items"]  # type: ignore[no-any-return]


def jwt_token(claims: dict[str, Any], secret: str = SECRET, alg: str = "HS256") -> str:
    """An HS256 JWT as a site's server would sign it."""

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(mac)}"
