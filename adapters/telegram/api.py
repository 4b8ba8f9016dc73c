"""A thin Bot API client: ``{base}/bot<token>/<method>``, errors mapped to our tree.

The token is part of every URL (that is how the Bot API works), so URLs are never logged
and errors name only the method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters.base import PermanentError, TransientError
from adapters.telegram.compose import error_of

TIMEOUT = 15.0


class BotApi:
    def __init__(self, base: str, token: str) -> None:
        self.base = base.rstrip("/")
        self._token = token

    async def call(
        self,
        method: str,
        body: Mapping[str, Any] | None = None,
        *,
        http_timeout: float = TIMEOUT,
        files: Mapping[str, Any] | None = None,
    ) -> Any:
        url = f"{self.base}/bot{self._token}/{method}"
        try:
            async with httpx.AsyncClient(timeout=http_timeout) as client:
                if files:
                    response = await client.post(
                        url, data={k: str(v) for k, v in (body or {}).items()}, files=files
                    )
                else:
                    response = await client.post(url, json=dict(body or {}))
        except httpx.HTTPError as exc:
            raise TransientError(
                f"Telegram {method}: not reachable ({type(exc).__name__})"
            ) from None
        return _result(method, response)

    async def download(self, file_path: str, max_bytes: int) -> bytes:
        url = f"{self.base}/file/bot{self._token}/{file_path}"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                response = await client.get(url)
        except httpx.HTTPError as exc:
            raise TransientError(f"Telegram file: not reachable ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise TransientError(f"Telegram file: HTTP {response.status_code}")
        if len(response.content) > max_bytes:
            raise PermanentError("Telegram file: larger than the attachment limit")
        return response.content


def _result(method: str, response: httpx.Response) -> Any:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if response.status_code == 200 and isinstance(body, dict) and body.get("ok"):
        return body.get("result")
    transient, reason, retry_after = error_of(response.status_code, body)
    if transient:
        raise TransientError(
            f"{method}: {reason}", code=str(response.status_code), retry_after=retry_after
        )
    raise PermanentError(f"{method}: {reason}", code=str(response.status_code))
