"""Unread tracking, the writing side: marking topics read and dismissing new topics.

Positions only move forward. Marking is not reading: nothing here adds to the trust
level counters (posts read, time reading), which only page views feed
(`forum.activity`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from forum import policy
from forum import unread
from forum import validation
from forum.errors import NotFound
from forum.extensions import db
from forum.models.activity import TopicRead
from forum.models.base import utcnow
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor


def _advance(user_id: int, topic_id: int, number: int) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Insert if missing (a concurrent insert of the same key is no error), then move an
    # existing position forward only.
    db.session.execute(
        insert(TopicRead.__table__)
        .values(user_id=user_id, topic_id=topic_id, last_read_number=number, first_read_at=utcnow())
        .on_conflict_do_nothing()
    )
    db.session.execute(
        update(TopicRead)
        .where(
            TopicRead.user_id == user_id,
            TopicRead.topic_id == topic_id,
            TopicRead.last_read_number < number,
        )
        .values(last_read_number=number)
    )


def mark_topic_read(actor: Actor, topic: Topic, *, last_read: Any) -> int:
    """Move the member's position in a topic (loaded through policy) forward to post
    number `last_read` (clamped to the topic's last post); returns the position after."""
    user_id = policy.require_member(actor)
    wanted = validation.integer(last_read, "last_read", minimum=0)
    number = min(wanted, topic.next_number - 1)
    if number > 0:
        _advance(user_id, topic.id, number)
    db.session.flush()
    position = unread.read_position(actor, topic.id)
    return position or 0


def mark_own_post_read(actor: Actor, post: Post) -> None:
    """The member's own new post is no news to them: move their position onto it, but
    only if they had read everything before it (else what they skipped stays unread)."""
    user_id = policy.require_member(actor)
    position = unread.read_position(actor, post.topic_id) or 0
    if position >= post.number - 1:
        _advance(user_id, post.topic_id, post.number)


def mark_all_read(actor: Actor) -> int:
    """Mark every topic of the member's unread list read to its end; how many changed."""
    user_id = policy.require_member(actor)
    ids = unread.unread_topic_ids(actor)
    if not ids:
        return 0
    last = select(Topic.next_number - 1).where(Topic.id == TopicRead.topic_id).scalar_subquery()
    db.session.execute(
        update(TopicRead)
        .where(TopicRead.user_id == user_id, TopicRead.topic_id.in_(ids))
        .values(last_read_number=last)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return len(ids)


def dismiss_new(actor: Actor) -> None:
    """Empty the member's new-topics list: only topics started from now on are new."""
    user_id = policy.require_member(actor)
    member = db.session.get(User, user_id)
    if member is None:  # pragma: no cover - the actor was built from this row
        raise NotFound()
    member.new_topics_since = utcnow()
    db.session.flush()
