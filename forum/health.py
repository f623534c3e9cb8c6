"""Is this forum healthy? The checks behind `GET /healthz` (forum.blueprints.health).

Each check is cheap - the endpoint is asked every few seconds by an uptime monitor or a
load balancer - and says only what a stranger may know: "ok"/"failing", backlog counts
and a percentage, never a path, a version, an error message or anything about members.
Why a check failed goes to the log (at most once a minute per check and worker).

- database: `SELECT 1` answers.
- search: the index can serve searches (`Backend.stale()` says nothing against it) and
  is not empty while the forum has posts. Whoosh's document count is read from the
  open searcher (no scan); PostgreSQL's table is asked for one row, not counted.
- outbox: rows due for longer than `OVERDUE_AFTER` (no worker or timer is draining) and
  rows given up on (a mail server refusing). Only ever "warn", never failing: reads and
  writes still work, and every app server shares the one outbox, so a load balancer
  taking servers out of rotation for it would turn late mail into a dead forum.
- disk: free space where the forum writes (the instance folder; SQLite's database
  folder; Whoosh's index folder). Below `DISK_FAILING_PERCENT` it is failing: writes are
  about to be refused (`forum.transaction.is_disk_full`); below `DISK_WARN_PERCENT`, warn.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.engine import make_url

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.outbox import OutboxRow
from forum.models.posts import Post
from forum.search import service as search_service

log = logging.getLogger(__name__)

OVERDUE_AFTER = timedelta(minutes=15)
DISK_FAILING_PERCENT = 5.0
DISK_WARN_PERCENT = 10.0
LOG_INTERVAL = 60.0  # seconds between two log lines about the same failing check

OK = "ok"
WARN = "warn"
FAILING = "failing"
UNKNOWN = "unknown"

_logged_at: dict[str, float] = {}
_log_lock = threading.Lock()


@dataclass
class Report:
    """The checks' answers, as `/healthz` shows them."""

    checks: dict[str, Any] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failing

    def as_json(self) -> dict[str, Any]:
        if self.ok:
            return {"status": OK, "checks": self.checks}
        return {"status": FAILING, "failing": self.failing, "checks": self.checks}


def check(app: Flask) -> Report:
    """Run every check; the request's session is rolled back afterwards (reads only)."""
    report = Report()
    database = _guarded("database", _check_database)
    report.checks["database"] = database
    report.checks["search"] = _guarded("search", lambda: _check_search(app))
    if database == OK:
        outbox = _guarded("outbox", _check_outbox)
    else:
        outbox = {"status": UNKNOWN}  # the database's failure says it already
    report.checks["outbox"] = outbox
    report.checks["disk"] = _check_disk(app)
    for name, answer in report.checks.items():
        status = answer["status"] if isinstance(answer, dict) else answer
        if status == FAILING:
            report.failing.append(name)
    return report


def _guarded(name: str, run: Any) -> Any:
    """`run()`'s answer; "failing" (and a line in the log) when it raises."""
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - any error means this part does not answer
        db.session.rollback()
        _log_failure(name, f"{exc.__class__.__name__}: {exc}")
        if name == "outbox":
            return {"status": FAILING}
        return FAILING
    finally:
        db.session.rollback()


def _log_failure(name: str, reason: str) -> None:
    now = time.monotonic()
    with _log_lock:
        if now < _logged_at.get(name, 0.0):
            return
        _logged_at[name] = now + LOG_INTERVAL
    log.warning("health check %r failing: %s", name, reason)


def reset_log() -> None:
    """Forget when each failing check was last logged (tests)."""
    with _log_lock:
        _logged_at.clear()


def _check_database() -> str:
    db.session.execute(text("SELECT 1")).scalar_one()
    return OK


def _check_search(app: Flask) -> str:
    backend = search_service.get_backend(app)
    problem = backend.stale()
    if problem is None and not _has_documents(backend) and _has_posts():
        problem = "it is empty, and the forum has posts"
    if problem is not None:
        _log_failure("search", f"the index must be rebuilt (forum reindex): {problem}")
        return FAILING
    return OK


def _has_documents(backend: Any) -> bool:
    if backend.name == "postgres":
        # count(*) would read the whole table at every probe.
        found = db.session.execute(text("SELECT 1 FROM search_documents LIMIT 1")).first()
        return found is not None
    return bool(backend.count())


def _has_posts() -> bool:
    return db.session.scalar(select(Post.id).limit(1)) is not None


def _check_outbox() -> dict[str, Any]:
    overdue = case(
        (
            OutboxRow.failed_at.is_(None) & (OutboxRow.next_attempt_at <= utcnow() - OVERDUE_AFTER),
            1,
        ),
        else_=0,
    )
    failed = case((OutboxRow.failed_at.is_not(None), 1), else_=0)
    row = db.session.execute(
        select(func.coalesce(func.sum(overdue), 0), func.coalesce(func.sum(failed), 0))
    ).one()
    counts = {"overdue": int(row[0]), "failed": int(row[1])}
    if counts["overdue"] or counts["failed"]:
        _log_failure("outbox", f"{counts['overdue']} rows overdue, {counts['failed']} failed")
    return {"status": WARN if counts["overdue"] or counts["failed"] else OK, **counts}


def write_locations(app: Flask) -> list[Path]:
    """The folders the forum writes to (for the disk check; never shown to visitors)."""
    places = [Path(app.instance_path)]
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        places.append(Path(url.database).resolve().parent)
    search_path = app.config.get("FORUM_SEARCH_PATH")
    if (
        app.config.get("FORUM_SEARCH_BACKEND") == "whoosh"
        and search_path
        and not app.config.get("FORUM_SEARCH_MEMORY")
    ):
        places.append(Path(search_path))
    return places


def _existing(place: Path) -> Path:
    """`place`, or its nearest existing parent (a folder made on first use)."""
    while not place.exists() and place.parent != place:
        place = place.parent
    return place


def _check_disk(app: Flask) -> dict[str, Any]:
    lowest: float | None = None
    for place in write_locations(app):
        try:
            usage = shutil.disk_usage(_existing(place))
        except OSError as exc:
            _log_failure("disk", f"cannot read the free space of {place}: {exc}")
            return {"status": FAILING}
        percent = 100.0 * usage.free / usage.total if usage.total else 0.0
        if lowest is None or percent < lowest:
            lowest = percent
    free = round(lowest if lowest is not None else 100.0, 1)
    if free < DISK_FAILING_PERCENT:
        _log_failure("disk", f"only {free}% free where the forum writes")
        return {"status": FAILING, "free_percent": free}
    return {"status": WARN if free < DISK_WARN_PERCENT else OK, "free_percent": free}
