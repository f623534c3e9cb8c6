"""Who is in a group: the one door every membership comes through, and the history it keeps.

Every way into a group - an invitation link (also when registering with one), a join
request accepted, an invitation by name accepted, the group's creation - ends in
`admit_member`, the only code that makes a `Membership` row. It checks the group's
history, so that what applied to someone before applies again when they come back:

* someone the group keeps out (removed, or declined for good) does not come back by any
  door until an owner explicitly lets them (`allow_back`);
* the group's live silences and suspensions of them are put back on the new row;
* the join is written into the group's moderation log (which door, which link, who
  made it, who accepted).

Links and invitations by name also have history of their own: they work only while
whoever made them may still invite (`may_still_invite`), and removing, demoting or the
maker leaving revokes what they made (`revoke_made_by`).
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import select
from sqlalchemy import update

from forum import audit
from forum import policy
from forum.audit import Action
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import ExclusionKind
from forum.models.groups import Group
from forum.models.groups import GroupExclusion
from forum.models.groups import JoinRequest
from forum.models.groups import Membership
from forum.models.groups import RequestState
from forum.models.groups import Role
from forum.models.invitations import Invitation
from forum.models.invitations import MemberInvitation
from forum.models.invitations import MemberInvitationState
from forum.models.moderation import SanctionKind
from forum.models.users import User
from forum.moderation import sanctions
from forum.policy import Actor


class Door(enum.StrEnum):
    """How someone came into a group (the `door` of a `member_joined` log row)."""

    LINK = "link"
    REQUEST = "request"
    NAME = "name"
    CREATION = "creation"


def membership_of(group: Group, user_id: int) -> Membership | None:
    """The user's membership in the group, if any (no policy check: for services)."""
    return db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user_id)
    )


def live_exclusion(group: Group, user_id: int) -> GroupExclusion | None:
    """The exclusion that keeps the user out of the group now, if any."""
    return db.session.scalar(
        select(GroupExclusion).where(
            GroupExclusion.group_id == group.id,
            GroupExclusion.user_id == user_id,
            GroupExclusion.lifted_at.is_(None),
        )
    )


def admit_member(
    actor: Actor,
    group: Group,
    user_id: int,
    *,
    door: Door,
    role: Role = Role.MEMBER,
    data: dict[str, Any] | None = None,
) -> Membership:
    """Make the user a member of the group: the only place a membership is created.

    Someone already in the group keeps their membership as it is. Someone the group keeps
    out gets `NotFound` (each door says it its own way first, if it should say more).
    """
    existing = membership_of(group, user_id)
    if existing is not None:
        return existing
    if live_exclusion(group, user_id) is not None:
        raise NotFound()
    membership = Membership(group_id=group.id, user_id=user_id, role=role, created_at=utcnow())
    db.session.add(membership)
    db.session.flush()
    # The Sanction rows are the history; the membership's silenced/suspended-until mirror
    # them. A new row starts empty, so a member who left while silenced would otherwise
    # come back free: recompute the mirror from the live sanctions.
    user = db.session.get(User, user_id)
    if user is not None:
        for kind in SanctionKind:
            sanctions.mirror(user, group.id, kind)
    now = utcnow()
    # Whatever else was waiting for them at other doors is settled by this one.
    db.session.execute(
        update(JoinRequest)
        .where(
            JoinRequest.group_id == group.id,
            JoinRequest.user_id == user_id,
            JoinRequest.state == RequestState.PENDING,
        )
        .values(state=RequestState.ACCEPTED, decided_at=now, decided_by_id=actor.user_id or None)
    )
    db.session.execute(
        update(MemberInvitation)
        .where(
            MemberInvitation.group_id == group.id,
            MemberInvitation.user_id == user_id,
            MemberInvitation.state == MemberInvitationState.PENDING,
        )
        .values(state=MemberInvitationState.WITHDRAWN, decided_at=now)
    )
    audit.record(
        actor,
        Action.MEMBER_JOINED,
        rank=policy.moderation_rank(actor, group),
        target_type="user",
        target_id=user_id,
        group=group,
        reason="",
        data={"door": door.value, "role": role.value, **(data or {})},
    )
    return membership


def may_still_invite(user_id: int | None, group: Group, *, by_name: bool = False) -> bool:
    """True if the member who made a link (or, `by_name`, an invitation by name) may still
    invite into the group: checked at every use, so a removed, demoted or sanctioned
    maker's invitations lead nowhere."""
    if user_id is None:
        # The maker's account is gone (or the command-line operator made it).
        return False
    maker = db.session.get(User, user_id)
    if maker is None:
        return False
    maker_actor = policy.actor_for(maker, guests_read=False)
    if by_name:
        return policy.can_invite_by_name(maker_actor, group)
    return policy.can_invite(maker_actor, group)


def revoke_made_by(
    actor: Actor, group: Group, user_id: int, *, why: str, links: bool = True
) -> int:
    """Revoke the open links (if `links`) and pending invitations by name that the member
    made in the group, with one log row; the number revoked."""
    now = utcnow()
    link_ids: list[int] = []
    if links:
        link_ids = list(
            db.session.scalars(
                select(Invitation.id).where(
                    Invitation.group_id == group.id,
                    Invitation.created_by_id == user_id,
                    Invitation.revoked_at.is_(None),
                    Invitation.expires_at > now,
                    Invitation.uses < Invitation.max_uses,
                )
            )
        )
    named_ids = list(
        db.session.scalars(
            select(MemberInvitation.id).where(
                MemberInvitation.group_id == group.id,
                MemberInvitation.invited_by_id == user_id,
                MemberInvitation.state == MemberInvitationState.PENDING,
            )
        )
    )
    if link_ids:
        db.session.execute(
            update(Invitation).where(Invitation.id.in_(link_ids)).values(revoked_at=now)
        )
    if named_ids:
        db.session.execute(
            update(MemberInvitation)
            .where(MemberInvitation.id.in_(named_ids))
            .values(state=MemberInvitationState.WITHDRAWN, decided_at=now)
        )
    if not link_ids and not named_ids:
        return 0
    audit.record(
        actor,
        Action.INVITATIONS_REVOKED,
        rank=policy.moderation_rank(actor, group),
        target_type="user",
        target_id=user_id,
        group=group,
        reason="",
        data={"why": why, "links": sorted(link_ids), "member_invitations": sorted(named_ids)},
    )
    return len(link_ids) + len(named_ids)


def exclude(actor: Actor, group: Group, user_id: int, kind: ExclusionKind) -> GroupExclusion:
    """Keep someone out of the group from now on, at every door, until an owner lets them
    back; what was waiting for them (a request, an invitation by name) is closed."""
    found = live_exclusion(group, user_id)
    if found is not None:
        return found
    now = utcnow()
    exclusion = GroupExclusion(
        group_id=group.id,
        user_id=user_id,
        kind=kind,
        created_by_id=actor.user_id or None,
        created_at=now,
    )
    db.session.add(exclusion)
    db.session.execute(
        update(JoinRequest)
        .where(
            JoinRequest.group_id == group.id,
            JoinRequest.user_id == user_id,
            JoinRequest.state == RequestState.PENDING,
        )
        .values(state=RequestState.DECLINED, decided_at=now, decided_by_id=actor.user_id or None)
    )
    db.session.execute(
        update(MemberInvitation)
        .where(
            MemberInvitation.group_id == group.id,
            MemberInvitation.user_id == user_id,
            MemberInvitation.state == MemberInvitationState.PENDING,
        )
        .values(state=MemberInvitationState.WITHDRAWN, decided_at=now)
    )
    db.session.flush()
    return exclusion


def exclusions(actor: Actor, group: Group) -> list[GroupExclusion]:
    """Who the group keeps out now, newest first: for those who manage it."""
    policy.check_manage_group(actor, group, "see who is kept out")
    return list(
        db.session.scalars(
            select(GroupExclusion)
            .where(GroupExclusion.group_id == group.id, GroupExclusion.lifted_at.is_(None))
            .order_by(GroupExclusion.created_at.desc(), GroupExclusion.id.desc())
        )
    )


def allow_back(actor: Actor, group: Group, username: Any) -> GroupExclusion:
    """Let someone the group keeps out come back by its doors again (owners, admins);
    logged. `NotFound` if the group keeps nobody of that name out."""
    policy.check_manage_group(actor, group, "can let someone back")
    if not isinstance(username, str) or len(username) > 40:
        raise NotFound()
    # Only names this group keeps out are found here: the owners knew them as members
    # (or askers), so this tells them nothing new about anyone.
    exclusion: GroupExclusion | None = db.session.scalar(
        select(GroupExclusion)
        .join(User, User.id == GroupExclusion.user_id)
        .where(
            GroupExclusion.group_id == group.id,
            GroupExclusion.lifted_at.is_(None),
            User.username_key == username.strip().lower(),
        )
    )
    if exclusion is None:
        raise NotFound()
    exclusion.lifted_at = utcnow()
    exclusion.lifted_by_id = actor.user_id or None
    audit.record(
        actor,
        Action.MEMBER_ALLOWED_BACK,
        rank=policy.moderation_rank(actor, group),
        target_type="user",
        target_id=exclusion.user_id,
        group=group,
        reason="",
        data={"exclusion": exclusion.id, "kind": exclusion.kind.value},
    )
    return exclusion
