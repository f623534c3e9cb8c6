"""The moderation log: writing entries, listing them in scope, and undoing actions."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum import policy
from forum import validation
from forum.errors import Conflict
from forum.errors import Denied
from forum.extensions import db
from forum.listings import Page
from forum.listings import _paged
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.moderation import Report
from forum.models.moderation import ReportStatus
from forum.models.moderation import Sanction
from forum.models.moderation import SanctionState
from forum.models.modlog import ModerationLog
from forum.models.posts import HiddenKind
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.policy import Actor

REASON_MAX = 500

# Actions that `undo` knows how to reverse.
UNDOABLE = frozenset(
    {
        "report_dismissed",
        "post_hidden",
        "post_hidden_by_community",
        "post_unhidden",
        "post_deleted",
        "post_restored",
        "post_approved",
        "post_rejected",
        "member_silenced",
        "member_suspended",
        "member_auto_silenced",
        "sanction_lifted",
        "topic_locked",
        "topic_unlocked",
        "topic_pinned",
        "topic_unpinned",
        "topic_closed",
        "topic_opened",
        "topic_moved",
        "slow_mode_set",
    }
)


def clean_reason(reason: Any, *, required: bool = True) -> str:
    """A moderator's reason: 1..500 characters (or empty, when not required)."""
    return validation.text(
        reason, "reason", min_len=1 if required else 0, max_len=REASON_MAX, label="Reason"
    )


def group_of(group_id: int | None) -> Group | None:
    """The group of a scope id (None: the site)."""
    return db.session.get(Group, group_id) if group_id is not None else None


def record(
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: int,
    group: Group | None,
    reason: str,
    data: dict[str, Any] | None = None,
) -> ModerationLog:
    """Write one log row in the caller's transaction (data: JSON, never reporter names)."""
    entry = ModerationLog(
        # The system (auto-hide) and the command-line operator are no member account.
        actor_id=actor.user_id or None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        group_id=group.id if group is not None else None,
        reason=reason,
        created_at=utcnow(),
        data=json.dumps(data or {}, sort_keys=True),
        actor_rank=policy.moderation_rank(actor, group),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def entry_data(entry: ModerationLog) -> dict[str, Any]:
    """The entry's data as a dict (empty if unreadable)."""
    try:
        found = json.loads(entry.data or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def entries(actor: Actor, *, page: int = 1, per_page: int = 50) -> Page[ModerationLog]:
    """Log entries the actor may see, newest first."""
    scope = policy.visible_log_entries(actor)
    total = int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)
    stmt = scope.options(joinedload(ModerationLog.actor)).order_by(
        ModerationLog.created_at.desc(), ModerationLog.id.desc()
    )
    return _paged(stmt, total, page, per_page)


def undo(actor: Actor, entry: ModerationLog, *, reason: Any) -> bool:
    """Reverse a logged action (moderators of the same or a higher rank in its scope)."""
    group = group_of(entry.group_id)
    policy.check_undo_log_entry(actor, entry, group)
    clean = clean_reason(reason)
    if entry.action not in UNDOABLE:
        raise Conflict("That action cannot be undone.")
    data = entry_data(entry)
    _reverse(actor, entry, data, reason=clean)
    now = utcnow()
    for undone in _with_partner(entry, data):
        undone.undone_at = now
        undone.undone_by_id = actor.user_id
    record(
        actor,
        "undo",
        target_type=entry.target_type,
        target_id=entry.target_id,
        group=group,
        reason=clean,
        data={"entry": entry.id, "action": entry.action},
    )
    return True


def _with_partner(entry: ModerationLog, data: dict[str, Any]) -> list[ModerationLog]:
    """The entry, and the other scope's row of the same move (undone together)."""
    found = [entry]
    pair = data.get("pair")
    if isinstance(pair, int):
        partner = db.session.get(ModerationLog, pair)
        if partner is not None and partner.undone_at is None:
            found.append(partner)
    return found


_TOPIC_FLAGS: dict[str, tuple[str, bool]] = {
    # action -> (flag, the value undo puts back)
    "topic_locked": ("locked", False),
    "topic_unlocked": ("locked", True),
    "topic_pinned": ("pinned", False),
    "topic_unpinned": ("pinned", True),
    "topic_closed": ("closed", False),
    "topic_opened": ("closed", True),
}


def _reverse(actor: Actor, entry: ModerationLog, data: dict[str, Any], *, reason: str) -> None:
    """Put back what the entry's action changed, or raise `Conflict` if it changed since."""
    # Imported here: actions and sanctions write their log rows through this module.
    from forum.moderation import actions
    from forum.moderation import sanctions

    stale = Conflict("That has changed since; there is nothing to undo.")
    action = entry.action
    if entry.target_type == "post":
        post = db.session.get(Post, entry.target_id)
        if post is None:
            raise stale
        actions.require_moderator(actor, post.topic.board)
        actions.require_not_own(actor, post)
        if action in ("post_hidden", "post_hidden_by_community"):
            if not post.is_hidden:
                raise stale
            previous = data.get("previous") or {}
            actions.apply_hidden_state(post, previous)
            if not previous.get("kind"):
                # Cleared: as with an unhide, the same reporters cannot hide it again.
                actions.close_open_case(
                    actor, post, status=ReportStatus.DISMISSED, resolution="dismiss", reason=reason
                )
        elif action == "post_unhidden":
            if post.is_hidden:
                raise stale
            actions.apply_hidden_state(post, data.get("previous") or {})
        elif action in ("post_deleted", "post_rejected"):
            if not actions.apply_restore(post):
                raise stale
        elif action == "post_restored":
            if not actions.apply_delete(post, by_id=actor.user_id):
                raise stale
        elif action == "post_approved":
            if post.is_hidden:
                raise stale
            actions.apply_hide(post, kind=HiddenKind.APPROVAL, reason="", by_id=None)
    elif entry.target_type == "topic":
        topic = db.session.get(Topic, entry.target_id)
        if topic is None:
            raise stale
        actions.require_moderator(actor, topic.board)
        if action in _TOPIC_FLAGS:
            flag, value = _TOPIC_FLAGS[action]
            if not actions.apply_topic_flag(topic, flag, value):
                raise stale
        elif action == "slow_mode_set":
            if topic.slow_mode_minutes != data.get("minutes"):
                raise stale
            actions.apply_topic_flag(topic, "slow_mode_minutes", int(data.get("before") or 0))
        elif action == "topic_moved":
            back = db.session.get(Board, data.get("from_board"))
            if back is None or topic.board_id != data.get("to_board"):
                raise stale
            actions.require_moderator(actor, back)
            actions.apply_move(topic, back)
    elif entry.target_type == "sanction":
        sanction = db.session.get(Sanction, entry.target_id)
        if sanction is None:
            raise stale
        if sanction.user_id == actor.user_id:
            raise Denied("You cannot act on yourself.")
        if action == "sanction_lifted":
            state = SanctionState(data.get("state") or SanctionState.ACTIVE.value)
            if not sanctions.apply_reinstate(sanction, state):
                raise stale
        elif not sanctions.apply_lift(sanction, by_id=actor.user_id):
            raise stale
    elif entry.target_type == "report" and action == "report_dismissed":
        report = db.session.get(Report, entry.target_id)
        if report is None or report.status != ReportStatus.DISMISSED:
            raise stale
        actions.require_moderator(actor, report.post.topic.board)
        actions.require_not_own(actor, report.post)
        if actions.open_case(report.post) is not None:
            raise Conflict("The post has a newer open report; review that one instead.")
        report.status = ReportStatus.OPEN
        report.resolved_at = None
        report.resolved_by_id = None
        report.resolution = ""
        report.resolution_reason = ""
        if data.get("unhid") and not report.post.is_hidden:
            actions.apply_hidden_state(report.post, data.get("hidden") or {})
    else:
        raise Conflict("That action cannot be undone.")
    db.session.flush()
