"""Browser-facing protections as one pure-ASGI middleware: security headers on every HTTP
response and a CSRF check on every state-changing request that rides on a session cookie.

Why each piece (docs/security.md has the admin's view):

* **CSP** ``script-src 'self'``: the app page has no inline script (web/index.html), so an
  injected ``<script>`` or ``onerror=`` never runs. Styles and images stay wider because
  email bodies are shown in a sandboxed ``srcdoc`` frame, which inherits this policy and
  tightens it with its own (web/js/views/messages.js): inline styles are how mail is
  styled, and remote images load once an agent allows them.
* ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``: no clickjacking.
* ``nosniff``, ``Referrer-Policy: same-origin``; HSTS only when served over https (the
  request's scheme, or an ``https://`` SWITCHBOARD_PUBLIC_URL behind a TLS proxy).
* **CSRF**: a cookie rides along on any same-site request, whatever its body (a body-less
  POST needs no preflight), so every POST/PUT/PATCH/DELETE that carries the session cookie
  and no bearer token must come from our own origin: ``Sec-Fetch-Site`` must say
  ``same-origin`` (or ``none``, typed by the user), else ``Origin`` (or ``Referer``) must be
  this server or ``SWITCHBOARD_PUBLIC_URL``. A request with none of these headers is not
  from a browser and so carries no ambient credential. Bearer-token requests are exempt;
  so are the endpoints that never read the cookie and are cross-origin by design (the
  widget, the API channel, channel webhooks).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.auth import COOKIE

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https: http:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"  # one year, the common preload minimum
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Cross-origin by design and authorised by their own tokens, never by the cookie.
CSRF_EXEMPT_PREFIXES = ("/api/widget/", "/api/channels/", "/webhooks/")
CSRF_REFUSED = json.dumps(
    {
        "error": {
            "code": "csrf_refused",
            "message": "This request came from another site and was refused. "
            "Reload Switchboard and try again.",
        }
    }
).encode()


def security_headers(scheme: str) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]
    if scheme == "https":
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def with_defaults(
    given: list[tuple[bytes, bytes]], defaults: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """Add each default header the response did not set itself (an attachment keeps its
    stricter sandbox policy)."""
    present = {name.lower() for name, _ in given}
    return given + [(n, v) for n, v in defaults if n not in present]


def has_session_cookie(headers: Mapping[str, str]) -> bool:
    cookies = headers.get("cookie", "")
    return any(part.strip().startswith(f"{COOKIE}=") for part in cookies.split(";"))


def has_bearer(headers: Mapping[str, str]) -> bool:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())


def same_origin(headers: Mapping[str, str], public_url: str) -> bool:
    """True when a browser says the request comes from our own pages (module doc)."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    source = headers.get("origin") or headers.get("referer")
    if source is None:
        return True  # not a browser: no ambient credential to abuse
    ours = {headers.get("host", "")}
    if public_url:
        ours.add(urlsplit(public_url).netloc)
    return source != "null" and urlsplit(source).netloc in ours


def csrf_refused(method: str, path: str, headers: Mapping[str, str], public_url: str) -> bool:
    if method in SAFE_METHODS or path.startswith(CSRF_EXEMPT_PREFIXES):
        return False
    if has_bearer(headers) or not has_session_cookie(headers):
        return False
    return not same_origin(headers, public_url)


class SecurityMiddleware:
    """Pure ASGI: headers on every HTTP response; CSRF refusal before the app runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        public_url = _public_url(scope)
        # Behind a TLS proxy the hop to us is plain http; the public URL says how people
        # reach the app.
        https = scope.get("scheme") == "https" or public_url.startswith("https://")
        defaults = security_headers("https" if https else "http")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if csrf_refused(scope["method"], scope["path"], headers, public_url):
            await _refuse(send, defaults)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = with_defaults(list(message.get("headers", [])), defaults)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _public_url(scope: Scope) -> str:
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return str(getattr(settings, "public_url", "") or "")


async def _refuse(send: Send, defaults: list[tuple[bytes, bytes]]) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(CSRF_REFUSED)).encode()),
    ]
    await send({"type": "http.response.start", "status": 403, "headers": headers + defaults})
    await send({"type": "http.response.body", "body": CSRF_REFUSED})
