"""Rule validation and matching (server/domain/rules.py): plain calls, table-driven."""

from __future__ import annotations

import re
from typing import Any

import pytest

from server.domain.rules import RuleError, compile_pattern, evaluate, parse_rule

SNAPSHOT: dict[str, Any] = {
    "inbox_id": 7,
    "channel": "email",
    "status": "open",
    "priority": "high",
    "team_id": None,
    "assignee_id": 3,
    "labels": ["vip", "billing"],
    "message": {"text": "Hello, my ORDER #4521 never arrived"},
    "contact": {
        "name": "Dana",
        "email": "dana@example.com",
        "phone": None,
        "attributes": {"plan": "enterprise", "language": "de"},
    },
    "language": "de",
    "within_business_hours": False,
    "waiting_seconds": 1800.0,
}


def rule(*conditions: dict[str, Any], trigger: str = "customer_message", **kw: Any) -> Any:
    data = {
        "name": "R",
        "trigger": trigger,
        "conditions": list(conditions),
        "actions": [{"type": "add_label", "label": "x"}],
        **kw,
    }
    return parse_rule(data, rule_id=1)


def cond(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


HOLDS = [
    ("inbox is", cond("inbox_id", "is", 7), True),
    ("inbox is not", cond("inbox_id", "is_not", 7), False),
    ("inbox in", cond("inbox_id", "in", [1, 7]), True),
    ("channel is (case-insensitive)", cond("channel", "is", "EMAIL"), True),
    ("channel not in", cond("channel", "not_in", ["telegram", "api"]), True),
    ("text contains", cond("message.text", "contains", "never arrived"), True),
    ("text contains is case-insensitive", cond("message.text", "contains", "order"), True),
    ("text not contains", cond("message.text", "not_contains", "refund"), True),
    ("text matches", cond("message.text", "matches", r"order\s+#?\d+"), True),
    ("text does not match", cond("message.text", "matches", r"^refund"), False),
    ("contact email contains", cond("contact.email", "contains", "@example.com"), True),
    ("contact phone absent", cond("contact.phone", "absent"), True),
    ("custom attribute is", cond("contact.attributes.plan", "is", "enterprise"), True),
    ("custom attribute missing", cond("contact.attributes.tier", "present"), False),
    ("label has", cond("labels", "has", "VIP"), True),
    ("label has not", cond("labels", "has_not", "spam"), True),
    ("priority is", cond("priority", "is", "high"), True),
    ("priority in", cond("priority", "in", ["urgent"]), False),
    ("team absent", cond("team_id", "absent"), True),
    ("team is", cond("team_id", "is", 2), False),
    ("assignee present", cond("assignee_id", "present"), True),
    ("outside business hours", cond("within_business_hours", "is", False), True),
    ("within business hours", cond("within_business_hours", "is", True), False),
    ("language is", cond("language", "is", "de"), True),
    ("language in", cond("language", "in", ["fr", "es"]), False),
    ("status is", cond("status", "is", "open"), True),
]


@pytest.mark.parametrize(("name", "condition", "fires"), HOLDS, ids=[h[0] for h in HOLDS])
def test_condition(name: str, condition: dict[str, Any], fires: bool) -> None:
    assert bool(evaluate([rule(condition)], "customer_message", SNAPSHOT)) is fires


def test_all_conditions_must_hold() -> None:
    both = rule(cond("priority", "is", "high"), cond("labels", "has", "vip"))
    one = rule(cond("priority", "is", "high"), cond("labels", "has", "spam"))
    assert evaluate([both, one], "customer_message", SNAPSHOT) == [both]


def test_a_rule_fires_only_for_its_trigger() -> None:
    r = rule(trigger="conversation_created")
    assert evaluate([r], "conversation_created", SNAPSHOT) == [r]
    assert evaluate([r], "customer_message", SNAPSHOT) == []


@pytest.mark.parametrize(("minutes", "fires"), [(29, True), (30, True), (31, False)])
def test_waiting_longer_compares_with_the_wait(minutes: int, fires: bool) -> None:
    r = rule(trigger="waiting_longer", params={"minutes": minutes})
    assert bool(evaluate([r], "waiting_longer", SNAPSHOT)) is fires


def test_only_the_first_500_characters_are_searched() -> None:
    text = "x" * 500 + "needle"
    snap = {**SNAPSHOT, "message": {"text": text}}
    assert (
        evaluate([rule(cond("message.text", "contains", "needle"))], "customer_message", snap) == []
    )


def invalid(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "R",
        "trigger": "customer_message",
        "conditions": [],
        "actions": [{"type": "add_label", "label": "x"}],
    }
    return {**base, **changes}


REFUSED = [
    ("unknown trigger", invalid(trigger="on_tuesday"), "trigger"),
    ("unknown field", invalid(conditions=[cond("mood", "is", "x")]), "conditions[0].field"),
    (
        "unknown operator",
        invalid(conditions=[cond("priority", "greater", "x")]),
        "conditions[0].op",
    ),
    (
        "operator for another kind",
        invalid(conditions=[cond("labels", "is", "x")]),
        "conditions[0].op",
    ),
    ("id given as text", invalid(conditions=[cond("inbox_id", "is", "7")]), "conditions[0].value"),
    ("empty list for in", invalid(conditions=[cond("priority", "in", [])]), "conditions[0].value"),
    ("unknown action", invalid(actions=[{"type": "launch"}]), "actions[0].type"),
    ("missing parameter", invalid(actions=[{"type": "add_label"}]), "actions[0].label"),
    (
        "unknown parameter",
        invalid(actions=[{"type": "resolve", "force": True}]),
        "actions[0]",
    ),
    (
        "bad priority",
        invalid(actions=[{"type": "set_priority", "priority": "asap"}]),
        "actions[0].priority",
    ),
    ("no actions", invalid(actions=[]), "actions"),
    ("waiting without minutes", invalid(trigger="waiting_longer"), "params.minutes"),
    ("params on a plain trigger", invalid(params={"minutes": 3}), "params"),
    ("empty name", invalid(name=" "), "name"),
]


@pytest.mark.parametrize(("name", "data", "field"), REFUSED, ids=[r[0] for r in REFUSED])
def test_bad_rules_are_refused_naming_the_field(
    name: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(data)
    assert caught.value.field == field


PATTERNS = [
    ("nested repetition", r"(a+)+b", "inside a repetition"),
    ("nested star in group", r"(?:x*y)*z", "inside a repetition"),
    ("too many repetitions", r"a*a*a*b", "too complex"),
    ("back-reference", r"(a)\1", "back-references"),
    ("look-ahead", r"a(?=b)", "look-around"),
    ("too long", "a" * 101, "longer than"),
    ("invalid", r"(unclosed", "not a valid"),
]


@pytest.mark.parametrize(("name", "pattern", "message"), PATTERNS, ids=[p[0] for p in PATTERNS])
def test_runaway_patterns_are_refused(name: str, pattern: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_pattern(pattern)
    assert message in caught.value.message


@pytest.mark.parametrize("pattern", [r"order\s+#?\d+", r"^(refund|return)", r"\bvip\b", "a{2,4}b"])
def test_ordinary_patterns_are_accepted(pattern: str) -> None:
    assert isinstance(compile_pattern(pattern), re.Pattern)
