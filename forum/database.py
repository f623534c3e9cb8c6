"""Engine set-up: SQLite pragmas and write transactions that take the lock up front."""

from __future__ import annotations

import contextvars
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine import Engine

# False while a request is known to only read (GET, HEAD). Everything else - writes,
# CLI commands - opens its SQLite transactions with BEGIN IMMEDIATE. A deferred BEGIN
# that later writes can fail with "database is locked" under concurrency (8 processes
# lost 1,448 of 1,600 read-then-write transactions that way); an immediate one waits
# on busy_timeout instead.
write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "forum_write_intent", default=True
)


# How long (ms) a SQLite transaction waits for the write lock. Best-effort writes made
# during a page view (reading activity) wait briefly and give up, rather than holding a
# reader's page for the full timeout behind a busy writer.
BUSY_TIMEOUT_MS = 10_000
busy_timeout_ms: contextvars.ContextVar[int] = contextvars.ContextVar(
    "forum_busy_timeout_ms", default=BUSY_TIMEOUT_MS
)


def configure_sqlite(engine: Engine, *, synchronous: str = "FULL") -> None:
    """WAL, a 10 s busy timeout, fsync on commit, foreign keys, BEGIN IMMEDIATE for writes."""
    if synchronous not in ("FULL", "NORMAL", "OFF"):
        raise ValueError(f"bad synchronous mode {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        wanted = busy_timeout_ms.get()
        # Only when it differs: a pragma per transaction would cost every request.
        if connection.info.get("busy_timeout_ms", BUSY_TIMEOUT_MS) != wanted:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={int(wanted)}")
            connection.info["busy_timeout_ms"] = wanted
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")
