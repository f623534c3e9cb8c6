"""Unread tracking, the reading side: where a member stopped in each topic, what is new
since, and the /unread and /new lists. Every list starts from a policy scope.

Positions are `topic_reads.last_read_number` (written by `forum.activity` when a member
views a page of a topic, and by `forum.services.reading` when they mark topics read): the
highest post number the member has been shown. Post numbers are dense and every numbered
post shows on the topic's page (deleted and hidden ones as placeholders), so "N new" is
simply the topic's last number minus the position.

Two kinds, as in Discourse:

* **unread**: a topic the member has opened before, with posts past their position;
* **new**: a topic the member never opened, started by someone else since
  `new_since(member)`: the later of NEW_TOPIC_DAYS ago and when they last dismissed the
  new list. Older topics they never opened are neither (else a new member would find
  the whole forum "new").
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from datetime import timedelta

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum import policy
from forum.extensions import db
from forum.listings import Page
from forum.models.activity import TopicRead
from forum.models.base import utcnow
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor

# How long a topic counts as "new" for members who never opened it.
NEW_TOPIC_DAYS = 14


def new_since(member: User, now: datetime | None = None) -> datetime:
    """The moment from which topics the member never opened count as new."""
    window = (now or utcnow()) - timedelta(days=NEW_TOPIC_DAYS)
    dismissed = member.new_topics_since
    return max(window, dismissed) if dismissed is not None else window


# Built once: the topic page runs it on every member's view.
_POSITION = select(TopicRead.last_read_number).where(
    TopicRead.user_id == bindparam("user_id"), TopicRead.topic_id == bindparam("topic_id")
)


def read_positions(actor: Actor, topic_ids: Collection[int]) -> dict[int, int]:
    """The member's position in each of the given topics they have opened (one query)."""
    if actor.user_id is None or not topic_ids:
        return {}
    # Every list page of every member runs this: plain SQL, ints only (typed here, so
    # nothing can be injected), skips SQLAlchemy's per-call compiling of an IN list, which
    # cost as much as the query itself.
    ids = ",".join(str(int(i)) for i in sorted(set(topic_ids)))
    sql = (
        "SELECT topic_id, last_read_number FROM topic_reads "  # noqa: S608 - ints only
        f"WHERE user_id = {int(actor.user_id)} AND topic_id IN ({ids})"
    )
    rows = db.session.connection().exec_driver_sql(sql)
    return {int(topic_id): int(number) for topic_id, number in rows}


def read_position(actor: Actor, topic_id: int) -> int | None:
    """The member's position in one topic; None if they never opened it (guests: None)."""
    if actor.user_id is None:
        return None
    found = (
        db.session.connection()
        .execute(_POSITION, {"user_id": actor.user_id, "topic_id": topic_id})
        .scalar()
    )
    return int(found) if found is not None else None


def first_unread_post(actor: Actor, topic: Topic, position: int) -> Post | None:
    """The first post past the member's position, as the actor may see it."""
    stmt = policy.visible_posts(actor).where(Post.topic_id == topic.id, Post.number == position + 1)
    found: Post | None = db.session.scalar(stmt)
    return found


def _unread_scope(actor: Actor) -> Select[Topic]:
    return policy.visible_topics(actor).join(
        TopicRead,
        and_(
            TopicRead.topic_id == Topic.id,
            TopicRead.user_id == actor.user_id,
            TopicRead.last_read_number < Topic.next_number - 1,
        ),
    )


def _new_scope(actor: Actor, since: datetime) -> Select[Topic]:
    opened = select(TopicRead.topic_id).where(
        TopicRead.user_id == actor.user_id, TopicRead.topic_id == Topic.id
    )
    return policy.visible_topics(actor).where(
        Topic.created_at > since, Topic.author_id != actor.user_id, ~opened.exists()
    )


def _listed(scope: Select[Topic], page: int, per_page: int) -> Page[Topic]:
    total = db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0
    stmt = scope.options(joinedload(Topic.board), joinedload(Topic.last_poster)).order_by(
        Topic.last_post_at.desc(), Topic.id.desc()
    )
    pages = max(1, -(-total // per_page))
    page = max(1, page)
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, page=page, pages=pages, total=total, per_page=per_page)


def unread_topics(actor: Actor, page: int, per_page: int) -> Page[Topic]:
    """Topics the member opened before that have posts past their position, latest first."""
    if actor.user_id is None:
        return Page([], max(1, page), 1, 0, per_page)
    return _listed(_unread_scope(actor), page, per_page)


def unread_topic_ids(actor: Actor) -> list[int]:
    """Every topic of the member's unread list (for marking them all read)."""
    if actor.user_id is None:
        return []
    return list(db.session.scalars(_unread_scope(actor).with_only_columns(Topic.id)))


def new_topics(actor: Actor, member: User, page: int, per_page: int) -> Page[Topic]:
    """Topics started by others since `new_since(member)` that the member never opened."""
    if actor.user_id is None:
        return Page([], max(1, page), 1, 0, per_page)
    return _listed(_new_scope(actor, new_since(member)), page, per_page)


def first_post_after(actor: Actor, topic: Topic, number: int) -> Post | None:
    """The first post numbered after `number` the actor may see (the "new posts" link)."""
    stmt = (
        policy.visible_posts(actor)
        .where(Post.topic_id == topic.id, Post.number > number)
        .order_by(Post.number)
        .limit(1)
    )
    found: Post | None = db.session.scalar(stmt)
    return found
