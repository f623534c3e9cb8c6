"""Posting limits: new members' daily caps, slow mode, posting and editing speed, links,
and the approval queue.

These are rules about *how much* and *how fast* a member may write, checked by the posting
services after `policy` has said the member may write there at all, and before the costly
part (rendering). The daily caps and slow mode are not request throttles:
`FORUM_RATELIMITS=off` leaves them on (the contract says so). The posts-per-minute and
edits-per-hour limits of every trust level are request throttles, off with it. Moderators
of the board are exempt from all of them.
"""

from __future__ import annotations

import math
from datetime import datetime
from datetime import timedelta
from typing import Literal

from flask import current_app
from flask import has_request_context
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from forum import policy
from forum.errors import RateLimited
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.posts import HiddenKind
from forum.models.posts import Post
from forum.models.posts import PostEdit
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor
from forum.services.settings import NUMBER_SETTINGS
from forum.services.settings import get_settings

# Site settings (forum.services.settings) with the defaults used until they are stored.
POSTS_PER_DAY_KEY, POSTS_PER_DAY_DEFAULT = "tl0_posts_per_day", 20
TOPICS_PER_DAY_KEY, TOPICS_PER_DAY_DEFAULT = "tl0_topics_per_day", 3

# A rolling window, not a calendar day: there is no midnight to wait for and abuse around.
CAP_WINDOW = timedelta(hours=24)
# Posting and editing speed (settings tl<N>_posts_per_minute, tl<N>_edits_per_hour).
POSTS_WINDOW = timedelta(minutes=1)
EDITS_WINDOW = timedelta(hours=1)
# Edit records older than this are deleted as new ones are written.
EDITS_KEPT = timedelta(days=1)

APPROVAL_REASON = (
    "Waiting for a moderator's approval (new members' first posts in this group are checked)."
)

PostKind = Literal["reply", "topic"]


def _setting(key: str, default: int) -> int:
    value = get_settings().get(key, default)
    # A malformed stored value must not switch the cap off: fall back to the default.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return default
    return value


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _about(seconds: int) -> str:
    """A rough duration a person reads at a glance: "3 hours", "1 minute"."""
    if seconds >= 3600:
        return _count(max(1, round(seconds / 3600)), "hour")
    return _count(max(1, math.ceil(seconds / 60)), "minute")


def _wait_until(moment: datetime, now: datetime) -> int:
    """Whole seconds from now until `moment`, at least one."""
    return max(1, math.ceil((moment - now).total_seconds()))


def _cap_reached(
    times: list[datetime], cap: int, now: datetime, window: timedelta = CAP_WINDOW
) -> int | None:
    """Seconds until one more is allowed, if `times` (newest first, in the window) fill the cap.

    Once the cap-th newest leaves the window, fewer than `cap` remain in it.
    """
    if len(times) < cap:
        return None
    return _wait_until(times[cap - 1] + window, now)


def _throttles_on() -> bool:
    # Request throttles: they pace members' requests. `FORUM_RATELIMITS=off` turns them
    # off, and the operator's commands (`forum demo` writes a dozen posts at once) are no
    # member's request.
    return has_request_context() and bool(current_app.config.get("FORUM_RATELIMITS_ON", True))


def _speed(kind: str, level: int) -> int:
    key = f"tl{min(max(level, 0), 4)}_{kind}"
    value = _setting(key, NUMBER_SETTINGS[key].default)
    # 0 is not a valid speed (the settings refuse it); a stored one must not stop everyone.
    return value or NUMBER_SETTINGS[key].default


def _lock_member(user_id: int) -> None:
    # One member's writes queue behind each other from here to the commit, so that
    # parallel requests cannot all count the same recent posts and all pass (PostgreSQL;
    # SQLite's BEGIN IMMEDIATE already serialises writers).
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())


def _not_yet(what: str) -> RateLimited:
    # A cap of 0: new members may not do this at all (until trust level 1).
    return RateLimited(
        f"New members cannot {what} yet; you can once you have been around a little longer.",
        retry_after=int(CAP_WINDOW.total_seconds()),
    )


def _recent_post_times(author_id: int, since: datetime, limit: int) -> list[datetime]:
    # The member's own writes, counted by author whatever board they are on (so leaving
    # a group does not reset the count) and deleted ones included (so deleting does not
    # make room). Uses ix_posts_author_created; reveals nothing, so no policy scope.
    return list(
        db.session.scalars(
            select(Post.created_at)
            .where(Post.author_id == author_id, Post.created_at > since)
            .order_by(Post.created_at.desc())
            .limit(limit)
        )
    )


def _recent_topic_times(author_id: int, since: datetime, limit: int) -> list[datetime]:
    return list(
        db.session.scalars(
            select(Topic.created_at)
            .where(Topic.author_id == author_id, Topic.created_at > since)
            .order_by(Topic.created_at.desc())
            .limit(limit)
        )
    )


def _check_daily_caps(author_id: int, kind: PostKind, now: datetime) -> None:
    since = now - CAP_WINDOW
    # Every post counts, a new topic's first post included.
    posts_cap = _setting(POSTS_PER_DAY_KEY, POSTS_PER_DAY_DEFAULT)
    if posts_cap == 0:
        raise _not_yet("post")
    wait = _cap_reached(_recent_post_times(author_id, since, posts_cap), posts_cap, now)
    if wait is not None:
        raise RateLimited(
            f"New members can write {_count(posts_cap, 'post')} a day; "
            f"you can post again in about {_about(wait)}.",
            retry_after=wait,
        )
    if kind != "topic":
        return
    topics_cap = _setting(TOPICS_PER_DAY_KEY, TOPICS_PER_DAY_DEFAULT)
    if topics_cap == 0:
        raise _not_yet("start topics")
    wait = _cap_reached(_recent_topic_times(author_id, since, topics_cap), topics_cap, now)
    if wait is not None:
        raise RateLimited(
            f"New members can start {_count(topics_cap, 'topic')} a day; "
            f"you can start another in about {_about(wait)}.",
            retry_after=wait,
        )


def _check_slow_mode(author_id: int, topic: Topic, now: datetime) -> None:
    minutes = topic.slow_mode_minutes
    # The member's latest post here, deleted or hidden ones included: deleting a post
    # must not buy an earlier turn.
    latest = db.session.scalar(
        select(func.max(Post.created_at)).where(
            Post.topic_id == topic.id, Post.author_id == author_id
        )
    )
    if latest is None:
        return
    allowed_at = latest + timedelta(minutes=minutes)
    if allowed_at <= now:
        return
    wait = _wait_until(allowed_at, now)
    every = "one post a minute" if minutes == 1 else f"one post every {minutes} minutes"
    raise RateLimited(
        f"This topic is in slow mode: {every}. "
        f"You can post again in {_count(math.ceil(wait / 60), 'minute')}.",
        retry_after=wait,
    )


def _check_posting_speed(author_id: int, level: int, now: datetime) -> None:
    per_minute = _speed("posts_per_minute", level)
    times = _recent_post_times(author_id, now - POSTS_WINDOW, per_minute)
    wait = _cap_reached(times, per_minute, now, POSTS_WINDOW)
    if wait is not None:
        raise RateLimited(
            f"You are posting quickly: at trust level {level} you can write "
            f"{_count(per_minute, 'post')} a minute. You can post again in "
            f"{_count(wait, 'second')}.",
            retry_after=wait,
        )


def check_can_post(
    actor: Actor,
    *,
    board: Board,
    topic: Topic | None = None,
    kind: PostKind = "reply",
    now: datetime | None = None,
) -> None:
    """Raise `RateLimited` if a new member's daily cap, a topic's slow mode or the member's
    posting speed forbids this post.

    Call after the policy check and input validation, before rendering or writing.
    """
    if kind not in ("reply", "topic"):
        raise ValueError(f"unknown kind of post: {kind!r}")
    if actor.user_id is None or policy.can_moderate(actor, board):
        return
    now = now or utcnow()
    _lock_member(actor.user_id)
    # The level in the board's scope: a group's grant lifts the caps on its boards only.
    if actor.trust_level_in(board.group_id) < 1:
        _check_daily_caps(actor.user_id, kind, now)
    if kind == "reply" and topic is not None and topic.slow_mode_minutes > 0:
        _check_slow_mode(actor.user_id, topic, now)
    if _throttles_on():
        _check_posting_speed(actor.user_id, actor.trust_level, now)


def check_can_edit(actor: Actor, post: Post, *, now: datetime | None = None) -> None:
    """Raise `RateLimited` if the actor has made as many edits in the last hour as their
    trust level allows (a request throttle; the post's moderators are exempt).

    Call after the policy check and input validation, before rendering or writing.
    """
    if actor.user_id is None or policy.can_moderate(actor, post.topic.board):
        return
    if not _throttles_on():
        return
    now = now or utcnow()
    _lock_member(actor.user_id)
    per_hour = _speed("edits_per_hour", actor.trust_level)
    times = list(
        db.session.scalars(
            select(PostEdit.created_at)
            .where(PostEdit.editor_id == actor.user_id, PostEdit.created_at > now - EDITS_WINDOW)
            .order_by(PostEdit.created_at.desc())
            .limit(per_hour)
        )
    )
    wait = _cap_reached(times, per_hour, now, EDITS_WINDOW)
    if wait is not None:
        raise RateLimited(
            f"You have made {_count(per_hour, 'edit')} in the last hour, the most for "
            f"trust level {actor.trust_level}. You can edit again in about {_about(wait)}.",
            retry_after=wait,
        )


def record_edit(actor: Actor, post: Post, now: datetime) -> None:
    """Count an edit towards the editor's edits per hour (and forget day-old ones)."""
    editor_id = policy.require_member(actor)
    db.session.execute(
        delete(PostEdit).where(
            PostEdit.editor_id == editor_id, PostEdit.created_at < now - EDITS_KEPT
        )
    )
    db.session.add(PostEdit(post_id=post.id, editor_id=editor_id, created_at=now))


def needs_approval(actor: Actor, board: Board) -> bool:
    """True if the actor's new post on the board must wait for a moderator's approval.

    A group that sets `approve_first_posts = N` holds a trust-level-0 member's posts until
    N of their posts in the group's boards have been let through (waiting and rejected
    or deleted ones do not count). Moderators of the board are never held.
    """
    group = board.group
    if group is None or group.approve_first_posts <= 0:
        return False
    if actor.user_id is None or actor.trust_level_in(group.id) >= 1:
        return False
    if policy.can_moderate(actor, board):
        return False
    group_boards = select(Board.id).where(Board.group_id == group.id)
    passed = db.session.scalar(
        select(func.count(Post.id))
        .join(Topic, Topic.id == Post.topic_id)
        .where(
            Post.author_id == actor.user_id,
            Topic.board_id.in_(group_boards),
            Post.deleted_at.is_(None),
            or_(
                Post.hidden_at.is_(None),
                Post.hidden_kind.is_(None),
                Post.hidden_kind != HiddenKind.APPROVAL.value,
            ),
        )
    )
    return int(passed or 0) < group.approve_first_posts


def hold_for_approval(post: Post, now: datetime) -> None:
    """Mark a new post as waiting for a moderator's approval (see `needs_approval`)."""
    post.hidden_at = now
    post.hidden_kind = HiddenKind.APPROVAL.value
    post.hidden_reason = APPROVAL_REASON
    post.hidden_by_id = None


def may_post_links(actor: Actor, author: User, board: Board) -> bool:
    """True if a post by `author` on the board, written or edited by `actor`, is rendered
    with links.

    The rule is the author's (`policy.can_post_links`): a moderator fixing a typo in a
    new member's post does not turn its addresses into links.
    """
    if actor.user_id == author.id:
        return policy.can_post_links(actor, board)
    return author_may_post_links(author, board)


def author_may_post_links(author: User, board: Board) -> bool:
    """True if the member's posts on the board are rendered with links, judged by their
    standing (there) now."""
    return policy.can_post_links(policy.actor_for(author, guests_read=False), board)


# New members' private messages in a rolling day (a daily cap like posts'; on even with
# FORUM_RATELIMITS=off).
MESSAGES_PER_DAY_TL0 = 20


def _recent_message_times(author_id: int, since: datetime, limit: int) -> list[datetime]:
    # Imported here: the messages model is used by this check only.
    from forum.models.messages import ConversationMessage

    return list(
        db.session.scalars(
            select(ConversationMessage.created_at)
            .where(
                ConversationMessage.author_id == author_id,
                ConversationMessage.created_at > since,
            )
            .order_by(ConversationMessage.created_at.desc())
            .limit(limit)
        )
    )


def check_can_message(actor: Actor, *, now: datetime | None = None) -> None:
    """Raise `RateLimited` past a new member's messages per day, or (a request throttle)
    past the member's trust level's posts per minute, which count messages alike. Site
    moderators are exempt."""
    if actor.user_id is None or actor.is_site_moderator:
        return
    now = now or utcnow()
    _lock_member(actor.user_id)
    if actor.trust_level < 1:
        times = _recent_message_times(actor.user_id, now - CAP_WINDOW, MESSAGES_PER_DAY_TL0)
        wait = _cap_reached(times, MESSAGES_PER_DAY_TL0, now)
        if wait is not None:
            raise RateLimited(
                f"New members can send {_count(MESSAGES_PER_DAY_TL0, 'message')} a day; "
                f"you can send another in about {_about(wait)}.",
                retry_after=wait,
            )
    if _throttles_on():
        per_minute = _speed("posts_per_minute", actor.trust_level)
        times = _recent_message_times(actor.user_id, now - POSTS_WINDOW, per_minute)
        wait = _cap_reached(times, per_minute, now, POSTS_WINDOW)
        if wait is not None:
            raise RateLimited(
                f"You are sending messages quickly: at trust level {actor.trust_level} you "
                f"can send {_count(per_minute, 'message')} a minute. You can send again in "
                f"{_count(wait, 'second')}.",
                retry_after=wait,
            )
