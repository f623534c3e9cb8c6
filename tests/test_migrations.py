"""Migrations: upgrade an empty database to head, keep data across upgrades, no drift."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import text

from forum.extensions import db
from forum.extensions import init_migrations
from forum.search.postgres_backend import include_object
from tests.conftest import make_test_app

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def _revisions() -> list[str]:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    script = ScriptDirectory.from_config(config)
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_upgrade_empty_database_leaves_no_autogenerate_diff(empty_url, tmp_path):
    app = make_test_app(empty_url, tmp_path / "instance")
    init_migrations(app)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            # As migrations/env.py does: the search backend's table is not a model.
            context = MigrationContext.configure(conn, opts={"include_object": include_object})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == []


def test_upgrade_from_first_revision_keeps_data(empty_url, tmp_path):
    first = _revisions()[0]
    app = make_test_app(empty_url, tmp_path / "instance")
    init_migrations(app)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=first)
        # Plain SQL on the first revision's columns: the models may have moved on since.
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, username_key, password_hash, is_admin,"
                    " is_moderator, trust_level, auth_epoch, created_at, show_join_date, bio)"
                    " VALUES (1, 'Early', 'early', 'x', false, false, 1, 0,"
                    " '2026-01-02 03:04:05', false, 'hello')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO boards (id, name, description, position, created_at,"
                    " topics_count, posts_count) VALUES (1, 'Board', '', 1,"
                    " '2026-01-02 03:04:05', 1, 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO topics (id, board_id, author_id, title, created_at, last_post_at,"
                    " posts_count, next_number, pinned, locked) VALUES (1, 1, 1, 'Kept title',"
                    " '2026-01-02 03:04:05', '2026-01-02 03:04:05', 1, 2, false, false)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO posts (id, topic_id, number, author_id, body, html,"
                    " renderer_version, created_at, revisions_count) VALUES (1, 1, 1, 1,"
                    " 'kept body', '<p>kept body</p>', 1, '2026-01-02 03:04:05', 0)"
                )
            )
        upgrade(directory=MIGRATIONS)
        from forum.models.posts import Post
        from forum.models.users import User

        post = db.session.get(Post, 1)
        assert post is not None and post.body == "kept body"
        assert post.topic.title == "Kept title"
        assert post.topic.revision == 0  # added by 0002 with a default for old rows
        user = db.session.get(User, 1)
        assert user is not None and user.username == "Early" and user.trust_level == 1
        db.session.remove()
        db.engine.dispose()


def test_upgrade_to_0010_keeps_earlier_removals(empty_url, tmp_path):
    """Removals logged before 0010 stick: the removed are kept out, those back stay in."""
    from datetime import UTC
    from datetime import datetime

    app = make_test_app(empty_url, tmp_path / "instance")
    init_migrations(app)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0009")
        with db.engine.begin() as conn:
            for user_id, name in ((1, "owner"), (2, "gone"), (3, "back"), (4, "left")):
                conn.execute(
                    text(
                        "INSERT INTO users (id, username, username_key, password_hash, is_admin,"
                        " is_moderator, trust_level, auth_epoch, created_at, show_join_date, bio,"
                        " memberships_version, trust_level_locked, has_unread_notifications)"
                        " VALUES (:id, :name, :name, 'x', false, false, 1, 0, :at, false, '',"
                        " 0, false, false)"
                    ),
                    {"id": user_id, "name": name, "at": when},
                )
            conn.execute(
                text(
                    "INSERT INTO groups (id, name, slug, description, visibility, created_at,"
                    " log_visible_to_members, approve_first_posts)"
                    " VALUES (1, 'G', 'g', '', 'secret', :at, false, 0)"
                ),
                {"at": when},
            )
            for user_id, role in ((1, "owner"), (3, "member")):
                conn.execute(
                    text(
                        "INSERT INTO memberships (group_id, user_id, role, created_at)"
                        " VALUES (1, :user, :role, :at)"
                    ),
                    {"user": user_id, "role": role, "at": when},
                )
            # gone and back were removed (back twice, and is a member again); left left.
            for entry_id, action, target in (
                (1, "remove_member", 2),
                (2, "remove_member", 3),
                (3, "remove_member", 3),
                (4, "leave_group", 4),
            ):
                conn.execute(
                    text(
                        "INSERT INTO moderation_log (id, actor_id, action, target_type,"
                        " target_id, group_id, reason, created_at, data, actor_rank)"
                        " VALUES (:id, 1, :action, 'user', :target, 1, '', :at, '{}', 2)"
                    ),
                    {"id": entry_id, "action": action, "target": target, "at": when},
                )
        upgrade(directory=MIGRATIONS)
        from forum.models.groups import GroupExclusion

        rows = db.session.scalars(db.select(GroupExclusion)).all()
        assert [(r.group_id, r.user_id, r.kind.value, r.created_by_id) for r in rows] == [
            (1, 2, "removed", 1)
        ]
        assert rows[0].lifted_at is None and rows[0].created_at == when
        db.session.remove()
        db.engine.dispose()
