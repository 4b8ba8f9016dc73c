"""OAuth2 sign-in for a mailbox (XOAUTH2 for IMAP and SMTP): access tokens from a refresh
token, as Gmail and Microsoft 365 require (setup: README.md in this folder).

* Refresh (RFC 6749 §6): ``POST grant_type=refresh_token`` with the client id and secret in
  the form body (§2.3.1; Google and Microsoft both accept it) to the admin-set token
  endpoint, which goes through ``adapters.outbound_guard`` like every admin-set URL.
* The access token is cached until ``EXPIRY_MARGIN`` before its ``expires_in`` runs out;
  IMAP and SMTP share one ``TokenSource`` and one refresh at a time (a provider that
  rotates refresh tokens would refuse a second refresh with the old one).
* A new ``refresh_token`` in the answer replaces the stored one (encrypted, through the
  context's ``SecretStore``), only if the stored one is still the one that was used.
* A refusal (``invalid_grant``: revoked or expired consent) needs the admin: it becomes
  ``problem``, shown as channel health, and is not retried for ``REFUSED_RETRY``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.base import PermanentError, SecretStore, TransientError
from adapters.outbound_guard import refuse_private

log = logging.getLogger(__name__)
EXPIRY_MARGIN = 60.0  # refresh a minute early: a token must not lapse between fetch and AUTH
DEFAULT_LIFETIME = 3600.0  # RFC 6749 §5.1: expires_in is only RECOMMENDED; providers give 1 h
REFUSED_RETRY = 900.0  # ask again at most every 15 min with a refused refresh token
TIMEOUT = 20.0
REFRESH_SECRET = "oauth2_refresh_token"
_PROVIDERS = {
    "oauth2.googleapis.com": "Google",
    "accounts.google.com": "Google",
    "login.microsoftonline.com": "Microsoft",
}
_ADVICE = {
    "invalid_grant": "refused the refresh token: invalid_grant — reconnect the mailbox",
    "invalid_client": "refused the client id or secret: invalid_client — check the OAuth2 client",
    "unauthorized_client": "refused this client: unauthorized_client — check the OAuth2 client",
    "invalid_scope": "refused the scope: invalid_scope — check oauth2_scope",
}


def xoauth2_string(user: str, token: str) -> str:
    """The XOAUTH2 initial response (Google's and Microsoft's documented format)."""
    raw = f"user={user}\x01auth=Bearer {token}\x01\x01"
    return base64.b64encode(raw.encode()).decode("ascii")


def provider_name(token_url: str) -> str:
    """Who answers, for the admin: "Google", "Microsoft", else the endpoint's host."""
    host = (urlsplit(token_url).hostname or "").lower()
    return _PROVIDERS.get(host, host or "the token endpoint")


class OAuth2Refused(PermanentError):
    """The provider refused the refresh (or the client): only the admin can fix it."""


@dataclass(frozen=True)
class Grant:
    access_token: str
    expires_in: float
    refresh_token: str | None  # a rotated refresh token, when the provider issued one


def parse_token_answer(status: int, body: bytes, provider: str) -> Grant:
    """Map the token endpoint's answer (RFC 6749 §5.1 success, §5.2 error). Pure."""
    data = _json(body)
    token = data.get("access_token")
    if status == 200 and isinstance(token, str) and token:
        lifetime = data.get("expires_in")
        expires = float(lifetime) if isinstance(lifetime, int | float) else DEFAULT_LIFETIME
        rotated = data.get("refresh_token")
        return Grant(token, expires, rotated if isinstance(rotated, str) and rotated else None)
    raise _failure(status, data, provider)


def _failure(status: int, data: dict[str, Any], provider: str) -> Exception:
    error = str(data.get("error") or "")
    if status in (400, 401) and error:  # §5.2: the provider refused; only the admin can fix it
        said = " ".join(str(data.get("error_description") or "").split())[:200]
        advice = _ADVICE.get(error, f"refused the token request: {error}")
        tail = f". {provider} said: {said}" if said else ""
        return OAuth2Refused(f"{provider} {advice}{tail}", code=error)
    if status == 200:
        return TransientError(f"{provider}'s token endpoint answered without a token")
    return TransientError(f"{provider}'s token endpoint answered HTTP {status}")


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class OAuth2Client:
    token_url: str
    client_id: str
    client_secret: str
    scope: str
    refresh_token: str


class TokenSource:
    """Access tokens for one mailbox; ``problem`` is the refusal an admin must fix."""

    def __init__(
        self,
        client: OAuth2Client,
        *,
        allow_private: bool = False,
        secrets: SecretStore | None = None,
        on_problem: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client, self.allow_private, self.secrets = client, allow_private, secrets
        self.on_problem, self.clock = on_problem, clock
        self.problem: str | None = None
        self.refreshes = 0  # token requests made (observability)
        self._refresh = client.refresh_token
        self._token: str | None = None
        self._valid_until = 0.0
        self._refused: tuple[str, float, OAuth2Refused] | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A valid access token: the cached one, or a fresh one from the provider."""
        async with self._lock:
            if self._token is not None and self.clock() < self._valid_until:
                return self._token
            return await self._renew()

    def invalidate(self, token: str) -> None:
        """The server refused ``token`` (revoked, or expired early): never offer it again."""
        if token == self._token:
            self._token, self._valid_until = None, 0.0

    async def _renew(self) -> str:
        refused = self._refused
        if refused and refused[0] == self._refresh and self.clock() < refused[1]:
            raise refused[2]
        try:
            grant = await self._request()
        except OAuth2Refused as exc:
            if not await self._adopt_stored():
                self._set_problem(exc.reason)
                self._refused = (self._refresh, self.clock() + REFUSED_RETRY, exc)
                raise
            grant = await self._request()  # another node rotated it: use the stored one
        self._set_problem(None)
        margin = min(EXPIRY_MARGIN, grant.expires_in / 2)
        self._token, self._valid_until = (
            grant.access_token,
            self.clock() + grant.expires_in - margin,
        )
        if grant.refresh_token and grant.refresh_token != self._refresh:
            await self._rotate(grant.refresh_token)
        return grant.access_token

    async def _request(self) -> Grant:
        c = self.client
        provider = provider_name(c.token_url)
        await refuse_private(c.token_url, self.allow_private)
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh,
            "client_id": c.client_id,
            "client_secret": c.client_secret,
        }
        if c.scope:
            form["scope"] = c.scope
        self.refreshes += 1
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as http:
                answer = await http.post(c.token_url, data=form)
        except httpx.HTTPError as exc:
            # the exception text may hold the URL but never the form: safe to show
            raise TransientError(
                f"{provider}'s token endpoint failed: {type(exc).__name__}"
            ) from None
        return parse_token_answer(answer.status_code, answer.content, provider)

    async def _adopt_stored(self) -> bool:
        """After a refusal: has another node stored a rotated refresh token meanwhile?"""
        if self.secrets is None:
            return False
        stored = await self.secrets.get(REFRESH_SECRET)
        if not stored or stored == self._refresh:
            return False
        self._refresh = stored
        return True

    async def _rotate(self, new: str) -> None:
        old, self._refresh = self._refresh, new
        if self.secrets is None:
            return
        try:
            await self.secrets.replace(REFRESH_SECRET, old, new)
        except Exception:  # the new token still works in memory; say so, without it
            log.warning("could not store the rotated OAuth2 refresh token", exc_info=False)

    def _set_problem(self, problem: str | None) -> None:
        changed = problem != self.problem
        self.problem = problem
        if changed and self.on_problem is not None:
            self.on_problem()


__all__ = [
    "Grant",
    "OAuth2Client",
    "OAuth2Refused",
    "TokenSource",
    "parse_token_answer",
    "provider_name",
    "xoauth2_string",
]
