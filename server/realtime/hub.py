"""The per-node hub: ONE bus subscription fanned out to every agent socket on this node.

Fan-out never awaits a socket: each event is encoded once, filtered per connection
(``Audience``) and offered to that connection's bounded queue; the connection's own pump
task does the sending. A slow socket therefore delays nobody; when its queue overflows it
is closed with 4000 "overflow, resume" and the client resumes from its last event id.
Only the sockets that can see an event are visited (``AudienceIndex``): a message of one
inbox costs that inbox's sockets, not all of the node's.

The hub also keeps the node's presence entries alive (heartbeat), follows presence
changes, and closes sockets whose session was revoked — on every node, because
``revoke`` travels over the bus as an internal event (plus a periodic re-check of every
socket's token as a safety net for expiry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from redis.exceptions import RedisError

from server.context import AppContext
from server.events.bus import STREAM_RESET, Subscription
from server.events.types import EPHEMERAL, Event, EventType, StreamEvent
from server.exceptions import DatabaseUnavailable
from server.log_throttle import Throttle
from server.realtime import frames
from server.realtime.client_queue import (
    INTERNAL_AUDIENCE,
    OVERFLOW_CLOSE_CODE,
    OVERFLOW_CLOSE_REASON,
    SESSION_REVOKED,
    Audience,
    replayable,
)
from server.realtime.connection import Connection, Writer
from server.realtime.presence import OFFLINE, PresenceStore, aggregate
from server.realtime.session_cache import SessionCache
from server.realtime.views import AccessViews
from server.storage import schema as t
from server.storage.schema import utcnow

log = logging.getLogger(__name__)
_throttled = Throttle(log)  # a bus outage fails every socket's presence the same way

REVOKED_CLOSE_CODE = 4401
RESTART_CLOSE_CODE = 1012  # "service restart": clients reconnect, maybe to another node
ENCODED_CACHE = 20_000  # encoded event frames kept; cleared wholesale when full
REPLAY_CACHE = 32  # packed replays kept (a storm resumes many sockets from the same id)
REPLAY_BATCH_BYTES = 256 * 1024  # replayed events are sent in batch frames up to this size


class AudienceIndex:
    """The node's sockets by access view, so fan-out touches only those that see an event.

    A socket is placed by its ``Audience`` as it is when placed: still loading (it holds
    every event until its view is installed), admin (every inbox), or member of each of its
    inboxes. What ``sees`` admits is then: an inbox's event → loading + admins + that
    inbox's members; an "admins" event → loading + admins; an event of no inbox → every
    socket (``targets`` says None: the caller walks them all).

    Kept exact by the hub: ``register``/``unregister``/``set_audience`` place or remove
    their socket; any change of an installed ``Audience`` (``inbox.updated``,
    ``agent.updated``, applied by ``Hub._deliver``) marks the index stale, and it is rebuilt
    from the hub's connections (O(sockets)) before the next event is fanned out through it.
    ``Hub._deliver`` still asks ``sees`` of every socket it is given, so a stale index
    could only drop an event, never leak one — hence the staleness mark on every change.
    """

    __slots__ = ("_placed", "admins", "loading", "members", "stale")

    def __init__(self) -> None:
        self.loading: dict[str, Connection] = {}
        self.admins: dict[str, Connection] = {}
        self.members: dict[int, dict[str, Connection]] = {}
        # conn id → the inbox ids it was placed under (None: loading or admin)
        self._placed: dict[str, tuple[int, ...] | None] = {}
        self.stale = False

    def place(self, conn: Connection) -> None:
        """(Re)place ``conn`` by its audience as it is now."""
        self.remove(conn.id)
        audience = conn.audience
        inboxes: tuple[int, ...] | None = None
        if audience is None:
            self.loading[conn.id] = conn
        elif audience.is_admin:
            self.admins[conn.id] = conn
        else:
            inboxes = tuple(audience.inbox_ids)
            for inbox_id in inboxes:
                members = self.members.get(inbox_id)
                if members is None:
                    members = self.members[inbox_id] = {}
                members[conn.id] = conn
        self._placed[conn.id] = inboxes

    def remove(self, conn_id: str) -> None:
        if conn_id not in self._placed:
            return
        inboxes = self._placed.pop(conn_id)
        self.loading.pop(conn_id, None)
        self.admins.pop(conn_id, None)
        for inbox_id in inboxes or ():
            members = self.members.get(inbox_id)
            if members is not None:
                members.pop(conn_id, None)
                if not members:
                    del self.members[inbox_id]

    def rebuild(self, conns: Iterable[Connection]) -> None:
        self.loading, self.admins, self.members, self._placed = {}, {}, {}, {}
        for conn in conns:
            self.place(conn)
        self.stale = False

    def targets(self, event: Event) -> list[Connection] | None:
        """The sockets that may get ``event`` (a snapshot); None: every socket."""
        if event.audience == INTERNAL_AUDIENCE:
            return list(self.loading.values())  # held until loaded (sees() then drops it)
        if event.audience == "admins":
            return [*self.loading.values(), *self.admins.values()]
        if event.inbox_id is None:
            return None
        members = self.members.get(event.inbox_id)
        if members is None:
            return [*self.loading.values(), *self.admins.values()]
        return [*self.loading.values(), *self.admins.values(), *members.values()]


#: Events that change the audience of the sockets they reach (``Hub._deliver``): every
#: socket must apply them, seen or not, so they are fanned out to all.
_AUDIENCE_CHANGES = frozenset({EventType.INBOX_UPDATED, EventType.AGENT_UPDATED})


class Hub:
    def __init__(self, ctx: AppContext, presence: PresenceStore) -> None:
        self.ctx = ctx
        self.presence = presence
        self.connections: dict[str, Connection] = {}
        self.index = AudienceIndex()  # who sees what: kept by every method that changes it
        self.presence_view: dict[int, str] = {}  # user id → status, offline users absent
        # The newest stream id this node dispatched: every later event reaches a socket
        # registered now, so it is a resume point the hub can prove while the bus is down.
        self.head: str | None = None
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._encoded: dict[str, str] = {}
        self._replays: dict[tuple[Any, ...], list[str]] = {}
        self.writer = Writer()  # the node's one writer for every socket (connection.py)
        # Read once per node for a storm of sockets, never trusted past a revocation or a
        # change of access (session_cache.py, views.py).
        self.sessions = SessionCache(ctx, ttl=ctx.settings.ws_ping_interval)
        self.views = AccessViews(ctx)

    @property
    def presence_ttl(self) -> float:
        # Three missed heartbeats before a connection counts as gone (node loss).
        return 3 * self.ctx.settings.ws_ping_interval

    # Lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._sub = self.ctx.bus.subscribe()
        ready = getattr(self._sub, "ready", None)
        if ready is not None:
            await ready()  # the cursor is fixed: nothing published from now on is missed
        self.head = getattr(self._sub, "cursor", None)
        self.presence_view = await self.presence.snapshot()
        self._tasks = [
            asyncio.create_task(self._fanout(self._sub), name="hub-fanout"),
            asyncio.create_task(self._heartbeat(), name="hub-heartbeat"),
        ]

    async def stop(self) -> None:
        for conn in list(self.connections.values()):
            conn.request_close(RESTART_CLOSE_CODE, "server restart")
        self.writer.flush()  # now, not next iteration: it starts the closing pumps
        pumps = [
            c.pump_task
            for c in self.connections.values()
            if c.pump_task is not None and not c.pump_task.done()
        ]
        if pumps:
            await asyncio.wait(pumps, timeout=5)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._sub is not None:
            await self._sub.close()

    # Connections -------------------------------------------------------------------

    def register(self, conn: Connection) -> None:
        self.connections[conn.id] = conn
        self.index.place(conn)

    def unregister(self, conn: Connection) -> None:
        if self.connections.pop(conn.id, None) is not None:
            self.index.remove(conn.id)

    def set_audience(self, conn: Connection, audience: Audience) -> None:
        """Install the access view; events that arrived while it loaded are applied now."""
        conn.audience = audience
        for item in conn.take_pending():
            self._deliver(conn, item, self._frame(item))
        if self.connections.get(conn.id) is conn:  # placed as it is after its pending events
            self.index.place(conn)

    # Fan-out -----------------------------------------------------------------------

    async def _fanout(self, sub: Subscription) -> None:
        async for item in sub:
            try:
                self.dispatch(item)
            except Exception:  # one bad event must not stop delivery for everyone
                log.exception("dispatching event %s failed", item.id)

    def dispatch(self, item: StreamEvent) -> None:
        event = item.event
        if item.id:
            self.head = item.id
        self.views.follow(item)
        self.sessions.follow(item)
        if event.audience == INTERNAL_AUDIENCE:
            if event.type == SESSION_REVOKED:
                payload = event.payload
                self._revoke_local(
                    payload.get("token_id"), payload.get("user_id"), payload.get("keep_token_id")
                )
            elif event.type == STREAM_RESET:
                self.resync_all(item.id, str(event.payload.get("reason", "stream reset")))
            return
        if event.type == EventType.PRESENCE:
            self._note_presence(event.payload)
        self._fan_out(item, self._frame(item), event.extra.get("origin"))

    def _fan_out(self, item: StreamEvent, frame: str, skip: Any = None) -> None:
        """Deliver ``item`` to every socket that may get it but ``skip`` (the origin)."""
        conns: list[Connection] | None = None
        if item.event.type not in _AUDIENCE_CHANGES:
            if self.index.stale:
                self.index.rebuild(self.connections.values())
            conns = self.index.targets(item.event)
        if conns is None:  # every socket: an event of no inbox, or one changing audiences
            conns = list(self.connections.values())
        for conn in conns:
            if conn.id != skip:
                self._deliver(conn, item, frame)

    def _deliver(self, conn: Connection, item: StreamEvent, frame: str) -> None:
        audience = conn.audience
        if audience is None:
            if conn.hold(item) > conn.queue.limit:
                conn.request_close(OVERFLOW_CLOSE_CODE, OVERFLOW_CLOSE_REASON)
            return
        if item.event.type == EventType.INBOX_UPDATED:
            if audience.apply_membership(item):
                self.index.stale = True
        elif item.event.type == EventType.AGENT_UPDATED and audience.apply_role(item):
            self.index.stale = True
            conn.actor = replace(conn.actor, role="admin" if audience.is_admin else "agent")
        if not audience.sees(item):
            return
        conn.offer(None if item.event.type in EPHEMERAL else item.id, frame)

    def _frame(self, item: StreamEvent) -> str:
        if item.event.type in EPHEMERAL:
            return frames.ephemeral(item.event.type, item.event.payload)
        return self.encoded(item)

    def encoded(self, item: StreamEvent) -> str:
        """The event frame, encoded once per node (a reconnect storm replays the same
        events to many sockets)."""
        frame = self._encoded.get(item.id) if item.id else None
        if frame is None:
            frame = frames.event(item.id, item.event.to_wire())
            if len(self._encoded) >= ENCODED_CACHE:
                self._encoded.clear()
            self._encoded[item.id] = frame
        return frame

    def replay_frames(self, items: list[StreamEvent], audience: Audience) -> list[str]:
        """The replay of ``items`` that ``audience`` may see, packed into batch frames.

        Packed once per node for each (range, access view): when a node comes back, its
        agents resume from the same few ids with the same few access views, so a storm
        of a thousand sockets packs a handful of replays, not a thousand.
        """
        if not items:
            return []
        view = None if audience.is_admin else frozenset(audience.inbox_ids)
        key = (items[0].id, items[-1].id, len(items), audience.is_admin, view)
        packed = self._replays.get(key)
        if packed is None:
            visible = [self.encoded(i) for i in items if replayable(i) and audience.sees(i)]
            packed = frames.batches(visible, REPLAY_BATCH_BYTES)
            if len(self._replays) >= REPLAY_CACHE:
                self._replays.clear()
            self._replays[key] = packed
        return packed

    def resync_all(self, head: str, reason: str) -> None:
        """The stream was lost under this node: no socket's resume point can be proven.

        A live socket gets ``resync_required`` in order with its events (what follows is
        read from ``head`` on); one still starting (its replay may straddle the loss) is
        closed with 1012 and resumes, where the replay check tells it to resync.
        """
        frame = frames.resync_required(reason, head)
        for conn in list(self.connections.values()):
            if conn.live and conn.audience is not None:
                conn.offer(None, frame)
            else:
                conn.request_close(RESTART_CLOSE_CODE, "event stream reset, resume")

    # Ephemeral events --------------------------------------------------------------

    async def publish_ephemeral(
        self,
        conn: Connection,
        kind: EventType,
        payload: dict[str, Any],
        *,
        inbox_id: int | None = None,
        conversation_id: int | None = None,
        audience: str = "agents",
    ) -> None:
        event = Event(
            kind,
            payload,
            inbox_id,
            conversation_id,
            db_id=None,
            audience=audience,
            extra={"origin": conn.id},
        )
        try:
            await self.ctx.bus.publish([event])
        except Exception as exc:  # bus down: this node's sockets still hear it
            _throttled.warning("ephemeral", "bus publish failed (%s); delivered locally", exc)
            self._deliver_local(StreamEvent("", event), skip=conn.id)

    async def update_presence(self, conn: Connection, *, leaving: bool = False) -> None:
        """Record this connection's presence; tell everyone if the user's status changed."""
        user = conn.actor
        try:
            if leaving:
                await self.presence.drop(user.id, conn.id)
            else:
                await self.presence.touch(user.id, conn.id, conn.presence, self.presence_ttl)
            status = await self.presence.user_status(user.id)
        except Exception as exc:
            # The store (Redis) is down: the socket lives on. This node's sockets hear the
            # change now; the heartbeat writes the entry once Redis answers, and every
            # node's presence sweep then tells its own sockets.
            _throttled.warning("presence", "presence store failed (%s); kept locally", exc)
            self._presence_local(conn, leaving)
            return
        if status != self.presence_view.get(user.id, OFFLINE):
            # Noted here at once, not only when the event comes back over the bus: a storm
            # of one agent's sockets reconnecting must publish one change, not one per
            # socket (each would be fanned out to every socket).
            self._note_presence({"user_id": user.id, "status": status})
            event = Event(
                EventType.PRESENCE, {"user_id": user.id, "name": user.name, "status": status}
            )
            try:
                await self.ctx.bus.publish([event])
            except Exception as exc:
                _throttled.warning("presence", "presence publish failed (%s); local only", exc)
                self._deliver_local(StreamEvent("", event))

    def _presence_local(self, conn: Connection, leaving: bool) -> None:
        """A user's status from this node's own sockets, told to this node's sockets."""
        user_id = conn.actor.id
        mine = [
            c.presence
            for c in self.connections.values()
            if c.actor.id == user_id and not (leaving and c.id == conn.id)
        ]
        status = aggregate(mine)
        if leaving and status == OFFLINE:
            return  # other nodes may hold this user's sockets: their entries' expiry decides
        if status != self.presence_view.get(user_id, OFFLINE):
            self._note_presence({"user_id": user_id, "status": status})
            payload = {"user_id": user_id, "name": conn.actor.name, "status": status}
            self._deliver_local(StreamEvent("", Event(EventType.PRESENCE, payload)))

    def _deliver_local(self, item: StreamEvent, skip: str | None = None) -> None:
        self._fan_out(item, self._frame(item), skip)

    def _note_presence(self, payload: dict[str, Any]) -> None:
        user_id, status = payload.get("user_id"), payload.get("status")
        if not isinstance(user_id, int):
            return
        if status == OFFLINE:
            self.presence_view.pop(user_id, None)
        elif isinstance(status, str):
            self.presence_view[user_id] = status

    def presence_frames(self) -> list[str]:
        return [
            frames.ephemeral(EventType.PRESENCE, {"user_id": u, "status": s})
            for u, s in sorted(self.presence_view.items())
        ]

    # Revocation --------------------------------------------------------------------

    async def revoke(
        self,
        *,
        token_id: int | None = None,
        user_id: int | None = None,
        keep_token_id: int | None = None,
    ) -> None:
        """Close the sockets of a revoked session, or of every session of a user but
        ``keep_token_id`` (a password change keeps the session that made it)."""
        try:  # before anything else: no node may open a socket on a cached token now
            await self.sessions.revoked(
                token_id=token_id, user_id=user_id, keep_token_id=keep_token_id
            )
        except Exception:  # cached entries still lapse within the token re-check period
            log.exception("marking a session revocation failed")
        self._revoke_local(token_id, user_id, keep_token_id)
        payload = {"token_id": token_id, "user_id": user_id, "keep_token_id": keep_token_id}
        try:
            await self.ctx.bus.publish(
                [Event(SESSION_REVOKED, payload, audience=INTERNAL_AUDIENCE)]
            )
        except Exception:  # other nodes still catch it at their next token re-check
            log.exception("publishing a session revocation failed")

    def _revoke_local(self, token_id: Any, user_id: Any, keep_token_id: Any = None) -> None:
        for conn in list(self.connections.values()):
            actor = conn.actor
            if keep_token_id is not None and actor.token_id == keep_token_id:
                continue
            if (token_id is not None and actor.token_id == token_id) or (
                user_id is not None and actor.id == user_id
            ):
                conn.request_close(REVOKED_CLOSE_CODE, "session revoked")

    # Heartbeat ---------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.settings.ws_ping_interval)
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except DatabaseUnavailable:
                pass  # logged once per interval by server/storage/db.py
            except Exception:
                log.exception("hub heartbeat failed")

    async def _beat(self) -> None:
        conns = list(self.connections.values())
        try:
            for conn in conns:
                await self.presence.touch(conn.actor.id, conn.id, conn.presence, self.presence_ttl)
            await self._sweep_presence()
        except (RedisError, OSError) as exc:  # the bus is down: presence waits for it, and
            # the token re-check below still runs (a traceback per beat and node before,
            # and no revocation check for as long as Redis was down)
            _throttled.warning("presence-beat", "presence not refreshed (%s); retried", exc)
        valid = await self._valid_token_ids(c.actor.token_id for c in conns)
        for conn in conns:
            if conn.actor.token_id is not None and conn.actor.token_id not in valid:
                conn.request_close(REVOKED_CLOSE_CODE, "session expired or revoked")

    async def _sweep_presence(self) -> None:
        """Entries of a dead node expire; tell this node's sockets (each node does its own)."""
        current = await self.presence.snapshot()
        changed = {
            u: current.get(u, OFFLINE)
            for u in set(current) | set(self.presence_view)
            if current.get(u, OFFLINE) != self.presence_view.get(u, OFFLINE)
        }
        self.presence_view = current
        for user_id, status in changed.items():
            item = StreamEvent(
                "", Event(EventType.PRESENCE, {"user_id": user_id, "status": status})
            )
            self._fan_out(item, self._frame(item))

    async def _valid_token_ids(self, token_ids: Iterable[int | None]) -> set[int]:
        ids = {i for i in token_ids if i is not None}
        if not ids:
            return set()
        a, u = t.auth_tokens.c, t.users.c
        async with self.ctx.db.read() as db:
            rows = await db.execute(
                sa.select(a.id)
                .join(t.users, u.id == a.user_id)
                .where(
                    a.id.in_(ids),
                    a.revoked_at.is_(None),
                    u.is_active.is_(True),
                    sa.or_(a.expires_at.is_(None), a.expires_at > utcnow()),
                )
            )
        return {int(r[0]) for r in rows}
