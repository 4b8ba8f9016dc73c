"""One place that turns errors into JSON responses: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.exceptions import SwitchboardError

log = logging.getLogger(__name__)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


async def switchboard_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SwitchboardError)
    headers = {"Retry-After": str(retry_after(exc))} if exc.status in (429, 503) else None
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers
    )


def retry_after(exc: SwitchboardError) -> int:
    """Every 429 says when to come back (RFC 9110 §10.2.3): the limiter's own figure, or
    a minute when the raiser gave none."""
    details = exc.details if isinstance(exc.details, dict) else {}
    value = details.get("retry_after")
    return max(1, int(value)) if isinstance(value, int | float) else 60


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "internal error; it was logged"), status_code=500
    )


HANDLERS = {
    SwitchboardError: switchboard_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
