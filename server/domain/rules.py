"""Automation rules: validate a rule, and decide which rules fire (docs/automation.md).

Pure: ``parse_rule`` turns admin input into a ``Rule`` or raises ``RuleError`` naming the
offending field; ``evaluate`` takes an event name and a conversation snapshot (a plain
dict built by ``server/actions/rules.py``) and returns the rules whose conditions hold,
with their actions. Executing actions is the action layer's job.

Regular expressions are bounded so that no pattern can run away on any input (there is
no safe regex engine installed and no timeout in a pure core): at most ``MAX_PATTERN``
characters, at most ``MAX_REPEATS`` repetitions (``*``, ``+``, ``{m,n}``), no repetition
inside a repetition, no back-references or look-around, and only the first
``MAX_SUBJECT`` characters of a text are tested. With those limits the worst case of
Python's backtracking engine stays polynomial and small (measured: under 0.1 s).
"""

from __future__ import annotations

import re
import re._parser as sre  # type: ignore[import-not-found,unused-ignore]
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "ACTIONS",
    "FIELDS",
    "TRIGGERS",
    "Action",
    "Condition",
    "Rule",
    "RuleError",
    "compile_pattern",
    "condition_holds",
    "evaluate",
    "parse_rule",
]

MAX_PATTERN = 100
MAX_REPEATS = 2
MAX_SUBJECT = 500
MAX_CONDITIONS = 20
MAX_ACTIONS = 10
MAX_ID = 2**62  # ids are 64-bit in the database; larger numbers name nothing
MAX_DEPTH = 3  # rule-caused changes may trigger rules this many levels deep, then stop


class RuleError(ValueError):
    """A rule that cannot be saved; ``field`` is the path of the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Kind(StrEnum):
    ID = "id"
    STR = "str"
    TEXT = "text"
    LABELS = "labels"
    BOOL = "bool"


TRIGGERS = frozenset(
    {
        "conversation_created",
        "customer_message",
        "agent_message",
        "conversation_updated",
        "conversation_resolved",
        "waiting_longer",  # params: {"minutes": N}
        "sla_near_breach",
        "sla_breached",
    }
)

#: Condition fields and their kind; ``contact.attributes.<key>`` is a STR field too.
FIELDS: Mapping[str, Kind] = {
    "inbox_id": Kind.ID,
    "channel": Kind.STR,
    "status": Kind.STR,
    "priority": Kind.STR,
    "team_id": Kind.ID,
    "assignee_id": Kind.ID,
    "labels": Kind.LABELS,
    "message.text": Kind.TEXT,
    "contact.name": Kind.STR,
    "contact.email": Kind.STR,
    "contact.phone": Kind.STR,
    "language": Kind.STR,
    "within_business_hours": Kind.BOOL,
}
ATTRIBUTE_PREFIX = "contact.attributes."

OPERATORS: Mapping[Kind, frozenset[str]] = {
    Kind.ID: frozenset({"is", "is_not", "in", "not_in", "present", "absent"}),
    Kind.STR: frozenset(
        {"is", "is_not", "in", "not_in", "contains", "not_contains", "matches", "present", "absent"}
    ),
    Kind.TEXT: frozenset({"contains", "not_contains", "matches", "present", "absent"}),
    Kind.LABELS: frozenset({"has", "has_not"}),
    Kind.BOOL: frozenset({"is"}),
}
_NO_VALUE = frozenset({"present", "absent"})
_LIST_VALUE = frozenset({"in", "not_in"})

#: Action types and their parameters (name → type).
ACTIONS: Mapping[str, Mapping[str, type]] = {
    "assign_agent": {"agent_id": int},
    "assign_team": {"team_id": int},
    "add_label": {"label": str},
    "remove_label": {"label": str},
    "set_priority": {"priority": str},
    "snooze": {"minutes": int},
    "resolve": {},
    "send_reply": {"text": str},
    "add_note": {"text": str},
    "webhook": {"url": str},
    "email": {"to": str},
}
PRIORITIES = ("none", "low", "medium", "high", "urgent")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Action:
    type: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    trigger: str
    conditions: tuple[Condition, ...]
    actions: tuple[Action, ...]
    params: Mapping[str, Any] = field(default_factory=dict)


# Validation ---------------------------------------------------------------------------


def _kind_of(name: str, where: str) -> Kind:
    if name in FIELDS:
        return FIELDS[name]
    key = name.removeprefix(ATTRIBUTE_PREFIX)
    if name.startswith(ATTRIBUTE_PREFIX) and re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", key):
        return Kind.STR
    known = ", ".join([*FIELDS, ATTRIBUTE_PREFIX + "<key>"])
    raise RuleError(where, f"unknown field {name!r}; expected one of {known}")


def _repeats(items: Any, inside: bool, where: str) -> int:
    count = 0
    for op, arg in items:
        name = str(op)
        if name in ("GROUPREF", "GROUPREF_EXISTS", "ASSERT", "ASSERT_NOT"):
            raise RuleError(where, "back-references and look-around are not allowed")
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            _lo, hi, sub = arg
            if hi > 1:
                if inside:
                    raise RuleError(where, "a repetition inside a repetition can run away")
                count += 1
            count += _repeats(sub, inside or hi > 1, where)
        elif name == "SUBPATTERN":
            count += _repeats(arg[-1], inside, where)
        elif name == "ATOMIC_GROUP":
            count += _repeats(arg, inside, where)
        elif name == "BRANCH":
            count += sum(_repeats(branch, inside, where) for branch in arg[1])
    return count


def compile_pattern(pattern: Any, where: str = "value") -> re.Pattern[str]:
    """A case-insensitive pattern within the bounds in the module doc, or RuleError."""
    if not isinstance(pattern, str) or not pattern:
        raise RuleError(where, "expected a non-empty regular expression")
    if len(pattern) > MAX_PATTERN:
        raise RuleError(where, f"regular expression longer than {MAX_PATTERN} characters")
    try:
        parsed = sre.parse(pattern, re.IGNORECASE)
        compiled = re.compile(pattern, re.IGNORECASE)
    except (re.error, OverflowError, RecursionError) as exc:
        raise RuleError(where, f"not a valid regular expression: {exc}") from None
    if _repeats(list(parsed), False, where) > MAX_REPEATS:
        raise RuleError(where, f"regular expression too complex: at most {MAX_REPEATS} repetitions")
    return compiled


def _condition(data: Any, where: str) -> Condition:
    if not isinstance(data, Mapping):
        raise RuleError(where, "expected an object with field, op and value")
    unknown = set(data) - {"field", "op", "value"}
    if unknown:
        raise RuleError(where, f"unknown key(s) {sorted(unknown)}")
    name, op, value = data.get("field"), data.get("op"), data.get("value")
    kind = _kind_of(str(name), f"{where}.field")
    if op not in OPERATORS[kind]:
        allowed = ", ".join(sorted(OPERATORS[kind]))
        raise RuleError(f"{where}.op", f"unknown operator {op!r} for {name}; expected {allowed}")
    if op in _NO_VALUE:
        return Condition(str(name), str(op))
    if op == "matches":
        return Condition(str(name), op, value, compile_pattern(value, f"{where}.value"))
    return Condition(str(name), str(op), _value(kind, str(op), value, f"{where}.value"))


def _value(kind: Kind, op: str, value: Any, where: str) -> Any:
    if op in _LIST_VALUE:
        if not isinstance(value, list) or not value or len(value) > 100:
            raise RuleError(where, "expected a list of 1 to 100 values")
        return tuple(_scalar(kind, v, where) for v in value)
    return _scalar(kind, value, where)


def _scalar(kind: Kind, value: Any, where: str) -> Any:
    if kind == Kind.BOOL:
        if not isinstance(value, bool):
            raise RuleError(where, f"expected true or false, got {value!r}")
        return value
    if kind == Kind.ID:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleError(where, f"expected an id (integer), got {value!r}")
        return value
    if not isinstance(value, str) or not value or len(value) > 1000:
        raise RuleError(where, "expected a text of 1 to 1000 characters")
    return value


def _action(data: Any, where: str) -> Action:
    if not isinstance(data, Mapping):
        raise RuleError(where, "expected an object with a type")
    kind = data.get("type")
    if kind not in ACTIONS:
        raise RuleError(f"{where}.type", f"unknown action {kind!r}; expected {', '.join(ACTIONS)}")
    spec = ACTIONS[str(kind)]
    params = {k: v for k, v in data.items() if k != "type"}
    unknown = set(params) - set(spec)
    if unknown:
        raise RuleError(where, f"unknown parameter(s) {sorted(unknown)} for {kind}")
    for name, typ in spec.items():
        value = params.get(name)
        if not isinstance(value, typ) or isinstance(value, bool):
            raise RuleError(f"{where}.{name}", f"expected {typ.__name__}, got {value!r}")
        if isinstance(value, str) and not 0 < len(value) <= 10_000:
            raise RuleError(f"{where}.{name}", "expected 1 to 10000 characters")
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            raise RuleError(f"{where}.{name}", f"expected a number from 1 to {MAX_ID}")
    if kind == "set_priority" and params["priority"] not in PRIORITIES:
        raise RuleError(f"{where}.priority", f"expected one of {', '.join(PRIORITIES)}")
    if kind == "snooze" and not 1 <= params["minutes"] <= 525_600:
        raise RuleError(f"{where}.minutes", "expected 1 to 525600 minutes (a year)")
    return Action(str(kind), params)


def _trigger(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    trigger = data.get("trigger")
    if trigger not in TRIGGERS:
        raise RuleError("trigger", f"unknown trigger {trigger!r}; expected {sorted(TRIGGERS)}")
    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        raise RuleError("params", "expected an object")
    if trigger == "waiting_longer":
        minutes = params.get("minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 43_200:
            raise RuleError("params.minutes", "expected 1 to 43200 minutes (30 days)")
        return str(trigger), {"minutes": minutes}
    if params:
        raise RuleError("params", f"the trigger {trigger} takes no parameters")
    return str(trigger), {}


def parse_rule(data: Mapping[str, Any], rule_id: int = 0) -> Rule:
    """Validate admin input (name, trigger, params, conditions, actions) into a Rule."""
    name = data.get("name")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 200:
        raise RuleError("name", "expected 1 to 200 characters")
    trigger, params = _trigger(data)
    conditions, actions = data.get("conditions") or [], data.get("actions") or []
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        raise RuleError("conditions", f"expected a list of at most {MAX_CONDITIONS}")
    if not isinstance(actions, list) or not 0 < len(actions) <= MAX_ACTIONS:
        raise RuleError("actions", f"expected a list of 1 to {MAX_ACTIONS} actions")
    return Rule(
        rule_id,
        name.strip(),
        trigger,
        tuple(_condition(c, f"conditions[{n}]") for n, c in enumerate(conditions)),
        tuple(_action(a, f"actions[{n}]") for n, a in enumerate(actions)),
        params,
    )


# Matching -----------------------------------------------------------------------------


def _lookup(snapshot: Mapping[str, Any], name: str) -> Any:
    value: Any = snapshot
    for part in name.split(".", 2 if name.startswith(ATTRIBUTE_PREFIX) else -1):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _text_of(value: Any) -> str:
    return "" if value is None else str(value)[:MAX_SUBJECT]


def condition_holds(c: Condition, snapshot: Mapping[str, Any]) -> bool:
    value = _lookup(snapshot, c.field)
    op = c.op
    if op == "present":
        return value not in (None, "", [])
    if op == "absent":
        return value in (None, "", [])
    if op in ("has", "has_not"):
        has = str(c.value).lower() in {str(x).lower() for x in (value or [])}
        return has if op == "has" else not has
    if op in ("contains", "not_contains"):
        found = str(c.value).lower() in _text_of(value).lower()
        return found if op == "contains" else not found
    if op == "matches":
        assert c.pattern is not None
        return value is not None and c.pattern.search(_text_of(value)) is not None
    if op in ("in", "not_in"):
        inside = _norm(value) in {_norm(v) for v in c.value}
        return inside if op == "in" else not inside
    equal = _norm(value) == _norm(c.value)
    return equal if op == "is" else not equal


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def fires(rule: Rule, event: str, snapshot: Mapping[str, Any]) -> bool:
    if rule.trigger != event:
        return False
    if event == "waiting_longer":
        waited = snapshot.get("waiting_seconds")
        if waited is None or waited < 60 * int(rule.params["minutes"]):
            return False
    return all(condition_holds(c, snapshot) for c in rule.conditions)


def evaluate(rules: Sequence[Rule], event: str, snapshot: Mapping[str, Any]) -> list[Rule]:
    """The rules that fire for ``event`` on this snapshot, in the given (rule id) order."""
    return [r for r in rules if fires(r, event, snapshot)]
