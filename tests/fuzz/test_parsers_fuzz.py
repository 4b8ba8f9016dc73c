"""Hypothesis for the pure parsers: whatever comes in, nothing escapes but the documented
error type, and what comes out can be stored (no U+0000, no lone surrogate).

``SWITCHBOARD_FUZZ_EXAMPLES`` scales the examples (README.md, "Fuzzing").
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import storable
from adapters.email.parse import MailContext, parse_or_quarantine
from adapters.meta import marker
from adapters.meta.events import Incoming, Receipt
from adapters.meta.parse import PayloadInvalid, parse
from adapters.telegram.parse import TgMessage, UpdateInvalid, parse_update
from server.api.routing import decode_json, unstorable, validate_body
from server.events.redis_bus import parse_stream_id
from server.exceptions import InvalidInput
from server.queries import recent_cursor, waiting_cursor
from server.realtime import frames
from server.widget import identity, prechat
from server.widget.api import AttributesBody, SessionBody

EXAMPLES = int(os.environ.get("SWITCHBOARD_FUZZ_EXAMPLES", "1")) * 100
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Any JSON value, with the scalars providers really send (and the ones they should not).
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=30,
)


def _fields(
    *names: str, values: st.SearchStrategy[Any] = JSON
) -> st.SearchStrategy[dict[str, Any]]:
    """Objects that use the real field names (so parsing goes deep), with any values."""
    keys = st.sampled_from(names) | st.text(max_size=8)
    return st.dictionaries(keys, values, max_size=len(names) + 1)


def _storable(value: Any) -> bool:
    return value is None or (isinstance(value, str) and storable.text(value) == value)


# -- Telegram -------------------------------------------------------------------------------

TG_USER = _fields("id", "is_bot", "first_name", "last_name", "username")
TG_FILE = _fields("file_id", "file_name", "mime_type", "file_size", "width", "emoji", "is_video")
TG_MESSAGE = st.fixed_dictionaries(
    {},
    optional={
        "message_id": st.integers() | JSON,
        "from": TG_USER | JSON,
        "chat": TG_USER | JSON,
        "date": st.integers() | JSON,
        "edit_date": st.integers() | JSON,
        "text": st.text() | JSON,
        "caption": st.text() | JSON,
        "photo": st.lists(TG_FILE | JSON, max_size=3) | JSON,
        "document": TG_FILE | JSON,
        "sticker": TG_FILE | JSON,
        "reply_to_message": _fields("message_id") | JSON,
    },
)
TG_UPDATE = st.fixed_dictionaries(
    {},
    optional={
        "update_id": st.integers() | JSON,
        "message": TG_MESSAGE | JSON,
        "edited_message": TG_MESSAGE | JSON,
    },
)


@FUZZ
@given(update=TG_UPDATE | JSON)
def test_telegram_update_parses_or_is_invalid(update: Any) -> None:
    try:
        msg = parse_update(update)
    except UpdateInvalid:
        return
    if msg is None:
        return
    assert isinstance(msg, TgMessage)
    assert all(_storable(v) for v in (msg.user_id, msg.name, msg.username, msg.text))
    assert msg.sent_at is None or datetime(1970, 1, 1, tzinfo=UTC) <= msg.sent_at
    assert all(isinstance(f.file_id, str) and _storable(f.filename) for f in msg.files)


# -- Meta -----------------------------------------------------------------------------------

META_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "sender": _fields("id") | JSON,
        "recipient": _fields("id") | JSON,
        "timestamp": st.integers() | JSON,
        "message": _fields(
            "mid", "text", "is_echo", "attachments", "reply_to", "app_id", "metadata"
        )
        | JSON,
        "delivery": _fields("mids", "watermark") | JSON,
        "read": _fields("mid", "watermark") | JSON,
    },
)
WA_VALUE = st.fixed_dictionaries(
    {},
    optional={
        "metadata": _fields("phone_number_id") | JSON,
        "contacts": st.lists(_fields("wa_id", "profile") | JSON, max_size=2) | JSON,
        "messages": st.lists(
            _fields("id", "from", "type", "timestamp", "text", "image", "context", "location")
            | JSON,
            max_size=3,
        )
        | JSON,
        "statuses": st.lists(
            _fields("id", "status", "recipient_id", "timestamp", "errors") | JSON, max_size=2
        )
        | JSON,
    },
)
META_ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text() | st.integers() | JSON,
        "messaging": st.lists(META_ITEM | JSON, max_size=3) | JSON,
        "standby": st.lists(META_ITEM, max_size=2) | JSON,
        "changes": st.lists(st.fixed_dictionaries({"value": WA_VALUE | JSON}) | JSON, max_size=2)
        | JSON,
    },
)
META_PAYLOAD = st.fixed_dictionaries(
    {
        "object": st.sampled_from(["page", "instagram", "whatsapp_business_account"]) | JSON,
        "entry": st.lists(META_ENTRY | JSON, max_size=3) | JSON,
    }
)


@FUZZ
@given(payload=META_PAYLOAD | JSON)
def test_meta_payload_parses_or_is_invalid(payload: Any) -> None:
    try:
        events = parse(payload)
    except PayloadInvalid:
        return
    for event in events:
        assert isinstance(event, Incoming | Receipt)
        assert all(_storable(v) for v in (event.account_id, event.user_id))
        if isinstance(event, Incoming):
            assert all(_storable(v) for v in (event.mid, event.text, event.name, event.metadata))
        else:
            assert all(_storable(m) for m in event.mids) and _storable(event.status)


@FUZZ
@given(raw=st.binary(max_size=300) | st.builds(lambda v: json.dumps(v).encode(), JSON))
def test_provider_bodies_decode_or_are_refused(raw: bytes) -> None:
    with contextlib.suppress(storable.PayloadRefused):
        storable.loads(raw)


def test_provider_bodies_nested_beyond_the_limit_are_refused() -> None:
    assert storable.loads(b"[" * storable.MAX_DEPTH + b"]" * storable.MAX_DEPTH)
    for depth in (storable.MAX_DEPTH + 1, 10_000, 200_000):
        with pytest.raises(storable.PayloadRefused):
            storable.loads(b"[" * depth + b"]" * depth)


# -- email ----------------------------------------------------------------------------------

HEADERS = st.sampled_from(
    [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Auto-Submitted",
    ]
)
MAIL = st.builds(
    lambda headers, body: b"".join(headers) + b"\r\n" + body,
    st.lists(
        st.builds(lambda k, v: k.encode() + b": " + v + b"\r\n", HEADERS, st.binary(max_size=60)),
        max_size=8,
    ),
    st.binary(max_size=400),
)


@FUZZ
@given(raw=MAIL | st.binary(max_size=600))
def test_mime_parsing_never_raises(raw: bytes) -> None:
    mc = MailContext("support@example.test", "example.test")
    message = parse_or_quarantine(raw, mc)  # documented: never raises
    assert isinstance(message.external_id, str) and message.external_id


# -- cursors --------------------------------------------------------------------------------

CURSOR_VALUES = st.lists(
    st.none()
    | st.integers()
    | st.booleans()
    | st.text(max_size=40)
    | st.datetimes().map(str)
    | st.datetimes(timezones=st.timezones()).map(datetime.isoformat)
    | JSON,
    max_size=4,
)
CURSORS = st.builds(
    lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode(), CURSOR_VALUES | JSON
) | st.text(max_size=60)


@FUZZ
@given(cursor=CURSORS)
def test_cursor_decoding_gives_typed_values_or_invalid_input(cursor: str) -> None:
    for decode in (recent_cursor, waiting_cursor):
        try:
            values = decode(cursor)
        except InvalidInput:
            continue
        times = [v for v in values if isinstance(v, datetime)]
        assert all(t.tzinfo is not None for t in times)
        assert isinstance(values[-1], int) and 0 <= values[-1] < 2**63


@FUZZ
@given(
    value=st.text(max_size=30)
    | st.builds(lambda a, b: f"{a}-{b}", st.text("0123456789²٣", max_size=5), st.text(max_size=5))
)
def test_stream_ids_and_send_markers_parse_or_are_none(value: str) -> None:
    parsed = parse_stream_id(value)
    assert parsed is None or all(isinstance(n, int) for n in parsed)
    ours = marker.read(f"{marker.PREFIX}{value}")
    assert ours is None or all(isinstance(n, int) for n in ours)


# -- sockets and widget identity ----------------------------------------------------------

DEEP_TEXT = st.integers(1, 5000).map(lambda n: "[" * n + "]" * n)


FRAME = st.fixed_dictionaries(
    {"type": st.sampled_from(["hello", "typing", "viewing", "presence", "ping"]) | JSON},
    optional={
        "conversation_id": st.integers() | st.integers(2**62, 2**70) | JSON,
        "last_event_id": st.text(max_size=30) | JSON,
        "active": JSON,
        "status": JSON,
    },
)


@FUZZ
@given(text=st.text() | st.builds(json.dumps, JSON | FRAME) | DEEP_TEXT)
def test_socket_frames_parse_or_are_frame_errors(text: str) -> None:
    try:
        frame = frames.parse(text)
    except frames.FrameError:
        return
    conversation_id = getattr(frame, "conversation_id", None)
    assert conversation_id is None or 0 < conversation_id < 2**63  # a BIGINT id


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@FUZZ
@given(
    parts=st.lists(
        st.text(max_size=20)
        | st.builds(_b64, DEEP_TEXT)
        | st.builds(_b64, st.builds(json.dumps, JSON)),
        min_size=1,
        max_size=4,
    )
)
def test_widget_jwts_verify_or_are_refused(parts: list[str]) -> None:
    with contextlib.suppress(identity.IdentityRefused):
        identity.verify_jwt("optional", "widget-secret", ".".join(parts), 1_800_000_000)


# -- request bodies: widget attributes and the pre-chat form --------------------------------

FORM = {
    "enabled": True,
    "fields": [
        {"name": "name", "type": "text", "required": True, "max_length": 100},
        {"name": "email", "type": "email", "required": True, "max_length": 200},
        {"name": "phone", "type": "tel", "required": False, "max_length": 30},
        {"name": "consent", "type": "checkbox", "required": False, "max_length": 0},
    ],
}


@FUZZ
@given(raw=st.builds(lambda v: json.dumps(v).encode(), JSON) | st.binary(max_size=200))
def test_json_bodies_decode_or_are_invalid_input(raw: bytes) -> None:
    try:
        data = decode_json(raw)
    except InvalidInput:
        return
    assert unstorable(data) is None


@FUZZ
@given(data=st.fixed_dictionaries({"attributes": _fields("plan", "cart", "vip") | JSON}) | JSON)
def test_widget_attributes_validate_or_are_invalid_input(data: Any) -> None:
    raw = json.dumps(data).encode()
    try:
        body = validate_body(AttributesBody, decode_json(raw))
    except InvalidInput:
        return
    assert all(unstorable(k) is None for k in body.attributes)


@FUZZ
@given(values=_fields("name", "email", "phone", "consent") | JSON)
def test_prechat_form_validates_or_is_form_invalid(values: Any) -> None:
    raw = json.dumps({"form": values}).encode()
    try:
        body = validate_body(SessionBody, decode_json(raw))
        clean = prechat.validate(FORM, body.form)
    except (InvalidInput, prechat.FormInvalid):
        return
    assert set(clean) <= {"name", "email", "phone", "consent"}
