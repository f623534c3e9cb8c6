"""Starting topics."""

from __future__ import annotations

from typing import Any

from forum import policy
from forum import validation
from forum.errors import Invalid
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.policy import Actor
from forum.rendering import RENDERER_VERSION
from forum.services import limits
from forum.services import notifications
from forum.services.posts import render_body


def create_topic(actor: Actor, board: Board, *, title: Any, body: Any) -> tuple[Topic, Post]:
    """Start a topic on a board with its first post."""
    policy.check_post_topic(actor, board)
    errors: dict[str, str] = {}
    clean_title = clean_body = ""
    try:
        clean_title = validation.title(title)
    except Invalid as exc:
        errors.update(exc.fields)
    try:
        clean_body = validation.body(body)
    except Invalid as exc:
        errors.update(exc.fields)
    if errors:
        raise Invalid(errors)
    author_id = policy.require_member(actor)
    limits.check_can_post(actor, board=board, kind="topic")
    # Only members the author may see become links (policy); the rest stay text.
    mentioned = notifications.mentionable(actor, clean_body)
    # Rendering is the costly step: after every cheaper check, before any write.
    html = render_body(clean_body, links=policy.can_post_links(actor, board), mentions=mentioned)
    waiting = limits.needs_approval(actor, board)
    now = utcnow()
    topic = Topic(
        board_id=board.id,
        author_id=author_id,
        title=clean_title,
        created_at=now,
        last_post_at=now,
        last_poster_id=author_id,
        posts_count=1,
        next_number=2,
        # Shown only to its author and the board's moderators until approved.
        awaiting_approval=waiting,
    )
    db.session.add(topic)
    db.session.flush()
    post = Post(
        topic_id=topic.id,
        number=1,
        author_id=author_id,
        body=clean_body,
        html=html,
        renderer_version=RENDERER_VERSION,
        created_at=now,
    )
    if waiting:
        limits.hold_for_approval(post, now)
    db.session.add(post)
    board.revision = Board.revision + 1
    # A topic waiting for approval counts on its board (and is its latest activity) only
    # once approved (forum.moderation.actions.approve_post): readers do not see it.
    if not waiting:
        # SQL-side increments: concurrent writers on PostgreSQL do not lose counts.
        board.topics_count = Board.topics_count + 1
        board.posts_count = Board.posts_count + 1
        board.last_post_at = now
        board.last_topic_id = topic.id
    db.session.flush()
    notifications.notify_post(actor, post, mentioned=mentioned.values())
    return topic, post
