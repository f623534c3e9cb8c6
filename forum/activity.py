"""Reading activity, the raw material of trust levels: topics entered, posts read, days
visited and time spent reading.

Without JavaScript the server sees page views only, so two of these are estimates:

* Posts read: a topic page shows posts up to number N, so the member has now read up to
  N. What is new is N minus what they had read before, but never more than one page's
  worth per view: opening the last page of a long topic does not read all before it.
* Time reading: each recorded view credits the time since the member's previous one,
  at most 120 seconds (about what a page takes to read; a longer gap means they were
  doing something else).

Days visited are UTC days with at least one topic view.

Reading must not turn every page view into a write. Each worker remembers (in a
bounded LRU) how far it last recorded each member in each topic, and when it last
credited their time, and writes only when the member read posts they had not read
before, on their first view of a new day, or to credit time at most once per 30 seconds.
That write is a short transaction of its own, made after the page is built; on a busy
database it is dropped (tracking is best-effort; nothing the member sees depends on it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Table
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError

from forum.database import busy_timeout_ms
from forum.database import write_intent
from forum.extensions import db
from forum.fragments import LRU
from forum.listings import Page
from forum.models.activity import TopicRead
from forum.models.activity import UserStats
from forum.models.activity import UserVisit
from forum.models.base import utcnow
from forum.models.topics import Topic
from forum.models.users import User
from forum.services import trust

log = logging.getLogger(__name__)

# Seconds between two time credits for one member (per worker).
CREDIT_EVERY = 30
# The most reading time one view can credit.
MAX_CREDIT = 120
# How long a view waits for SQLite's write lock before dropping its update (ms).
TRACKING_WAIT_MS = 250
# How many (member, topic) positions and members each worker remembers.
READS_REMEMBERED = 50_000
VISITS_REMEMBERED = 20_000


@dataclass
class _Memo:
    """What this worker last wrote: no need to write it again."""

    # (user id, topic id) -> the last post number recorded as read.
    reads: LRU[int]
    # user id -> (the day of the last recorded visit, when time was last credited).
    visits: LRU[tuple[date | None, datetime | None]]


def _memo() -> _Memo:
    memo: _Memo | None = current_app.extensions.get("forum_activity")
    if memo is None:
        fresh = _Memo(LRU(budget=READS_REMEMBERED), LRU(budget=VISITS_REMEMBERED))
        memo = current_app.extensions.setdefault("forum_activity", fresh)
    return memo


def insert_ignoring_duplicates(table: Table, **values: Any) -> bool:
    """INSERT a row unless its key exists already; True if it was inserted.

    Safe against a concurrent insert of the same key on both databases (ON CONFLICT DO
    NOTHING), where "check, then insert" would fail one of the two requests.
    """
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, not the row count: psycopg reports none for an INSERT.
    key = next(iter(table.primary_key.columns))
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return db.session.execute(stmt).first() is not None


def _known_visit(user_id: int, today: date) -> tuple[date | None, datetime | None]:
    """The last visit day and credit time as the database has them (after a memo miss)."""
    last_seen = select(UserStats.last_seen_at).where(UserStats.user_id == user_id)
    visited = select(UserVisit.day).where(UserVisit.user_id == user_id, UserVisit.day == today)
    row = db.session.execute(select(last_seen.scalar_subquery(), visited.exists())).one()
    return (today if row[1] else None), row[0]


def last_number_on(page: Page[Any]) -> int:
    """The number of the last post on a page of a topic's posts (0 for an empty page).

    Post numbers are dense and pages hold `per_page` of them in order.
    """
    if not page.items:
        return 0
    return (page.page - 1) * page.per_page + len(page.items)


# `known` when the caller has not read the member's position.
_UNREAD = -1


def record_topic_view(
    user_id: int,
    topic: Topic,
    last_number_seen: int,
    *,
    now: datetime | None = None,
    known: int | None = _UNREAD,
) -> None:
    """Record that a member saw a topic's posts up to `last_number_seen`; call it after
    the page or answer is built. Writes (in its own transaction) only if that changes
    something: it ends the request's read transaction and expires loaded objects.

    `known`: the member's position as the caller read it in this request (None: never
    opened), which saves reading it again."""
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    topic_id = topic.id
    memo = _memo()
    read_key = (user_id, topic_id)
    if known != _UNREAD:
        # Read in this request: fresher than the memo (another worker may have moved it).
        if known is not None:
            memo.reads.put(read_key, known, 1)
    else:
        known = memo.reads.get(read_key)
        if known is None and last_number_seen > 0:
            known = db.session.scalar(
                select(TopicRead.last_read_number).where(
                    TopicRead.user_id == user_id, TopicRead.topic_id == topic_id
                )
            )
            if known is not None:
                memo.reads.put(read_key, known, 1)
    visit = memo.visits.get(user_id)
    if visit is None:
        visit = _known_visit(user_id, today)
        memo.visits.put(user_id, visit, 1)
    day, credited_at = visit
    reads_more = last_number_seen > (known or 0)
    new_day = day != today
    credit_due = credited_at is None or (now - credited_at).total_seconds() >= CREDIT_EVERY
    if not (reads_more or new_day or credit_due):
        return
    per_page = int(current_app.config["FORUM_POSTS_PER_PAGE"])
    # A GET runs in a deferred (read) transaction; it has nothing to keep. Writing inside
    # it could fail with "database is locked" on SQLite, so end it and write in a short
    # transaction of our own that takes the write lock up front (BEGIN IMMEDIATE).
    db.session.rollback()
    token = write_intent.set(True)
    # Wait for SQLite's write lock briefly: a reader's page must not hang behind writers.
    waiting = busy_timeout_ms.set(TRACKING_WAIT_MS)
    try:
        read_number = _write(user_id, topic_id, last_number_seen, now, today, per_page, new_day)
        db.session.commit()
    except (OperationalError, IntegrityError) as exc:
        db.session.rollback()
        log.debug("reading activity of member %s not recorded: %s", user_id, exc)
        return
    finally:
        busy_timeout_ms.reset(waiting)
        write_intent.reset(token)
    if read_number is not None:
        memo.reads.put(read_key, read_number, 1)
    memo.visits.put(user_id, (today, now), 1)


def _locked_stats(user_id: int) -> UserStats:
    """The member's running totals, row-locked (PostgreSQL) for this transaction."""
    stmt = select(UserStats).where(UserStats.user_id == user_id).with_for_update()
    stats = db.session.scalar(stmt)
    if stats is None:
        insert_ignoring_duplicates(UserStats.__table__, user_id=user_id)
        stats = db.session.scalar(stmt)
    assert stats is not None  # noqa: S101 - inserted just above
    return stats


def _write(
    user_id: int,
    topic_id: int,
    number: int,
    now: datetime,
    today: date,
    per_page: int,
    new_day: bool,
) -> int | None:
    """Add the view to the counters; the member's read position in the topic after it."""
    # The totals row first: it serialises one member's concurrent views (no deadlocks).
    stats = _locked_stats(user_id)
    last_seen = stats.last_seen_at
    credit = 0
    if last_seen is not None:
        credit = int(min(max((now - last_seen).total_seconds(), 0), MAX_CREDIT))
    read_delta, read_number, entered = 0, None, False
    if number > 0:
        read_delta, read_number, entered = _advance(user_id, topic_id, number, now, per_page)
    first_today = new_day and insert_ignoring_duplicates(
        UserVisit.__table__,
        user_id=user_id,
        day=today,
        posts_read=read_delta,
        seconds_read=credit,
    )
    if not first_today and (read_delta or credit):
        db.session.execute(
            update(UserVisit)
            .where(UserVisit.user_id == user_id, UserVisit.day == today)
            .values(
                posts_read=UserVisit.posts_read + read_delta,
                seconds_read=UserVisit.seconds_read + credit,
            )
        )
    # The totals change last, after every query, so that they go out as one UPDATE (a
    # query in between would flush them piecemeal).
    if last_seen is None or now > last_seen:
        stats.last_seen_at = now
    stats.seconds_read += credit
    stats.topics_entered += int(entered)
    stats.posts_read += read_delta
    stats.days_visited += int(first_today)
    db.session.flush()
    if first_today:
        # Levels are checked lazily on the first visit of each day, so that they are
        # right even where the daily job never runs.
        user = db.session.get(User, user_id)
        if user is not None:
            trust.recompute_member(user, now)
    return read_number


def _advance(
    user_id: int, topic_id: int, number: int, now: datetime, per_page: int
) -> tuple[int, int, bool]:
    """Move the member's read position in a topic to `number` if it is further on.

    Returns (posts newly read, position after, whether the topic was entered just now).
    """
    stmt = (
        select(TopicRead)
        .where(TopicRead.user_id == user_id, TopicRead.topic_id == topic_id)
        .with_for_update()
    )
    row = db.session.scalar(stmt)
    if row is None:
        entered = insert_ignoring_duplicates(
            TopicRead.__table__,
            user_id=user_id,
            topic_id=topic_id,
            last_read_number=number,
            first_read_at=now,
        )
        if entered:
            return min(number, per_page), number, True
        row = db.session.scalar(stmt)
        if row is None:  # pragma: no cover - the topic vanished meanwhile
            return 0, number, False
    if number <= row.last_read_number:
        return 0, row.last_read_number, False
    delta = min(number - row.last_read_number, per_page)
    row.last_read_number = number
    return delta, number, False
