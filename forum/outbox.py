"""The durable outbox: effects of a change, written in the change's own transaction and
delivered after it commits.

A service (or `forum.mail.send`) calls `enqueue(kind, payload)`: one row in the `outbox`
table, in the current session's transaction. If the change rolls back, so does the row;
if it commits, the row is there even when the worker dies the next instant. `drain`
delivers due rows afterwards - after a write request's commit (`after_commit`), at the
end of every `forum` command, and from cron/systemd with `forum outbox drain` - and
deletes each row once delivered. Any worker may deliver what another left.

Kinds, and how each is delivered, are a registry:

* `@handler(kind)` registers a function `(app, payload) -> None` that delivers one row
  (mail: `forum.mail`). A row it fails on (the function raises) is retried with
  backoff - 1 min, 5 min, 30 min, 2 h, 6 h, then daily - and after `MAX_ATTEMPTS`
  attempts it is kept, marked failed and logged, for `forum outbox status` to show.
  Rows are claimed before delivery (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the
  write lock serialises the claim), and the claim itself counts the attempt and moves
  the row's next attempt into the future, so two workers draining at once never take
  the same row, and a worker killed mid-send leaves the row to be retried later.
  Delivery is therefore "at least once": a worker killed after the SMTP server took
  the mail but before the row was deleted sends it again on the retry.
* `@drainer(kind)` registers a function `(app, limit) -> int` for a kind that handles
  its rows in batches by its own rules (search: `forum.search.service.drain` writes
  many posts to the index at once and has its own locks).

A handler registered with `deferred=` is delivered after the answer has been sent
(`response.call_on_close`), never while a member waits: a slow or dead mail server
does not slow a request, and a password reset answers in the same time whether or not
a mail goes out. Kinds that are cheap (search; mail written to the log) are delivered
right after the commit, as the search queue always was, so the next page sees them.

Extension point (issues 13/14): notification fan-out and live events register a kind
here - `@handler("notify")`/`@handler("live", deferred=...)` in their own module, and
`enqueue("notify", {...})` in the service that makes the change. Notification rows
themselves are written in the change's transaction already; only an effect outside
the database (a push, a mail digest, a live event) needs a kind.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from functools import partial
from typing import Any

from flask import Flask
from flask import Response
from flask import after_this_request
from flask import current_app
from flask import has_app_context
from flask import has_request_context
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

from forum import transaction
from forum.database import write_intent
from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.outbox import OutboxRow

log = logging.getLogger(__name__)

# Seconds to wait after the n-th failed attempt (the last one repeats).
BACKOFF = (60, 300, 1800, 7200, 21600, 86400)
MAX_ATTEMPTS = 8  # about three days of trying
DRAIN_LIMIT = 100
# How often (seconds) a worker looks for rows that are due but not its own (retries,
# rows a killed worker left): at most once a minute, on a write request.
CHECK_INTERVAL = 60.0
ERROR_CHARS = 500
_SESSION_KEY = "forum_outbox_kinds"

Handler = Callable[[Flask, dict[str, Any]], None]
Drainer = Callable[[Flask, int], int]


@dataclass(frozen=True)
class Kind:
    """How one kind of row is delivered (see the module docstring)."""

    name: str
    deliver: Handler | None = None
    drain: Drainer | None = None
    deferred: Callable[[Flask], bool] | None = None

    def is_deferred(self, app: Flask) -> bool:
        """True if this kind is delivered only after the answer has been sent."""
        return self.deferred is not None and self.deferred(app)


@dataclass
class DrainResult:
    """What a drain did: rows delivered, rows that failed (and will be retried or were
    given up on)."""

    delivered: int = 0
    failed: int = 0


KINDS: dict[str, Kind] = {}
# Monotonic time after which a worker next looks for due rows it did not queue itself.
_next_check = 0.0


def handler(
    kind: str, *, deferred: Callable[[Flask], bool] | None = None
) -> Callable[[Handler], Handler]:
    """Register `fn(app, payload)` to deliver one row of `kind` (it raises on failure)."""

    def register(fn: Handler) -> Handler:
        KINDS[kind] = Kind(kind, deliver=fn, deferred=deferred)
        return fn

    return register


def drainer(kind: str) -> Callable[[Drainer], Drainer]:
    """Register `fn(app, limit) -> int` to deliver the rows of `kind` by its own rules."""

    def register(fn: Drainer) -> Drainer:
        KINDS[kind] = Kind(kind, drain=fn)
        return fn

    return register


def enqueue(kind: str, payload: dict[str, Any], *, subject_id: int | None = None) -> None:
    """Add a row to the current transaction (never commits; delivered after the commit)."""
    if kind not in KINDS:
        raise LookupError(f"no outbox handler for {kind!r}")
    now = utcnow()
    db.session.execute(
        insert(OutboxRow).values(
            kind=kind,
            subject_id=subject_id,
            payload=json.dumps(payload, sort_keys=True),
            created_at=now,
            attempts=0,
            next_attempt_at=now,
        )
    )
    note_queued(kind)


def note_queued(kind: str) -> None:
    """Remember that this session queued `kind`, so that `after_commit` delivers it."""
    db.session.info.setdefault(_SESSION_KEY, set()).add(kind)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF[min(attempts, len(BACKOFF)) - 1])


# --- delivering ---------------------------------------------------------------------


def drain(app: Flask, *, kinds: Iterable[str] | None = None, limit: int = DRAIN_LIMIT) -> int:
    """Deliver up to `limit` due rows of each kind (all registered kinds by default);
    the number delivered. Never raises for a failed delivery (it is logged and retried)."""
    return drain_report(app, kinds=kinds, limit=limit).delivered


def drain_report(
    app: Flask, *, kinds: Iterable[str] | None = None, limit: int = DRAIN_LIMIT
) -> DrainResult:
    """As `drain`, and say how many deliveries failed."""
    if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
        return _drain(app, kinds, limit)
    # After the answer has been sent (call_on_close) the request's context is gone.
    with app.app_context():
        try:
            return _drain(app, kinds, limit)
        finally:
            db.session.remove()


def _drain(app: Flask, kinds: Iterable[str] | None, limit: int) -> DrainResult:
    result = DrainResult()
    names = list(KINDS) if kinds is None else list(kinds)
    token = write_intent.set(True)
    try:
        for name in names:
            kind = KINDS.get(name)
            if kind is None:
                continue
            if kind.drain is not None:
                try:
                    result.delivered += kind.drain(app, limit)
                except Exception as exc:  # noqa: BLE001 - the rows stay queued for a later drain
                    db.session.rollback()
                    # A full disk fails every drain: one line a minute, not a traceback each.
                    if not transaction.disk_full_reported(exc, log, f"outbox drain of {name}"):
                        log.exception("outbox: draining %s failed; its rows stay queued", name)
                    result.failed += 1
            else:
                _deliver_rows(app, kind, limit, result)
    finally:
        write_intent.reset(token)
    return result


def _claim(kind: str, limit: int) -> list[tuple[int, int, str | None]]:
    """Take up to `limit` due rows: count the attempt and move the next one into the
    future in one short transaction, so that no other worker takes them meanwhile."""
    now = utcnow()
    try:
        rows = db.session.execute(
            select(OutboxRow.id, OutboxRow.attempts, OutboxRow.payload)
            .where(
                OutboxRow.kind == kind,
                OutboxRow.failed_at.is_(None),
                OutboxRow.next_attempt_at <= now,
            )
            .order_by(OutboxRow.id)
            .limit(limit)
            # PostgreSQL: rows another worker is claiming are skipped, not waited for.
            # SQLite ignores it; its BEGIN IMMEDIATE serialises the claim instead.
            .with_for_update(skip_locked=True)
        ).all()
        claimed = []
        for row_id, attempts, payload in rows:
            done = attempts + 1
            db.session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id)
                .values(attempts=done, next_attempt_at=now + _backoff(done))
                .execution_options(synchronize_session=False)
            )
            claimed.append((row_id, done, payload))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return claimed


def _deliver_rows(app: Flask, kind: Kind, limit: int, result: DrainResult) -> None:
    assert kind.deliver is not None  # noqa: S101 - a Kind has one or the other
    try:
        claimed = _claim(kind.name, limit)
    except Exception as exc:  # noqa: BLE001 - a busy database: the rows wait for the next drain
        if not transaction.disk_full_reported(exc, log, f"outbox claim of {kind.name} rows"):
            log.exception("outbox: could not claim %s rows", kind.name)
        result.failed += 1
        return
    for row_id, attempts, payload in claimed:
        try:
            kind.deliver(app, json.loads(payload or "{}"))
        except Exception as exc:  # noqa: BLE001 - a failed delivery is retried, not raised
            result.failed += 1
            _record_failure(kind.name, row_id, attempts, exc)
            continue
        try:
            db.session.execute(
                delete(OutboxRow)
                .where(OutboxRow.id == row_id)
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
        except Exception:  # noqa: BLE001 - delivered; the row is retried (sent twice) at worst
            db.session.rollback()
            log.exception("outbox: %s row %d delivered but not deleted", kind.name, row_id)
        result.delivered += 1


def _record_failure(kind: str, row_id: int, attempts: int, exc: BaseException) -> None:
    error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
    values: dict[str, Any] = {"last_error": error}
    if attempts >= MAX_ATTEMPTS:
        values["failed_at"] = utcnow()
        log.error(
            "outbox: gave up on %s row %d after %d attempts: %s", kind, row_id, attempts, error
        )
    else:
        log.warning(
            "outbox: %s row %d failed (attempt %d), retried in %s: %s",
            kind,
            row_id,
            attempts,
            _backoff(attempts),
            error,
        )
    try:
        db.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == row_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    except Exception:  # noqa: BLE001 - the claim already scheduled the retry
        db.session.rollback()
        log.exception("outbox: could not record the failure of %s row %d", kind, row_id)


def drain_all(app: Flask, *, budget_seconds: float = 60.0) -> DrainResult:
    """Drain until nothing is due, or the budget is spent (commands, cron)."""
    total = DrainResult()
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        step = drain_report(app)
        total.delivered += step.delivered
        total.failed += step.failed
        if step.delivered == 0 or not _due():
            break
    return total


def _due() -> bool:
    """True if any row is due now (failed rows are not)."""
    return (
        db.session.scalar(
            select(OutboxRow.id)
            .where(OutboxRow.failed_at.is_(None), OutboxRow.next_attempt_at <= utcnow())
            .limit(1)
        )
        is not None
    )


def retry(*, kinds: Iterable[str] | None = None) -> int:
    """Make every waiting and failed row due now (after fixing, say, the mail settings);
    the number of rows. A row some worker is delivering this very moment may be sent
    twice, so use it when the retries are known to fail."""
    stmt = (
        update(OutboxRow)
        .where((OutboxRow.failed_at.is_not(None)) | (OutboxRow.next_attempt_at > utcnow()))
        .values(failed_at=None, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if kinds is not None:
        stmt = stmt.where(OutboxRow.kind.in_(list(kinds)))
    count = getattr(db.session.execute(stmt), "rowcount", 0)
    db.session.commit()
    return int(count or 0)


@dataclass(frozen=True)
class KindStatus:
    """The rows of one kind: due now, waiting for a retry, given up on."""

    kind: str
    due: int
    waiting: int
    failed: int


def status() -> list[KindStatus]:
    """Counts per kind (every kind in the table, registered or not)."""
    # One named parameter, so that PostgreSQL sees the same expression in GROUP BY.
    now = bindparam("now", utcnow(), type_=UTCDateTime())
    state = case(
        (OutboxRow.failed_at.is_not(None), 2),
        (OutboxRow.next_attempt_at > now, 1),
        else_=0,
    )
    found: dict[str, list[int]] = {}
    rows = db.session.execute(
        select(OutboxRow.kind, state, func.count(OutboxRow.id)).group_by(OutboxRow.kind, state)
    )
    for kind, column, count in rows:
        found.setdefault(kind, [0, 0, 0])[column] += count
    return [KindStatus(kind, *found[kind]) for kind in sorted(found)]


def failed_rows(limit: int = 50) -> list[OutboxRow]:
    """The rows given up on, newest first."""
    return list(
        db.session.scalars(
            select(OutboxRow)
            .where(OutboxRow.failed_at.is_not(None))
            .order_by(OutboxRow.id.desc())
            .limit(limit)
        )
    )


# --- after a request's commit ---------------------------------------------------------


def after_commit(app: Flask) -> None:
    """Deliver what the committed transaction queued: cheap kinds now, deferred kinds
    after the answer is sent. Once a minute also what is due from elsewhere (retries,
    rows a killed worker left). Never fails the request (errors are logged)."""
    global _next_check
    # The app itself, not `current_app`: deferred kinds are delivered after the request's
    # context is gone.
    app = getattr(app, "_get_current_object", lambda: app)()
    queued: set[str] = db.session.info.pop(_SESSION_KEY, set())
    now = time.monotonic()
    look_around = now >= _next_check
    if look_around:
        _next_check = now + CHECK_INTERVAL
    inline: list[str] = []
    later: list[str] = []
    for name, kind in KINDS.items():
        # Batch kinds (search) are drained after every write, as the search queue was:
        # its rows are queued by a flush listener, for any change to a post.
        if not (kind.drain is not None or look_around or name in queued):
            continue
        (later if kind.is_deferred(app) else inline).append(name)
    if inline:
        try:
            drain(app, kinds=inline)
        except Exception:  # noqa: BLE001 - the database write already succeeded
            log.exception("outbox: delivery after commit failed; rows stay queued")
    if later:
        _drain_later(app, later)


def _drain_later(app: Flask, kinds: list[str]) -> None:
    if not has_request_context():
        _drain_quietly(app, kinds)
        return

    @after_this_request
    def _schedule(response: Response) -> Response:
        response.call_on_close(partial(_drain_quietly, app, kinds))
        return response


def _drain_quietly(app: Flask, kinds: list[str]) -> None:
    try:
        drain(app, kinds=kinds)
    except Exception:  # noqa: BLE001 - runs after the answer; nobody to tell but the log
        log.exception("outbox: delivery after the answer failed; rows stay queued")


def next_attempt(row: OutboxRow) -> datetime | None:
    """When a row is next tried (None: given up on)."""
    return None if row.failed_at is not None else row.next_attempt_at
