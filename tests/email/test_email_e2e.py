"""Issue 14 in the agent app: corpus mails delivered through Dovecot, then looked at in
Chromium the way an agent sees them. Screenshots of each shape go to screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import Running
from tests.e2e.conftest import app_page
from tests.email.conftest import CORPUS, Mailbox, SmtpPeer, create_email_inbox, email_config
from tests.email.test_email_channel import all_messages, conversations
from tests.support.api import eventually

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
SHAPES = [
    "forwarded_with_attachment",
    "broken_boundary",
    "repeated_id_first",
    "repeated_id_second",
    "mixed_text_html_text",
    "bounce_dsn",
    "raw_8bit_headers_latin1",
]


async def _delivered(
    admin: httpx.AsyncClient, mailbox: Mailbox, smtp: SmtpPeer
) -> dict[str, dict[str, Any]]:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp))
    for name in SHAPES:
        await mailbox.append((CORPUS / f"{name}.eml").read_bytes())

    async def stored() -> bool:
        return len(await all_messages(admin, inbox["id"])) >= len(SHAPES)

    await eventually(stored, timeout=20)
    found = await all_messages(admin, inbox["id"])
    subjects = {c["id"]: c["subject"] for c in await conversations(admin, inbox["id"])}
    by: dict[str, dict[str, Any]] = {}
    for m in found:
        key = subjects[m["conversation_id"]]
        by[key + (" (repeat)" if m["content_attributes"].get("repeated_external_id") else "")] = m
    return by


async def _open(page: Page, server: Running, message: dict[str, Any], shot: str) -> None:
    await page.goto(f"{server.base_url}/#/inbox/{message['conversation_id']}")
    await expect(page.locator(f'li.msg[data-id="{message["id"]}"]')).to_be_visible()
    await page.screenshot(path=str(SHOTS / f"email-{shot}.png"))


async def test_each_shape_as_the_agent_sees_it(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    by = await _delivered(admin, mailbox, smtp_peer)
    SHOTS.mkdir(exist_ok=True)
    async with app_page(server, login=True) as page:
        forwarded = by["Fwd: Invoice 77"]
        await _open(page, server, forwarded, "forwarded-collapsed")
        item = page.locator(f'li.msg[data-id="{forwarded["id"]}"]')
        frame = item.frame_locator(".email-frame")
        await expect(frame.locator("summary")).to_have_text("Forwarded message: Invoice 77")
        await expect(frame.get_by_text("is attached.")).to_be_hidden()  # collapsed
        before = (await item.locator(".email-frame").bounding_box() or {}).get("height", 0)
        await frame.locator("summary").click()
        await expect(frame.get_by_text("is attached.")).to_be_visible()

        async def grown() -> bool:
            box = await item.locator(".email-frame").bounding_box() or {}
            return bool(box.get("height", 0) > before)

        await eventually(grown)  # the frame follows the opened forward
        await page.screenshot(path=str(SHOTS / "email-forwarded-open.png"))

        broken = by["Broken boundary"]
        await _open(page, server, broken, "malformed")
        item = page.locator(f'li.msg[data-id="{broken["id"]}"]')
        await expect(item.locator(".mail-notice")).to_contain_text("This email was malformed")
        link = item.locator(".mail-notice a", has_text="Download the original")
        assert (await link.get_attribute("href") or "").startswith("/api/attachments/")
        assert await item.locator(".attachments").count() == 0  # the source is no attachment
        frame = item.frame_locator(".email-frame")
        await expect(frame.locator("b")).to_have_text("two")

        repeat = by["Order 1234 (repeat)"]
        await _open(page, server, repeat, "repeated-message-id")
        notice = page.locator(f'li.msg[data-id="{repeat["id"]}"] .mail-notice')
        await expect(notice).to_contain_text("same Message-ID as an earlier, different email")

        mixed = by["Three parts"]
        await _open(page, server, mixed, "mixed-parts")
        frame = page.locator(f'li.msg[data-id="{mixed["id"]}"]').frame_locator(".email-frame")
        await expect(frame.locator("body")).to_contain_text("Third, the plain closing line.")

        bounce = by["Undelivered Mail Returned to Sender"]
        await _open(page, server, bounce, "bounce")
        frame = page.locator(f'li.msg[data-id="{bounce["id"]}"]').frame_locator(".email-frame")
        await expect(frame.locator("body")).to_contain_text("Delivery to nobody@customer.example")

        await _open(page, server, by["Problème de facture"], "raw-8bit-headers")
        await expect(page.locator("body")).to_contain_text("Élodie François")


async def test_quoted_text_is_collapsed_in_plain_and_html_mail(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    inbox = await create_email_inbox(admin, email_config(mailbox, smtp_peer))
    for name in ("quoted_reply", "html_gmail_quote"):
        await mailbox.append((CORPUS / f"{name}.eml").read_bytes())

    async def stored() -> list[dict[str, Any]] | None:
        found = await all_messages(admin, inbox["id"])
        return found if len(found) >= 2 else None

    found = await eventually(stored, timeout=20)
    plain = next(m for m in found if not m["html"])
    html = next(m for m in found if m["html"])
    SHOTS.mkdir(exist_ok=True)
    async with app_page(server, login=True) as page:
        await _open(page, server, plain, "quoted-plain")
        item = page.locator(f'li.msg[data-id="{plain["id"]}"]')
        await expect(item.get_by_text("Thanks, that worked!")).to_be_visible()
        await expect(item.get_by_text("Try turning it off and on.")).to_be_hidden()
        await item.get_by_text("Show quoted text").click()
        await expect(item.get_by_text("Try turning it off and on.")).to_be_visible()

        await _open(page, server, html, "quoted-html")
        frame = page.locator(f'li.msg[data-id="{html["id"]}"]').frame_locator(".email-frame")
        await expect(frame.get_by_text("Thanks, the refund arrived.")).to_be_visible()
        await expect(frame.get_by_text("We have sent the refund today.")).to_be_hidden()
        assert await frame.locator("details.sb-quote").count() == 1  # outermost quote only
        await frame.get_by_text("Show quoted text").click()
        await expect(frame.get_by_text("We have sent the refund today.")).to_be_visible()
        await page.screenshot(path=str(SHOTS / "email-quoted-html-open.png"))
