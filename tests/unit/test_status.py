"""The conversation state machine, pair by pair: every (status, command) is listed once."""

from __future__ import annotations

import pytest

from server.domain.status import Command, IllegalTransition, Status, allowed_from, transition

OPEN, PENDING, SNOOZED, RESOLVED = Status

# (current, command, expected next status or None when illegal)
TABLE = [
    (OPEN, Command.RESOLVE, RESOLVED),
    (PENDING, Command.RESOLVE, RESOLVED),
    (SNOOZED, Command.RESOLVE, RESOLVED),
    (RESOLVED, Command.RESOLVE, None),
    (OPEN, Command.REOPEN, None),
    (PENDING, Command.REOPEN, None),
    (SNOOZED, Command.REOPEN, None),
    (RESOLVED, Command.REOPEN, OPEN),
    (OPEN, Command.SNOOZE, SNOOZED),
    (PENDING, Command.SNOOZE, SNOOZED),
    (SNOOZED, Command.SNOOZE, SNOOZED),
    (RESOLVED, Command.SNOOZE, None),
    (OPEN, Command.PEND, PENDING),
    (PENDING, Command.PEND, None),
    (SNOOZED, Command.PEND, PENDING),
    (RESOLVED, Command.PEND, None),
    (OPEN, Command.OPEN, None),
    (PENDING, Command.OPEN, OPEN),
    (SNOOZED, Command.OPEN, OPEN),
    (RESOLVED, Command.OPEN, None),
    (OPEN, Command.CUSTOMER_MESSAGE, OPEN),
    (PENDING, Command.CUSTOMER_MESSAGE, OPEN),
    (SNOOZED, Command.CUSTOMER_MESSAGE, OPEN),
    (RESOLVED, Command.CUSTOMER_MESSAGE, OPEN),
]


def test_table_lists_every_pair_once() -> None:
    pairs = [(current, command) for current, command, _ in TABLE]
    assert len(pairs) == len(set(pairs)) == len(Status) * len(Command)


@pytest.mark.parametrize(("current", "command", "expected"), TABLE)
def test_transition(current: Status, command: Command, expected: Status | None) -> None:
    if expected is None:
        with pytest.raises(IllegalTransition):
            transition(current, command)
    else:
        assert transition(current, command) is expected


def test_illegal_transition_says_what_was_expected() -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition(RESOLVED, Command.RESOLVE)
    error = caught.value
    assert str(error) == "cannot resolve: expected one of open, pending, snoozed, got resolved"
    assert error.command is Command.RESOLVE
    assert error.current is RESOLVED
    assert error.allowed == (OPEN, PENDING, SNOOZED)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("command", "allowed"),
    [
        (Command.RESOLVE, (OPEN, PENDING, SNOOZED)),
        (Command.REOPEN, (RESOLVED,)),
        (Command.SNOOZE, (OPEN, PENDING, SNOOZED)),
        (Command.PEND, (OPEN, SNOOZED)),
        (Command.OPEN, (PENDING, SNOOZED)),
        (Command.CUSTOMER_MESSAGE, (OPEN, PENDING, SNOOZED, RESOLVED)),
    ],
)
def test_allowed_from(command: Command, allowed: tuple[Status, ...]) -> None:
    assert allowed_from(command) == allowed


def test_values_are_the_wire_strings() -> None:
    assert [status.value for status in Status] == ["open", "pending", "snoozed", "resolved"]
    assert Command("customer_message") is Command.CUSTOMER_MESSAGE
