"""A thin layer over Starlette routes that validates bodies and documents itself.

Each endpoint declares its body model (pydantic, unknown fields forbidden) and a summary;
the same declarations produce the OpenAPI 3.1 document at /api/openapi.json.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.exceptions import InvalidInput, TooLarge

Handler = Callable[..., Awaitable[Any]]
M = TypeVar("M", bound="Body")


class Body(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    body: type[Body] | None
    summary: str
    tag: str
    auth: str  # none | agent | admin | inbox-token | visitor
    status: int = 200


class Api:
    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        body: type[Body] | None = None,
        auth: str = "agent",
        status: int = 200,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, handler, body, summary, tag, auth, status))
            return handler

        return register

    def routes(self) -> list[Route]:
        return [Route(e.path, _wrap(e), methods=[e.method]) for e in self.endpoints]


def _wrap(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def call(request: Request) -> Response:
        args: list[Any] = [request]
        if endpoint.body is not None:
            args.append(await parse_body(request, endpoint.body))
        result = await endpoint.handler(*args)
        if isinstance(result, Response):
            return result
        return JSONResponse(result, status_code=endpoint.status)

    call.__name__ = endpoint.handler.__name__
    return call


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_body(request: Request, model: type[M]) -> M:
    limit = request.app.state.ctx.settings.max_body_bytes
    raw = await read_limited(request, limit)
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if ctype != "application/json":
        raise InvalidInput(f"expected content-type application/json, got {ctype or 'none'}")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"body must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc), details=_fields(exc)) from None


def _fields(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
        for e in exc.errors(include_url=False)
    ]


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in _fields(exc))


def path_int(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not str(raw).isdigit() or len(str(raw)) > 18:
        raise InvalidInput(f"{name}: expected a positive integer, got {raw!r}")
    return int(raw)


def query_int(request: Request, name: str, default: int, *, lo: int = 1, hi: int = 100) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise InvalidInput(f"{name}: expected an integer from {lo} to {hi}, got {raw!r}")
    return int(raw)


def query_id(request: Request, name: str) -> int | None:
    """An optional id in the query string (e.g. ``before=<message id>``)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(f"{name}: expected a message id, got {raw!r}")
    return int(raw)
