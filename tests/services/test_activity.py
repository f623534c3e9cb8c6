"""Reading activity: what a topic view counts, and that an unchanged view writes nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from forum import activity
from forum.database import write_intent
from forum.extensions import db
from forum.models.activity import TopicRead
from forum.models.activity import UserStats
from forum.models.activity import UserVisit
from forum.models.base import utcnow
from forum.models.topics import Topic
from forum.models.users import User
from tests import factories as f


@contextlib.contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


def _writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]


def _stats(user_id: int) -> UserStats:
    db.session.expire_all()
    return db.session.get(UserStats, user_id)


def _setup() -> tuple[int, Topic]:
    topic = f.make_topic(f.make_board(), f.make_user(trust_level=1))
    return f.make_user().id, topic


def test_first_view_counts_the_topic_its_posts_and_the_day(db):
    member_id, topic = _setup()
    now = utcnow()
    activity.record_topic_view(member_id, topic, 3, now=now)
    stats = _stats(member_id)
    assert (stats.topics_entered, stats.posts_read, stats.days_visited) == (1, 3, 1)
    assert (stats.seconds_read, stats.last_seen_at) == (0, now)
    read = db.session.get(TopicRead, (member_id, topic.id))
    assert read.last_read_number == 3
    visit = db.session.get(UserVisit, (member_id, now.date()))
    assert visit.posts_read == 3


def test_the_same_view_again_sends_no_sql_at_all(db):
    member_id, topic = _setup()
    now = utcnow()
    activity.record_topic_view(member_id, topic, 3, now=now)
    topic = db.session.get(Topic, topic.id)
    with _statements() as seen:
        activity.record_topic_view(member_id, topic, 3, now=now + timedelta(seconds=10))
        activity.record_topic_view(member_id, topic, 2, now=now + timedelta(seconds=20))
    assert seen == []


def test_reading_further_counts_only_the_new_posts(db):
    member_id, topic = _setup()
    now = utcnow()
    activity.record_topic_view(member_id, topic, 3, now=now)
    activity.record_topic_view(member_id, topic, 5, now=now + timedelta(seconds=10))
    stats = _stats(member_id)
    assert (stats.topics_entered, stats.posts_read, stats.days_visited) == (1, 5, 1)
    # It was writing anyway, so the 10 seconds since the last view were credited too.
    assert stats.seconds_read == 10
    assert db.session.get(TopicRead, (member_id, topic.id)).last_read_number == 5
    assert db.session.get(UserVisit, (member_id, now.date())).posts_read == 5


def test_a_view_counts_at_most_one_page_of_posts(db):
    member_id, topic = _setup()
    activity.record_topic_view(member_id, topic, 95)
    assert _stats(member_id).posts_read == 20  # FORUM_POSTS_PER_PAGE


def test_reading_time_is_credited_every_30_seconds_at_most_2_minutes_a_view(db):
    member_id, topic = _setup()
    start = utcnow().replace(hour=10)
    topic_id = topic.id
    for seconds in (0, 45, 55, 645):
        activity.record_topic_view(
            member_id, db.session.get(Topic, topic_id), 1, now=start + timedelta(seconds=seconds)
        )
    # 0: first view; 45: +45; 55: not yet 30 s since the last credit; 645: +120 (cap).
    stats = _stats(member_id)
    assert stats.seconds_read == 165
    assert db.session.get(UserVisit, (member_id, start.date())).seconds_read == 165


def test_a_new_day_counts_a_visit(db):
    member_id, topic = _setup()
    now = utcnow()
    activity.record_topic_view(member_id, topic, 1, now=now)
    topic = db.session.get(Topic, topic.id)
    activity.record_topic_view(member_id, topic, 1, now=now + timedelta(days=1))
    assert _stats(member_id).days_visited == 2
    visits = db.session.scalar(
        select(func.count()).select_from(UserVisit).where(UserVisit.user_id == member_id)
    )
    assert visits == 2


def test_the_first_view_of_a_day_checks_the_trust_level(db):
    member_id, topic = _setup()
    member = db.session.get(User, member_id)
    f.make_reading(member, topics_entered=5, posts_read=30, minutes_read=10)
    activity.record_topic_view(member_id, topic, 1)
    db.session.expire_all()
    assert db.session.get(User, member_id).trust_level == 1


def test_a_worker_that_forgot_reads_the_database_instead_of_writing(app, db):
    member_id, topic = _setup()
    now = utcnow()
    activity.record_topic_view(member_id, topic, 3, now=now)
    app.extensions.pop("forum_activity")
    topic = db.session.get(Topic, topic.id)
    with _statements() as seen:
        activity.record_topic_view(member_id, topic, 3, now=now + timedelta(seconds=5))
    assert _writes(seen) == []
    assert len(seen) <= 4


def test_a_busy_database_drops_the_update_quietly(db, monkeypatch):
    member_id, topic = _setup()
    topic_id = topic.id

    def locked(*_args):
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    monkeypatch.setattr(activity, "_write", locked)
    activity.record_topic_view(member_id, topic, 3)
    monkeypatch.undo()
    # Nothing was remembered as written: the next view records it.
    activity.record_topic_view(member_id, db.session.get(Topic, topic_id), 3)
    assert _stats(member_id).posts_read == 3


def test_topic_page_records_members_only(client, login_as):
    f.set_settings(guest_access="public_boards")
    topic = f.make_topic(f.make_board(), f.make_user(trust_level=1))
    f.make_post(topic, f.make_user(trust_level=1))
    assert client.get(f"/t/{topic.id}").status_code == 200
    assert db.session.scalar(select(func.count()).select_from(TopicRead)) == 0
    member = f.make_user()
    login_as(member)
    assert client.get(f"/t/{topic.id}").status_code == 200
    read = db.session.get(TopicRead, (member.id, topic.id))
    assert read.last_read_number == 2


def test_inserting_an_existing_key_is_reported_not_raised(db):
    member_id, _topic = _setup()
    assert activity.insert_ignoring_duplicates(UserStats.__table__, user_id=member_id) is True
    assert activity.insert_ignoring_duplicates(UserStats.__table__, user_id=member_id) is False


def test_a_view_gives_up_quickly_when_another_writer_holds_sqlite(db, backend, tmp_path):
    """A page view never waits out the full busy timeout for its best-effort update."""
    if backend != "sqlite":
        return  # PostgreSQL takes row locks; there is no database-wide write lock
    member_id, topic = _setup()
    db.session.commit()
    other = db.engine.raw_connection()
    reading = write_intent.set(False)  # as in a GET request
    try:
        other.cursor().execute("BEGIN IMMEDIATE")
        activity.record_topic_view(member_id, topic, 3)
        other.cursor().execute("ROLLBACK")
    finally:
        write_intent.reset(reading)
        other.close()
    assert db.session.get(TopicRead, (member_id, topic.id)) is None
    # The next transaction waits as long as usual again.
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
