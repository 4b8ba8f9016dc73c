"""The realtime pure cores with plain calls: frame parsing, id order, filtering, the queue."""

from __future__ import annotations

import json

import pytest

from server.events.types import Event, EventType, StreamEvent
from server.realtime import frames
from server.realtime.client_queue import (
    Audience,
    ClientQueue,
    QueueState,
    ResumeGate,
    position,
    replayable,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"type":"hello","last_event_id":null}', frames.Hello(None)),
        ('{"type":"hello","last_event_id":"17-2"}', frames.Hello("17-2")),
        (
            '{"type":"typing","conversation_id":4,"private":true,"active":false}',
            frames.Typing(4, True, False),
        ),
        ('{"type":"viewing","conversation_id":null}', frames.Viewing(None)),
        ('{"type":"viewing"}', frames.Viewing(None)),  # no conversation: viewing nothing
        ('{"type":"presence","status":"away"}', frames.Presence("away")),
        ('{"type":"ping"}', frames.Ping()),
    ],
)
def test_valid_client_frames(raw: str, expected: frames.ClientFrame) -> None:
    assert frames.parse(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("nope", "invalid_json"),
        ("3", "invalid_frame"),
        ('{"type": 3}', "unknown_type"),
        ('{"type":"hello","last_event_id":5}', "invalid_frame"),
        ('{"type":"typing","conversation_id":true}', "invalid_frame"),
        ('{"type":"typing","conversation_id":0}', "invalid_frame"),
        ('{"type":"typing","conversation_id":1,"private":"yes"}', "invalid_frame"),
        ('{"type":"presence","status":"offline"}', "invalid_frame"),
    ],
)
def test_invalid_client_frames_name_the_problem(raw: str, code: str) -> None:
    with pytest.raises(frames.FrameError) as caught:
        frames.parse(raw)
    assert caught.value.code == code


def test_positions_order_redis_and_memory_ids() -> None:
    assert (
        position("0")
        < position("1700000000000-0")
        < position("1700000000000-1")
        < position("1700000000001-0")
    )
    assert position("ab12cd34-9") < position("ab12cd34-10")
    with pytest.raises(ValueError):
        position("garbage")
    gate = ResumeGate("5-3")
    assert [gate.admit(i) for i in ("5-2", "5-3", "5-4", "6-0")] == [False, False, True, True]


def item(type: str, inbox: int | None, audience: str = "agents", **payload: object) -> StreamEvent:
    return StreamEvent("1-1", Event(type, dict(payload), inbox_id=inbox, audience=audience))


def test_audience_follows_rest_rules_and_membership_events() -> None:
    agent = Audience(user_id=7, is_admin=False, inbox_ids={1})
    admin = Audience(user_id=1, is_admin=True)
    assert agent.sees(item("message.created", 1)) and not agent.sees(item("message.created", 2))
    assert admin.sees(item("message.created", 2))
    assert agent.sees(item("presence", None))
    assert not agent.sees(item("x", None, audience="admins")) and admin.sees(
        item("x", None, audience="admins")
    )
    assert not admin.sees(item("session.revoked", None, audience="internal"))
    agent.apply_membership(item(EventType.INBOX_UPDATED, 2, member_ids=[3, 7]))
    assert agent.sees(item("message.created", 2))
    agent.apply_membership(item(EventType.INBOX_UPDATED, 1, member_ids=[3]))
    assert not agent.sees(item("message.created", 1))
    agent.apply_membership(item(EventType.INBOX_UPDATED, 2))  # no member list: unchanged
    assert agent.inbox_ids == {2}


def test_ephemeral_and_internal_events_are_not_replayed() -> None:
    assert replayable(item("message.created", 1))
    assert not replayable(item("typing", 1))
    assert not replayable(item("session.revoked", None, audience="internal"))


def test_queue_overflow_closes_and_frees_memory() -> None:
    queue = ClientQueue(limit=2)
    assert queue.offer("1-1", "a") and queue.offer(None, "b")
    assert not queue.offer("1-2", "c")
    assert queue.state is QueueState.OVERFLOWED and len(queue) == 0
    assert not queue.offer("1-3", "d")
    fresh = ClientQueue(limit=3)
    fresh.offer("1-1", "a")
    assert fresh.take() == [("1-1", "a")] and fresh.take() == []
    with pytest.raises(ValueError):
        ClientQueue(0)


def test_batches_keep_order_respect_the_size_limit_and_never_wrap_a_lone_frame() -> None:
    encoded = [frames.event(f"1-{n}", {"type": "message.created", "n": n}) for n in range(50)]
    packed = frames.batches(encoded, max_bytes=600)
    assert len(packed) > 1
    unpacked: list[dict[str, object]] = []
    for text in packed:
        frame = json.loads(text)
        if frame["type"] == "batch":
            assert len(text) <= 600 + len('{"type":"batch","frames":[]}')
            assert len(frame["frames"]) > 1
            unpacked += frame["frames"]
        else:
            unpacked.append(frame)
    assert unpacked == [json.loads(e) for e in encoded]  # same frames, same order
    assert frames.batches([encoded[0]], 10) == [encoded[0]]  # one frame alone: as is
    assert frames.batches([], 600) == []
    huge = "x" * 1000
    assert frames.batches([encoded[0], huge, encoded[1]], 600) == [encoded[0], huge, encoded[1]]
