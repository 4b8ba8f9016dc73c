"""Local stand-ins for the Telegram Bot API and the Meta Graph API.

They follow the documented contracts (paths, request and answer shapes, error bodies) so
the adapters talk to them exactly as to the real services; tests script failures and
inspect what was requested. Each runs under uvicorn on a free loopback port.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.ports import free_port


@dataclass
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the form fields of a multipart upload


class _Served:
    port: int
    app: Starlette
    _server: Any = None
    _task: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Any:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # uvicorn has no started event to await
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        await self._task


async def _body(request: Request) -> Any:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        out: dict[str, Any] = {}
        async with request.form() as form:  # closes the spooled upload files
            for key, value in form.multi_items():
                out[key] = (
                    value
                    if isinstance(value, str)
                    else {"filename": value.filename, "size": len(await value.read())}
                )
        return out
    raw = await request.body()
    return json.loads(raw) if raw else {}


# -- Meta Graph API ---------------------------------------------------------------------------


@dataclass
class FakeGraph(_Served):
    """``POST /{id}/messages`` (Send API and WhatsApp), ``POST /{id}/media``, ``GET /{id}``."""

    token: str = "page-token"
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    script: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    # awaited with (request body, assigned mid) before the Send API answers: the echo race
    before_answer: Callable[[Any, str], Awaitable[None]] | None = None
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    assigned: list[str] = field(default_factory=list)  # message ids handed out, in order
    media: dict[str, bytes] = field(default_factory=dict)  # WhatsApp media id -> content
    cdn: dict[str, bytes] = field(default_factory=dict)  # Messenger CDN file name -> content
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/{node}/messages", self._messages, methods=["POST"]),
                Route("/{node}/media", self._media, methods=["POST"]),
                Route("/{node}/subscribed_apps", self._subscribe, methods=["POST"]),
                Route("/{node}", self._node, methods=["GET"]),
                Route("/media-files/{media_id}", self._media_file, methods=["GET"]),
                Route("/cdn/{name}", self._cdn, methods=["GET"]),
            ]
        )

    def sends(self) -> list[Any]:
        return [c.body for c in self.calls if c.path.endswith("/messages")]

    def _authorised(self, request: Request) -> bool:
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        return (bearer or request.query_params.get("access_token")) == self.token

    @staticmethod
    def _oauth_error() -> JSONResponse:
        return JSONResponse(
            {
                "error": {
                    "message": "Invalid OAuth access token.",
                    "type": "OAuthException",
                    "code": 190,
                    "fbtrace_id": "AbCdEf",
                }
            },
            status_code=400,
        )

    async def _messages(self, request: Request) -> Response:
        body = await _body(request)
        self.calls.append(Call("POST", request.url.path, dict(request.headers), body))
        if not self._authorised(request):
            return self._oauth_error()
        if self.script:
            status, answer = self.script.popleft()
            if status != 200:
                return JSONResponse(answer, status_code=status)
        n = next(self._ids)
        if isinstance(body, dict) and body.get("messaging_product") == "whatsapp":
            mid = f"wamid.HBgL{n:06d}"
            answer = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": mid}],
            }
        else:
            mid = f"m_{n:06d}"
            recipient = body.get("recipient") if isinstance(body, dict) else None
            if isinstance(recipient, str):
                recipient = json.loads(recipient)
            answer = {"recipient_id": (recipient or {}).get("id"), "message_id": mid}
        self.assigned.append(mid)
        if self.before_answer is not None:
            await self.before_answer(body, mid)
        return JSONResponse(answer)

    async def _subscribe(self, request: Request) -> Response:
        body = await _body(request)
        self.calls.append(Call("POST", request.url.path, dict(request.headers), body))
        if not self._authorised(request):
            return self._oauth_error()
        return JSONResponse({"success": True})

    async def _media(self, request: Request) -> Response:
        body = await _body(request)
        self.calls.append(Call("POST", request.url.path, dict(request.headers), body))
        return JSONResponse({"id": f"media-{next(self._ids)}"})

    async def _node(self, request: Request) -> Response:
        node = request.path_params["node"]
        self.calls.append(
            Call("GET", request.url.path, dict(request.headers), dict(request.query_params))
        )
        if not self._authorised(request):
            return self._oauth_error()
        if node in self.media:  # documented: GET /{media-id} -> a short-lived url
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "id": node,
                    "url": f"{self.url}/media-files/{node}",
                    "mime_type": "image/jpeg",
                    "file_size": len(self.media[node]),
                    "sha256": "e3b0c442",
                }
            )
        if node in self.profiles:
            return JSONResponse({"id": node, **self.profiles[node]})
        return JSONResponse({"id": node, "name": f"Node {node}"})

    async def _media_file(self, request: Request) -> Response:
        self.calls.append(Call("GET", request.url.path, dict(request.headers), {}))
        if not self._authorised(request):  # WhatsApp media URLs need the token too
            return Response(status_code=401)
        return Response(self.media[request.path_params["media_id"]], media_type="image/jpeg")

    async def _cdn(self, request: Request) -> Response:
        self.calls.append(Call("GET", request.url.path, dict(request.headers), {}))
        return Response(self.cdn[request.path_params["name"]], media_type="image/png")


# -- Telegram Bot API -------------------------------------------------------------------------


@dataclass
class FakeTelegram(_Served):
    """``/bot<token>/<method>`` answering ``{"ok": true, "result": …}`` or the error shape."""

    token: str = "123456789:AAE-test-token_value"
    port: int = field(default_factory=free_port)
    calls: list[Call] = field(default_factory=list)
    script: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    updates: list[dict[str, Any]] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    webhook: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content
    _ids: Any = field(default_factory=lambda: itertools.count(100))
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._method, methods=["POST", "GET"]),
                Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
            ]
        )

    def push(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self._new.set()

    def sent(self, method: str = "sendMessage") -> list[Any]:
        return [c.body for c in self.calls if c.path.endswith("/" + method)]

    @staticmethod
    def _ok(result: Any) -> JSONResponse:
        return JSONResponse({"ok": True, "result": result})

    async def _method(self, request: Request) -> Response:
        method = request.path_params["method"]
        body = await _body(request)
        self.calls.append(Call(request.method, request.url.path, dict(request.headers), body))
        if request.path_params["token"] != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        if method == "getUpdates":
            return self._ok(await self._get_updates(body))
        if method.startswith("send") and self.script:
            status, answer = self.script.popleft()
            if status != 200:
                return JSONResponse(answer, status_code=status)
        return self._ok(self._result(method, body))

    def _result(self, method: str, body: Any) -> Any:
        if method == "getMe":
            return {
                "id": int(self.token.split(":")[0]),
                "is_bot": True,
                "first_name": "Support",
                "username": "support_bot",
            }
        if method == "setWebhook":
            self.webhook = dict(body)
            return True
        if method == "deleteWebhook":
            self.webhook = {}
            return True
        if method == "getFile":
            return {
                "file_id": body["file_id"],
                "file_unique_id": "u" + body["file_id"],
                "file_size": len(self.files.get(body["file_id"], b"")),
                "file_path": f"documents/{body['file_id']}.bin",
            }
        chat = {"id": int(body.get("chat_id")), "type": "private"}
        return {
            "message_id": next(self._ids),
            "date": 1700000000,
            "chat": chat,
            "from": {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "Support"},
            "text": body.get("text"),
        }

    async def _get_updates(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(body.get("offset") or 0)
        self.offsets.append(offset)
        if offset:  # documented: updates below the offset are confirmed and forgotten
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), timeout=float(body.get("timeout") or 0))
        return [u for u in self.updates if u["update_id"] >= offset][:100]

    async def _file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=404)
        file_id = request.path_params["path"].rsplit("/", 1)[-1].removesuffix(".bin")
        return Response(self.files.get(file_id, b""), media_type="application/octet-stream")
