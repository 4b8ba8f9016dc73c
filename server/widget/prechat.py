"""Pre-chat form validation (pure): the inbox config's fields against what a visitor sent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")
TEL = re.compile(r"^\+?[0-9 ().-]{5,30}$")


class FormInvalid(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def validate(form: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Return clean values of the configured fields; unknown keys are an error."""
    fields = {f["name"]: f for f in form.get("fields", [])}
    errors = [
        {"field": k, "message": "not a field of this form"} for k in values if k not in fields
    ]
    clean: dict[str, Any] = {}
    for name, field in fields.items():
        value, error = _check(field, values.get(name))
        if error:
            errors.append({"field": name, "message": error})
        elif value not in (None, ""):
            clean[name] = value
    if errors:
        raise FormInvalid(errors)
    return clean


def _check(field: Mapping[str, Any], raw: Any) -> tuple[Any, str | None]:
    kind = field["type"]
    if kind == "checkbox":
        if raw is not None and not isinstance(raw, bool):
            return None, "expected true or false"
        if field["required"] and raw is not True:
            return None, "must be checked"
        return bool(raw), None
    value = "" if raw is None else raw
    if not isinstance(value, str):
        return None, "expected text"
    value = value.strip()
    if not value:
        return None, "required" if field["required"] else None
    if len(value) > field["max_length"]:
        return None, f"longer than {field['max_length']} characters"
    return value, _format_error(field, value)


def _format_error(field: Mapping[str, Any], value: str) -> str | None:
    kind = field["type"]
    if kind == "email" and not EMAIL.match(value):
        return "not an email address"
    if kind == "tel" and not TEL.match(value):
        return "not a phone number"
    if kind == "select" and value not in field["options"]:
        return f"expected one of {', '.join(field['options'])}"
    return None
