"""Likes: one per member per post. Posts show how many; nobody's list of likes is shown.

A like lives inside the post's audience: it is given only to a post the member can
read (callers load posts through `policy.require_post`, so a hidden one is a 404), and
what leaves this module is a count on the post and the member's own likes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from forum import policy
from forum.extensions import db
from forum.models.activity import PostLike
from forum.models.base import utcnow
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.policy import Actor
from forum.services import notifications


def _check(actor: Actor, post: Post) -> int:
    """The actor's user id if they may like (or unlike) the post; else the telling error."""
    policy.check_like_post(actor, post)
    return policy.require_member(actor)


def _insert_new(values: dict[str, Any]) -> bool:
    # ON CONFLICT DO NOTHING: a double click (two requests at once) adds one like, and the
    # second request learns it added none, on SQLite and PostgreSQL alike.
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, not the row count: psycopg reports none for an INSERT.
    table = PostLike.__table__
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(table.c.post_id)
    return db.session.execute(stmt).first() is not None


def _changed(post: Post, step: int) -> None:
    post.likes_count = Post.likes_count + step
    # The count shows on the topic's cached pages, which are keyed by its revision.
    post.topic.revision = Topic.revision + 1
    db.session.flush()


def like_post(actor: Actor, post: Post) -> bool:
    """Like a post (not one's own); True if added, False if the member liked it already."""
    user_id = _check(actor, post)
    added = _insert_new(
        {
            "post_id": post.id,
            "user_id": user_id,
            "author_id": post.author_id,
            "created_at": utcnow(),
        }
    )
    if added:
        _changed(post, +1)
        notifications.notify_like(actor, post)
    return added


def unlike_post(actor: Actor, post: Post) -> bool:
    """Take a like back; True if there was one."""
    user_id = _check(actor, post)
    # RETURNING, not the row count (see `_insert_new`): when it was given, for the author's
    # pending like notification.
    table = PostLike.__table__
    liked_at = db.session.execute(
        delete(table)
        .where(table.c.post_id == post.id, table.c.user_id == user_id)
        .returning(table.c.created_at)
    ).scalar()
    if liked_at is None:
        return False
    _changed(post, -1)
    notifications.withdraw_like(actor, post, liked_at)
    return True


def liked_post_ids(actor: Actor, post_ids: Iterable[int]) -> set[int]:
    """Which of these posts the actor has liked (one query; empty for guests)."""
    wanted = sorted(set(post_ids))
    if not actor.is_member or not wanted:
        return set()
    found = db.session.scalars(
        select(PostLike.post_id).where(
            PostLike.user_id == actor.user_id, PostLike.post_id.in_(wanted)
        )
    )
    return set(found)
