"""Who gets a waiting conversation: the auto-assignment decision (docs/automation.md).

Pure: the action layer (``server/actions/assignment.py``) loads the inbox's members with
their presence and load under a lock, calls ``plan`` and writes what it returns.

- Only members who are **online** (presence, server/realtime/presence.py) take work;
  "away" and offline agents never do.
- **Capacity**: an agent has room while their open (not resolved) conversations are below
  their global limit *and* their conversations in this inbox are below the inbox limit.
  ``None`` means no limit.
- **round_robin** walks members in id order, starting after the one who got the last
  conversation of this inbox, skipping those without room: over time every member gets
  the same share.
- **least_loaded** picks the member with the fewest open conversations in this inbox, then
  globally; ties go round-robin, so equal loads still spread.
- Waiting conversations are served oldest first; each assignment counts towards the load
  of the next decision in the same plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = ["Candidate", "Policy", "choose", "has_room", "plan"]


class Policy(StrEnum):
    OFF = "off"
    ROUND_ROBIN = "round_robin"
    LEAST_LOADED = "least_loaded"


@dataclass(frozen=True)
class Candidate:
    user_id: int
    online: bool
    open_total: int = 0  # open conversations assigned to them, in every inbox
    open_here: int = 0  # ... in this inbox
    capacity: int | None = None  # global limit (None: unlimited)
    inbox_capacity: int | None = None  # limit in this inbox (None: unlimited)


def has_room(c: Candidate) -> bool:
    if not c.online:
        return False
    if c.capacity is not None and c.open_total >= c.capacity:
        return False
    return c.inbox_capacity is None or c.open_here < c.inbox_capacity


def _rotation(ids: Sequence[int], last_user_id: int | None) -> list[int]:
    """Member ids in round-robin order: the one after ``last_user_id`` first."""
    ordered = sorted(ids)
    if last_user_id is None:
        return ordered
    after = [i for i in ordered if i > last_user_id]
    return after + [i for i in ordered if i <= last_user_id]


def choose(
    policy: Policy, candidates: Sequence[Candidate], last_user_id: int | None = None
) -> int | None:
    """The member who gets the next conversation, or None (off, or nobody has room)."""
    if policy == Policy.OFF:
        return None
    eligible = {c.user_id: c for c in candidates if has_room(c)}
    order = _rotation(list(eligible), last_user_id)
    if not order:
        return None
    if policy == Policy.ROUND_ROBIN:
        return order[0]
    rank = {user_id: n for n, user_id in enumerate(order)}
    return min(order, key=lambda u: (eligible[u].open_here, eligible[u].open_total, rank[u]))


def plan(
    policy: Policy,
    candidates: Sequence[Candidate],
    waiting: Sequence[int],
    last_user_id: int | None = None,
) -> list[tuple[int, int]]:
    """Assign waiting conversation ids (oldest first) while someone has room.

    Returns ``(conversation_id, user_id)`` pairs; conversations left out stay queued.
    """
    pool = {c.user_id: c for c in candidates}
    out: list[tuple[int, int]] = []
    for conversation_id in waiting:
        user_id = choose(policy, list(pool.values()), last_user_id)
        if user_id is None:
            break
        c = pool[user_id]
        pool[user_id] = replace(c, open_total=c.open_total + 1, open_here=c.open_here + 1)
        out.append((conversation_id, user_id))
        last_user_id = user_id
    return out
