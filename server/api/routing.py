"""A thin layer over Starlette routes that validates bodies and documents itself.

Each endpoint declares its body model (pydantic, unknown fields forbidden), its query
parameters and a summary; the same declarations produce the OpenAPI 3.1 document at
/api/openapi.json.

Every request body is decoded here (``decode_json``) and every URL is checked here
(``UrlGuard``), so input the database cannot store or Python cannot hold is refused with a
precise 422 before any handler runs (README.md, "Bad input and fuzzing"): U+0000 and lone
surrogates in any string (PostgreSQL refuses both; SQLite the surrogates), nesting deeper
than ``MAX_DEPTH``, integers outside 64 bits, non-finite numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from server.api.errors import error_body
from server.exceptions import InvalidInput, TooLarge

Handler = Callable[..., Awaitable[Any]]
M = TypeVar("M", bound="Body")
#: No body we take nests deeper than about 5; 32 leaves room and keeps every recursive
#: walk (validation, JSON columns, serialising) far below Python's recursion limit.
MAX_DEPTH = 32
INT64 = 2**63 - 1  # the widest integer column (BIGINT); larger ids cannot exist
#: Dates further out than this are no message's; date arithmetic (deadlines, reply
#: windows) on them would overflow Python's datetime.
YEARS = (1900, 2999)


#: Query parameter schemas for ``Api.route(query=…)`` (documentation; handlers validate).
Q_INT: dict[str, Any] = {"type": "integer"}
Q_STR: dict[str, Any] = {"type": "string"}


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
    #: query parameters, name → JSON schema (documented in the OpenAPI document)
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: a body the handler parses itself (documented, not parsed by the wrapper)
    doc_body: type[Body] | None = None


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
        query: dict[str, dict[str, Any]] | None = None,
        doc_body: type[Body] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method, path, handler, body, summary, tag, auth, status, query or {}, doc_body
                )
            )
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
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
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
    return validate_body(model, decode_json(raw))


def validate_body(model: type[M], data: Any) -> M:
    """``data`` (from ``decode_json``) as the body model, or InvalidInput naming each field."""
    if not isinstance(data, dict):
        raise InvalidInput(f"body must be a JSON object, got {type(data).__name__}")
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc), details=_fields(exc)) from None
    problem = _out_of_range(body.model_dump())  # lax validation turns "123…" into ints
    if problem:
        raise InvalidInput(problem)
    return body


class _Refused(ValueError):
    """A JSON number we will not hold (raised from inside json.loads)."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > INT64:
        raise _Refused(f"integer {text[:30]} is outside 64 bits")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text[:30]} is too large")
    return value


def _constant(text: str) -> Any:
    raise _Refused(f"{text} is not a JSON number")


def decode_json(raw: bytes) -> Any:
    """A JSON document every layer below can hold and store; InvalidInput says why not."""
    try:
        data = json.loads(
            raw or b"null", parse_int=_int, parse_float=_float, parse_constant=_constant
        )
    except _Refused as exc:
        raise InvalidInput(f"body: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"body: nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from None
    problem = unstorable(data)
    if problem:
        raise InvalidInput(problem)
    return data


def unstorable(data: Any) -> str | None:
    """Why a decoded JSON value cannot be stored (a sentence naming the field), or None."""
    stack: list[tuple[Any, str, int]] = [(data, "body", 1)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"body: nested deeper than {MAX_DEPTH} levels"
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                return f"{where}: {problem}"
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = text_problem(str(key))
                if problem:
                    return f"{where}: a key {problem}"
                stack.append((item, f"{where}.{key}" if where != "body" else str(key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
    return None


def text_problem(text: str) -> str | None:
    """Why PostgreSQL (and SQLite) cannot store this text, or None."""
    if "\x00" in text:
        return "contains U+0000 (a NUL character), which cannot be stored; remove it"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate, which is not valid Unicode text"
    return None


def _out_of_range(data: Any) -> str | None:
    stack: list[tuple[Any, str]] = [(data, "body")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and abs(value) > INT64:
            return f"{where}: integer is outside 64 bits"
        if isinstance(value, date | datetime) and not YEARS[0] <= value.year <= YEARS[1]:
            return f"{where}: year {value.year} is outside {YEARS[0]}-{YEARS[1]}"
        if isinstance(value, dict):
            stack.extend(
                (v, f"{where}.{k}" if where != "body" else str(k)) for k, v in value.items()
            )
        elif isinstance(value, list | tuple):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
    return None


def _fields(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
        for e in exc.errors(include_url=False)
    ]


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in _fields(exc))


def _id(raw: str, name: str, what: str) -> int:
    """ASCII digits only: ``"²".isdigit()`` is true, and int() refuses it."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidInput(f"{name}: expected {what}, got {raw[:40]!r}")
    return int(raw)


def path_int(request: Request, name: str) -> int:
    return _id(str(request.path_params[name]), name, "a positive integer")


def query_int(request: Request, name: str, default: int, *, lo: int = 1, hi: int = 100) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    what = f"an integer from {lo} to {hi}"
    value = _id(raw, name, what)
    if not lo <= value <= hi:
        raise InvalidInput(f"{name}: expected {what}, got {raw!r}")
    return value


def query_id(request: Request, name: str) -> int | None:
    """An optional id in the query string (e.g. ``before=<message id>``)."""
    raw = request.query_params.get(name)
    return None if raw is None else _id(raw, name, "a message id")


class UrlGuard:
    """Pure ASGI: a path or query string with U+0000 is refused (422) before routing.

    Every handler, the widget gate and static files look such a value up somewhere that
    refuses it (PostgreSQL, the file system) with an error that would be a 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            message = "the URL contains U+0000 (a NUL character); remove it"
            response = JSONResponse(error_body("invalid_input", message), status_code=422)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    query = unquote(scope.get("query_string", b"").decode("latin-1"))
    return "\x00" in scope.get("path", "") or "\x00" in query
