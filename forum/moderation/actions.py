"""Moderator actions on posts and topics: hide, delete, approve, lock, pin, close, move.

Each public action checks policy, is idempotent (True only when it changed something),
bumps the revisions that key cached topic pages and board lists, and writes one log row.
The small `apply_*` functions below do the change alone; the reversers at the end
(registered with `forum.moderation.undo`) and the report and appeal decisions reuse them.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy import update

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.audit import clean_reason
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.moderation import Appeal
from forum.models.moderation import Flag
from forum.models.moderation import Report
from forum.models.moderation import ReportStatus
from forum.models.modlog import ModerationLog
from forum.models.posts import HiddenKind
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.moderation.undo import reverser
from forum.moderation.undo import stale
from forum.policy import Actor
from forum.services import posts as post_services
from forum.services.notifications import notify
from forum.services.notifications import notify_approved

SLOW_MODE_MAX = 1440

CROSS_GROUP_MOVE_MESSAGE = (
    "Moving a topic into or out of a secret group changes who can read it; confirm to go ahead."
)
REPORTERS_THANKS = "A moderator reviewed a post you reported. Thank you."


# --- checks -------------------------------------------------------------------


def require_moderator(actor: Actor, board: Board) -> None:
    """Raise unless the actor moderates the board (`NotLoggedIn` for guests)."""
    policy.check_moderate(actor, board)


def require_not_own(actor: Actor, post: Post) -> None:
    """Nobody moderates their own post: no clearing it, no reviewing it."""
    if post.author_id == actor.user_id:
        raise Denied("You cannot moderate your own post.")


def _require_may_act_against(actor: Actor, post: Post) -> None:
    """Acting against a post acts on its author: the rank rules apply."""
    require_not_own(actor, post)
    policy.check_act_on_member(actor, post.author, post.topic.board.group)


# --- changes without checks (shared with undo, reports and appeals) ---------------


def bump(topic: Topic) -> None:
    """Retire the cached pages of the topic and of its board's topic list."""
    topic.revision = Topic.revision + 1
    topic.board.revision = Board.revision + 1


def apply_hide(post: Post, *, kind: HiddenKind, reason: str, by_id: int | None) -> None:
    """Hide a post (its text kept for moderators and its author)."""
    post.hidden_at = utcnow()
    post.hidden_kind = kind.value
    post.hidden_reason = reason
    post.hidden_by_id = by_id
    post.review_requested_at = None
    bump(post.topic)


def apply_unhide(post: Post) -> None:
    """Show a hidden post again and forget any re-review request."""
    post.hidden_at = None
    post.hidden_kind = None
    post.hidden_reason = ""
    post.hidden_by_id = None
    post.review_requested_at = None
    bump(post.topic)


def hidden_state(post: Post) -> dict[str, Any]:
    """What a hide consisted of, for the log (so an undo can put it back)."""
    return {"kind": post.hidden_kind, "reason": post.hidden_reason, "by": post.hidden_by_id}


def apply_hidden_state(post: Post, state: dict[str, Any]) -> None:
    """Put back a hide recorded by `hidden_state` (or unhide, if there was none)."""
    if not state.get("kind"):
        apply_unhide(post)
        return
    apply_hide(
        post,
        kind=HiddenKind(state["kind"]),
        reason=str(state.get("reason") or ""),
        by_id=state.get("by"),
    )


def apply_restore(post: Post) -> bool:
    """Undelete a post and put it back into the counters; True if it was deleted."""
    if not post.is_deleted:
        return False
    post.deleted_at = None
    post.deleted_by_id = None
    topic = post.topic
    topic.posts_count = Topic.posts_count + 1
    topic.board.posts_count = Board.posts_count + 1
    bump(topic)
    return True


def apply_delete(post: Post, *, by_id: int | None) -> bool:
    """Soft-delete a post, as `services.posts.delete_post` does; True if it changed."""
    if post.is_deleted:
        return False
    post.deleted_at = utcnow()
    post.deleted_by_id = by_id
    topic = post.topic
    topic.posts_count = Topic.posts_count - 1
    topic.board.posts_count = Board.posts_count - 1
    bump(topic)
    return True


def apply_topic_flag(topic: Topic, flag: str, value: bool | int) -> bool:
    """Set `locked`, `pinned`, `closed` or `slow_mode_minutes`; True if it changed."""
    if getattr(topic, flag) == value:
        return False
    setattr(topic, flag, value)
    bump(topic)
    return True


def _latest_topic(board: Board, *, without: int) -> tuple[int, Any] | None:
    row = db.session.execute(
        select(Topic.id, Topic.last_post_at)
        .where(Topic.board_id == board.id, Topic.id != without)
        .order_by(Topic.last_post_at.desc(), Topic.id.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row is not None else None


def apply_move(topic: Topic, board: Board) -> bool:
    """Move a topic to another board, keeping both boards' counters; True if it moved."""
    source = topic.board
    if source.id == board.id:
        return False
    posts = topic.posts_count
    source.topics_count = Board.topics_count - 1
    source.posts_count = Board.posts_count - posts
    source.revision = Board.revision + 1
    if source.last_topic_id == topic.id:
        latest = _latest_topic(source, without=topic.id)
        source.last_topic_id = latest[0] if latest else None
        source.last_post_at = latest[1] if latest else None
    board.topics_count = Board.topics_count + 1
    board.posts_count = Board.posts_count + posts
    board.revision = Board.revision + 1
    if board.last_post_at is None or topic.last_post_at >= board.last_post_at:
        board.last_post_at = topic.last_post_at
        board.last_topic_id = topic.id
    topic.board_id = board.id
    topic.board = board
    topic.revision = Topic.revision + 1
    # Every case and appeal about the topic's posts, open or decided, follows it into the
    # new scope: they show the post, its reporters' notes and what was decided, so they
    # belong to whoever may now read it. Left behind, a handled report would keep showing
    # a post moved into a secret group to the old scope's moderators. (Sanctions stay:
    # they are about the member in the scope where they were imposed; log entries stay
    # too, as the record of what was done there, and name no post's content.)
    post_ids = select(Post.id).where(Post.topic_id == topic.id).scalar_subquery()
    db.session.execute(
        update(Report)
        .where(Report.post_id.in_(post_ids))
        .values(group_id=board.group_id)
        .execution_options(synchronize_session="fetch")
    )
    db.session.execute(
        update(Appeal)
        .where(Appeal.target_type == "post", Appeal.target_id.in_(post_ids))
        .values(group_id=board.group_id)
        .execution_options(synchronize_session="fetch")
    )
    db.session.flush()
    return True


def open_case(post: Post) -> Report | None:
    """The post's open report, if any."""
    return db.session.scalar(
        select(Report).where(Report.post_id == post.id, Report.status == ReportStatus.OPEN)
    )


def close_case(
    actor: Actor, report: Report, *, status: ReportStatus, resolution: str, reason: str
) -> bool:
    """Close an open case and thank its reporters (saying only that it was handled)."""
    if report.status != ReportStatus.OPEN:
        return False
    report.status = status
    report.resolved_at = utcnow()
    report.resolved_by_id = actor.user_id or None
    report.resolution = resolution
    report.resolution_reason = reason
    reporters = db.session.scalars(select(Flag.reporter_id).where(Flag.report_id == report.id))
    for reporter_id in reporters:
        if reporter_id != actor.user_id:
            notify(
                reporter_id,
                "report_handled",
                REPORTERS_THANKS,
                post_id=report.post_id,
                group_id=report.group_id,
            )
    db.session.flush()
    return True


def close_open_case(
    actor: Actor, post: Post, *, status: ReportStatus, resolution: str, reason: str
) -> None:
    """Close the post's open case, if it has one."""
    report = open_case(post)
    if report is not None:
        close_case(actor, report, status=status, resolution=resolution, reason=reason)


def _notify_author(post: Post, kind: str, text: str) -> None:
    notify(post.author_id, kind, text, post_id=post.id, group_id=post.topic.board.group_id)


# --- posts -----------------------------------------------------------------------


def hide_post(actor: Actor, post: Post, *, reason: Any) -> bool:
    """Hide a post: members see "hidden by moderators", its author sees the reason."""
    board = post.topic.board
    require_moderator(actor, board)
    _require_may_act_against(actor, post)
    clean = clean_reason(reason)
    changed = False
    if post.hidden_kind != HiddenKind.MODERATORS:
        previous = hidden_state(post)
        apply_hide(post, kind=HiddenKind.MODERATORS, reason=clean, by_id=actor.user_id)
        audit.record(
            actor,
            Action.POST_HIDDEN,
            rank=policy.moderation_rank(actor, board.group),
            target_type="post",
            target_id=post.id,
            group=board.group,
            reason=clean,
            data={"previous": previous},
        )
        _notify_author(
            post,
            "post_hidden",
            f"A moderator hid your post: {clean} You can edit it to ask for another review.",
        )
        changed = True
    close_open_case(actor, post, status=ReportStatus.UPHELD, resolution="hide_post", reason=clean)
    db.session.flush()
    return changed


def unhide_post(actor: Actor, post: Post, *, reason: Any) -> bool:
    """Show a hidden post again; an open case about it is dismissed (the post is cleared)."""
    board = post.topic.board
    require_moderator(actor, board)
    require_not_own(actor, post)
    clean = clean_reason(reason)
    if not post.is_hidden:
        return False
    previous = hidden_state(post)
    apply_unhide(post)
    # Cleared: the reporters' flags stay under a handled case, so the same members can
    # never hide it again; only new reporters open a new case.
    close_open_case(actor, post, status=ReportStatus.DISMISSED, resolution="dismiss", reason=clean)
    audit.record(
        actor,
        Action.POST_UNHIDDEN,
        rank=policy.moderation_rank(actor, board.group),
        target_type="post",
        target_id=post.id,
        group=board.group,
        reason=clean,
        data={"previous": previous},
    )
    _notify_author(post, "post_unhidden", "A moderator reviewed your post and it shows again.")
    db.session.flush()
    return True


def keep_hidden(actor: Actor, post: Post, *, reason: Any) -> bool:
    """Answer a re-review request (or a community hide): the post stays hidden, with a
    moderator's reason."""
    board = post.topic.board
    require_moderator(actor, board)
    _require_may_act_against(actor, post)
    clean = clean_reason(reason)
    if not post.is_hidden:
        return False
    if post.review_requested_at is None and post.hidden_kind == HiddenKind.MODERATORS:
        return False
    previous = hidden_state(post)
    previous["review_requested_at"] = (
        post.review_requested_at.isoformat() if post.review_requested_at else None
    )
    apply_hide(post, kind=HiddenKind.MODERATORS, reason=clean, by_id=actor.user_id)
    close_open_case(actor, post, status=ReportStatus.UPHELD, resolution="hide_post", reason=clean)
    audit.record(
        actor,
        Action.POST_HIDDEN,
        rank=policy.moderation_rank(actor, board.group),
        target_type="post",
        target_id=post.id,
        group=board.group,
        reason=clean,
        data={"previous": previous, "kept": True},
    )
    _notify_author(
        post, "post_kept_hidden", f"A moderator reviewed your post: it stays hidden. {clean}"
    )
    db.session.flush()
    return True


def delete_post(actor: Actor, post: Post, *, reason: Any) -> bool:
    """Soft-delete a post as a moderator (counters kept), logged."""
    board = post.topic.board
    require_moderator(actor, board)
    _require_may_act_against(actor, post)
    clean = clean_reason(reason)
    changed = post_services.delete_post(actor, post)
    if changed:
        audit.record(
            actor,
            Action.POST_DELETED,
            rank=policy.moderation_rank(actor, board.group),
            target_type="post",
            target_id=post.id,
            group=board.group,
            reason=clean,
        )
        _notify_author(post, "post_deleted", f"A moderator removed your post: {clean}")
    close_open_case(actor, post, status=ReportStatus.UPHELD, resolution="delete_post", reason=clean)
    db.session.flush()
    return changed


def restore_post(actor: Actor, post: Post, *, reason: Any) -> bool:
    """Undelete a post a moderator deleted (counters restored), logged."""
    board = post.topic.board
    require_moderator(actor, board)
    require_not_own(actor, post)
    clean = clean_reason(reason)
    if not post.is_deleted:
        return False
    if post.deleted_by_id == post.author_id:
        # The author's own choice to take their words down is not a moderator's to undo.
        raise Denied("The author deleted this post themselves.")
    apply_restore(post)
    audit.record(
        actor,
        Action.POST_RESTORED,
        rank=policy.moderation_rank(actor, board.group),
        target_type="post",
        target_id=post.id,
        group=board.group,
        reason=clean,
    )
    db.session.flush()
    return True


def _publish(post: Post) -> None:
    """An approved post becomes its topic's (and board's) latest activity; an approved
    first post makes a waiting topic visible and counted on its board."""
    topic = post.topic
    board = topic.board
    if topic.awaiting_approval and post.number == 1:
        topic.awaiting_approval = False
        board.topics_count = Board.topics_count + 1
        board.posts_count = Board.posts_count + 1
    if post.created_at >= topic.last_post_at or post.number == 1:
        topic.last_post_at = post.created_at
        topic.last_poster_id = post.author_id
    if board.last_post_at is None or post.created_at >= board.last_post_at:
        board.last_post_at = post.created_at
        board.last_topic_id = topic.id
    topic.revision = Topic.revision + 1
    board.revision = Board.revision + 1


def approve_post(actor: Actor, post: Post, *, reason: Any = "") -> bool:
    """Publish a new member's post that waited for approval."""
    board = post.topic.board
    require_moderator(actor, board)
    require_not_own(actor, post)
    clean = clean_reason(reason, required=False)
    if post.hidden_kind != HiddenKind.APPROVAL or post.is_deleted:
        return False
    apply_unhide(post)
    _publish(post)
    audit.record(
        actor,
        Action.POST_APPROVED,
        rank=policy.moderation_rank(actor, board.group),
        target_type="post",
        target_id=post.id,
        group=board.group,
        reason=clean,
    )
    _notify_author(post, "post_approved", "A moderator approved your post: it shows now.")
    db.session.flush()
    # Replies, mentions, quotes and watchers are told now, as if it were posted now.
    notify_approved(post)
    return True


def reject_post(actor: Actor, post: Post, *, reason: Any) -> bool:
    """Turn down a post that waited for approval (it is deleted, with the reason)."""
    board = post.topic.board
    require_moderator(actor, board)
    _require_may_act_against(actor, post)
    clean = clean_reason(reason)
    if post.hidden_kind != HiddenKind.APPROVAL or post.is_deleted:
        return False
    apply_delete(post, by_id=actor.user_id)
    audit.record(
        actor,
        Action.POST_REJECTED,
        rank=policy.moderation_rank(actor, board.group),
        target_type="post",
        target_id=post.id,
        group=board.group,
        reason=clean,
    )
    _notify_author(post, "post_rejected", f"A moderator did not approve your post: {clean}")
    db.session.flush()
    return True


# --- topics ----------------------------------------------------------------------


def _topic_action(
    actor: Actor, topic: Topic, *, flag: str, value: bool, action: Action, reason: Any
) -> bool:
    board = topic.board
    require_moderator(actor, board)
    clean = clean_reason(reason)
    if not apply_topic_flag(topic, flag, value):
        return False
    audit.record(
        actor,
        action,
        rank=policy.moderation_rank(actor, board.group),
        target_type="topic",
        target_id=topic.id,
        group=board.group,
        reason=clean,
    )
    db.session.flush()
    return True


def lock_topic(actor: Actor, topic: Topic, *, reason: Any) -> bool:
    """Lock a topic: only moderators reply or edit."""
    return _topic_action(
        actor, topic, flag="locked", value=True, action=Action.TOPIC_LOCKED, reason=reason
    )


def unlock_topic(actor: Actor, topic: Topic, *, reason: Any) -> bool:
    """Unlock a topic."""
    return _topic_action(
        actor, topic, flag="locked", value=False, action=Action.TOPIC_UNLOCKED, reason=reason
    )


def pin_topic(actor: Actor, topic: Topic, *, reason: Any) -> bool:
    """Pin a topic to the top of its board."""
    return _topic_action(
        actor, topic, flag="pinned", value=True, action=Action.TOPIC_PINNED, reason=reason
    )


def unpin_topic(actor: Actor, topic: Topic, *, reason: Any) -> bool:
    """Unpin a topic."""
    return _topic_action(
        actor, topic, flag="pinned", value=False, action=Action.TOPIC_UNPINNED, reason=reason
    )


def close_topic(actor: Actor, topic: Topic, *, reason: Any) -> bool:
    """Close a topic: no new replies (edits still allowed)."""
    return _topic_action(
        actor, topic, flag="closed", value=True, action=Action.TOPIC_CLOSED, reason=reason
    )


def open_topic(actor: Actor, topic: Topic, *, reason: Any) -> bool:
    """Open a closed topic again."""
    return _topic_action(
        actor, topic, flag="closed", value=False, action=Action.TOPIC_OPENED, reason=reason
    )


def crosses_secret_line(source: Board, destination: Board) -> bool:
    """True if a move between the boards changes who can read the topic via a secret group."""
    if source.group_id == destination.group_id:
        return False
    groups = (source.group, destination.group)
    return any(group is not None and group.is_secret for group in groups)


def move_topic(
    actor: Actor, topic: Topic, board: Board, *, reason: Any, confirm_group_change: bool = False
) -> bool:
    """Move a topic to another board; a move into or out of a secret group must be confirmed."""
    source = topic.board
    require_moderator(actor, source)
    require_moderator(actor, board)
    clean = clean_reason(reason)
    if source.id == board.id:
        return False
    if crosses_secret_line(source, board) and confirm_group_change is not True:
        raise Invalid("board", CROSS_GROUP_MOVE_MESSAGE)
    apply_move(topic, board)
    data = {"from_board": source.id, "to_board": board.id}
    arrived = audit.record(
        actor,
        Action.TOPIC_MOVED,
        rank=policy.moderation_rank(actor, board.group),
        target_type="topic",
        target_id=topic.id,
        group=board.group,
        reason=clean,
        data=data,
    )
    if source.group_id != board.group_id:
        # Both scopes' moderators see the topic leave one and arrive in the other.
        left = audit.record(
            actor,
            Action.TOPIC_MOVED,
            rank=policy.moderation_rank(actor, source.group),
            target_type="topic",
            target_id=topic.id,
            group=source.group,
            reason=clean,
            data={**data, "pair": arrived.id},
        )
        arrived.data = json.dumps({**data, "pair": left.id}, sort_keys=True)
    db.session.flush()
    return True


def set_slow_mode(actor: Actor, topic: Topic, *, minutes: Any, reason: Any) -> bool:
    """Let each member post in the topic once every N minutes (0 turns it off)."""
    board = topic.board
    require_moderator(actor, board)
    clean_minutes = validation.integer(minutes, "minutes", minimum=0, maximum=SLOW_MODE_MAX)
    clean = clean_reason(reason)
    before = topic.slow_mode_minutes
    if not apply_topic_flag(topic, "slow_mode_minutes", clean_minutes):
        return False
    audit.record(
        actor,
        Action.SLOW_MODE_SET,
        rank=policy.moderation_rank(actor, board.group),
        target_type="topic",
        target_id=topic.id,
        group=board.group,
        reason=clean,
        data={"before": before, "minutes": clean_minutes},
    )
    db.session.flush()
    return True


# --- undo (registered with forum.moderation.undo) ----------------------------------

_TOPIC_FLAGS: dict[Action, tuple[str, bool]] = {
    # action -> (flag, the value undo puts back)
    Action.TOPIC_LOCKED: ("locked", False),
    Action.TOPIC_UNLOCKED: ("locked", True),
    Action.TOPIC_PINNED: ("pinned", False),
    Action.TOPIC_UNPINNED: ("pinned", True),
    Action.TOPIC_CLOSED: ("closed", False),
    Action.TOPIC_OPENED: ("closed", True),
}


def _logged_post(actor: Actor, entry: ModerationLog) -> Post:
    """The entry's post, if the actor may still moderate it (else `Conflict`/`Denied`)."""
    post = db.session.get(Post, entry.target_id) if entry.target_type == "post" else None
    if post is None:
        raise stale()
    require_moderator(actor, post.topic.board)
    require_not_own(actor, post)
    return post


def _logged_topic(actor: Actor, entry: ModerationLog) -> Topic:
    """The entry's topic, if the actor moderates its board."""
    topic = db.session.get(Topic, entry.target_id) if entry.target_type == "topic" else None
    if topic is None:
        raise stale()
    require_moderator(actor, topic.board)
    return topic


@reverser(Action.POST_HIDDEN, Action.POST_HIDDEN_BY_COMMUNITY)
def _undo_hide(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    post = _logged_post(actor, entry)
    if not post.is_hidden:
        raise stale()
    previous = data.get("previous") or {}
    apply_hidden_state(post, previous)
    if not previous.get("kind"):
        # Cleared: as with an unhide, the same reporters cannot hide it again.
        close_open_case(
            actor, post, status=ReportStatus.DISMISSED, resolution="dismiss", reason=reason
        )


@reverser(Action.POST_UNHIDDEN)
def _undo_unhide(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    post = _logged_post(actor, entry)
    if post.is_hidden:
        raise stale()
    apply_hidden_state(post, data.get("previous") or {})


@reverser(Action.POST_DELETED, Action.POST_REJECTED)
def _undo_delete(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    if not apply_restore(_logged_post(actor, entry)):
        raise stale()


@reverser(Action.POST_RESTORED)
def _undo_restore(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    if not apply_delete(_logged_post(actor, entry), by_id=actor.user_id):
        raise stale()


@reverser(Action.POST_APPROVED)
def _undo_approve(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    post = _logged_post(actor, entry)
    if post.is_hidden:
        raise stale()
    apply_hide(post, kind=HiddenKind.APPROVAL, reason="", by_id=None)


@reverser(*_TOPIC_FLAGS)
def _undo_flag(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    flag, value = _TOPIC_FLAGS[Action(entry.action)]
    if not apply_topic_flag(_logged_topic(actor, entry), flag, value):
        raise stale()


@reverser(Action.SLOW_MODE_SET)
def _undo_slow_mode(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    topic = _logged_topic(actor, entry)
    if topic.slow_mode_minutes != data.get("minutes"):
        raise stale()
    apply_topic_flag(topic, "slow_mode_minutes", int(data.get("before") or 0))


@reverser(Action.TOPIC_MOVED)
def _undo_move(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    topic = _logged_topic(actor, entry)
    back = db.session.get(Board, data.get("from_board"))
    if back is None or topic.board_id != data.get("to_board"):
        raise stale()
    require_moderator(actor, back)
    apply_move(topic, back)


@reverser(Action.REPORT_DISMISSED)
def _undo_dismissal(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    report = db.session.get(Report, entry.target_id) if entry.target_type == "report" else None
    if report is None or report.status != ReportStatus.DISMISSED:
        raise stale()
    require_moderator(actor, report.post.topic.board)
    require_not_own(actor, report.post)
    if open_case(report.post) is not None:
        raise Conflict("The post has a newer open report; review that one instead.")
    report.status = ReportStatus.OPEN
    report.resolved_at = None
    report.resolved_by_id = None
    report.resolution = ""
    report.resolution_reason = ""
    if data.get("unhid") and not report.post.is_hidden:
        apply_hidden_state(report.post, data.get("hidden") or {})
