"""Agents' own email signatures (issue 14): the ``agent_signatures`` table. Idempotent."""

from __future__ import annotations

from alembic.operations import Operations
from sqlalchemy.engine import Connection


def migrate(_ops: Operations, conn: Connection) -> None:
    from server.storage.schema import agent_signatures

    agent_signatures.create(conn, checkfirst=True)
