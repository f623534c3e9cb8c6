"""Replies, edits (with revisions) and soft deletes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from forum import policy
from forum import validation
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.posts import HiddenKind
from forum.models.posts import Post
from forum.models.posts import PostRevision
from forum.models.topics import Topic
from forum.policy import Actor
from forum.rendering import RENDERER_VERSION
from forum.rendering import render_markdown
from forum.services import limits

# How long the author of a post the community hid waits before editing it for review.
COMMUNITY_REVIEW_DELAY = timedelta(minutes=10)


def _reply_target(actor: Actor, topic: Topic, reply_to: Any) -> int | None:
    if reply_to in (None, ""):
        return None
    target_id = validation.integer(reply_to, "reply_to", minimum=1)
    # An invisible post is "not found" (404), never "in another topic" (400): the
    # difference would confirm that a hidden post exists.
    target = policy.require_post(actor, target_id)
    if target.topic_id != topic.id:
        raise Invalid("reply_to", "You can only reply to a post in the same topic.")
    return target.id


def reply_to_topic(actor: Actor, topic: Topic, *, body: Any, reply_to: Any = None) -> Post:
    """Add a post to a topic, optionally answering one of its posts."""
    policy.check_reply(actor, topic)
    clean_body = validation.body(body)
    target = _reply_target(actor, topic, reply_to)
    author_id = policy.require_member(actor)
    board = topic.board
    limits.check_can_post(actor, board=board, topic=topic, kind="reply")
    waiting = limits.needs_approval(actor, board)
    # Take the next number under a row lock (PostgreSQL); SQLite's BEGIN IMMEDIATE
    # already serialises writers.
    number = db.session.scalar(
        select(Topic.next_number).where(Topic.id == topic.id).with_for_update()
    )
    now = utcnow()
    post = Post(
        topic_id=topic.id,
        number=number,
        author_id=author_id,
        reply_to_id=target,
        body=clean_body,
        html=render_markdown(clean_body, links=policy.can_post_links(actor, board)),
        renderer_version=RENDERER_VERSION,
        created_at=now,
    )
    if waiting:
        limits.hold_for_approval(post, now)
    db.session.add(post)
    topic.next_number = Topic.next_number + 1
    topic.revision = Topic.revision + 1
    topic.posts_count = Topic.posts_count + 1
    board.posts_count = Board.posts_count + 1
    board.revision = Board.revision + 1
    # A post waiting for approval does not advertise itself as the latest activity;
    # approving it brings it to the top.
    if not waiting:
        topic.last_post_at = now
        topic.last_poster_id = author_id
        board.last_post_at = now
        board.last_topic_id = topic.id
    db.session.flush()
    return post


def edit_post(actor: Actor, post: Post, *, body: Any) -> bool:
    """Change a post's text, keeping the old text as a revision; True if it changed."""
    policy.check_edit_post(actor, post)
    clean_body = validation.body(body)
    now = utcnow()
    # The author editing a hidden post asks for it to be reviewed again (a moderator's
    # edit does not). A post the community hid waits 10 minutes first, so that a
    # spammer cannot cycle it straight back into the queue.
    requests_review = (
        post.is_hidden
        and post.author_id == actor.user_id
        and post.hidden_kind in (HiddenKind.MODERATORS.value, HiddenKind.COMMUNITY.value)
    )
    if (
        requests_review
        and post.hidden_kind == HiddenKind.COMMUNITY.value
        and post.hidden_at is not None
        and now < post.hidden_at + COMMUNITY_REVIEW_DELAY
    ):
        raise Denied(
            "You can edit this post to ask for a new review 10 minutes after it was hidden.",
            code="too_soon",
        )
    if clean_body == post.body:
        return False
    db.session.add(
        PostRevision(
            post_id=post.id,
            number=post.revisions_count + 1,
            body=post.body,
            html=post.html,
            created_at=post.edited_at or post.created_at,
            editor_id=actor.user_id,
        )
    )
    post.body = clean_body
    post.html = render_markdown(
        clean_body, links=limits.may_post_links(actor, post.author, post.topic.board)
    )
    post.renderer_version = RENDERER_VERSION
    post.edited_at = now
    post.revisions_count += 1
    if requests_review:
        post.review_requested_at = now
    post.topic.revision = Topic.revision + 1
    db.session.flush()
    return True


def delete_post(actor: Actor, post: Post) -> bool:
    """Soft-delete a post: it shows as deleted, its text kept for moderators."""
    # Permission first: "already deleted" must not answer anyone who could not delete it.
    policy.check_delete_post(actor, post)
    if post.is_deleted:
        return False
    post.deleted_at = utcnow()
    post.deleted_by_id = actor.user_id
    topic = post.topic
    topic.posts_count = Topic.posts_count - 1
    topic.revision = Topic.revision + 1
    topic.board.posts_count = Board.posts_count - 1
    topic.board.revision = Board.revision + 1
    db.session.flush()
    return True


def revisions(actor: Actor, post: Post) -> list[PostRevision]:
    """The post's earlier versions, newest first, if the actor may read them."""
    if not policy.can_see_revisions(actor, post):
        raise NotFound()
    return list(
        db.session.scalars(
            select(PostRevision)
            .where(PostRevision.post_id == post.id)
            .order_by(PostRevision.number.desc())
        )
    )
