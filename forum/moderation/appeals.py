"""Appeals: a member actioned (a hidden post, a sanction) asks once for another look,
and a moderator other than the one who acted decides."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.audit import clean_reason
from forum.audit import group_of
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.listings import Page
from forum.listings import _paged
from forum.models.base import utcnow
from forum.models.moderation import Appeal
from forum.models.moderation import AppealState
from forum.models.moderation import ReportStatus
from forum.models.moderation import Sanction
from forum.models.moderation import SanctionState
from forum.models.posts import HiddenKind
from forum.models.posts import Post
from forum.moderation import actions
from forum.moderation import sanctions
from forum.policy import Actor
from forum.services.notifications import notify

TARGET_TYPES = ("post", "sanction")
TEXT_MAX = 2000


def appeal(actor: Actor, *, target_type: Any, target_id: Any, text: Any) -> Appeal:
    """Appeal an action taken on the actor: their hidden post or their sanction (once)."""
    member_id = policy.require_member(actor)
    kind = validation.choice(target_type, "target_type", TARGET_TYPES)
    target = validation.integer(target_id, "target_id", minimum=1)
    clean_text = validation.text(text, "text", min_len=1, max_len=TEXT_MAX)
    acted_by: int | None
    group_id: int | None
    if kind == "post":
        post = db.session.get(Post, target)
        # Only the member actioned may appeal; to anyone else the target does not exist.
        if post is None or post.author_id != member_id:
            raise NotFound()
        if not post.is_hidden or post.hidden_kind == HiddenKind.APPROVAL or post.is_deleted:
            raise Invalid("target_id", "Only a hidden post can be appealed.")
        acted_by = post.hidden_by_id
        group_id = post.topic.board.group_id
    else:
        sanction = db.session.get(Sanction, target)
        if sanction is None or sanction.user_id != member_id:
            raise NotFound()
        if sanction.state == SanctionState.LIFTED:
            raise Invalid("target_id", "This sanction has ended already.")
        acted_by = sanction.created_by_id or sanction.confirmed_by_id
        group_id = sanction.group_id
    existing = db.session.scalar(
        select(Appeal.id).where(Appeal.target_type == kind, Appeal.target_id == target)
    )
    if existing is not None:
        raise Conflict("You have appealed this already; each action can be appealed once.")
    made = Appeal(
        user_id=member_id,
        target_type=kind,
        target_id=target,
        group_id=group_id,
        acted_by_id=acted_by,
        text=clean_text,
        created_at=utcnow(),
    )
    db.session.add(made)
    db.session.flush()
    return made


def decide_appeal(actor: Actor, appeal: Appeal, *, grant: bool, reason: Any) -> Appeal:
    """Grant (the post shows again, the sanction ends) or deny an appeal; a moderator in
    scope other than the appellant and the one who acted decides."""
    group = group_of(appeal.group_id)
    policy.check_decide_appeal(actor, appeal, group)
    clean = clean_reason(reason)
    grant = validation.boolean(grant, "grant")
    post_id: int | None = None
    if appeal.target_type == "post":
        post = db.session.get(Post, appeal.target_id)
        if post is not None:
            post_id = post.id
            if grant:
                actions.require_moderator(actor, post.topic.board)
                if post.is_hidden:
                    actions.apply_unhide(post)
                    actions.close_open_case(
                        actor,
                        post,
                        status=ReportStatus.DISMISSED,
                        resolution="dismiss",
                        reason=clean,
                    )
    elif grant:
        sanction = db.session.get(Sanction, appeal.target_id)
        if sanction is not None:
            if policy.moderation_rank(actor, group) < sanctions.creator_rank(sanction, group):
                raise Denied("Only a moderator of the same or a higher rank can grant this.")
            sanctions.apply_lift(sanction, by_id=actor.user_id)
    appeal.state = AppealState.GRANTED if grant else AppealState.DENIED
    appeal.decided_at = utcnow()
    appeal.decided_by_id = actor.user_id
    appeal.decision_reason = clean
    audit.record(
        actor,
        Action.APPEAL_GRANTED if grant else Action.APPEAL_DENIED,
        rank=policy.moderation_rank(actor, group),
        target_type="appeal",
        target_id=appeal.id,
        group=group,
        reason=clean,
        data={"target_type": appeal.target_type, "target_id": appeal.target_id},
    )
    outcome = "granted" if grant else "not granted"
    notify(
        appeal.user_id,
        "appeal_decided",
        f"Your appeal was {outcome}. {clean}",
        post_id=post_id,
    )
    db.session.flush()
    return appeal


def visible_appeal_page(actor: Actor, *, page: int = 1, per_page: int = 50) -> Page[Appeal]:
    """Appeals the actor may see (their own, and those they may decide), newest first."""
    policy.require_member(actor)
    scope = policy.visible_appeals(actor)
    total = int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)
    stmt = scope.order_by(Appeal.created_at.desc(), Appeal.id.desc())
    return _paged(stmt, total, page, per_page)
