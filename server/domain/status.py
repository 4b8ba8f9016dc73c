"""Conversation status: an explicit state machine.

Every status change goes through `transition`, so the rules live in one table that can be
read (and tested) pair by pair instead of being scattered across handlers as `if` chains.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Command", "IllegalTransition", "Status", "allowed_from", "transition"]


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer
    SNOOZED = "snoozed"  # hidden until a time (or until the customer writes)
    RESOLVED = "resolved"


class Command(StrEnum):
    RESOLVE = "resolve"
    REOPEN = "reopen"
    SNOOZE = "snooze"
    PEND = "pend"
    OPEN = "open"  # an agent un-snoozes or un-pends
    CUSTOMER_MESSAGE = "customer_message"


class IllegalTransition(ValueError):
    """`command` is not allowed while the conversation is `current`.

    A ValueError (not a server error class) because the domain stays free of the HTTP
    error tree; the action layer maps it to `IllegalState` (409).
    """

    def __init__(self, command: Command, current: Status, allowed: tuple[Status, ...]) -> None:
        expected = ", ".join(status.value for status in allowed)
        super().__init__(f"cannot {command.value}: expected one of {expected}, got {current.value}")
        self.command = command
        self.current = current
        self.allowed = allowed


_O, _P, _S, _R = Status.OPEN, Status.PENDING, Status.SNOOZED, Status.RESOLVED

# (current, command) -> next. A missing pair is an illegal transition.
# SNOOZE from SNOOZED is allowed: it re-snoozes with a new wake-up time.
# CUSTOMER_MESSAGE is legal everywhere: a customer writing always puts the ball back with us.
_TABLE: dict[tuple[Status, Command], Status] = {
    (_O, Command.RESOLVE): _R,
    (_P, Command.RESOLVE): _R,
    (_S, Command.RESOLVE): _R,
    (_R, Command.REOPEN): _O,
    (_O, Command.SNOOZE): _S,
    (_P, Command.SNOOZE): _S,
    (_S, Command.SNOOZE): _S,
    (_O, Command.PEND): _P,
    (_S, Command.PEND): _P,
    (_P, Command.OPEN): _O,
    (_S, Command.OPEN): _O,
    (_O, Command.CUSTOMER_MESSAGE): _O,
    (_P, Command.CUSTOMER_MESSAGE): _O,
    (_S, Command.CUSTOMER_MESSAGE): _O,
    (_R, Command.CUSTOMER_MESSAGE): _O,
}


def allowed_from(command: Command) -> tuple[Status, ...]:
    """The statuses in which `command` is accepted, in declaration order."""
    return tuple(status for status in Status if (status, command) in _TABLE)


def transition(current: Status, command: Command) -> Status:
    """Return the status after `command`, or raise IllegalTransition."""
    try:
        return _TABLE[current, command]
    except KeyError:
        raise IllegalTransition(command, current, allowed_from(command)) from None
