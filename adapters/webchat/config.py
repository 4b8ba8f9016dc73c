"""The webchat inbox config: validated and normalised here, pure (no I/O).

Shape (every key optional; defaults below)::

    allowed_origins: ["https://shop.example"]   # empty: any origin may embed the widget
    identity_verification: "off" | "optional" | "required"
    hmac_secret: "<secret>"                     # write-only, needed unless verification is off
    pre_chat: {"enabled": bool, "fields": [{"name", "label", "type", "required",
                                            "options", "max_length"}]}
    appearance: {"color": "#1f6feb", "title": "...", "greeting": "...", "reply_time": "...",
                 "offline_message": "...", "position": "right" | "left",
                 "language": "" | "en" | "pl" | "el"}   # "": the visitor's browser decides
    email_continuity: {"enabled": bool, "after_minutes": 5, "email_inbox_id": <email inbox>}
    attachments: {"max_bytes": 10485760, "types": ["image/png", ...]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters.base import ConfigInvalid

VERIFICATION_MODES = ("off", "optional", "required")
FIELD_TYPES = ("text", "email", "tel", "textarea", "select", "checkbox")
DEFAULT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
)
MAX_ATTACHMENT_BYTES = 10 * 1_048_576  # 10 MiB: photos from phones fit, videos do not
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_KNOWN = {
    "allowed_origins",
    "identity_verification",
    "hmac_secret",
    "pre_chat",
    "appearance",
    "email_continuity",
    "attachments",
}


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return the normalised config, or raise ConfigInvalid naming the bad field."""
    unknown = set(config) - _KNOWN
    if unknown:
        raise ConfigInvalid(f"unknown field(s): {', '.join(sorted(unknown))}")
    mode = str(config.get("identity_verification") or "off")
    if mode not in VERIFICATION_MODES:
        raise ConfigInvalid(
            f"identity_verification: expected one of {', '.join(VERIFICATION_MODES)}, got {mode!r}"
        )
    secret = config.get("hmac_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < 16):
        raise ConfigInvalid("hmac_secret: expected a string of at least 16 characters")
    if mode != "off" and not secret:
        raise ConfigInvalid(f"hmac_secret: needed when identity_verification is {mode!r}")
    out: dict[str, Any] = {
        "allowed_origins": _origins(config.get("allowed_origins", [])),
        "identity_verification": mode,
        "pre_chat": _pre_chat(config.get("pre_chat") or {}),
        "appearance": _appearance(config.get("appearance") or {}),
        "email_continuity": _continuity(config.get("email_continuity") or {}),
        "attachments": _attachments(config.get("attachments") or {}),
    }
    if secret:
        out["hmac_secret"] = secret
    return out


def _origins(raw: Any) -> list[str]:
    if not isinstance(raw, list):
        raise ConfigInvalid("allowed_origins: expected a list of origins")
    origins = []
    for i, item in enumerate(raw):
        origin = str(item).rstrip("/").lower()
        if origin != "*" and not _ORIGIN.match(origin):
            raise ConfigInvalid(
                f"allowed_origins[{i}]: expected scheme://host[:port] or *, got {item!r}"
            )
        origins.append(origin)
    return origins


def _pre_chat(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigInvalid("pre_chat: expected an object")
    fields = raw.get("fields", [])
    if not isinstance(fields, list) or len(fields) > 20:
        raise ConfigInvalid("pre_chat.fields: expected a list of at most 20 fields")
    clean = [_field(i, f) for i, f in enumerate(fields)]
    names = [f["name"] for f in clean]
    if len(set(names)) != len(names):
        raise ConfigInvalid("pre_chat.fields: field names must be unique")
    return {"enabled": bool(raw.get("enabled", bool(clean))), "fields": clean}


def _field(i: int, raw: Any) -> dict[str, Any]:
    where = f"pre_chat.fields[{i}]"
    if not isinstance(raw, Mapping):
        raise ConfigInvalid(f"{where}: expected an object")
    name = str(raw.get("name", ""))
    if not _FIELD_NAME.match(name):
        raise ConfigInvalid(f"{where}.name: expected lower_snake_case, got {name!r}")
    kind = str(raw.get("type", "email" if name == "email" else "text"))
    if kind not in FIELD_TYPES:
        raise ConfigInvalid(f"{where}.type: expected one of {', '.join(FIELD_TYPES)}")
    options = [str(o) for o in raw.get("options", [])]
    if kind == "select" and not options:
        raise ConfigInvalid(f"{where}.options: a select field needs options")
    max_length = int(raw.get("max_length", 500))
    if not 1 <= max_length <= 5000:
        raise ConfigInvalid(f"{where}.max_length: expected 1..5000")
    return {
        "name": name,
        "label": str(raw.get("label") or name.replace("_", " ").title()),
        "type": kind,
        "required": bool(raw.get("required", False)),
        "options": options,
        "max_length": max_length,
    }


def _appearance(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigInvalid("appearance: expected an object")
    color = str(raw.get("color", "#1f6feb"))
    if not _COLOR.match(color):
        raise ConfigInvalid(f"appearance.color: expected #rrggbb, got {color!r}")
    return {
        "color": color,
        "title": _text("appearance.title", raw.get("title", "Chat with us"), 80),
        "greeting": _text("appearance.greeting", raw.get("greeting", "Hi! How can we help?"), 500),
        "reply_time": _text(
            "appearance.reply_time", raw.get("reply_time", "We usually reply in a few minutes"), 120
        ),
        # shown in the widget header while nobody is available (empty: a text from the server)
        "offline_message": _text(
            "appearance.offline_message", raw.get("offline_message") or "", 200
        ),
        "position": _position(raw.get("position") or "right"),
        "language": _language(raw.get("language") or ""),
    }


#: The widget's own languages (web/widget/widget.js, docs/languages.md); "" follows the browser.
WIDGET_LANGUAGES = ("", "en", "pl", "el")


def _language(value: Any) -> str:
    if value not in WIDGET_LANGUAGES:
        raise ConfigInvalid(f"appearance.language: expected en, pl, el or empty, got {value!r}")
    return str(value)


def _position(value: Any) -> str:
    if value not in ("right", "left"):
        raise ConfigInvalid(f"appearance.position: expected right or left, got {value!r}")
    return str(value)


def _continuity(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigInvalid("email_continuity: expected an object")
    minutes = raw.get("after_minutes", 5)
    if not isinstance(minutes, int) or not 1 <= minutes <= 1440:
        raise ConfigInvalid("email_continuity.after_minutes: expected an integer 1..1440")
    inbox = raw.get("email_inbox_id")
    if inbox is not None and (not isinstance(inbox, int) or inbox < 1):
        raise ConfigInvalid("email_continuity.email_inbox_id: expected an email inbox id")
    return {
        "enabled": bool(raw.get("enabled", True)),
        "after_minutes": minutes,
        "email_inbox_id": inbox,
    }


def _attachments(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ConfigInvalid("attachments: expected an object")
    size = raw.get("max_bytes", MAX_ATTACHMENT_BYTES)
    if not isinstance(size, int) or not 0 <= size <= MAX_ATTACHMENT_BYTES:
        raise ConfigInvalid(f"attachments.max_bytes: expected 0..{MAX_ATTACHMENT_BYTES}")
    types = raw.get("types", list(DEFAULT_TYPES))
    if not isinstance(types, list) or not all(isinstance(x, str) and "/" in x for x in types):
        raise ConfigInvalid("attachments.types: expected a list of MIME types")
    return {"max_bytes": size, "types": [x.lower() for x in types]}


def _text(where: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise ConfigInvalid(f"{where}: expected text of at most {limit} characters")
    return value
