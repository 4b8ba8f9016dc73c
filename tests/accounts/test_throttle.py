"""Issue 11 hole 11: every 429 says Retry-After; a guesser from one address cannot lock
the owner out from another (limits per account+address, a slower one per account)."""

from __future__ import annotations

import httpx

from server.api.auth import LoginThrottle
from tests.accounts.conftest import PASSWORD, agent_login
from tests.conftest import Running


async def _login(server: Running, email: str, password: str, address: str) -> httpx.Response:
    # The server sees loopback; a second address is a second test client seen through the
    # ASGI scope, which is what the throttle keys on (request.client.host).
    transport = httpx.ASGITransport(app=server.app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://switchboard") as http:
        return await http.post("/api/auth/login", json={"email": email, "password": password})


async def test_a_guesser_is_refused_with_retry_after_while_the_owner_still_logs_in(
    server: Running, admin: httpx.AsyncClient
) -> None:
    await agent_login(server, admin, "quinn@example.test")  # the owner logged in from .1
    statuses = [
        (await _login(server, "quinn@example.test", "guess-{n}", "203.0.113.9")).status_code
        for n in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    refused = await _login(server, "quinn@example.test", PASSWORD, "203.0.113.9")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    owner = await _login(server, "quinn@example.test", PASSWORD, "127.0.0.1")
    assert owner.status_code == 200, owner.text


async def test_the_slower_per_account_limit_spares_addresses_the_owner_used(
    server: Running, admin: httpx.AsyncClient
) -> None:
    await agent_login(server, admin, "rita@example.test")  # from 127.0.0.1
    throttle: LoginThrottle = server.app.state.login_throttle
    for n in range(throttle.account.limit):  # a distributed guess: one try per address
        throttle.failed("rita@example.test", f"198.51.100.{n % 250}")
    stranger = await _login(server, "rita@example.test", PASSWORD, "192.0.2.77")
    assert stranger.status_code == 429 and "retry-after" in stranger.headers
    owner = await _login(server, "rita@example.test", PASSWORD, "127.0.0.1")
    assert owner.status_code == 200, owner.text


def test_only_failures_count_and_a_success_clears_its_pair() -> None:
    throttle = LoginThrottle()
    for _ in range(9):
        throttle.failed("a@example.test", "10.0.0.1")
    throttle.succeeded("a@example.test", "10.0.0.1")
    assert throttle.pair.retry_after("a@example.test|10.0.0.1") == 0


async def test_reset_requests_from_one_address_are_bounded_with_retry_after(
    server: Running,
) -> None:
    anon = server.client()
    answers = [
        await anon.post("/api/auth/password-reset", json={"email": f"x{n}@example.test"})
        for n in range(21)
    ]
    assert [a.status_code for a in answers] == [202] * 20 + [429]
    assert int(answers[-1].headers["retry-after"]) >= 1
