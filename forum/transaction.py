"""The write boundary: one commit per request, then the effects registered during it.

A write view is declared with `@transaction.writes`. The view (and the services it
calls) only mutate and flush; the boundary then

- commits once when the view answers with a success (status below 400), and after the
  commit runs the app's after-commit hooks (the search drain today; the outbox drain
  tomorrow) and the callbacks registered with `on_commit(fn)` during the request, in
  order, each guarded: one that fails is logged and neither breaks the answer nor
  stops the others;
- rolls back and drops the callbacks when the view raises - a domain error from
  `forum.errors` is then answered by the error handlers as before (`blueprints/errors`),
  anything else is re-raised - or when it answers with an error status (a form shown
  again with its message: what was refused leaves nothing behind).

A view that catches a domain error to show its form again calls `discard()` before it
renders: the page must be built from the database as it was (a failed flush leaves the
session unusable until the rollback, and refused changes must not show on the page).

Services never commit and never roll back; commands (`forum.cli`, `forum.maintenance`)
may use `atomic()` for the same commit-then-effects sequence. This module sits beside
`forum.extensions` and `forum.database`: services may import it, it imports nothing
above them.
"""

from __future__ import annotations

import contextvars
import errno
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from typing import TypeVar

from flask import Flask
from flask import Response
from flask import current_app
from flask import make_response
from flask import message_flashed
from flask import session
from sqlalchemy.exc import OperationalError

from forum.database import busy_timeout_ms
from forum.database import write_intent
from forum.extensions import db

log = logging.getLogger(__name__)

Callback = Callable[[], object]
Hook = Callable[[Flask], object]
View = TypeVar("View", bound=Callable[..., Any])

HOOKS_KEY = "forum_after_commit_hooks"
# Set on the function `writes` returns: the structural test finds write views without it.
MARK = "forum_write_boundary"


class Boundary:
    """One open write boundary: the callbacks waiting for its commit."""

    def __init__(self) -> None:
        self.callbacks: list[Callback] = []
        # Messages flashed inside the boundary ("Settings saved."): taken back if it
        # fails, so that the error page does not announce what did not happen.
        self.flashed: list[tuple[str, str]] = []

    def commit(self) -> None:
        """Commit, then run the hooks and callbacks (the boundary is closed by then)."""
        callbacks, self.callbacks = self.callbacks, []
        try:
            db.session.commit()
        except BaseException:
            self.fail()
            raise
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        for hook in app.extensions.get(HOOKS_KEY, ()):
            _guarded(functools.partial(hook, app))
        for callback in callbacks:
            _guarded(callback)

    def abandon(self) -> None:
        """Roll back and forget the callbacks: nothing of this request happened."""
        self.callbacks.clear()
        db.session.rollback()

    def fail(self) -> None:
        """Abandon after an exception, taking back the messages flashed meanwhile."""
        self.abandon()
        if not self.flashed:
            return
        stored = session.get("_flashes")
        for entry in reversed(self.flashed):
            if stored and entry in stored:
                # The last equal entry: an older, identical message stays.
                del stored[len(stored) - 1 - stored[::-1].index(entry)]
        self.flashed.clear()
        session.modified = True


_current: contextvars.ContextVar[Boundary | None] = contextvars.ContextVar(
    "forum_write_boundary", default=None
)


def _flashed(_sender: object, message: str, category: str, **_extra: object) -> None:
    boundary = _current.get()
    if boundary is not None:
        boundary.flashed.append((category, message))


message_flashed.connect(_flashed)


def _guarded(effect: Callable[[], object]) -> None:
    try:
        effect()
    except Exception as exc:  # noqa: BLE001 - the write is committed; an effect never undoes it
        if not disk_full_reported(exc, log, f"after-commit effect {effect!r}"):
            log.exception("after-commit effect %r failed", effect)


# --- a full disk ----------------------------------------------------------------------

DISK_FULL_MESSAGE = "The server is out of disk space; nothing was saved."
# SQLite's SQLITE_FULL; PostgreSQL's class 53 "insufficient resources": disk_full.
_SQLITE_FULL = getattr(sqlite3, "SQLITE_FULL", 13)
_PG_DISK_FULL = "53100"
DISK_FULL_LOG_INTERVAL = 60.0  # seconds; per worker
_disk_full_lock = threading.Lock()
_disk_full_next_log = 0.0
_disk_full_unlogged = 0


def is_disk_full(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) says the disk is full: SQLite's "database or
    disk is full", PostgreSQL's DiskFull (53100, "could not extend file"), ENOSPC."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(current, sqlite3.Error) and (
            getattr(current, "sqlite_errorcode", None) == _SQLITE_FULL
            or "database or disk is full" in str(current)
        ):
            return True
        if getattr(current, "sqlstate", None) == _PG_DISK_FULL:
            return True
        if "could not extend file" in str(current) or "No space left on device" in str(current):
            return True
        # SQLAlchemy's DBAPIError wraps the driver's error in `orig`.
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return False


def report_disk_full(logger: logging.Logger, where: str) -> None:
    """Log a full disk at most once a minute per worker, without a traceback: a full
    disk fails every write, and a traceback per request would only fill it further."""
    global _disk_full_next_log, _disk_full_unlogged
    now = time.monotonic()
    with _disk_full_lock:
        if now < _disk_full_next_log:
            _disk_full_unlogged += 1
            return
        missed, _disk_full_unlogged = _disk_full_unlogged, 0
        _disk_full_next_log = now + DISK_FULL_LOG_INTERVAL
    logger.error(
        "The disk is full: a write failed (%s); %d more since the last message. "
        "Free some space: the forum recovers by itself, no restart needed.",
        where,
        missed,
    )


def disk_full_reported(exc: BaseException, logger: logging.Logger, where: str) -> bool:
    """If `exc` is a full disk, say so (once a minute) and answer True; else False, for
    the caller to log it as it would (with its traceback)."""
    if not is_disk_full(exc):
        return False
    report_disk_full(logger, where)
    return True


def reset_disk_full_log() -> None:
    """Forget when a full disk was last logged (tests)."""
    global _disk_full_next_log, _disk_full_unlogged
    with _disk_full_lock:
        _disk_full_next_log = 0.0
        _disk_full_unlogged = 0


def on_commit(callback: Callback) -> None:
    """Run `callback` once the current boundary has committed; never if it rolls back.

    Outside a boundary this raises: the effect would otherwise never run (or run before
    anything was committed). Durable effects (mail, search updates) belong in a table
    written in the same transaction instead; this is for what may be lost in a crash.
    """
    boundary = _current.get()
    if boundary is None:
        raise RuntimeError("on_commit() outside a write boundary (@writes or atomic())")
    boundary.callbacks.append(callback)


def discard() -> None:
    """Roll back what this request wrote so far and drop its after-commit callbacks.

    For a view that catches a domain error to show its form again: call it before
    building the page. Outside a boundary (an error answered before any view ran) it
    only rolls back.
    """
    boundary = _current.get()
    if boundary is None:
        db.session.rollback()
    else:
        boundary.abandon()


def add_after_commit_hook(app: Flask, hook: Hook) -> None:
    """Run `hook(app)` after every boundary's commit, before the request's callbacks."""
    app.extensions.setdefault(HOOKS_KEY, []).append(hook)


@contextmanager
def atomic() -> Iterator[None]:
    """A boundary as a block: commit at the end, roll back on any exception.

    Inside an open boundary it joins it (the outer one commits).
    """
    if _current.get() is not None:
        yield
        return
    boundary = Boundary()
    token = _current.set(boundary)
    try:
        yield
    except BaseException:
        boundary.fail()
        _current.reset(token)
        raise
    _current.reset(token)
    boundary.commit()


def writes(view: View) -> View:
    """Declare a write view: its one commit (or rollback) is made here, not in its body.

    The view's answer is built before the commit, inside the transaction: objects are
    serialised or rendered while loaded, as the commit expires them
    (`expire_on_commit`), and a failed commit never leaves a half-sent answer.
    """

    @functools.wraps(view)
    def boundary_view(*args: Any, **kwargs: Any) -> Any:
        if _current.get() is not None:
            # One view answering for another (ending this session is logging out).
            return view(*args, **kwargs)
        boundary = Boundary()
        token = _current.set(boundary)
        try:
            response: Response = make_response(view(*args, **kwargs))
        except BaseException:
            boundary.fail()
            _current.reset(token)
            raise
        _current.reset(token)
        if response.status_code >= 400:
            boundary.abandon()
        else:
            boundary.commit()
        return response

    setattr(boundary_view, MARK, True)
    return boundary_view  # type: ignore[return-value]


def write_apart(work: Callable[[], object], *, wait_ms: int, what: str) -> bool:
    """Run `work` in a short transaction of its own and commit it; best-effort.

    For bookkeeping during a read (last seen): a GET's read transaction has nothing to
    keep and cannot safely turn into a write on SQLite, so it is ended first, and the
    write takes the lock up front (BEGIN IMMEDIATE) but waits for it only `wait_ms`:
    a reader's page must not hang behind writers. False (logged) when the database was
    too busy.
    """
    db.session.rollback()
    intent = write_intent.set(True)
    waiting = busy_timeout_ms.set(wait_ms)
    try:
        work()
        db.session.commit()
    except OperationalError as exc:
        db.session.rollback()
        log.debug("%s not recorded (busy database): %s", what, exc)
        return False
    finally:
        busy_timeout_ms.reset(waiting)
        write_intent.reset(intent)
    return True
