"""OAuth2 sign-in (XOAUTH2) for IMAP and SMTP, against real peers (issue 14): Dovecot with
an oauth2 passdb that introspects tokens at a local provider, an aiosmtpd that accepts
only XOAUTH2, and that provider's token endpoint (refresh-token grant, RFC 6749 §6).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.email.oauth2 import (
    OAuth2Client,
    OAuth2Refused,
    TokenSource,
    parse_token_answer,
    provider_name,
    xoauth2_string,
)
from adapters.outbound_guard import PrivateAddress
from server.storage import schema as t
from tests.conftest import Running
from tests.email.conftest import PASSWORD, Mailbox, Recorder, SmtpPeer, create_email_inbox, mail
from tests.email.test_email_channel import first_conversation, health, inbound_texts, messages
from tests.support.api import eventually
from tests.support.dovecot_oauth import (
    CLIENT_ID,
    CLIENT_SECRET,
    OAuthDovecot,
    OAuthProvider,
    XOAuth2Auth,
    password_authenticator,
)
from tests.support.ports import free_port

USERS = 12
_users = itertools.count()


@pytest.fixture(scope="session")
def provider() -> Iterator[OAuthProvider]:
    server = OAuthProvider()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def oauth_dovecot(provider: OAuthProvider) -> Iterator[OAuthDovecot]:
    server = OAuthDovecot(provider)
    for i in range(USERS):
        server.add_user(f"oauth{i}@example.test", PASSWORD)  # the test's APPEND logs in so
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def oauth_mailbox(oauth_dovecot: OAuthDovecot) -> Mailbox:
    n = next(_users)
    assert n < USERS, "raise USERS in tests/email/test_oauth2.py"
    return Mailbox(oauth_dovecot, f"oauth{n}@example.test")


@dataclass
class OAuthRecorder(XOAuth2Auth, Recorder):
    """Records deliveries; MAIL is refused before a successful AUTH XOAUTH2 (aiosmtpd's
    own ``auth_required`` warns without TLS, and warnings are errors in this suite)."""

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"


@pytest.fixture
def oauth_smtp(provider: OAuthProvider, oauth_mailbox: Mailbox) -> Iterator[SmtpPeer]:
    """XOAUTH2, and PLAIN/LOGIN with the mailbox's password (one suite, both methods)."""
    recorder = OAuthRecorder(provider=provider)
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=password_authenticator({oauth_mailbox.address: PASSWORD}),
    )
    controller.start()
    try:
        yield SmtpPeer(port, recorder)
    finally:
        controller.stop()


def oauth_config(
    mailbox: Mailbox, smtp: SmtpPeer, provider: OAuthProvider, refresh_token: str
) -> dict[str, Any]:
    return {
        "address": mailbox.address,
        "imap_host": mailbox.dovecot.host,
        "imap_port": mailbox.dovecot.port,
        "imap_security": "none",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_security": "none",
        "auth_method": "oauth2",
        "oauth2_client_id": CLIENT_ID,
        "oauth2_client_secret": CLIENT_SECRET,
        "oauth2_token_url": provider.token_url,
        "oauth2_scope": "https://mail.google.com/",
        "oauth2_refresh_token": refresh_token,
    }


async def _reply(admin: httpx.AsyncClient, conversation_id: int, text: str) -> None:
    sent = await admin.post(f"/api/conversations/{conversation_id}/messages", json={"text": text})
    assert sent.status_code == 201, sent.text


async def _sent(admin: httpx.AsyncClient, conversation_id: int, count: int) -> bool:
    outbound = [m for m in await messages(admin, conversation_id) if m["direction"] == "out"]
    return len(outbound) == count and all(m["status"] == "sent" for m in outbound)


async def _texts(admin: httpx.AsyncClient, inbox_id: int, count: int) -> list[str] | None:
    texts = await inbound_texts(admin, inbox_id)
    return texts if len(texts) >= count else None


async def _stored_secrets(server: Running, inbox_id: int) -> tuple[str, dict[str, Any]]:
    async with server.ctx.db.read() as conn:
        raw = (
            await conn.execute(sa.select(t.inboxes.c.secrets).where(t.inboxes.c.id == inbox_id))
        ).scalar_one()
    return raw, server.ctx.secrets.decrypt_json(raw)


async def test_mail_arrives_and_replies_go_out_signed_in_with_xoauth2(
    server: Running,
    admin: httpx.AsyncClient,
    oauth_mailbox: Mailbox,
    oauth_smtp: SmtpPeer,
    provider: OAuthProvider,
) -> None:
    user = oauth_mailbox.address
    refresh = provider.grant(user)
    inbox = await create_email_inbox(
        admin, oauth_config(oauth_mailbox, oauth_smtp, provider, refresh)
    )
    listed = (await admin.get("/api/admin/inboxes")).text
    assert refresh not in listed and CLIENT_SECRET not in listed  # write-only
    assert inbox["secrets_set"]["oauth2_refresh_token"] is True
    raw, stored = await _stored_secrets(server, inbox["id"])
    assert refresh not in raw and stored["oauth2_refresh_token"] == refresh  # encrypted

    result = (await admin.post(f"/api/admin/inboxes/{inbox['id']}/test")).json()
    checks = {c["name"]: c for c in result["checks"]}
    assert result["ok"], checks
    assert checks["imap.auth"]["detail"] == f"logged in as {user} with OAuth2 (XOAUTH2)"
    assert checks["smtp.auth"]["detail"] == f"authenticated as {user} with OAuth2 (XOAUTH2)"

    await oauth_mailbox.append(mail("oauth-in@example.org", to=user, body="Via XOAUTH2"))
    conv = await first_conversation(admin, inbox["id"])
    await _reply(admin, conv["id"], "Answered over SMTP XOAUTH2")
    await eventually(lambda: _sent(admin, conv["id"], 1), timeout=20)
    recorder: Any = oauth_smtp.recorder
    assert user in recorder.signed_in and recorder.refused == 0
    body = recorder.delivered[0].get_body(("plain",)).get_content()
    assert "Answered over SMTP XOAUTH2" in body
    assert await inbound_texts(admin, inbox["id"]) == ["Via XOAUTH2"]
    forms = provider.requests_by(user)
    # IMAP and SMTP (and the probe) shared one cached access token: one refresh in all
    assert len(forms) == 1, forms
    assert forms[0]["grant_type"] == "refresh_token" and forms[0]["client_id"] == CLIENT_ID
    assert forms[0]["scope"] == "https://mail.google.com/"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("method", ["password", "oauth2"])
async def test_each_sign_in_method_reads_and_sends_through_the_same_servers(
    server: Running,
    admin: httpx.AsyncClient,
    oauth_mailbox: Mailbox,
    oauth_smtp: SmtpPeer,
    provider: OAuthProvider,
    method: str,
) -> None:
    """The sign-in contract: whatever the method, the probe passes, mail arrives and
    replies go out signed in as the mailbox — against the very same Dovecot and aiosmtpd."""
    user = oauth_mailbox.address
    config = oauth_config(oauth_mailbox, oauth_smtp, provider, provider.grant(user))
    if method == "password":
        config = {k: v for k, v in config.items() if not k.startswith(("auth_", "oauth2_"))}
        config.update(imap_password=PASSWORD, smtp_username=user, smtp_password=PASSWORD)
    inbox = await create_email_inbox(admin, config)
    result = (await admin.post(f"/api/admin/inboxes/{inbox['id']}/test")).json()
    assert result["ok"], result
    await oauth_mailbox.append(mail(f"{method}-in@example.org", to=user, body=method))
    conv = await first_conversation(admin, inbox["id"])
    await _reply(admin, conv["id"], f"reply by {method}")
    await eventually(lambda: _sent(admin, conv["id"], 1), timeout=20)
    recorder: Any = oauth_smtp.recorder
    assert len(recorder.delivered) == 1 and recorder.rcpt == ["carol@example.org"]
    assert (user in recorder.signed_in) is (method == "oauth2")  # XOAUTH2 only when chosen
    assert len(provider.requests_by(user)) == (1 if method == "oauth2" else 0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_access_token_refused_as_expired_is_refreshed_for_smtp_and_imap(
    server: Running,
    admin: httpx.AsyncClient,
    oauth_mailbox: Mailbox,
    oauth_smtp: SmtpPeer,
    provider: OAuthProvider,
) -> None:
    user = oauth_mailbox.address
    config = oauth_config(oauth_mailbox, oauth_smtp, provider, provider.grant(user))
    inbox = await create_email_inbox(admin, config)
    await oauth_mailbox.append(mail("exp-1@example.org", to=user, body="one"))
    conv = await first_conversation(admin, inbox["id"])
    await _reply(admin, conv["id"], "first reply")
    await eventually(lambda: _sent(admin, conv["id"], 1), timeout=20)

    provider.expire_access_tokens(user)  # the cache still thinks it valid for an hour
    await _reply(admin, conv["id"], "second reply")
    await eventually(lambda: _sent(admin, conv["id"], 2), timeout=20)
    recorder: Any = oauth_smtp.recorder
    assert recorder.refused == 1 and len(recorder.delivered) == 2
    assert len(provider.requests_by(user)) == 2

    provider.expire_access_tokens(user)
    oauth_mailbox.dovecot.stop()  # the watcher must sign in again, with a stale token
    try:
        oauth_mailbox.drop_into_maildir("exp-2", mail("exp-2@example.org", to=user, body="two"))
    finally:
        oauth_mailbox.dovecot.start()
    assert await eventually(lambda: _texts(admin, inbox["id"], 2), timeout=40) == ["one", "two"]
    assert len(provider.requests_by(user)) == 3


async def test_a_revoked_refresh_token_shows_in_health_and_no_mail_is_lost(
    server: Running,
    admin: httpx.AsyncClient,
    oauth_mailbox: Mailbox,
    oauth_smtp: SmtpPeer,
    provider: OAuthProvider,
) -> None:
    user = oauth_mailbox.address
    config = oauth_config(oauth_mailbox, oauth_smtp, provider, provider.grant(user))
    inbox = await create_email_inbox(admin, config)
    await oauth_mailbox.append(mail("rev-1@example.org", to=user, body="before"))
    await first_conversation(admin, inbox["id"])

    provider.revoke_refresh_tokens(user)  # the user withdrew consent at the provider
    provider.expire_access_tokens(user)
    oauth_mailbox.dovecot.stop()
    try:
        oauth_mailbox.drop_into_maildir("rev-2", mail("rev-2@example.org", to=user, body="during"))
    finally:
        oauth_mailbox.dovecot.start()
    await oauth_mailbox.append(mail("rev-3@example.org", to=user, body="meanwhile"))

    async def refused() -> dict[str, Any] | None:
        watch = await health(admin, inbox["id"]) or {}
        return watch if "refused the refresh token" in (watch.get("error") or "") else None

    watch = await eventually(refused, timeout=40)
    assert watch["connected"] is False
    assert watch["error"].startswith(
        "127.0.0.1 refused the refresh token: invalid_grant — reconnect the mailbox"
    )
    assert await inbound_texts(admin, inbox["id"]) == ["before"]

    fresh = provider.grant(user)  # the admin connects the mailbox again
    patched = await admin.patch(
        f"/api/admin/inboxes/{inbox['id']}", json={"config": {"oauth2_refresh_token": fresh}}
    )
    assert patched.status_code == 200, patched.text
    texts = await eventually(lambda: _texts(admin, inbox["id"], 3), timeout=40)
    assert texts == ["before", "during", "meanwhile"]

    async def healthy() -> bool:
        watch = await health(admin, inbox["id"]) or {}
        return bool(watch.get("connected")) and not watch.get("error")

    await eventually(healthy, timeout=20)


async def test_a_rotated_refresh_token_is_stored_encrypted_and_used_after_a_restart(
    server: Running,
    admin: httpx.AsyncClient,
    oauth_mailbox: Mailbox,
    oauth_smtp: SmtpPeer,
    provider: OAuthProvider,
) -> None:
    user = oauth_mailbox.address
    first = provider.grant(user)
    provider.rotate = True  # like Microsoft: every refresh answers with a new refresh token
    try:
        config = oauth_config(oauth_mailbox, oauth_smtp, provider, first)
        inbox = await create_email_inbox(admin, config)

        async def rotated() -> str | None:
            _, stored = await _stored_secrets(server, inbox["id"])
            value: str = stored["oauth2_refresh_token"]
            return value if value != first else None

        second = await eventually(rotated, timeout=20)
        raw, _ = await _stored_secrets(server, inbox["id"])
        assert second in provider.refresh_tokens and second not in raw
        assert first not in provider.refresh_tokens  # the old one no longer works

        # a restart of the adapter reads the stored (rotated) token, not the admin's first
        provider.expire_access_tokens(user)
        await admin.patch(f"/api/admin/inboxes/{inbox['id']}", json={"name": "Renamed"})
        await oauth_mailbox.append(mail("rot-1@example.org", to=user, body="after rotation"))
        assert await eventually(lambda: _texts(admin, inbox["id"], 1), timeout=30) == [
            "after rotation"
        ]
        assert all(f["refresh_token"] != first for f in provider.requests_by(user)[1:])
    finally:
        provider.rotate = False


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"oauth2_client_id": ""}, "config.oauth2_client_id: required when auth_method is oauth2"),
        (
            {"oauth2_refresh_token": ""},
            "config.oauth2_refresh_token: required when auth_method is oauth2",
        ),
        (
            {"oauth2_token_url": "http://oauth.example.com/token"},
            "config.oauth2_token_url: expected the provider's https:// token endpoint",
        ),
        ({"auth_method": "kerberos"}, "config.auth_method: expected one of password, oauth2"),
    ],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_incomplete_oauth2_configuration_is_refused_with_the_field_named(
    server: Running,
    admin: httpx.AsyncClient,
    oauth_dovecot: OAuthDovecot,
    provider: OAuthProvider,
    changes: dict[str, str],
    expected: str,
) -> None:
    unused = Mailbox(oauth_dovecot, "bad@example.test")
    config = oauth_config(unused, SmtpPeer(25, Recorder()), provider, "rt-x")
    response = await admin.post(
        "/api/admin/inboxes",
        json={"name": "Bad", "kind": "email", "config": {**config, **changes}},
    )
    assert response.status_code == 422 and expected in response.text, response.text


class _Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_access_token_is_cached_until_shortly_before_it_expires(
    provider: OAuthProvider,
) -> None:
    user = "cache@example.test"
    clock = _Clock()
    client = OAuth2Client(provider.token_url, CLIENT_ID, CLIENT_SECRET, "", provider.grant(user))
    source = TokenSource(client, allow_private=True, clock=clock)
    first = await source.token()
    clock.now += 3600 - 61  # expires_in 3600, refreshed 60 s early
    assert await source.token() == first and len(provider.requests_by(user)) == 1
    clock.now += 2
    second = await source.token()
    assert second != first and len(provider.requests_by(user)) == 2
    assert provider.user_of(second) == user

    provider.revoke_refresh_tokens(user)
    clock.now += 3600
    with pytest.raises(OAuth2Refused, match="invalid_grant — reconnect the mailbox"):
        await source.token()
    with pytest.raises(OAuth2Refused):  # not asked again with the same refused token
        await source.token()
    assert len(provider.requests_by(user)) == 3
    assert source.problem is not None and "Token has been expired or revoked" in source.problem


async def test_the_token_endpoint_goes_through_the_private_address_guard(
    provider: OAuthProvider,
) -> None:
    client = OAuth2Client(provider.token_url, CLIENT_ID, CLIENT_SECRET, "", provider.grant("g@x"))
    with pytest.raises(PrivateAddress, match="private address"):
        await TokenSource(client, allow_private=False).token()
    assert provider.requests_by("g@x") == []


def test_the_xoauth2_string_is_googles_format() -> None:
    assert xoauth2_string(
        "someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"
    ) == (
        "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52"
        "YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
    )


@pytest.mark.parametrize(
    ("url", "body", "expected"),
    [
        (
            "https://oauth2.googleapis.com/token",
            b'{"error": "invalid_grant", "error_description": "Bad Request"}',
            "Google refused the refresh token: invalid_grant — reconnect the mailbox. "
            "Google said: Bad Request",
        ),
        (
            "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            b'{"error": "invalid_client"}',
            "Microsoft refused the client id or secret: invalid_client — check the OAuth2 client",
        ),
        (
            "https://auth.example.com/token",
            b'{"error": "invalid_scope"}',
            "auth.example.com refused the scope: invalid_scope — check oauth2_scope",
        ),
    ],
)
def test_a_refusal_is_a_sentence_naming_the_provider(url: str, body: bytes, expected: str) -> None:
    with pytest.raises(OAuth2Refused) as refused:
        parse_token_answer(400, body, provider_name(url))
    assert refused.value.reason == expected
