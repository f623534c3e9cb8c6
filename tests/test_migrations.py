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


def test_upgrade_renumbers_board_positions_per_scope(empty_url, tmp_path):
    """Positions numbered across the site (0001-0009) become 1, 2, ... per scope, in order."""
    app = make_test_app(empty_url, tmp_path / "instance")
    init_migrations(app)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0009")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO groups (id, name, slug, description, visibility, created_at,"
                    " log_visible_to_members, approve_first_posts) VALUES"
                    " (1, 'Secret', 'secret', '', 'secret', '2026-01-02 03:04:05', false, 0)"
                )
            )
            # (id, group, parent, position): site boards 1 and 4 around secret boards 2, 3.
            for board_id, group_id, parent_id, position in (
                (1, None, None, 1),
                (2, 1, None, 2),
                (3, 1, None, 3),
                (4, None, None, 4),
                (5, None, 4, 2),
                (6, None, 4, 1),
            ):
                conn.execute(
                    text(
                        "INSERT INTO boards (id, group_id, parent_id, name, description,"
                        " position, created_at, topics_count, posts_count, revision) VALUES"
                        " (:id, :group_id, :parent_id, 'Board', '', :position,"
                        " '2026-01-02 03:04:05', 0, 0, 0)"
                    ),
                    {
                        "id": board_id,
                        "group_id": group_id,
                        "parent_id": parent_id,
                        "position": position,
                    },
                )
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            found = dict(conn.execute(text("SELECT id, position FROM boards")).all())
        db.engine.dispose()
    assert found == {1: 1, 4: 2, 2: 1, 3: 2, 6: 1, 5: 2}
