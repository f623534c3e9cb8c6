"""`forum migrate-to URL`: an SQLite forum moved into an empty PostgreSQL database answers
the same, refuses what it must, and a copy that does not read back the same is never
committed.

Every test needs a PostgreSQL server (a throwaway database each) and is skipped, with
the reason in the summary, without one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text

from forum import transfer
from forum.cli import main
from forum.extensions import MIGRATIONS_PATH
from forum.extensions import db as _db
from forum.extensions import init_migrations
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.outbox import OutboxRow
from forum.models.posts import Post
from forum.models.security import ThrottleEvent
from forum.models.topics import Topic
from forum.models.users import User
from tests import factories
from tests.blueprints.conftest import log_in
from tests.blueprints.conftest import without_csrf
from tests.conftest import make_test_app
from tests.conftest import throwaway_postgres

# Tables a small seeded forum leaves empty (none, so far: a new table must be seeded
# here, or listed with the reason).
MAY_BE_EMPTY: set[str] = set()


@pytest.fixture
def source(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An SQLite forum made by the real migrations (as `forum init` makes one)."""
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    url = f"sqlite:///{instance / 'forum.db'}"
    app = make_test_app(url, instance)
    with app.app_context():
        init_migrations(app)
        upgrade(directory=str(MIGRATIONS_PATH))
        _db.session.remove()
        _db.engine.dispose()
    yield url, instance


@pytest.fixture
def target() -> Iterator[str]:
    """An empty PostgreSQL database."""
    with throwaway_postgres("forum_move", schema=False) as url:
        yield url


def _closed(app: Flask) -> None:
    _db.session.remove()
    _db.engine.dispose()


def _seed_talk(member, owner, outsider, secret, topic, first) -> None:
    """Issues 13 and 14: mail settings and throttles, a conversation with a report and a
    block, a chat room with a reported message, a meeting with an answer, a reminder sent
    and a calendar, and a personal reminder."""
    from forum.models.email import MailThrottle
    from forum.services import chat
    from forum.services import meetings
    from forum.services import messages
    from forum.services import notification_mail
    from forum.services import reminders

    member_actor, owner_actor = factories.actor(member), factories.actor(owner)
    notification_mail.set_email_settings(member_actor, {"link_only": False})
    _db.session.add(MailThrottle(user_id=member.id, key=f"topic:{topic.id}"))
    conversation = messages.start_conversation(
        member_actor, recipients=[owner.username], title="Checking in", body="How are you?"
    )
    answer = messages.send_message(owner_actor, conversation, body="Better, thanks.")
    messages.report_message(member_actor, answer, reason="abuse")
    messages.block_user(member_actor, outsider)
    chat_room = chat.open_chat_room(owner_actor, secret, name="Quiet chat")
    said = chat.post_chat_message(owner_actor, chat_room, body="Evening all")
    chat.report_chat_message(member_actor, said, reason="spam")
    meeting = meetings.create_meeting(
        owner_actor,
        secret,
        {
            "title": "Circle night",
            "starts_at": (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT19:00"),
            "timezone": "Europe/London",
            "repeat": "weekly",
        },
    )
    meetings.answer_meeting(member_actor, meeting, answer="going")
    meetings.new_feed_token(member_actor)
    _db.session.flush()
    first_time = meetings.occurrence(meeting, 0)
    assert meetings.send_due_reminders(first_time - timedelta(hours=23)) == 1
    reminders.remind_me(member_actor, first, preset="tomorrow")
    _db.session.commit()


def seed(url: str, instance: Path) -> dict[str, Any]:
    """A small forum with a row in every table, made through the services."""
    from forum.activity import record_topic_view
    from forum.models.groups import Role
    from forum.models.notifications import WatchScope
    from forum.moderation import actions
    from forum.moderation import appeals
    from forum.moderation import sanctions
    from forum.services import accounts
    from forum.services import groups
    from forum.services import likes
    from forum.services import notifications
    from forum.services import posts
    from forum.services import watching

    app = make_test_app(url, instance)
    with app.app_context():
        admin = factories.make_admin("admin")
        member = factories.make_user("member", trust_level=2)
        outsider = factories.make_user("outsider", trust_level=2)
        leaver = factories.make_user("leaver", trust_level=1)
        asker = factories.make_user("asker", trust_level=1)
        secret = factories.make_group(
            "Quiet room", slug="quiet", secret=True, members=(member, leaver)
        )
        owner = factories.owner_of(secret)
        public = factories.make_board("Public square")
        room = factories.make_board("Quiet board", group=secret)
        # A board whose parent is newer than itself: a reference forward in id order.
        child = factories.make_board("Older child")
        parent = factories.make_board("Newer parent")
        _db.session.get(Board, child.id).parent_id = parent.id
        _db.session.commit()
        topic = factories.make_topic(room, member, title="Day ninety", body="Still here.")
        first = _db.session.scalar(select(Post).where(Post.topic_id == topic.id))
        reply = factories.make_post(topic, owner, body="Proud of you.", reply_to=first)
        open_topic = factories.make_topic(public, outsider, title="Hello all")
        spam = factories.make_post(open_topic, leaver, body="Buy things now.")
        posts.edit_post(factories.actor(member), first, body="Still here, day ninety.")
        likes.like_post(factories.actor(owner), first)
        factories.make_report(spam, member, reason="spam")
        actions.lock_topic(factories.actor(admin), open_topic, reason="Quiet for a while")
        silenced = sanctions.silence_member(
            factories.actor(admin), leaver, group=None, days=3, reason="Spam links"
        )
        _db.session.commit()
        appeals.appeal(
            factories.actor(leaver), target_type="sanction", target_id=silenced.id, text="Sorry"
        )
        groups.remove_member(factories.actor(owner), secret, leaver.username)
        groups.invite_member(factories.actor(owner), secret, admin, role=Role.MEMBER)
        groups.request_to_join(factories.actor(asker), _public_group(owner))
        groups.break_glass(factories.actor(admin), secret, reason="A court order, ticket 42")
        notifications.notify(member.id, "reply", "A reply", post_id=reply.id)
        watching.set_watch_level(factories.actor(member), WatchScope.TOPIC, topic.id, "watching")
        notifications.set_preferences(
            factories.actor(member), {"like": {"in_app": False, "email": "never"}}
        )
        _seed_talk(member, owner, outsider, secret, topic, first)
        factories.make_invitation(None)
        factories.make_session(member)
        accounts.issue_api_token(member)
        accounts.issue_recovery_codes(member)
        factories.set_settings(registration="invite_only")
        factories.make_visits(member, 2)
        factories.make_reading(member, topics_entered=1, posts_read=2)
        _db.session.add(ThrottleEvent(key="login:member"))
        _db.session.commit()
        record_topic_view(member.id, topic, 2)
        _db.session.commit()
        # A mail waiting for its retry (a request's drain takes only what is due).
        _db.session.add(
            OutboxRow(
                kind="mail",
                payload="{}",
                attempts=1,
                next_attempt_at=datetime.now(UTC) + timedelta(days=1),
                last_error="the mail server did not answer",
            )
        )
        # Outbox ids are never reused: the newest row is gone, SQLite's counter is not.
        last = OutboxRow(kind="mail", payload="{}")
        _db.session.add(last)
        _db.session.commit()
        _db.session.delete(last)
        _db.session.commit()
        seeded = {
            "topic": topic.id,
            "reply": reply.id,
            "child": child.id,
            "parent": parent.id,
            "max_post": _db.session.scalar(select(func.max(Post.id))),
        }
        _closed(app)
    return seeded


def _public_group(owner: User) -> Group:
    return factories.make_group("Open circle", slug="open-circle", owner=owner)


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())  # noqa: S608
                for name in inspect(conn).get_table_names()
            }
    finally:
        engine.dispose()


def sqlite_counter(url: str, table: str) -> int:
    """The highest id an SQLite AUTOINCREMENT table ever handed out."""
    with sqlite3.connect(make_path(url)) as conn:
        return int(
            conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()[0]
        )


def max_id(url: str, table: str) -> int:
    with sqlite3.connect(make_path(url)) as conn:
        return int(conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0])  # noqa: S608


def run_migrate_to(monkeypatch: pytest.MonkeyPatch, url: str, instance: Path, *args: str) -> Any:
    monkeypatch.setenv("FORUM_DATABASE_URL", url)
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("FORUM_SECRET_KEY", "a test key for the moving forum")
    return CliRunner().invoke(main, ["migrate-to", *args], catch_exceptions=False)


def page_and_api(app: Flask, topic_id: int) -> dict[str, Any]:
    """What the member and an outsider get for the secret topic, logged in with their
    passwords (on the page and through the API)."""
    answers: dict[str, Any] = {}
    # No app context around the requests: each gets its own (its own actor and `g`).
    member = app.test_client()
    assert log_in(member, "member").status_code == 302
    answers["page"] = without_csrf(member.get(f"/t/{topic_id}").get_data(as_text=True))
    token = app.test_client().post(
        "/api/v1/auth/token", json={"username": "member", "password": factories.PASSWORD}
    )
    assert token.status_code == 201
    bearer = {"Authorization": f"Bearer {token.get_json()['token']}"}
    answers["api"] = app.test_client().get(f"/api/v1/topics/{topic_id}", headers=bearer)
    answers["api"] = (answers["api"].status_code, answers["api"].get_json())
    outsider = app.test_client()
    assert log_in(outsider, "outsider").status_code == 302
    seen = outsider.get(f"/t/{topic_id}")
    answers["outsider"] = seen.status_code
    missing = outsider.get("/t/999999")
    answers["outsider_as_missing"] = without_csrf(seen.get_data(as_text=True)) == without_csrf(
        missing.get_data(as_text=True)
    )
    answers["guest"] = app.test_client().get(f"/api/v1/topics/{topic_id}").status_code
    with app.app_context():
        _closed(app)
    return answers


def test_moved_forum_answers_the_same_and_keeps_counting(monkeypatch, source, target):
    url, instance = source
    seeded = seed(url, instance)
    before = page_and_api(make_test_app(url, instance), seeded["topic"])
    counts = row_counts(url)
    empty = {n for n, c in counts.items() if c == 0 and n not in ("sqlite_sequence",)}
    assert empty <= MAY_BE_EMPTY, f"seed a row into {sorted(empty)}"
    assert before["api"][0] == 200 and "Day ninety" in before["page"]
    assert (before["outsider"], before["guest"], before["outsider_as_missing"]) == (404, 404, True)

    outbox_counter = sqlite_counter(url, "outbox")
    assert outbox_counter > max_id(url, "outbox")

    result = run_migrate_to(monkeypatch, url, instance, target)

    assert result.exit_code == 0, result.output
    assert "MISMATCH" not in result.output
    assert f"FORUM_DATABASE_URL={target}" in result.output
    assert "FORUM_SEARCH_BACKEND=postgres" in result.output
    moved = row_counts(target)
    for name, count in counts.items():
        if name != "sqlite_sequence":
            assert moved[name] == count, name
    assert moved["search_documents"] == 0  # built by `forum init` / `forum reindex`
    app = make_test_app(target, instance)
    # Logged in with the same passwords, the member sees the same; the outsider nothing.
    assert page_and_api(app, seeded["topic"]) == before
    with app.app_context():
        assert _db.session.get(Board, seeded["child"]).parent_id == seeded["parent"]
        assert _db.session.get(Post, seeded["reply"]).reply_to_id is not None
        waiting = _db.session.scalar(select(OutboxRow).where(OutboxRow.last_error.is_not(None)))
        assert (waiting.kind, waiting.attempts) == ("mail", 1)  # still to deliver, from here
        # New rows get fresh ids: no collision with a copied one, no reused outbox id.
        row = OutboxRow(kind="mail", payload="{}")
        _db.session.add(row)
        _db.session.commit()
        assert row.id == outbox_counter + 1
        reply = factories.make_post(
            _db.session.get(Topic, seeded["topic"]),
            _db.session.scalar(select(User).where(User.username == "member")),
            body="After the move.",
        )
        assert reply.id == seeded["max_post"] + 1
        _closed(app)


def test_postgres_search_is_built_by_init_after_the_move(monkeypatch, source, target):
    url, instance = source
    seeded = seed(url, instance)
    assert run_migrate_to(monkeypatch, url, instance, target).exit_code == 0
    monkeypatch.setenv("FORUM_DATABASE_URL", target)
    monkeypatch.setenv("FORUM_SEARCH_BACKEND", "postgres")
    result = CliRunner().invoke(main, ["init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert row_counts(target)["search_documents"] == seeded["max_post"]
    app = make_test_app(target, instance, FORUM_SEARCH_BACKEND="postgres")
    client = app.test_client()
    assert log_in(client, "member").status_code == 302
    found = client.get("/api/v1/search?q=ninety").get_json()
    outsider = app.test_client()
    assert log_in(outsider, "outsider").status_code == 302
    hidden = outsider.get("/api/v1/search?q=ninety").get_json()
    with app.app_context():
        _closed(app)
    assert found["total"] >= 1
    assert hidden["total"] == 0


def test_target_with_rows_is_refused_and_left_as_it_was(monkeypatch, source, target):
    url, instance = source
    seed(url, instance)
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE users (id integer primary key, username text)"))
        conn.execute(text("INSERT INTO users VALUES (7, 'someone')"))
    engine.dispose()

    result = run_migrate_to(monkeypatch, url, instance, target)

    assert result.exit_code != 0
    assert "not empty (users hold rows)" in result.output
    assert "nothing was changed" in result.output
    assert row_counts(target) == {"users": 1}


def test_source_behind_the_newest_migration_is_refused(monkeypatch, source, target):
    url, instance = source
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0015'"))
    engine.dispose()

    result = run_migrate_to(monkeypatch, url, instance, target)

    assert result.exit_code != 0
    assert "run `forum init` first" in result.output
    assert row_counts(target) == {}


def test_sqlite_target_or_postgres_source_is_refused(monkeypatch, source, tmp_path):
    url, instance = source
    result = run_migrate_to(monkeypatch, url, instance, f"sqlite:///{tmp_path / 'other.db'}")
    assert result.exit_code != 0 and "must be PostgreSQL" in result.output
    with pytest.raises(transfer.TransferError, match="no SQLite database"):
        transfer.check_urls(f"sqlite:///{tmp_path / 'none.db'}", "postgresql+psycopg://u@h/b")
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(transfer.TransferError, match="not SQLite"):
        transfer.check_urls("postgresql+psycopg://u@h/a", "postgresql+psycopg://u@h/b")


def _migrate_in_app(url: str, instance: Path, target: str, **options: Any) -> transfer.Transfer:
    app = make_test_app(target, instance)
    with app.app_context():
        init_migrations(app)
        try:
            return transfer.migrate(url, target, **options)
        finally:
            _closed(app)


def test_a_row_changed_before_verification_is_reported_and_nothing_committed(
    monkeypatch, source, target
):
    url, instance = source
    seeded = seed(url, instance)

    def tamper(conn: Any) -> None:
        conn.execute(
            text("UPDATE posts SET body = 'changed' WHERE id = :id"), {"id": seeded["reply"]}
        )

    copy = transfer.migrate
    monkeypatch.setattr(
        transfer, "migrate", lambda *args, **kw: copy(*args, **kw, before_verify=tamper, batch=3)
    )
    result = run_migrate_to(monkeypatch, url, instance, target)

    assert result.exit_code != 0
    mismatched = [line.split()[0] for line in result.output.splitlines() if "MISMATCH" in line]
    assert mismatched == ["posts"]
    assert "does not match the source in posts; nothing was committed" in result.output
    assert row_counts(target) == {}  # not even the schema


def test_a_write_to_the_source_during_the_copy_stops_the_move(source, target):
    url, instance = source
    seed(url, instance)

    def write_to_source(_conn: Any) -> None:
        other = sqlite3.connect(make_path(url))
        other.execute("INSERT INTO throttle_events (key, created_at) VALUES ('x', '2026-01-01')")
        other.commit()
        other.close()

    with pytest.raises(transfer.TransferError, match="written to during the copy"):
        _migrate_in_app(url, instance, target, before_verify=write_to_source)
    assert row_counts(target) == {}


def make_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def test_checksums_read_values_the_same_way_from_either_database():
    aware = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    elsewhere = aware.astimezone(timezone(timedelta(hours=2)))
    naive = aware.replace(tzinfo=None)  # SQLite hands back UTC without a zone
    assert transfer.row_digest([aware]) == transfer.row_digest([elsewhere])
    assert transfer.row_digest([aware]) == transfer.row_digest([naive])
    assert transfer.row_digest([True]) != transfer.row_digest([1])
    assert transfer.row_digest([b"\x00"]) != transfer.row_digest(["00"])
    assert transfer.row_digest([{"b": 1, "a": [2]}]) == transfer.row_digest([{"a": [2], "b": 1}])
    one, other = transfer.Checksum(), transfer.Checksum()
    for row in ([1, "a"], [2, "b"]):
        one.add(row)
    for row in ([2, "b"], [1, "a"]):
        other.add(row)
    assert (one.rows, one.hexdigest) == (other.rows, other.hexdigest)
    twice = transfer.Checksum()
    for row in ([1, "a"], [1, "a"]):
        twice.add(row)
    assert twice.total != 0 and twice.total != one.total
