"""Helpers for widget tests: a webchat inbox and a visitor driving the widget API."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from server.widget.identity import sign

SECRET = "site-hmac-secret-0123456789"


async def create_webchat_inbox(admin: httpx.AsyncClient, **config: Any) -> dict[str, Any]:
    response = await admin.post("/api/admin/inboxes", json={
        "name": "Website", "kind": "webchat", "config": config})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def signed_user(user_id: str, *, secret: str = SECRET, skew: int = 0, **extra: Any
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

    async def send(self, text: str, client_id: str | None = None, **extra: Any
                   ) -> httpx.Response:
        return await self.client.post(self.url("messages"), headers=self.auth(), json={
            "client_id": client_id or uuid.uuid4().hex, "text": text, **extra})

    async def history(self) -> list[dict[str, Any]]:
        response = await self.client.get(self.url("messages"), headers=self.auth())
        assert response.status_code == 200, response.text
        return response.json()["items"]  # type: ignore[no-any-return]
