"""The inbox's email signature with variables (issue 14): pure rendering, config errors that
name the field, and a real reply through aiosmtpd carrying it."""

from __future__ import annotations

import httpx
import pytest

from adapters.base import ConfigInvalid
from adapters.email.config import parse_config
from adapters.email.signature import (
    compose_signature,
    render_signature,
    signature_values,
    with_signature,
)
from tests.conftest import Running
from tests.email.conftest import Mailbox, SmtpPeer, create_email_inbox, email_config, mail
from tests.email.test_email_channel import first_conversation, messages
from tests.support.api import eventually


@pytest.mark.parametrize(
    ("template", "agent", "expected"),
    [
        ("{agent_name}\n{inbox_name}", "Ann Lee", "Ann Lee\nSupport"),
        ("Best, {agent_first_name}  \n{inbox_address}", "Ann Lee", "Best, Ann\nhelp@x.test"),
        ("{agent_first_name} of {inbox_name}", None, "of Support"),
        ("{{agent_name}} {0} {inbox_name!r}", "Ann", "{Ann} {0} {inbox_name!r}"),  # no format()
    ],
)
def test_render_signature(template: str, agent: str | None, expected: str) -> None:
    values = signature_values(agent, "Support", "help@x.test")
    assert render_signature(template, values) == expected


@pytest.mark.parametrize(
    ("inbox", "agent", "expected"),
    [
        ("Acme", "{agent_first_name}, billing", "Ann, billing\nAcme"),
        ("{agent_signature}\n--\nAcme", "Ann", "Ann\n--\nAcme"),
        ("", "Ann", "Ann"),
        ("Acme", "", "Acme"),
        ("Acme", "{agent_signature}", "Acme"),  # no recursion
    ],
)
def test_agent_and_inbox_signatures_together(inbox: str, agent: str, expected: str) -> None:
    values = signature_values("Ann Lee", "Support", "help@x.test")
    assert compose_signature(inbox, agent, values) == expected


def test_the_signature_follows_the_rfc_3676_separator() -> None:
    assert with_signature("Hello\n\n", "Ann") == "Hello\n\n-- \nAnn"
    assert with_signature("Hello", "") == "Hello"


@pytest.mark.parametrize(
    ("signature", "error"),
    [("{agent_nmae}", "unknown variable {agent_nmae}"), ("x" * 2001, "at most 2000")],
)
def test_a_bad_signature_names_the_problem(signature: str, error: str) -> None:
    with pytest.raises(ConfigInvalid, match=error):
        parse_config({"address": "s@example.com", "signature": signature})


async def test_an_email_reply_carries_the_inbox_signature(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    config = email_config(mailbox, smtp_peer, signature="{agent_first_name} at {inbox_name}")
    inbox = await create_email_inbox(admin, config, name="Acme Help")
    await mailbox.append(mail("sig@example.org", to=mailbox.address))
    conv = await first_conversation(admin, inbox["id"])
    sent = await admin.post(f"/api/conversations/{conv['id']}/messages", json={"text": "Done."})
    assert sent.status_code == 201, sent.text
    await eventually(lambda: _true(len(smtp_peer.recorder.delivered) == 1))
    body = smtp_peer.recorder.delivered[0].get_body(("plain",))
    assert body is not None
    agent = sent.json()["message"]["content_attributes"]["sender_name"].split()[0]
    text = body.get_content().replace("\r\n", "\n").rstrip()
    assert text == f"Done.\n\n-- \n{agent} at Acme Help"
    stored = (await messages(admin, conv["id"]))[-1]
    assert stored["text"] == "Done."  # what the agent wrote; the signature is the inbox's


async def test_an_agents_own_signature_goes_under_their_email_replies(
    server: Running, admin: httpx.AsyncClient, mailbox: Mailbox, smtp_peer: SmtpPeer
) -> None:
    bad = await admin.put("/api/account/signature", json={"signature": "{nick}"})
    assert bad.status_code == 422 and "unknown variable {nick}" in bad.text
    own = await admin.put("/api/account/signature", json={"signature": "{agent_name}, billing"})
    assert own.status_code == 200, own.text
    assert (await admin.get("/api/account/signature")).json()["signature"] == (
        "{agent_name}, billing"
    )
    config = email_config(mailbox, smtp_peer, signature="Acme Help")
    inbox = await create_email_inbox(admin, config, name="Acme Help")
    await mailbox.append(mail("own-sig@example.org", to=mailbox.address))
    conv = await first_conversation(admin, inbox["id"])
    sent = await admin.post(f"/api/conversations/{conv['id']}/messages", json={"text": "Done."})
    await eventually(lambda: _true(len(smtp_peer.recorder.delivered) == 1))
    body = smtp_peer.recorder.delivered[0].get_body(("plain",))
    assert body is not None
    agent = sent.json()["message"]["content_attributes"]["sender_name"]
    text = body.get_content().replace("\r\n", "\n").rstrip()
    assert text == f"Done.\n\n-- \n{agent}, billing\nAcme Help"


async def _true(value: bool) -> bool:
    return value
