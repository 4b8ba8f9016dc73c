"""HTTP to the Graph API, with errors mapped into the adapter error tree.

Outside fetches (profiles, media) go through ``adapters.outbound_guard.refuse_private``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters.base import PermanentError, TransientError
from adapters.meta.errors import classify
from adapters.outbound_guard import PrivateAddress, refuse_private

__all__ = ["Graph", "PrivateAddress", "fetch_bytes", "refuse_private"]

TIMEOUT = 15.0  # Graph answers in well under a second; 15 s covers a slow upload


async def fetch_bytes(
    url: str, *, allow_private: bool, max_bytes: int, headers: Mapping[str, str] | None = None
) -> tuple[bytes, str | None]:
    """Download an outside file (guarded, size-capped); returns (bytes, content type)."""
    if not url.startswith(("https://", "http://")):
        raise PermanentError("media url: expected http(s)")
    await refuse_private(url, allow_private)
    chunks: list[bytes] = []
    size = 0
    try:
        async with (
            httpx.AsyncClient(timeout=TIMEOUT) as client,
            client.stream("GET", url, headers=dict(headers or {})) as response,
        ):
            if response.status_code != 200:
                raise TransientError(f"media download: HTTP {response.status_code}")
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise PermanentError(f"media larger than {max_bytes} bytes")
                chunks.append(chunk)
            kind = response.headers.get("content-type")
    except httpx.HTTPError as exc:
        raise TransientError(f"media download failed: {type(exc).__name__}") from None
    return b"".join(chunks), kind


class Graph:
    """A thin Graph API client: bearer token in a header (never in a URL or a log line)."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base.rstrip("/")
        self._headers = {"authorization": f"Bearer {token}"}

    @property
    def auth_headers(self) -> dict[str, str]:
        """For media downloads that need the token (WhatsApp media URLs)."""
        return dict(self._headers)

    async def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call("POST", path, json=dict(body))

    async def upload(
        self,
        path: str,
        data: Mapping[str, str],
        file: tuple[str, bytes, str],
        field: str = "filedata",
    ) -> dict[str, Any]:
        return await self._call("POST", path, data=dict(data), files={field: file})

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        return await self._call("GET", path, params=dict(params or {}))

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        url = f"{self.base}/{path.lstrip('/')}"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                response = await client.request(method, url, headers=self._headers, **kwargs)
        except httpx.HTTPError as exc:
            raise TransientError(f"Graph API not reachable: {type(exc).__name__}") from None
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if response.is_success and isinstance(body, dict):
            return body
        failure = classify(response.status_code, body)
        error = TransientError if failure.transient else PermanentError
        raise error(failure.reason, code=failure.code)
