"""Pure cores of the social adapters: plain calls, table-driven, no event loop."""

from __future__ import annotations

import pytest

from adapters.meta import compose as meta_compose
from adapters.meta import marker
from adapters.meta.errors import classify, status_error
from adapters.meta.events import Incoming, Receipt
from adapters.meta.parse import PayloadInvalid, parse
from adapters.meta.signature import handshake, sign, signature_ok
from adapters.telegram import compose as tg_compose
from adapters.telegram.parse import UpdateInvalid, bot_id, parse_update
from tests.social.helpers import APP_SECRET, PAGE_ID, meta_signature, payload


def test_signature_matches_meta_and_rejects_the_rest() -> None:
    body = b'{"object":"page","entry":[]}'
    assert sign(APP_SECRET, body) == meta_signature(body)
    assert signature_ok(APP_SECRET, body, meta_signature(body))
    for header in (
        None,
        "",
        meta_signature(body + b" "),
        meta_signature(body, "x"),
        meta_signature(body).replace("sha256=", "sha1="),
    ):
        assert not signature_ok(APP_SECRET, body, header)
    assert not signature_ok("", body, sign("", body))  # no secret configured: nothing passes


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "v", "hub.challenge": "42"}, "42"),
        ({"hub.mode": "subscribe", "hub.verify_token": "w", "hub.challenge": "42"}, None),
        ({"hub.mode": "unsubscribe", "hub.verify_token": "v", "hub.challenge": "42"}, None),
        ({}, None),
    ],
)
def test_handshake(query: dict[str, str], expected: str | None) -> None:
    assert handshake(query, "v") == expected


def test_parse_messenger_batch_reads_every_entry_and_item() -> None:
    events = parse(
        payload(
            "messenger_batch",
            PSID="1",
            PSID2="2",
            OTHER_PAGE_ID="9",
            IMAGE_URL="https://scontent.xx.fbcdn.net/v/img.png",
        )
    )
    assert [(e.account_id, e.mid) for e in events if isinstance(e, Incoming)] == [
        (PAGE_ID, "m_batch_1"),
        (PAGE_ID, "m_batch_2"),
        (PAGE_ID, "m_batch_3"),
        (PAGE_ID, "m_batch_4"),
        ("9", "m_batch_foreign"),
    ]


def test_parse_echo_keeps_the_customer_as_user_and_our_marker() -> None:
    (echo,) = parse(
        payload(
            "messenger_echo",
            PSID="55",
            MID="m_e",
            TEXT="t",
            APP_ID="7",
            METADATA=marker.make(12, 1),
        )
    )
    assert isinstance(echo, Incoming) and echo.is_echo and echo.user_id == "55"
    assert marker.read(echo.metadata) == (12, 1) and echo.app_id == "7"


def test_parse_receipts_and_whatsapp_statuses() -> None:
    read, delivery = parse(
        payload("messenger_receipts", PSID="1", MID="m_1", WATERMARK=1700000000000)
    )
    assert isinstance(read, Receipt) and read.status == "read" and read.mids == ()
    assert read.watermark is not None and read.watermark.year == 2023
    assert isinstance(delivery, Receipt) and delivery.mids == ("m_1",)
    (failed,) = parse(payload("whatsapp_failed", WAMID="wamid.1", WA_ID="1", TS="1700000000"))
    assert isinstance(failed, Receipt) and failed.status == "failed"
    assert failed.error is not None and failed.error.startswith("131026: Message undeliverable")


@pytest.mark.parametrize("bad", [None, [], {"object": "page"}, {"object": "x", "entry": []}])
def test_parse_refuses_what_is_not_a_webhook(bad: object) -> None:
    with pytest.raises(PayloadInvalid):
        parse(bad)


@pytest.mark.parametrize(
    ("status", "body", "transient", "needle"),
    [
        (500, {"error": {"code": 2, "message": "Service temporarily unavailable"}}, True, "2"),
        (429, None, True, "429"),
        (400, {"error": {"code": 613, "message": "Calls to this api have exceeded"}}, True, "613"),
        (400, {"error": {"code": 100, "message": "No matching user found"}}, False, "100"),
        (400, {"error": {"code": 131047, "message": "Re-engagement message"}}, False, "window"),
        (
            400,
            {"error": {"code": 10, "error_subcode": 2018278, "message": "outside"}},
            False,
            "window",
        ),
        (401, {"error": {"code": 190, "message": "Invalid OAuth access token."}}, False, "190"),
    ],
)
def test_graph_error_classification(
    status: int, body: object, transient: bool, needle: str
) -> None:
    failure = classify(status, body)
    assert failure.transient is transient and needle in failure.reason


def test_status_error_line() -> None:
    assert (
        status_error([{"code": 131051, "title": "Unsupported message type"}])
        == "131051: Unsupported message type"
    )
    assert status_error([]) is None


@pytest.mark.parametrize("limit", [1000, 2000, 4096])
def test_meta_split_respects_limits_and_loses_nothing(limit: int) -> None:
    text = " ".join(f"w{i}" for i in range(3000))
    parts = meta_compose.split_text(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert " ".join(parts) == text


def test_whatsapp_template_body() -> None:
    body = meta_compose.whatsapp_template("1555", {"name": "hello_world", "language": "en_US"})
    assert body["template"] == {"name": "hello_world", "language": {"code": "en_US"}}
    with pytest.raises(ValueError, match=r"template\.name"):
        meta_compose.whatsapp_template("1555", {})


def test_telegram_split_counts_utf16_units() -> None:
    emoji = "😀" * 3000  # 6000 UTF-16 units, 3000 characters
    parts = tg_compose.split_text(emoji)
    assert len(parts) == 2 and all(tg_compose.units(p) <= 4096 for p in parts)
    assert "".join(parts) == emoji
    assert tg_compose.split_text("short") == ["short"]
    assert tg_compose.split_text("") == [""]


@pytest.mark.parametrize(
    ("status", "body", "transient", "retry"),
    [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests",
                "parameters": {"retry_after": 3},
            },
            True,
            3.0,
        ),
        (502, None, True, None),
        (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
            False,
            None,
        ),
        (
            403,
            {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"},
            False,
            None,
        ),
    ],
)
def test_telegram_error_classification(
    status: int, body: object, transient: bool, retry: float | None
) -> None:
    got = tg_compose.error_of(status, body)
    assert (got[0], got[2]) == (transient, retry)


def test_telegram_parse_kinds() -> None:
    photo = parse_update(payload("telegram_photo", UPDATE_ID=1, MESSAGE_ID=2, USER_ID=3, TS=4))
    assert photo is not None and photo.files[0].file_id == "big-photo"
    assert photo.text == "my receipt"
    edited = parse_update(
        payload(
            "telegram_edited", UPDATE_ID=5, MESSAGE_ID=2, USER_ID=3, TS=4, EDIT_TS=9, TEXT="new"
        )
    )
    assert edited is not None and edited.edited and edited.sent_at is not None
    assert edited.sent_at.timestamp() == 9
    assert parse_update({"update_id": 7, "poll": {}}) is None
    with pytest.raises(UpdateInvalid):
        parse_update({"message": {}})
    assert bot_id("123:abc") == "123" and bot_id("nope") == ""
