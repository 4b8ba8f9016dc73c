"""JSON logs carry the request id, ids given as extra, and never leak a secret setting."""

from __future__ import annotations

import json
import logging

from server.api.request_id import REQUEST_ID
from server.logs import JsonFormatter, RequestIdFilter


def _format(record: logging.LogRecord) -> dict[str, object]:
    RequestIdFilter().filter(record)
    return json.loads(JsonFormatter().format(record))  # type: ignore[no-any-return]


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("server.test", logging.INFO, __file__, 1, msg, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_line_has_request_and_entity_ids() -> None:
    token = REQUEST_ID.set("req-1")
    try:
        line = _format(_record("delivered", conversation_id=7, inbox_id=3))
    finally:
        REQUEST_ID.reset(token)
    assert line["msg"] == "delivered"
    assert (line["request_id"], line["conversation_id"], line["inbox_id"]) == ("req-1", 7, 3)


def test_no_request_id_outside_a_request() -> None:
    assert "request_id" not in _format(_record("tick"))
