"""Pure pieces of accounts: TOTP steps (each code once, ±1 step of drift), recovery codes,
the socket audience following a role change, audit redaction and CSV cells."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from server.account_queries import audit_csv
from server.actions.audit import redact
from server.domain import twofactor
from server.events.types import Event, EventType, StreamEvent
from server.realtime.client_queue import Audience

NOW = datetime(2026, 11, 30, 12, 0, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def code_at(seconds: int) -> str:
    return pyotp.TOTP(SECRET).at(NOW + timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(0, True), (-30, True), (30, True), (-60, False), (60, False)],
)
def test_a_code_is_accepted_within_one_step_of_drift(offset: int, accepted: bool) -> None:
    step = twofactor.accepted_step(SECRET, code_at(offset), NOW, None)
    assert (step is not None) is accepted


def test_a_code_is_good_once_and_never_an_earlier_one() -> None:
    step = twofactor.accepted_step(SECRET, code_at(0), NOW, None)
    assert step is not None
    assert twofactor.accepted_step(SECRET, code_at(0), NOW, step) is None
    assert twofactor.accepted_step(SECRET, code_at(-30), NOW, step) is None
    assert twofactor.accepted_step(SECRET, code_at(30), NOW, step) == step + 1


@pytest.mark.parametrize(
    "code",
    [
        "",
        "12345",
        "1234567",
        "abcdef",
        "12 34 5x",
        "١٢٣٤٥٦",
        "\uff11\uff12\uff13\uff14\uff15\uff16",
    ],
)
def test_malformed_codes_are_refused(code: str) -> None:
    assert twofactor.accepted_step(SECRET, code, NOW, None) is None


def test_recovery_codes_are_distinct_and_typed_loosely() -> None:
    codes = twofactor.new_recovery_codes()
    assert len(set(codes)) == 10 and all(len(c) == 14 for c in codes)
    assert twofactor.recovery_hash(codes[0]) == twofactor.recovery_hash(
        " " + codes[0].upper().replace("-", " ") + " "
    )
    assert twofactor.recovery_hash(codes[0]) != twofactor.recovery_hash(codes[1])


def _agent_updated(user_id: int, role: str, inbox_ids: list[int]) -> StreamEvent:
    payload = {"user": {"id": user_id, "role": role}, "inbox_ids": inbox_ids}
    return StreamEvent("1-1", Event(EventType.AGENT_UPDATED, payload))


def test_an_audience_follows_its_users_role_and_no_one_elses() -> None:
    audience = Audience(7, True, set())
    assert not audience.apply_role(_agent_updated(8, "agent", []))
    assert audience.is_admin
    assert audience.apply_role(_agent_updated(7, "agent", [3]))
    assert (audience.is_admin, audience.inbox_ids) == (False, {3})
    other_inbox = StreamEvent("1-2", Event(EventType.MESSAGE_CREATED, {}, inbox_id=4))
    assert not audience.sees(other_inbox)
    assert audience.apply_role(_agent_updated(7, "admin", [3]))
    assert audience.sees(other_inbox)


def test_audit_details_never_keep_secret_values() -> None:
    details = {
        "password": "hunter22",
        "config": {"bot_token": "123:abc", "webhook_secret": "", "name": "x"},
        "role": "admin",
    }
    assert redact(details) == {
        "password": "(set)",
        "config": {"bot_token": "(set)", "webhook_secret": "(not set)", "name": "x"},
        "role": "admin",
    }


def test_csv_cells_that_a_spreadsheet_would_run_are_defused() -> None:
    entry = {
        "id": 1,
        "at": "2026-11-30T12:00:00+00:00",
        "actor_id": 1,
        "actor_name": '=HYPERLINK("http://evil")',
        "action": "agent.update",
        "target_type": "user",
        "target_id": "2",
        "address": "127.0.0.1",
        "details": {"fields": ["role"]},
    }
    lines = audit_csv([entry]).splitlines()
    assert lines[0].startswith("id,at,actor_id")
    assert "'=HYPERLINK" in lines[1]


def test_nothing_in_the_server_updates_or_deletes_audit_entries() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "server"
    writes = ("update(t.audit_log", "delete(t.audit_log", "audit_log.update(", "audit_log.delete(")
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any(w in line.replace(" ", "") for w in writes)
    ]
    assert offenders == []
