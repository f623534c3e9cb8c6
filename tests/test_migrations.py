"""Migrations: upgrade an empty database to head, keep data across upgrades, no drift."""

from __future__ import annotations

import json
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import column
from sqlalchemy import select
from sqlalchemy import table
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


def _insert(conn: Any, table_name: str, /, **values: Any) -> None:
    """Insert one row by column name (no model: the models are ahead of the revision)."""
    conn.execute(table(table_name, *(column(key) for key in values)).insert().values(**values))


def _grant(before: int, before_locked: bool, after: int, after_locked: bool) -> str:
    return json.dumps(
        {
            "before": {"level": before, "locked": before_locked},
            "after": {"level": after, "locked": after_locked},
        }
    )


def test_upgrade_to_0011_moves_owner_grants_into_their_group(empty_url, tmp_path):
    """Trust levels group owners set site-wide become grants inside their group; the site
    level goes back to what it was; admins' grants stay; stale report scopes follow."""
    app = make_test_app(empty_url, tmp_path / "instance")
    init_migrations(app)
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0009")
        with db.engine.begin() as conn:
            # 1 admin, 2 owner, 3 victim (was 2, set to 0 locked), 4 puppet (was 0, set
            # to 3 locked), 5 settled (an owner set 3, then an admin set 1 locked).
            for uid, name, admin, level, locked in (
                (1, "admin", True, 4, True),
                (2, "owner", False, 1, False),
                (3, "victim", False, 0, True),
                (4, "puppet", False, 3, True),
                (5, "settled", False, 1, True),
            ):
                _insert(
                    conn,
                    "users",
                    id=uid,
                    username=name,
                    username_key=name,
                    password_hash="x",
                    is_admin=admin,
                    is_moderator=False,
                    trust_level=level,
                    trust_level_locked=locked,
                    auth_epoch=0,
                    created_at=at,
                    show_join_date=False,
                    bio="",
                )
            _insert(
                conn,
                "groups",
                id=1,
                name="Secret",
                slug="secret",
                description="",
                visibility="secret",
                created_at=at,
            )
            for uid, role in ((2, "owner"), (3, "member"), (4, "member"), (5, "member")):
                _insert(
                    conn, "memberships", id=uid, group_id=1, user_id=uid, role=role, created_at=at
                )
            for eid, actor, target, group, data, rank in (
                (1, 2, 3, 1, _grant(2, False, 0, True), 2),
                (2, 2, 4, 1, _grant(0, False, 3, True), 2),
                (3, 2, 5, 1, _grant(0, False, 3, True), 2),
                (4, 1, 5, None, _grant(3, True, 1, True), 4),
            ):
                _insert(
                    conn,
                    "moderation_log",
                    id=eid,
                    actor_id=actor,
                    action="trust_level_granted",
                    target_type="user",
                    target_id=target,
                    group_id=group,
                    reason="",
                    created_at=at,
                    data=data,
                    actor_rank=rank,
                )
            # A handled report left on the site after its topic moved into the group.
            _insert(
                conn,
                "boards",
                id=1,
                name="Hidden",
                description="",
                position=1,
                created_at=at,
                topics_count=1,
                posts_count=1,
                group_id=1,
            )
            _insert(
                conn,
                "topics",
                id=1,
                board_id=1,
                author_id=3,
                title="Moved",
                created_at=at,
                last_post_at=at,
                posts_count=1,
                next_number=2,
                pinned=False,
                locked=False,
            )
            _insert(
                conn,
                "posts",
                id=1,
                topic_id=1,
                number=1,
                author_id=3,
                body="b",
                html="<p>b</p>",
                renderer_version=1,
                created_at=at,
                revisions_count=0,
            )
            _insert(
                conn,
                "reports",
                id=1,
                post_id=1,
                group_id=None,
                status="dismissed",
                score=4,
                created_at=at,
                resolution="",
                resolution_reason="",
            )
            _insert(
                conn,
                "flags",
                id=1,
                report_id=1,
                post_id=1,
                reporter_id=4,
                reason="spam",
                note="",
                weight=4,
                created_at=at,
                updated_at=at,
            )
        upgrade(directory=MIGRATIONS)
        with db.engine.connect() as conn:
            users = {
                uid: (level, bool(locked))
                for uid, level, locked in conn.execute(
                    select(
                        column("id"), column("trust_level"), column("trust_level_locked")
                    ).select_from(table("users"))
                )
            }
            memberships = table(
                "memberships",
                column("user_id"),
                column("trust_level"),
                column("trust_granted_by_id"),
            )
            grants = {
                uid: (level, by)
                for uid, level, by in conn.execute(
                    select(
                        memberships.c.user_id,
                        memberships.c.trust_level,
                        memberships.c.trust_granted_by_id,
                    )
                )
            }
            report_scope = conn.execute(
                select(column("group_id")).select_from(table("reports"))
            ).scalar()
            flag_level = conn.execute(
                select(column("trust_level")).select_from(table("flags"))
            ).scalar()
        db.engine.dispose()
    # Site levels back to their "before"; the admin's later decision stands.
    assert users == {1: (4, True), 2: (1, False), 3: (2, False), 4: (0, False), 5: (1, True)}
    # The owners' grants now count inside the group only (0 is no grant).
    assert grants == {2: (None, None), 3: (None, None), 4: (3, 2), 5: (3, 2)}
    assert report_scope == 1
    # A flag records the level its weight was based on when it was made (here 3).
    assert flag_level == 3


def test_upgrade_starts_the_idle_clock_of_existing_api_tokens(empty_url, tmp_path):
    # Before 0012 nothing wrote `last_used_at`: a token made long ago and used daily
    # must not die at the upgrade because its idle time seems to start at creation.
    app = make_test_app(empty_url, tmp_path / "instance")
    init_migrations(app)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0009")
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, username, username_key, password_hash, is_admin,"
                    " is_moderator, trust_level, auth_epoch, created_at, show_join_date, bio)"
                    " VALUES (1, 'Early', 'early', 'x', false, false, 1, 0,"
                    " '2025-01-02 03:04:05', false, '')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO api_tokens (id, user_id, token_hash, auth_epoch, created_at)"
                    " VALUES (1, 1, 'abc', 0, '2025-01-02 03:04:05')"
                )
            )
        upgrade(directory=MIGRATIONS)
        from forum.models.base import utcnow
        from forum.models.users import ApiToken

        token = db.session.get(ApiToken, 1)
        assert token is not None and token.last_used_at is not None
        assert (utcnow() - token.last_used_at).total_seconds() < 3600
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


def test_upgrade_moves_the_search_queue_into_the_outbox_and_back(empty_url, tmp_path):
    """0015: queued posts become outbox rows of kind "search", in order, and a downgrade
    puts them back (mail rows have nowhere to go there and are dropped)."""
    app = make_test_app(empty_url, tmp_path / "instance")
    init_migrations(app)
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0014")
        with db.engine.begin() as conn:
            for queue_id, post_id in ((3, 30), (5, 10), (8, 20)):
                conn.execute(
                    text(
                        "INSERT INTO search_queue (id, post_id, queued_at)"
                        " VALUES (:id, :post_id, '2026-12-01 10:00:00')"
                    ),
                    {"id": queue_id, "post_id": post_id},
                )
        upgrade(directory=MIGRATIONS)
        with db.engine.begin() as conn:
            moved = conn.execute(
                text(
                    "SELECT kind, subject_id, attempts, failed_at, created_at, next_attempt_at"
                    " FROM outbox ORDER BY id"
                )
            ).all()
            assert "search_queue" not in db.inspect(conn).get_table_names()
            conn.execute(
                text(
                    "INSERT INTO outbox (kind, payload, created_at, attempts, next_attempt_at)"
                    " VALUES ('mail', '{}', '2026-12-01 10:00:00', 0, '2026-12-01 10:00:00')"
                )
            )
        from flask_migrate import downgrade

        downgrade(directory=MIGRATIONS, revision="0014")
        with db.engine.connect() as conn:
            back = conn.execute(text("SELECT post_id FROM search_queue ORDER BY id")).all()
            assert "outbox" not in db.inspect(conn).get_table_names()
        db.engine.dispose()
    assert [(kind, subject, attempts, failed) for kind, subject, attempts, failed, *_ in moved] == [
        ("search", 30, 0, None),
        ("search", 10, 0, None),
        ("search", 20, 0, None),
    ]
    assert all(str(row.created_at).startswith("2026-12-01 10:00:00") for row in moved)
    assert all(row.created_at == row.next_attempt_at for row in moved)
    assert [row.post_id for row in back] == [30, 10, 20]
