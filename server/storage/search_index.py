"""The full-text index over message text, one per engine (docs/search.md).

SQLite: a contentless FTS5 table of folded text kept by triggers; PostgreSQL: a generated
``tsvector`` column with a GIN index. Either way the index changes in the same
transaction as the message row, whichever writer wrote it, and activity lines (status
changes, assignments) are not indexed. Both engines fold case and diacritics exactly as
``server.domain.search_text.fold`` does: SQLite calls that function (registered on every
connection as ``sb_fold``), PostgreSQL a ``translate`` table generated from it, so no
extension is needed and the two engines find the same messages.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from server.domain.search_text import fold

SQLITE_STATEMENTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(text, content='', "
    "tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_ai AFTER INSERT ON messages "
    "WHEN new.kind != 'activity' BEGIN "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, sb_fold(new.text)); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_ad AFTER DELETE ON messages "
    "WHEN old.kind != 'activity' BEGIN INSERT INTO messages_fts(messages_fts, rowid, text) "
    "VALUES ('delete', old.id, sb_fold(old.text)); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_au AFTER UPDATE OF text ON messages "
    "WHEN old.kind != 'activity' BEGIN INSERT INTO messages_fts(messages_fts, rowid, text) "
    "VALUES ('delete', old.id, sb_fold(old.text)); "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, sb_fold(new.text)); END",
)
SQLITE_BACKFILL = (
    "INSERT INTO messages_fts(rowid, text) "
    "SELECT id, sb_fold(text) FROM messages WHERE kind != 'activity'"
)
#: Latin, Greek and Cyrillic blocks: where letters carry case and diacritics.
FOLDED_RANGES = ((0x00C0, 0x024F), (0x0370, 0x03FF), (0x0400, 0x04FF), (0x1F00, 0x1FFF))
PG_COLUMN = (
    "ALTER TABLE messages ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS "
    "(CASE WHEN kind = 'activity' THEN NULL "
    "ELSE to_tsvector('simple'::regconfig, sb_search_norm(text)) END) STORED"
)
PG_INDEX = "CREATE INDEX IF NOT EXISTS ix_messages_search ON messages USING gin (search_vector)"


def register_sqlite_functions(dbapi_conn: Any) -> None:
    """``sb_fold`` for the index triggers; called for every new SQLite connection."""
    dbapi_conn.create_function("sb_fold", 1, _fold_or_none, deterministic=True)


def _fold_or_none(text: str | None) -> str | None:
    return fold(text) if isinstance(text, str) else None


def pg_fold_function() -> str:
    """``sb_search_norm(text)``: lower-case, then the single-character folds of ``fold``."""
    pairs = [(chr(c), fold(chr(c))) for lo, hi in FOLDED_RANGES for c in range(lo, hi + 1)]
    pairs = [(a, b) for a, b in pairs if len(b) == 1 and b != a and "'" not in a + b]
    src, dst = "".join(a for a, _ in pairs), "".join(b for _, b in pairs)
    return (
        "CREATE OR REPLACE FUNCTION sb_search_norm(t text) RETURNS text LANGUAGE sql "
        f"IMMUTABLE PARALLEL SAFE AS $$ SELECT translate(lower(coalesce(t, '')), "
        f"'{src}', '{dst}') $$"
    )


def create(_ops: Operations, conn: Connection) -> None:
    """Migration: build the engine's index and fill it from the messages already stored."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(pg_fold_function())
        conn.exec_driver_sql(PG_COLUMN)
        conn.exec_driver_sql(PG_INDEX)
        return
    existed = conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'messages_fts'"))
    fresh = existed.first() is None
    for statement in SQLITE_STATEMENTS:
        conn.exec_driver_sql(statement)
    if fresh:
        conn.exec_driver_sql(SQLITE_BACKFILL)
