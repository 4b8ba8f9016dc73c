"""Real peers for OAuth2 (XOAUTH2) mail: a local OAuth2 provider, Dovecot with an oauth2
passdb that asks it about tokens, and an aiosmtpd handler that accepts XOAUTH2.

``OAuthProvider`` is one small HTTP server on loopback that plays both roles a provider
has for us: the token endpoint (RFC 6749 §6, refresh-token grant; it can rotate refresh
tokens, revoke them, and expire access tokens early) and the token-introspection endpoint
(RFC 7662) that Dovecot's oauth2 passdb asks (``introspection_mode = post``).
Dovecot keeps its password logins too, so a test can still APPEND mail as an MTA would.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.services import DovecotServer

CLIENT_ID = "switchboard-test-client"
CLIENT_SECRET = "client-secret-1"


@dataclass
class OAuthProvider:
    """Token endpoint at ``token_url``, introspection at ``introspection_url``."""

    lifetime: int = 3600  # expires_in of issued access tokens
    rotate: bool = False  # issue a new refresh token with each refresh, revoking the old
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token → user
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # → user, until
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _owners: dict[str, str] = field(default_factory=dict)  # every refresh token ever issued
    introspections: int = 0
    _counter: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(size).decode()).items()}
                status, body = provider.answer(self.path, form)
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.base}/token"

    @property
    def introspection_url(self) -> str:
        return f"{self.base}/introspect"

    def grant(self, user: str) -> str:
        """The refresh token an admin would get from the provider's consent screen."""
        token = f"rt-{next(self._counter)}-{secrets.token_hex(8)}"
        with self._lock:
            self.refresh_tokens[token] = self._owners[token] = user
        return token

    def revoke_refresh_tokens(self, user: str) -> None:
        with self._lock:
            for token in [t for t, u in self.refresh_tokens.items() if u == user]:
                del self.refresh_tokens[token]

    def expire_access_tokens(self, user: str) -> None:
        """As if every access token issued for ``user`` expired (or was revoked) now."""
        with self._lock:
            for token in [t for t, (u, _) in self.access_tokens.items() if u == user]:
                del self.access_tokens[token]

    def requests_by(self, user: str) -> list[dict[str, str]]:
        """The token requests made with a refresh token of ``user`` (valid or not)."""
        return [form for form in self.token_requests if form["user"] == user]

    def user_of(self, access_token: str) -> str | None:
        with self._lock:
            found = self.access_tokens.get(access_token)
        return found[0] if found and found[1] > time.time() else None

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path == "/token":
            return self._token(form)
        if path == "/introspect":
            self.introspections += 1
            user = self.user_of(form.get("token", ""))
            return 200, {"active": True, "email": user} if user else {"active": False}
        return 404, {"error": "not_found"}

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            owner = self._owners.get(form.get("refresh_token", ""), "")
        self.token_requests.append({**form, "user": owner})
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client", "error_description": "Unknown client."}
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            user = self.refresh_tokens.get(form.get("refresh_token", ""))
            if user is None:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                }
            access = f"at-{next(self._counter)}-{secrets.token_hex(8)}"
            self.access_tokens[access] = (user, time.time() + self.lifetime)
            body: dict[str, Any] = {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": self.lifetime,
                "scope": form.get("scope", ""),
            }
            if self.rotate:
                del self.refresh_tokens[form["refresh_token"]]
                body["refresh_token"] = new = f"rt-{next(self._counter)}-{secrets.token_hex(8)}"
                self.refresh_tokens[new] = self._owners[new] = user
        return 200, body


_OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {conf}
}}
"""


class OAuthDovecot(DovecotServer):
    """Dovecot that accepts XOAUTH2/OAUTHBEARER, checking tokens at ``provider``, and still
    password logins (PLAIN/LOGIN) from its users file."""

    def __init__(self, provider: OAuthProvider) -> None:
        self.provider = provider
        super().__init__()

    def _before_start(self) -> None:
        super()._before_start()
        conf = self.directory / "dovecot-oauth2.conf.ext"
        conf.write_text(
            f"introspection_url = {self.provider.introspection_url}\n"
            "introspection_mode = post\n"
            "force_introspection = yes\n"
            "username_attribute = email\n"
            "active_attribute = active\n"
            "active_value = true\n"
        )
        conf.chmod(0o644)
        text = self.config_path.read_text()
        text = text.replace(
            "auth_mechanisms = plain login\n", "auth_mechanisms = plain login xoauth2 oauthbearer\n"
        )
        text = text.replace(
            "passdb {\n  driver = passwd-file\n",
            "passdb {\n  driver = passwd-file\n  mechanisms = plain login\n",
        )
        self.config_path.write_text(text + _OAUTH2_PASSDB.format(conf=conf))


@dataclass
class XOAuth2Auth:
    """aiosmtpd handler mix-in: AUTH XOAUTH2 with tokens checked at ``provider``.

    A refused token gets Google's answer: a ``334`` challenge with a base64 JSON error,
    then ``535`` once the client sent its empty response.
    """

    provider: OAuthProvider | None = None
    signed_in: list[str] = field(default_factory=list)
    refused: int = 0

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        assert self.provider is not None
        response = args[1] if len(args) > 1 else ""
        fields = dict(
            part.split("=", 1)
            for part in base64.b64decode(response).decode().split("\x01")
            if "=" in part
        )
        user = fields.get("user", "")
        token = fields.get("auth", "").removeprefix("Bearer ")
        if user and self.provider.user_of(token) == user:
            self.signed_in.append(user)
            return AuthResult(success=True, auth_data=user)
        self.refused += 1
        error = json.dumps({"status": "401", "schemes": "Bearer", "scope": "mail"})
        await server.challenge_auth(error)
        return AuthResult(success=False, handled=False)


def password_authenticator(passwords: dict[str, str]) -> Any:
    """aiosmtpd ``authenticator`` for AUTH PLAIN/LOGIN against ``passwords`` (user → pw)."""

    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if passwords.get(user) == password:
                return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    return check
