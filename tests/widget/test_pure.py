"""Pure widget cores: config validation, identity signatures, pre-chat form, availability."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from adapters.base import ConfigInvalid
from adapters.webchat.config import validate_config
from server.widget import identity, prechat, shapes
from server.widget.availability import availability
from server.widget.gate import origin_allowed
from tests.widget.helpers import jwt_token

NOW = 1_800_000_000
SECRET = "s" * 20


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"allowed_origins": "https://a.example"}, "allowed_origins: expected a list"),
        ({"allowed_origins": ["https://a.example/path"]}, "allowed_origins[0]"),
        ({"identity_verification": "maybe"}, "identity_verification: expected one of"),
        ({"identity_verification": "required"}, "hmac_secret: needed"),
        ({"hmac_secret": "short", "identity_verification": "optional"}, "hmac_secret: expected"),
        ({"appearance": {"color": "red"}}, "appearance.color"),
        ({"appearance": {"language": "de"}}, "appearance.language"),
        ({"pre_chat": {"fields": [{"name": "Bad Name"}]}}, "pre_chat.fields[0].name"),
        ({"pre_chat": {"fields": [{"name": "plan", "type": "select"}]}}, "options"),
        ({"attachments": {"max_bytes": 10**9}}, "attachments.max_bytes"),
        ({"colour": "#fff"}, "unknown field(s): colour"),
    ],
)
def test_config_errors_name_the_field(config: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigInvalid) as info:
        validate_config(config)
    assert error in info.value.reason


def test_config_normalises_origins_and_defaults() -> None:
    clean = validate_config({"allowed_origins": ["HTTPS://Shop.Example/"]})
    assert clean["allowed_origins"] == ["https://shop.example"]
    assert clean["identity_verification"] == "off"
    assert "image/png" in clean["attachments"]["types"]
    assert clean["appearance"]["language"] == ""  # the visitor's browser decides
    assert validate_config({"appearance": {"language": "pl"}})["appearance"]["language"] == "pl"


@pytest.mark.parametrize(
    ("allowed", "origin", "ok"),
    [
        ([], "https://any.example", True),
        (["https://a.example"], "https://a.example", True),
        (["https://a.example"], "https://a.example.evil", False),
        (["https://a.example"], None, True),
        (["*"], "http://x.example", True),
    ],
)
def test_origin_allowed(allowed: list[str], origin: str | None, ok: bool) -> None:
    assert origin_allowed(allowed, origin) is ok


def _claim(user: str = "42", ts: int = NOW, secret: str = SECRET) -> identity.IdentityClaim:
    return identity.IdentityClaim(user, ts, identity.sign(secret, user, ts))


@pytest.mark.parametrize(
    ("mode", "claim", "result"),
    [
        ("off", None, identity.Verdict.ANONYMOUS),
        ("optional", None, identity.Verdict.ANONYMOUS),
        ("optional", _claim(), identity.Verdict.VERIFIED),
        ("required", _claim(), identity.Verdict.VERIFIED),
        ("required", None, "needs a verified user"),
        ("required", _claim(secret="x" * 20), "signature does not match"),
        ("required", _claim(ts=NOW - 601), "timestamp"),
        ("required", identity.IdentityClaim("43", NOW, _claim().signature), "signature"),
        ("off", _claim(), "not enabled"),
    ],
)
def test_identity_verification(
    mode: str, claim: identity.IdentityClaim | None, result: Any
) -> None:
    if isinstance(result, identity.Verdict):
        assert identity.verify(mode, SECRET, claim, NOW) is result
        return
    with pytest.raises(identity.IdentityRefused, match=result):
        identity.verify(mode, SECRET, claim, NOW)


FORM = validate_config(
    {
        "pre_chat": {
            "fields": [
                {"name": "name", "required": True, "max_length": 10},
                {"name": "email", "type": "email"},
                {"name": "phone", "type": "tel"},
                {"name": "plan", "type": "select", "options": ["free", "pro"]},
                {"name": "terms", "type": "checkbox", "required": True},
            ]
        }
    }
)["pre_chat"]


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"name": "Lee", "terms": True}, set()),
        ({"terms": True}, {"name"}),
        ({"name": "x" * 11, "terms": True}, {"name"}),
        (
            {"name": "Lee", "email": "nope", "phone": "abc", "plan": "gold", "terms": True},
            {"email", "phone", "plan"},
        ),
        ({"name": "Lee", "terms": False}, {"terms"}),
        ({"name": "Lee", "terms": True, "admin": True}, {"admin"}),
        ({"name": 5, "terms": True}, {"name"}),
    ],
)
def test_prechat_validation(values: dict[str, Any], errors: set[str]) -> None:
    if not errors:
        assert prechat.validate(FORM, values) == {"name": "Lee", "terms": True}
        return
    with pytest.raises(prechat.FormInvalid) as info:
        prechat.validate(FORM, values)
    assert {e["field"] for e in info.value.errors} == errors


def test_availability_from_business_hours_and_presence() -> None:
    hours = {"timezone": "UTC", "weekly": {"mon": [["09:00", "17:00"]]}}
    monday_noon = datetime(2026, 11, 23, 12, tzinfo=UTC)
    sunday = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert availability(hours, None, "fast", monday_noon)["online"] is True
    assert availability(hours, False, "fast", monday_noon)["online"] is False
    closed = availability(hours, True, "fast", sunday)
    assert closed["online"] is False and closed["next_open_at"] == "2026-11-23T09:00:00Z"
    assert availability(None, True, "fast", sunday)["reply_time"] == "fast"


def test_public_shape_drops_notes_and_internal_fields() -> None:
    note = {"kind": "note", "text": "internal"}
    assert shapes.from_event(note, {}) is None
    reply = {
        "id": 5,
        "conversation_id": 1,
        "kind": "message",
        "direction": "out",
        "sender_type": "agent",
        "sender_id": 9,
        "text": "hi",
        "attachments": [
            {
                "id": 3,
                "filename": "a.png",
                "content_type": "image/png",
                "size": 1,
                "url": "/api/attachments/3",
            }
        ],
        "status": "sent",
        "client_id": None,
        "sent_at": "2026-01-01T00:00:00Z",
        "content_attributes": {"sender_name": "Ana"},
        "error": "smtp secret",
    }
    shape = shapes.from_event(reply, {9: "https://cdn.example/a.png"})
    assert shape is not None
    assert shape["author"] == {"name": "Ana", "avatar_url": "https://cdn.example/a.png"}
    assert (
        "error" not in shape and "sender_id" not in shape and "url" not in shape["attachments"][0]
    )
    row = SimpleNamespace(**{**reply, "sent_at": None})
    assert shapes.from_row(row, {})["author"]["name"] == "Ana"


@pytest.mark.parametrize(
    ("token", "result"),
    [
        (jwt_token({"sub": "42", "exp": NOW + 300}, SECRET), "42"),
        (jwt_token({"sub": "42", "exp": NOW + 300}, "another-secret-000000"), "does not match"),
        (jwt_token({"sub": "42", "exp": NOW + 300}, SECRET, alg="none"), "HS256"),
        (jwt_token({"sub": "42", "exp": NOW - 3600}, SECRET), "expired"),
        (jwt_token({"sub": "42", "exp": NOW + 5 * 86_400}, SECRET), "ahead"),
        (jwt_token({"sub": "42"}, SECRET), "numeric exp"),
        (jwt_token({"exp": NOW + 300}, SECRET), "sub"),
        (jwt_token({"sub": "42", "exp": NOW + 300, "nbf": NOW + 7200}, SECRET), "not valid yet"),
        ("not-a-jwt", "header.payload.signature"),
        ("e30.!!!.x", "payload"),
    ],
)
def test_jwt_identity(token: str, result: str) -> None:
    if result == "42":
        assert identity.verify_jwt("required", SECRET, token, NOW) == "42"
        return
    with pytest.raises(identity.IdentityRefused, match=result):
        identity.verify_jwt("required", SECRET, token, NOW)


def test_jwt_refused_when_verification_is_off() -> None:
    with pytest.raises(identity.IdentityRefused, match="not enabled"):
        identity.verify_jwt("off", SECRET, jwt_token({"sub": "1", "exp": NOW + 60}, SECRET), NOW)
