"""Reports, sanctions, appeals and the moderation log: scopes, guards and checks.

Who moderates what (`require_moderator`, `check_moderate`, `check_moderate_scope`) and at
what rank lives in `ranks`, below every area that asks.
"""

from __future__ import annotations

from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select

from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import NotFound
from forum.extensions import db
from forum.models.groups import Group
from forum.models.moderation import Appeal
from forum.models.moderation import AppealState
from forum.models.moderation import Report
from forum.models.moderation import ReportStatus
from forum.models.moderation import Sanction
from forum.models.modlog import ModerationLog
from forum.models.posts import Post
from forum.policy.actors import Actor
from forum.policy.checks import passes
from forum.policy.checks import require_member
from forum.policy.ranks import RANK_NONE
from forum.policy.ranks import _in_moderated_scope
from forum.policy.ranks import check_moderate_scope
from forum.policy.ranks import moderation_rank


def visible_log_entries(actor: Actor) -> Select[ModerationLog]:
    """Moderation log entries in the actor's scope: a group's stay inside the group.

    Moderators see their scope's entries; a group that opens its log shows its entries to
    all its members too (entries never name reporters).
    """
    conditions = [_in_moderated_scope(actor, ModerationLog.group_id)]
    if actor.group_ids:
        open_logs = select(Group.id).where(
            Group.id.in_(sorted(actor.group_ids)), Group.log_visible_to_members.is_(True)
        )
        conditions.append(ModerationLog.group_id.in_(open_logs))
    return select(ModerationLog).where(or_(*conditions))


def visible_reports(actor: Actor) -> Select[Report]:
    """Reports the actor may review: in their scope, and never about their own posts."""
    own_posts = select(Post.id).where(Post.author_id == actor.user_id)
    return select(Report).where(
        _in_moderated_scope(actor, Report.group_id), Report.post_id.not_in(own_posts)
    )


def visible_sanctions(actor: Actor) -> Select[Sanction]:
    """Sanctions the actor may see: their own (with the reasons), and those in their scope."""
    conditions = [_in_moderated_scope(actor, Sanction.group_id)]
    if actor.is_member:
        conditions.append(Sanction.user_id == actor.user_id)
    return select(Sanction).where(or_(*conditions))


def visible_appeals(actor: Actor) -> Select[Appeal]:
    """Appeals the actor may see: their own, and those in their scope they may decide."""
    conditions = [
        and_(
            _in_moderated_scope(actor, Appeal.group_id),
            Appeal.user_id != actor.user_id,
            or_(Appeal.acted_by_id.is_(None), Appeal.acted_by_id != actor.user_id),
        )
    ]
    if actor.is_member:
        conditions.append(Appeal.user_id == actor.user_id)
    return select(Appeal).where(or_(*conditions))


def require_report(actor: Actor, report_id: int) -> Report:
    """The report, if it lies in the actor's moderation scope; else `NotFound`."""
    report: Report | None = db.session.scalar(visible_reports(actor).where(Report.id == report_id))
    if report is None:
        raise NotFound()
    return report


def require_sanction(actor: Actor, sanction_id: int) -> Sanction:
    """The sanction, if the actor may see it (theirs, or in their scope); else `NotFound`."""
    sanction: Sanction | None = db.session.scalar(
        visible_sanctions(actor).where(Sanction.id == sanction_id)
    )
    if sanction is None:
        raise NotFound()
    return sanction


def require_appeal(actor: Actor, appeal_id: int) -> Appeal:
    """The appeal, if the actor may see it; else `NotFound`."""
    appeal: Appeal | None = db.session.scalar(visible_appeals(actor).where(Appeal.id == appeal_id))
    if appeal is None:
        raise NotFound()
    return appeal


def require_log_entry(actor: Actor, entry_id: int) -> ModerationLog:
    """The moderation log entry, if the actor may see it; else `NotFound`."""
    entry: ModerationLog | None = db.session.scalar(
        visible_log_entries(actor).where(ModerationLog.id == entry_id)
    )
    if entry is None:
        raise NotFound()
    return entry


def check_undo_log_entry(actor: Actor, entry: ModerationLog, group: Group | None) -> None:
    """Raise unless the actor may undo a logged action (`group`: the entry's scope): once,
    and only as a moderator there of the same or a higher rank than whoever acted."""
    require_member(actor)
    rank = moderation_rank(actor, group)
    if rank == RANK_NONE:
        raise Denied("Only this scope's moderators can undo its actions.")
    if rank < entry.actor_rank:
        raise Denied("Only a moderator of the same or a higher rank can undo this action.")
    if entry.undone_at is not None:
        raise Conflict("That action has been undone already.")


def can_undo_log_entry(actor: Actor, entry: ModerationLog, group: Group | None) -> bool:
    """True if `check_undo_log_entry` lets the actor undo the logged action."""
    return passes(check_undo_log_entry, actor, entry, group)


def check_resolve_report(actor: Actor, report: Report, group: Group | None) -> None:
    """Raise unless the actor may decide the case (`group`: its scope): a moderator there,
    never about their own post, and only while it is open."""
    check_moderate_scope(actor, group)
    if report.post.author_id == actor.user_id:
        raise Denied("You cannot decide a report about your own post.")
    if report.status != ReportStatus.OPEN:
        raise Conflict("This report has been handled already.")


def can_resolve_report(actor: Actor, report: Report, group: Group | None) -> bool:
    """True if `check_resolve_report` lets the actor decide the case."""
    return passes(check_resolve_report, actor, report, group)


def check_decide_appeal(actor: Actor, appeal: Appeal, group: Group | None) -> None:
    """Raise unless the actor may decide the appeal (`group`: its scope): a moderator there
    other than the appellant and whoever acted, while it is open."""
    require_member(actor)
    if appeal.user_id == actor.user_id:
        raise Denied("You cannot decide your own appeal.")
    if appeal.acted_by_id is not None and appeal.acted_by_id == actor.user_id:
        raise Denied("A different moderator must decide an appeal against your action.")
    check_moderate_scope(actor, group)
    if appeal.state != AppealState.OPEN:
        raise Conflict("This appeal has been decided already.")


def can_decide_appeal(actor: Actor, appeal: Appeal, group: Group | None) -> bool:
    """True if `check_decide_appeal` lets the actor decide the appeal."""
    return passes(check_decide_appeal, actor, appeal, group)
