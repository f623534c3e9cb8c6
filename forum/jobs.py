"""Periodic jobs run once, however many app servers start them.

Every app server installs the same systemd timers (`forum outbox drain`, `forum trust`,
`forum prune`, ...), so with two servers each job starts twice at about the same time.
`once(name)` takes a lock named after the job for as long as the job runs; a second
start finds it taken and does nothing:

    with jobs.once("trust") as got:
        if not got:
            ...  # running elsewhere: say so and exit 0
        ...

On PostgreSQL (the only database several servers share) the lock is a session-level
advisory lock, `pg_try_advisory_lock`, on a connection of its own that nothing else
uses: it is held until that connection ends, so a job killed with SIGKILL, or a server
that dies, releases it when PostgreSQL notices the connection is gone. The key comes
from the job's name; advisory locks are per database, so two forums on one PostgreSQL
server do not block each other.

On SQLite (one machine) the lock is `fcntl.flock` on `<instance>/locks/<name>.lock`;
the kernel drops it when the holder's file is closed, which a process that dies does
too.

A periodic job never waits for the lock: finding it taken, it has nothing to do, since
the holder is doing the same work now. `forum init` (ExecStartPre of every server's
forum.service) waits instead (`wait=True`): two servers restarted together after an
upgrade must not run the migrations at the same time, and the second may start only
once the first has finished them (it then finds the database up to date).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
LOCKS_FOLDER = "locks"
APPLICATION_NAME_PREFIX = "forum job "


def lock_key(name: str) -> int:
    """The advisory lock key for a job: a signed 64-bit number from its name."""
    digest = hashlib.sha256(f"forum.jobs:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _check_name(name: str) -> None:
    # The name becomes a file name: no slashes, dots or anything surprising.
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"job name {name!r}: lowercase letters, digits and '-' only")


@contextmanager
def once(
    name: str,
    *,
    wait: bool = False,
    database_url: str | None = None,
    instance_path: Path | None = None,
) -> Iterator[bool]:
    """Hold job `name`'s lock while the block runs; yields False (and holds nothing) if
    another process, here or on another server, holds it. With `wait`, waits for it
    instead and always yields True: for work that must be done before going on, once
    at a time (`forum init` migrating the database). The database and instance folder
    default to the current app's."""
    _check_name(name)
    if database_url is None or instance_path is None:
        from flask import current_app

        database_url = database_url or str(current_app.config["SQLALCHEMY_DATABASE_URI"])
        instance_path = instance_path or Path(current_app.instance_path)
    if make_url(database_url).get_backend_name() == "postgresql":
        with _advisory_lock(database_url, name, wait) as got:
            yield got
    else:
        with _file_lock(instance_path / LOCKS_FOLDER / f"{name}.lock", wait) as got:
            yield got


@contextmanager
def _advisory_lock(database_url: str, name: str, wait: bool) -> Iterator[bool]:
    # A connection of its own, not from the app's pool: a pooled connection returned
    # with the lock still held would keep it for whoever borrowed it next, and closing
    # this one ends the session, which releases the lock whatever happened meanwhile.
    # Named, so that `pg_stat_activity` shows which job holds a lock, and where from.
    engine = create_engine(
        database_url,
        poolclass=NullPool,
        connect_args={"application_name": f"{APPLICATION_NAME_PREFIX}{name}"},
    )
    try:
        key = lock_key(name)
        with engine.connect() as conn:
            if wait:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                got = True
            else:
                taken = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
                got = bool(taken.scalar())
            conn.commit()  # hold no transaction open for the job's whole run
            try:
                yield got
            finally:
                if got:
                    _unlock(conn, key)
    finally:
        engine.dispose()


def _unlock(conn: Connection, key: int) -> None:
    # Unlocked explicitly, not only by closing: the server ends a closed session a moment
    # later, and a job started right after this one ends must find the lock free.
    try:
        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
        conn.commit()
    except DBAPIError:
        # The connection broke (PostgreSQL restarted): the session, and the lock, are gone.
        pass


@contextmanager
def _file_lock(path: Path, wait: bool) -> Iterator[bool]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            got = True
        except BlockingIOError:
            got = False
        yield got
    finally:
        # Closing the file drops the lock (flock locks belong to the open file).
        os.close(fd)
