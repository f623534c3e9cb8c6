"""Replies, edits (with revisions), redacting a revision, and soft deletes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy import select

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.audit import clean_reason
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.posts import HiddenKind
from forum.models.posts import Post
from forum.models.posts import PostRevision
from forum.models.posts import RedactedBy
from forum.models.topics import Topic
from forum.policy import Actor
from forum.rendering import RENDERER_VERSION
from forum.rendering import TooComplex
from forum.rendering import render_markdown
from forum.services import limits
from forum.services import notifications

# How long the author of a post the community hid waits before editing it for review.
COMMUNITY_REVIEW_DELAY = timedelta(minutes=10)
# The author's edits within this time of the edit that made the latest revision replace
# the post's text without another revision (Discourse's grace period): ten quick fixes
# of a typo keep one earlier version, not ten.
EDIT_GRACE = timedelta(minutes=5)
# Earlier versions kept per post: the original and the newest others. When an edit makes
# one more, the oldest after the original goes.
MAX_REVISIONS = 20


def render_body(source: str, *, links: bool, mentions: Collection[str] = ()) -> str:
    """The post's HTML, or `Invalid` on "body" naming the limit the post is over;
    `mentions`: the names (lower-case) whose `@name` links to the profile."""
    try:
        return render_markdown(source, links=links, mentions=mentions)
    except TooComplex as exc:
        raise Invalid("body", exc.message) from exc


QUOTE_LINES_MAX = 40


def quote_text(post: Post) -> str:
    """The Markdown that quotes a post (the "Quote" action): a blockquote whose first line
    links to it, which is what tells its author (`notifications.QUOTE_RE`)."""
    lines = post.body.strip().splitlines()[:QUOTE_LINES_MAX]
    quoted = "\n".join(f"> {line}".rstrip() for line in lines)
    # The name is escaped: Markdown inside the link text must not change the link.
    name = "".join(f"\\{c}" if c in "\\[]*_`" else c for c in post.author.shown_name)
    return f"> [{name} wrote](/p/{post.id}):\n{quoted}\n\n"


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
    # Only members the author may see become links (policy); the rest stay text.
    mentioned = notifications.mentionable(actor, clean_body)
    # Rendering is the costly step: after every cheaper check, before any write.
    html = render_body(clean_body, links=policy.can_post_links(actor, board), mentions=mentioned)
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
        html=html,
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
    notifications.notify_post(actor, post, mentioned=mentioned.values())
    return post


def edit_post(actor: Actor, post: Post, *, body: Any) -> bool:
    """Change a post's text, keeping the old text as a revision; True if it changed.

    The author's edits within `EDIT_GRACE` of the latest revision replace the text without
    another revision; at most `MAX_REVISIONS` are kept. Edits count towards the editor's
    edits per hour (`limits.check_can_edit`).
    """
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
    limits.check_can_edit(actor, post, now=now)
    # Mentions as the author may see members (a moderator's edit links nobody the author
    # could not); an edit tells nobody new.
    author = policy.actor_for(post.author, guests_read=False)
    html = render_body(
        clean_body,
        links=limits.may_post_links(actor, post.author, post.topic.board),
        mentions=notifications.mentionable(author, clean_body),
    )
    editor_id = policy.require_member(actor)
    latest = db.session.scalar(
        select(PostRevision)
        .where(PostRevision.post_id == post.id)
        .order_by(PostRevision.number.desc())
        .limit(1)
    )
    within_grace = (
        editor_id == post.author_id
        and latest is not None
        and latest.editor_id == editor_id
        and latest.replaced_at is not None
        and now - latest.replaced_at < EDIT_GRACE
    )
    if not within_grace:
        db.session.add(
            PostRevision(
                post_id=post.id,
                number=post.revisions_count + 1,
                body=post.body,
                html=post.html,
                created_at=post.edited_at or post.created_at,
                replaced_at=now,
                editor_id=editor_id,
            )
        )
        post.revisions_count += 1
        db.session.flush()
        _forget_old_revisions(post)
    post.body = clean_body
    post.html = html
    post.renderer_version = RENDERER_VERSION
    post.edited_at = now
    if requests_review:
        post.review_requested_at = now
    limits.record_edit(actor, post, now)
    post.topic.revision = Topic.revision + 1
    db.session.flush()
    return True


def _forget_old_revisions(post: Post) -> None:
    # The original text (what the first replies answered) and the newest others stay.
    numbers = list(
        db.session.scalars(
            select(PostRevision.number)
            .where(PostRevision.post_id == post.id)
            .order_by(PostRevision.number)
        )
    )
    extra = numbers[1 : max(1, len(numbers) - (MAX_REVISIONS - 1))]
    if extra:
        db.session.execute(
            delete(PostRevision).where(
                PostRevision.post_id == post.id, PostRevision.number.in_(extra)
            )
        )


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


def redact_revision(
    actor: Actor, post: Post, number: Any, *, reason: Any = ""
) -> tuple[PostRevision, bool]:
    """Remove an earlier version's text for good: its author or the post's moderators.

    The revision stays in the history as "Removed by the author" (or "by a moderator"),
    with who and when; a moderator's redaction is logged (with the reason, never the
    text). Returns the revision and whether it changed (False: already redacted).
    """
    policy.check_redact_revision(actor, post)
    clean_number = validation.integer(number, "number", minimum=1)
    revision = db.session.scalar(
        select(PostRevision).where(
            PostRevision.post_id == post.id, PostRevision.number == clean_number
        )
    )
    if revision is None:
        raise NotFound()
    by_author = post.author_id == actor.user_id
    clean = clean_reason(reason, required=False) if not by_author else ""
    if revision.is_redacted:
        return revision, False
    revision.body = ""
    revision.html = ""
    revision.redacted_at = utcnow()
    revision.redacted_as = (RedactedBy.AUTHOR if by_author else RedactedBy.MODERATOR).value
    revision.redacted_by_id = actor.user_id
    if not by_author:
        audit.record(
            actor,
            Action.REVISION_REDACTED,
            rank=policy.moderation_rank(actor, post.topic.board.group),
            target_type="post",
            target_id=post.id,
            group=post.topic.board.group,
            reason=clean,
            data={"revision": revision.number},
        )
    db.session.flush()
    return revision, True


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
