"""Silences and suspensions, site-wide or inside one group, with a second moderator's
confirmation for long ones.

A `Sanction` row is the history and what the member reads; its effective end is mirrored
into `User.silenced_until`/`suspended_until` (site) or the `Membership` row (group), which
every request reads (see `policy.actor_for`).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.audit import clean_reason
from forum.audit import group_of
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.moderation import Report
from forum.models.moderation import Sanction
from forum.models.moderation import SanctionKind
from forum.models.moderation import SanctionState
from forum.models.modlog import ModerationLog
from forum.models.users import User
from forum.moderation.undo import reverser
from forum.moderation.undo import stale
from forum.policy import Actor
from forum.services.notifications import notify

DAYS_MAX = 365
# Longer sanctions (and permanent ones) run this long until a second moderator confirms.
UNCONFIRMED_DAYS = 7
# "Until lifted", as a date every database stores happily (year 9999 overflows some).
FOREVER = timedelta(days=36525)

AUTO_SILENCE_REASON = (
    "Silenced automatically after several members reported your posts as spam, "
    "until a moderator reviews it."
)

_LIVE = (SanctionState.ACTIVE, SanctionState.UNCONFIRMED)


def _scope_name(group: Group | None) -> str:
    return f' in the group "{group.name}"' if group is not None else ""


def _when(moment: datetime | None) -> str:
    return "until a moderator lifts it" if moment is None else f"until {moment:%Y-%m-%d %H:%M} UTC"


def _scope_filter(group_id: int | None) -> Any:
    return Sanction.group_id.is_(None) if group_id is None else Sanction.group_id == group_id


def _membership(user: User, group: Group) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)
    )


def live_sanctions(
    user_id: int, group_id: int | None, kind: SanctionKind | None = None
) -> list[Sanction]:
    """The member's sanctions in a scope that are not lifted (of one kind, if given)."""
    stmt = select(Sanction).where(
        Sanction.user_id == user_id, _scope_filter(group_id), Sanction.state.in_(_LIVE)
    )
    if kind is not None:
        stmt = stmt.where(Sanction.kind == kind)
    return list(db.session.scalars(stmt))


def mirror(user: User, group_id: int | None, kind: SanctionKind) -> None:
    """Recompute the member's silenced/suspended-until from the live sanctions of a kind."""
    db.session.flush()
    now = utcnow()
    ends = [s.ends_at or now + FOREVER for s in live_sanctions(user.id, group_id, kind)]
    end = max(ends) if ends else None
    if end is not None and end <= now:
        end = None
    field = "silenced_until" if kind == SanctionKind.SILENCE else "suspended_until"
    if group_id is None:
        setattr(user, field, end)
    else:
        membership = db.session.scalar(
            select(Membership).where(Membership.group_id == group_id, Membership.user_id == user.id)
        )
        if membership is not None:
            # The membership change bumps the member's memberships_version (see
            # forum.models.groups), so every worker sees the sanction on the next request.
            setattr(membership, field, end)
    db.session.flush()


def _check_can_act(actor: Actor, user: User, group: Group | None) -> None:
    policy.check_act_on_member(actor, user, group)


def _days(days: Any) -> int | None:
    if days is None:
        return None
    return validation.integer(days, "days", minimum=1, maximum=DAYS_MAX)


def _sanction(
    actor: Actor,
    user: User,
    kind: SanctionKind,
    *,
    group: Group | None,
    days: Any,
    reason: Any,
    report: Report | None,
) -> Sanction:
    _check_can_act(actor, user, group)
    clean_days = _days(days)
    clean = clean_reason(reason)
    if group is not None and _membership(user, group) is None:
        raise Invalid("user", "They are not a member of this group.")
    now = utcnow()
    needs_second = clean_days is None or clean_days > UNCONFIRMED_DAYS
    sanction = Sanction(
        user_id=user.id,
        group_id=group.id if group is not None else None,
        kind=kind,
        state=SanctionState.UNCONFIRMED if needs_second else SanctionState.ACTIVE,
        reason=clean,
        starts_at=now,
        ends_at=now + timedelta(days=UNCONFIRMED_DAYS if needs_second else clean_days or 0),
        requested_days=clean_days if needs_second else None,
        created_by_id=actor.user_id,
        report_id=report.id if report is not None else None,
    )
    db.session.add(sanction)
    # A moderator's decision replaces the community's automatic silence: it is reviewed.
    for auto in live_sanctions(user.id, sanction.group_id):
        if auto.created_by_id is None:
            auto.state = SanctionState.LIFTED
            auto.lifted_at = now
            auto.lifted_by_id = actor.user_id
            mirror(user, auto.group_id, auto.kind)
    db.session.flush()
    mirror(user, sanction.group_id, kind)
    if kind == SanctionKind.SUSPEND and group is None:
        # Ends every session and API token the member holds.
        user.auth_epoch += 1
    verb = "silenced" if kind == SanctionKind.SILENCE else "suspended"
    audit.record(
        actor,
        Action.MEMBER_SILENCED if kind == SanctionKind.SILENCE else Action.MEMBER_SUSPENDED,
        rank=policy.moderation_rank(actor, group),
        target_type="sanction",
        target_id=sanction.id,
        group=group,
        reason=clean,
        data={
            "user": user.id,
            "days": clean_days,
            "report": report.id if report is not None else None,
        },
    )
    asked = ""
    if needs_second:
        asked = " A second moderator will review it; until then it runs for 7 days."
    notify(
        user.id,
        f"member_{verb}",
        f"You have been {verb}{_scope_name(group)} {_when(sanction.ends_at)}. "
        f"Reason: {clean}{asked} You can appeal once.",
    )
    db.session.flush()
    return sanction


def silence_member(
    actor: Actor,
    user: User,
    *,
    group: Group | None,
    days: Any,
    reason: Any,
    report: Report | None = None,
) -> Sanction:
    """Silence a member (reads, cannot post) on the site or in a group, for days or for good."""
    return _sanction(
        actor, user, SanctionKind.SILENCE, group=group, days=days, reason=reason, report=report
    )


def suspend_member(
    actor: Actor,
    user: User,
    *,
    group: Group | None,
    days: Any,
    reason: Any,
    report: Report | None = None,
) -> Sanction:
    """Suspend a member (site: cannot log in; group: loses the group) for days or for good."""
    return _sanction(
        actor, user, SanctionKind.SUSPEND, group=group, days=days, reason=reason, report=report
    )


def auto_silence(user: User, group: Group | None, *, report: Report | None) -> Sanction | None:
    """Silence a new member whose posts drew spam reports from several members, until a
    moderator reviews it (the community's defence: no actor, no policy check)."""
    if live_sanctions(user.id, group.id if group else None, SanctionKind.SILENCE):
        return None
    if group is not None and _membership(user, group) is None:
        return None
    sanction = Sanction(
        user_id=user.id,
        group_id=group.id if group is not None else None,
        kind=SanctionKind.SILENCE,
        state=SanctionState.ACTIVE,
        reason=AUTO_SILENCE_REASON,
        starts_at=utcnow(),
        ends_at=None,
        created_by_id=None,
        report_id=report.id if report is not None else None,
    )
    db.session.add(sanction)
    db.session.flush()
    mirror(user, sanction.group_id, SanctionKind.SILENCE)
    audit.record(
        policy.SYSTEM,
        Action.MEMBER_AUTO_SILENCED,
        rank=policy.moderation_rank(policy.SYSTEM, group),
        target_type="sanction",
        target_id=sanction.id,
        group=group,
        reason=AUTO_SILENCE_REASON,
        data={"user": user.id},
    )
    notify(
        user.id,
        "member_silenced",
        f"You have been silenced{_scope_name(group)}: {AUTO_SILENCE_REASON} "
        "You can still read, and you can appeal once.",
    )
    return sanction


def creator_rank(sanction: Sanction, group: Group | None) -> int:
    """The rank, in the scope, of the moderator who imposed the sanction (system: none)."""
    if sanction.created_by_id is None:
        return policy.RANK_NONE
    creator = db.session.get(User, sanction.created_by_id)
    return policy.member_rank(creator, group) if creator is not None else policy.RANK_NONE


def confirm_sanction(actor: Actor, sanction: Sanction) -> bool:
    """A second moderator (of the same or a higher rank) confirms a long sanction, or a
    moderator keeps an automatic silence; True if it changed."""
    group = group_of(sanction.group_id)
    _check_can_act(actor, sanction.user, group)
    if sanction.created_by_id == actor.user_id:
        raise Denied("A second moderator must confirm this.")
    if policy.moderation_rank(actor, group) < creator_rank(sanction, group):
        raise Denied("Only a moderator of the same or a higher rank can confirm this.")
    if sanction.state == SanctionState.UNCONFIRMED:
        sanction.state = SanctionState.ACTIVE
        sanction.ends_at = (
            sanction.starts_at + timedelta(days=sanction.requested_days)
            if sanction.requested_days is not None
            else None
        )
    elif (
        sanction.state == SanctionState.ACTIVE
        and sanction.created_by_id is None
        and sanction.confirmed_by_id is None
    ):
        pass  # keeping an automatic silence: it runs until lifted
    else:
        return False
    sanction.confirmed_by_id = actor.user_id
    mirror(sanction.user, sanction.group_id, sanction.kind)
    audit.record(
        actor,
        Action.SANCTION_CONFIRMED,
        rank=policy.moderation_rank(actor, group),
        target_type="sanction",
        target_id=sanction.id,
        group=group,
        reason="",
        data={"user": sanction.user_id},
    )
    verb = "silence" if sanction.kind == SanctionKind.SILENCE else "suspension"
    notify(
        sanction.user_id,
        "sanction_confirmed",
        f"A second moderator confirmed your {verb}{_scope_name(group)}: "
        f"it runs {_when(sanction.ends_at)}.",
    )
    db.session.flush()
    return True


def apply_lift(sanction: Sanction, *, by_id: int | None) -> bool:
    """End a sanction now and recompute the mirror; True if it was live."""
    if sanction.state == SanctionState.LIFTED:
        return False
    sanction.state = SanctionState.LIFTED
    sanction.lifted_at = utcnow()
    sanction.lifted_by_id = by_id
    mirror(sanction.user, sanction.group_id, sanction.kind)
    return True


def apply_reinstate(sanction: Sanction, state: SanctionState) -> bool:
    """Put a lifted sanction back (undo of a lift); True if it changed."""
    if sanction.state != SanctionState.LIFTED:
        return False
    sanction.state = state
    sanction.lifted_at = None
    sanction.lifted_by_id = None
    mirror(sanction.user, sanction.group_id, sanction.kind)
    if sanction.kind == SanctionKind.SUSPEND and sanction.group_id is None:
        sanction.user.auth_epoch += 1
    return True


def lift_sanction(actor: Actor, sanction: Sanction, *, reason: Any) -> bool:
    """End a silence or suspension early (moderators in scope); True if it was live."""
    policy.require_member(actor)
    group = group_of(sanction.group_id)
    if sanction.user_id == actor.user_id:
        raise Denied("You cannot act on yourself.")
    rank = policy.moderation_rank(actor, group)
    if rank == policy.RANK_NONE:
        raise Denied("You do not moderate there.")
    if rank < creator_rank(sanction, group):
        raise Denied("Only a moderator of the same or a higher rank can lift this.")
    clean = clean_reason(reason)
    previous = sanction.state
    if not apply_lift(sanction, by_id=actor.user_id):
        return False
    audit.record(
        actor,
        Action.SANCTION_LIFTED,
        rank=policy.moderation_rank(actor, group),
        target_type="sanction",
        target_id=sanction.id,
        group=group,
        reason=clean,
        data={"user": sanction.user_id, "state": previous.value},
    )
    verb = "silence" if sanction.kind == SanctionKind.SILENCE else "suspension"
    notify(
        sanction.user_id,
        "sanction_lifted",
        f"Your {verb}{_scope_name(group)} has been lifted.",
    )
    db.session.flush()
    return True


def member_standing(actor: Actor, user: User) -> list[Sanction]:
    """A member's sanctions, newest first: for themselves, or moderators of a scope they
    are in; else `NotFound`."""
    policy.require_member(actor)
    if user.id != actor.user_id and not _moderates_member(actor, user):
        raise NotFound()
    return list(
        db.session.scalars(
            policy.visible_sanctions(actor)
            .where(Sanction.user_id == user.id)
            .order_by(Sanction.starts_at.desc(), Sanction.id.desc())
        )
    )


def _moderates_member(actor: Actor, user: User) -> bool:
    # Every member is in the site's scope; a group's moderators see only their members.
    if policy.can_moderate_scope(actor, None):
        return True
    groups = db.session.scalars(
        select(Group)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user.id)
    )
    return any(policy.can_moderate_scope(actor, group) for group in groups)


# --- undo (registered with forum.moderation.undo) ----------------------------------


def _logged_sanction(actor: Actor, entry: ModerationLog) -> Sanction:
    sanction = (
        db.session.get(Sanction, entry.target_id) if entry.target_type == "sanction" else None
    )
    if sanction is None:
        raise stale()
    if sanction.user_id == actor.user_id:
        raise Denied("You cannot act on yourself.")
    return sanction


@reverser(Action.MEMBER_SILENCED, Action.MEMBER_SUSPENDED, Action.MEMBER_AUTO_SILENCED)
def _undo_sanction(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    if not apply_lift(_logged_sanction(actor, entry), by_id=actor.user_id):
        raise stale()


@reverser(Action.SANCTION_LIFTED)
def _undo_lift(actor: Actor, entry: ModerationLog, data: dict[str, Any], reason: str) -> None:
    sanction = _logged_sanction(actor, entry)
    state = SanctionState(data.get("state") or SanctionState.ACTIVE.value)
    if not apply_reinstate(sanction, state):
        raise stale()
