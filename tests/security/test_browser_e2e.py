"""Holes 9 and 10 in a real Chromium: the app runs under its CSP with no violation (live
socket included), and a same-site page (another port of the same host, so the SameSite=Lax
cookie rides along) cannot log the agent out with a body-less POST."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import ConsoleMessage, expect

from tests.conftest import Running
from tests.e2e.conftest import app_page
from tests.support.api import eventually
from tests.support.ports import free_port

ATTACK = """<!doctype html><script>
fetch(%r, {method: 'POST', credentials: 'include', mode: 'no-cors'})
  .then(() => { document.title = 'sent'; }, () => { document.title = 'failed'; });
</script>"""


@pytest.fixture
def attacker_site(server: Running) -> Iterator[str]:
    """A real page on another port of the same host: same site, another origin."""
    page = (ATTACK % f"{server.base_url}/api/auth/logout").encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args: object) -> None:
            return None

    site = ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}/"
    finally:
        site.shutdown()
        site.server_close()


async def test_app_runs_under_its_csp_and_a_same_site_page_cannot_log_out(
    server: Running, attacker_site: str
) -> None:
    async with app_page(server, login=True) as page:
        violations: list[str] = []

        def watch(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text:
                violations.append(message.text)

        page.on("console", watch)
        await page.reload()
        await expect(page.locator("#whoami")).to_contain_text("Admin")
        state = "window.switchboard.socket && window.switchboard.socket.state"

        async def live() -> bool:  # evaluate, not wait_for_function: the CSP forbids eval
            return bool(await page.evaluate(state) == "live")

        await eventually(live, timeout=30)
        assert violations == []

        attacker = await page.context.new_page()
        await attacker.goto(attacker_site)
        await expect(attacker).to_have_title("sent")
        me = await page.evaluate("fetch('/api/me').then(r => r.status)")
        assert me == 200, "the same-site POST logged the agent out"
