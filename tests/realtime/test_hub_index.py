"""The hub's fan-out index (server/realtime/hub.py ``AudienceIndex``): an event is offered
to exactly the sockets whose ``Audience`` admits it — as when every socket was asked —
while only those sockets (and the ones still loading) are visited.

In process, no network: a real ``Hub`` and real ``Connection``s whose sockets never go
live (so nothing is written; what the hub offered stays in each connection's queue, and
what it held in ``pending``). The oracle is the rule itself: every registered socket, in
stream order, applies membership and role changes to its own copy of the audience and gets
the event if ``Audience.sees`` says so (or holds it while loading)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any, cast

from server.actors import Actor
from server.events.types import EPHEMERAL, Event, EventType, StreamEvent
from server.realtime import frames
from server.realtime.client_queue import (
    INTERNAL_AUDIENCE,
    OVERFLOW_CLOSE_CODE,
    OVERFLOW_CLOSE_REASON,
    Audience,
    ClientQueue,
)
from server.realtime.connection import Connection
from server.realtime.hub import Hub

USERS = range(1, 7)
INBOXES = range(1, 7)
BIG = 10**9  # queue limit: nothing overflows unless a test wants it to


def make_hub() -> Hub:
    # The hub reads only the ping interval from its context when nothing is awaited.
    ctx = SimpleNamespace(settings=SimpleNamespace(ws_ping_interval=30.0))
    return Hub(cast(Any, ctx), cast(Any, None))


def make_conn(hub: Hub, user_id: int, role: str = "agent", limit: int = BIG) -> Connection:
    websocket = cast(Any, SimpleNamespace(scope={}))  # no SEND_NOW: never written to here
    return Connection(
        websocket, Actor(user_id, role, f"u{user_id}"), ClientQueue(limit), hub.writer
    )


def frame_of(item: StreamEvent) -> tuple[str | None, str]:
    """What the hub offers for ``item``: (event id or None when ephemeral, frame)."""
    if item.event.type in EPHEMERAL:
        return None, frames.ephemeral(item.event.type, item.event.payload)
    return item.id, frames.event(item.id, item.event.to_wire())


def received(conn: Connection) -> list[tuple[str | None, str]]:
    return conn.queue.take()


def ids(conn: Connection) -> list[str | None]:
    return [event_id for event_id, _ in received(conn)]


# The oracle -------------------------------------------------------------------------------


@dataclass
class Model:
    """One socket as the brute-force rule sees it."""

    conn: Connection
    role: str
    audience: Audience | None = None
    pending: list[StreamEvent] = field(default_factory=list)
    expected: list[tuple[str | None, str]] = field(default_factory=list)
    registered: bool = True

    def deliver(self, item: StreamEvent) -> None:
        audience = self.audience
        if audience is None:
            self.pending.append(item)
            return
        if item.event.type == EventType.INBOX_UPDATED:
            audience.apply_membership(item)
        elif item.event.type == EventType.AGENT_UPDATED and audience.apply_role(item):
            self.role = "admin" if audience.is_admin else "agent"
        if audience.sees(item):
            self.expected.append(frame_of(item))

    def install(self, audience: Audience) -> None:
        self.audience = audience
        pending, self.pending = self.pending, []
        for item in pending:
            self.deliver(item)

    def check(self) -> None:
        conn = self.conn
        assert received(conn) == self.expected, (conn.id, self.audience)
        self.expected = []
        assert (conn.pending or []) == self.pending
        assert conn.actor.role == self.role
        if self.audience is None:
            assert conn.audience is None
        else:
            assert conn.audience is not None
            assert conn.audience.is_admin == self.audience.is_admin
            assert conn.audience.inbox_ids == self.audience.inbox_ids


def copy(audience: Audience) -> Audience:
    return Audience(audience.user_id, audience.is_admin, set(audience.inbox_ids))


def random_event(rng: random.Random, n: int, conns: list[Connection]) -> Event:
    """One event of any kind the hub fans out, or one it must keep to itself."""
    origin = {"origin": rng.choice(conns).id} if conns and rng.random() < 0.3 else {}
    inbox = rng.choice([None, *INBOXES, 99])  # 99: an inbox no socket belongs to
    roll = rng.random()
    if roll < 0.12:
        members = rng.sample(list(USERS), rng.randint(0, len(USERS)))
        payload: dict[str, Any] = {"inbox": {"id": inbox or 1}, "n": n}
        if rng.random() < 0.8:
            payload["member_ids"] = members
        return Event(EventType.INBOX_UPDATED, payload, inbox_id=inbox or 1, extra=origin)
    if roll < 0.22:
        user: dict[str, Any] = {"id": rng.choice(USERS), "role": rng.choice(["admin", "agent"])}
        payload = {"user": user, "n": n}
        if rng.random() < 0.7:
            payload["inbox_ids"] = rng.sample(list(INBOXES), rng.randint(0, 3))
        return Event(EventType.AGENT_UPDATED, payload, extra=origin)
    if roll < 0.28:
        return Event("test.internal", {"n": n}, audience=INTERNAL_AUDIENCE)
    if roll < 0.36:
        return Event(EventType.INBOX_HEALTH, {"n": n}, inbox_id=inbox, audience="admins")
    if roll < 0.44:
        return Event(EventType.PRESENCE, {"user_id": rng.choice(USERS), "n": n}, extra=origin)
    if roll < 0.56:
        return Event(EventType.TYPING, {"n": n}, inbox_id=inbox, extra=origin)
    audience = rng.choice(["agents", "agents", "all", "admins"])
    return Event(EventType.MESSAGE_CREATED, {"n": n}, inbox, audience=audience, extra=origin)


def test_random_operations_reach_exactly_the_sockets_the_rule_admits() -> None:
    rng = random.Random(20261201)
    hub = make_hub()
    models: list[Model] = []
    n = 0
    kinds: dict[str, int] = {}
    for _ in range(1500):
        live = [m for m in models if m.registered]
        roll = rng.random()
        if roll < 0.10 or not live:
            user = rng.choice(USERS)
            model = Model(make_conn(hub, user, rng.choice(["agent", "admin"])), "")
            model.role = model.conn.actor.role
            models.append(model)
            hub.register(model.conn)
            kind = "register"
        elif roll < 0.14:
            model = rng.choice(live)
            hub.unregister(model.conn)
            model.registered = False
            kind = "unregister"
        elif roll < 0.16 and len(live) < len(models):  # an unregistered socket comes back
            model = rng.choice([m for m in models if not m.registered])
            hub.register(model.conn)
            model.registered = True
            kind = "re-register"
        elif roll < 0.26:
            # An access view loads, for a socket registered or (a late answer) not anymore.
            loading = [m for m in models if m.audience is None]
            if not loading:
                continue
            model = rng.choice(loading)
            user = model.conn.actor.id
            admin = rng.random() < 0.25
            inboxes = set() if admin else set(rng.sample(list(INBOXES), rng.randint(0, 3)))
            audience = Audience(user, admin, inboxes)
            model.install(copy(audience))
            hub.set_audience(model.conn, audience)
            kind = "set_audience"
        else:
            n += 1
            event = random_event(rng, n, [m.conn for m in models])
            origin = event.extra.get("origin")
            # The bus is down: an ephemeral event is told to this node's sockets only.
            local = event.type == EventType.TYPING and rng.random() < 0.5
            item = StreamEvent("" if local else f"1-{n}", event)
            if event.audience != INTERNAL_AUDIENCE:
                for model in live:
                    if model.conn.id != origin:
                        model.deliver(item)
            if local:
                hub._deliver_local(item, skip=origin)
                kind = "deliver_local"
            else:
                hub.dispatch(item)
                kind = str(event.type) + ("/" + event.audience)
        kinds[kind] = kinds.get(kind, 0) + 1
        for model in models:
            model.check()
    # Every kind of step happened, many times over.
    assert min(kinds.values()) >= 5, kinds
    assert kinds["inbox.updated/agents"] >= 50 and kinds["agent.updated/agents"] >= 50, kinds
    assert sum(1 for m in models if m.registered and m.audience is not None) >= 5


def test_a_membership_change_reaches_the_very_next_event_of_that_inbox() -> None:
    hub = make_hub()
    u = make_conn(hub, 7)
    other = make_conn(hub, 8)
    for conn, inboxes in ((u, {1}), (other, {2})):
        hub.register(conn)
        hub.set_audience(conn, Audience(conn.actor.id, False, inboxes))
    message = Event(EventType.MESSAGE_CREATED, {}, inbox_id=2)
    hub.dispatch(StreamEvent("1-1", message))  # fanned out through the index
    assert ids(u) == [] and ids(other) == ["1-1"]
    # U joins inbox 2: the update itself reaches both (members), the next message too.
    hub.dispatch(StreamEvent("1-2", Event(EventType.INBOX_UPDATED, {"member_ids": [7, 8]}, 2)))
    hub.dispatch(StreamEvent("1-3", message))
    assert ids(u) == ["1-2", "1-3"] and ids(other) == ["1-2", "1-3"]
    # U leaves inbox 1 and 2: nothing of theirs reaches it any more.
    hub.dispatch(StreamEvent("1-4", Event(EventType.INBOX_UPDATED, {"member_ids": [8]}, 2)))
    hub.dispatch(StreamEvent("1-5", message))
    assert ids(u) == [] and ids(other) == ["1-4", "1-5"]
    # U is made an admin: it sees inbox 3 at once; demoted to inbox 3 only: still 3, not 2.
    promote = {"user": {"id": 7, "role": "admin"}}
    hub.dispatch(StreamEvent("1-6", Event(EventType.AGENT_UPDATED, promote)))
    hub.dispatch(StreamEvent("1-7", Event(EventType.MESSAGE_CREATED, {}, inbox_id=3)))
    assert ids(u) == ["1-6", "1-7"] and u.actor.role == "admin"
    demote = {"user": {"id": 7, "role": "agent"}, "inbox_ids": [3]}
    hub.dispatch(StreamEvent("1-8", Event(EventType.AGENT_UPDATED, demote)))
    hub.dispatch(StreamEvent("1-9", Event(EventType.MESSAGE_CREATED, {}, inbox_id=3)))
    hub.dispatch(StreamEvent("1-10", message))
    assert ids(u) == ["1-8", "1-9"] and u.actor.role == "agent"


def test_a_change_held_while_loading_counts_once_the_view_is_installed() -> None:
    hub = make_hub()
    u = make_conn(hub, 7)
    hub.register(u)
    hub.dispatch(StreamEvent("1-1", Event(EventType.INBOX_UPDATED, {"member_ids": [7]}, 5)))
    hub.dispatch(StreamEvent("1-2", Event(EventType.MESSAGE_CREATED, {}, inbox_id=5)))
    assert [i.id for i in u.pending or []] == ["1-1", "1-2"] and ids(u) == []
    # The view was read before the change: the held update adds inbox 5 as it is installed.
    hub.set_audience(u, Audience(7, False, {1}))
    assert ids(u) == ["1-1", "1-2"]
    hub.dispatch(StreamEvent("1-3", Event(EventType.MESSAGE_CREATED, {}, inbox_id=5)))
    hub.dispatch(StreamEvent("1-4", Event(EventType.MESSAGE_CREATED, {}, inbox_id=1)))
    assert ids(u) == ["1-3", "1-4"]


def test_a_socket_still_loading_holds_everything_and_overflows_as_before() -> None:
    hub = make_hub()
    loading = make_conn(hub, 7, limit=2)
    hub.register(loading)
    for n, event in enumerate(
        [
            Event(EventType.MESSAGE_CREATED, {}, inbox_id=4),
            Event(EventType.INBOX_HEALTH, {}, inbox_id=4, audience="admins"),
            Event(EventType.TYPING, {}, inbox_id=9),
        ],
        start=1,
    ):
        hub.dispatch(StreamEvent(f"1-{n}", event))
    assert len(loading.pending or []) == 3
    assert loading.close_request == (OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)


def test_an_event_of_one_inbox_visits_that_inboxs_sockets_only() -> None:
    """1,000 sockets over 10 inboxes, 3 admins, 2 loading: an inbox's message visits the
    100 members, the admins and the loading; a change of membership visits all."""
    hub = make_hub()
    for n in range(1000):
        conn = make_conn(hub, 1000 + n)
        hub.register(conn)
        hub.set_audience(conn, Audience(1000 + n, False, {n % 10}))
    for n in range(3):
        conn = make_conn(hub, n + 1, "admin")
        hub.register(conn)
        hub.set_audience(conn, Audience(n + 1, True))
    for n in range(2):
        hub.register(make_conn(hub, 5000 + n))
    visited: list[Connection] = []
    deliver = hub._deliver

    def counting(conn: Connection, item: StreamEvent, frame: str) -> None:
        visited.append(conn)
        deliver(conn, item, frame)

    hub._deliver = counting  # type: ignore[method-assign]
    hub.dispatch(StreamEvent("1-1", Event(EventType.MESSAGE_CREATED, {}, inbox_id=4)))
    assert len(visited) == 105 and len(set(visited)) == 105
    visited.clear()
    hub.dispatch(StreamEvent("1-2", Event(EventType.INBOX_HEALTH, {}, 4, audience="admins")))
    assert len(visited) == 5
    visited.clear()
    members = [1000 + n for n in range(1000) if n % 10 == 5] + [1004]  # 1004 joins inbox 5
    hub.dispatch(StreamEvent("1-3", Event(EventType.INBOX_UPDATED, {"member_ids": members}, 5)))
    assert len(visited) == 1005
    visited.clear()
    hub.dispatch(StreamEvent("1-4", Event(EventType.MESSAGE_CREATED, {}, inbox_id=5)))
    assert len(visited) == 106  # the new member among them (the index was rebuilt)
    assert any(c.actor.id == 1004 for c in visited)
    visited.clear()
    members.remove(1004)  # and leaves it again: the index forgets it too
    hub.dispatch(StreamEvent("1-5", Event(EventType.INBOX_UPDATED, {"member_ids": members}, 5)))
    visited.clear()
    hub.dispatch(StreamEvent("1-6", Event(EventType.MESSAGE_CREATED, {}, inbox_id=5)))
    assert len(visited) == 105 and not any(c.actor.id == 1004 for c in visited)
    visited.clear()
    visited.clear()
    hub.dispatch(StreamEvent("1-7", Event(EventType.PRESENCE, {"user_id": 1})))
    assert len(visited) == 1005  # no inbox: everyone


def test_a_socket_closed_during_fan_out_does_not_disturb_the_others() -> None:
    hub = make_hub()
    conns = [make_conn(hub, n) for n in range(5)]
    for conn in conns:
        hub.register(conn)
        hub.set_audience(conn, Audience(conn.actor.id, False, {1}))
    deliver = hub._deliver

    def unregistering(conn: Connection, item: StreamEvent, frame: str) -> None:
        hub.unregister(conns[3])  # e.g. its reader ended while the event was fanned out
        deliver(conn, item, frame)

    hub._deliver = unregistering  # type: ignore[method-assign]
    hub.dispatch(StreamEvent("1-1", Event(EventType.MESSAGE_CREATED, {}, inbox_id=1)))
    assert [ids(c) for c in conns] == [["1-1"]] * 5
    hub._deliver = deliver  # type: ignore[method-assign]
    hub.dispatch(StreamEvent("1-2", Event(EventType.MESSAGE_CREATED, {}, inbox_id=1)))
    assert [ids(c) for c in conns] == [["1-2"]] * 3 + [[]] + [["1-2"]]


def test_a_view_that_loads_after_its_socket_closed_adds_no_recipient() -> None:
    hub = make_hub()
    gone, stays = make_conn(hub, 7), make_conn(hub, 8)
    for conn in (gone, stays):
        hub.register(conn)
    hub.dispatch(StreamEvent("1-1", Event(EventType.MESSAGE_CREATED, {}, inbox_id=1)))
    hub.unregister(gone)  # closed while its access view was being read
    hub.set_audience(gone, Audience(7, False, {1}))  # what it held is applied, as before
    hub.set_audience(stays, Audience(8, False, {1}))
    assert ids(gone) == ["1-1"] and ids(stays) == ["1-1"]
    hub.dispatch(StreamEvent("1-2", Event(EventType.MESSAGE_CREATED, {}, inbox_id=1)))
    assert ids(gone) == [] and ids(stays) == ["1-2"]
    assert list(hub.connections.values()) == [stays]


def test_the_actor_follows_a_role_change_only_on_the_users_sockets() -> None:
    hub = make_hub()
    mine, theirs = make_conn(hub, 7), make_conn(hub, 8)
    for conn in (mine, theirs):
        hub.register(conn)
        hub.set_audience(conn, Audience(conn.actor.id, False, set()))
    theirs.actor = replace(theirs.actor, name="kept")
    promote = {"user": {"id": 7, "role": "admin"}}
    hub.dispatch(StreamEvent("1-1", Event(EventType.AGENT_UPDATED, promote)))
    assert mine.actor.role == "admin" and theirs.actor == Actor(8, "agent", "kept")
