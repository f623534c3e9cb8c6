"""Whole-database chores run from the CLI: not on behalf of any member."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy import select

from forum import policy
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.posts import Post
from forum.models.posts import PostRevision
from forum.models.security import ThrottleEvent
from forum.rendering import RENDERER_VERSION
from forum.rendering import render_markdown
from forum.services import accounts
from forum.services import chat
from forum.services import notifications
from forum.services import sessions
from forum.services.limits import author_may_post_links
from forum.throttle import RETENTION


def rerender_stale_posts(batch: int = 500) -> int:
    """Re-render posts (and their revisions) made by an older renderer; returns the count."""
    done = 0
    # Per author and scope: a level granted by a group counts on its boards only.
    links: dict[tuple[int, int | None], bool] = {}
    while True:
        rows = list(
            db.session.scalars(
                select(Post).where(Post.renderer_version != RENDERER_VERSION).limit(batch)
            )
        )
        if not rows:
            return done
        for post in rows:
            # Links follow the author's trust level *now*: a new member's post rendered
            # without links gains them once its author has reached trust level 1.
            board = post.topic.board
            key = (post.author_id, board.group_id)
            if key not in links:
                links[key] = author_may_post_links(post.author, board)
            # Mentions link as the author may see members now, as when they write.
            author = policy.actor_for(post.author, guests_read=False)
            # Posts stored before the size limits existed are rendered whatever their size.
            post.html = render_markdown(
                post.body,
                links=links[key],
                limits=False,
                mentions=notifications.mentionable(author, post.body),
            )
            post.renderer_version = RENDERER_VERSION
            for revision in db.session.scalars(
                select(PostRevision).where(
                    PostRevision.post_id == post.id, PostRevision.redacted_at.is_(None)
                )
            ):
                revision.html = render_markdown(
                    revision.body,
                    links=links[key],
                    limits=False,
                    mentions=notifications.mentionable(author, revision.body),
                )
        db.session.commit()
        done += len(rows)


def prune_throttle_events() -> int:
    """Delete hashed addresses older than the retention period."""
    result = db.session.execute(
        delete(ThrottleEvent).where(ThrottleEvent.created_at < utcnow() - RETENTION)
    )
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def prune_sessions() -> int:
    """Delete browser sessions that can never work again (ended, expired, old epoch)."""
    deleted = sessions.prune_sessions()
    db.session.commit()
    return deleted


def prune_idle_api_tokens() -> int:
    """Delete API tokens unused for longer than the `api_token_idle_days` setting."""
    deleted = accounts.prune_idle_api_tokens()
    db.session.commit()
    return deleted


def prune_chat_messages() -> int:
    """Delete chat messages older than their room's retention (default 30 days)."""
    deleted = chat.prune_chat_messages()
    db.session.commit()
    return deleted
