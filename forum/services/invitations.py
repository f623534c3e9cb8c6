"""Invitations: links made by a group's owners and moderators (or admins, for the site),
and invitations by name as their invitee sees and answers them.

A group link works only while its maker may still invite there, and never for someone
the group keeps out: both answer exactly like a link that does not exist.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.errors import Denied
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.invitations import Invitation
from forum.models.invitations import InvitationUse
from forum.models.invitations import MemberInvitation
from forum.models.invitations import MemberInvitationState
from forum.models.users import User
from forum.policy import Actor
from forum.services import membership
from forum.services.membership import Door
from forum.services.membership import membership_of

DEFAULT_HOURS = 7 * 24
MAX_HOURS = 30 * 24
MAX_USES = 500
# Newcomers who register with an invitation were vouched for: they start at trust level 1
# (only accounts made with the invitation; an existing member gains nothing by one).
INVITED_TRUST_LEVEL = 1
DEAD_LINK = "That invitation does not exist or has expired."


@dataclass
class NewInvitation:
    """A fresh invitation and its token: the only time the token exists in the clear."""

    invitation: Invitation
    token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invitation(
    actor: Actor, group: Group | None, *, max_uses: Any = None, expires_in_hours: Any = None
) -> NewInvitation:
    """Make an invitation link into a group (its owners, moderators) or the site (admins)."""
    if not _may_invite(actor, group):
        raise Denied("Only the group's owners and moderators can invite.")
    uses = 1 if max_uses in (None, "") else validation.integer(max_uses, "max_uses", minimum=1)
    if uses > MAX_USES:
        uses = validation.integer(uses, "max_uses", minimum=1, maximum=MAX_USES)
    hours = (
        DEFAULT_HOURS
        if expires_in_hours in (None, "")
        else validation.integer(expires_in_hours, "expires_in_hours", minimum=1, maximum=MAX_HOURS)
    )
    token = secrets.token_urlsafe(24)
    now = utcnow()
    invitation = Invitation(
        group_id=group.id if group else None,
        token_hash=_digest(token),
        created_by_id=actor.user_id or None,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        max_uses=uses,
        uses=0,
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        actor,
        Action.CREATE_INVITATION,
        rank=policy.moderation_rank(actor, group),
        target_type="invitation",
        target_id=invitation.id,
        group=group,
    )
    return NewInvitation(invitation, token)


def _may_invite(actor: Actor, group: Group | None) -> bool:
    return policy.can_invite(actor, group) if group else policy.can_administer(actor)


def _may_see(actor: Actor, group: Group | None) -> bool:
    return policy.can_see_invitations(actor, group) if group else policy.can_administer(actor)


def open_invitations(actor: Actor, group: Group | None) -> list[Invitation]:
    """The invitations (a group's, or the site's) that can still be used, newest first."""
    if not _may_see(actor, group):
        raise Denied("Only the group's owners and moderators see its invitations.")
    now = utcnow()
    rows = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.group_id == group.id if group else Invitation.group_id.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
            Invitation.uses < Invitation.max_uses,
        )
        .options(joinedload(Invitation.created_by))
        .order_by(Invitation.created_at.desc())
    )
    return list(rows)


def working_invitation_ids(group: Group, found: list[Invitation]) -> set[int]:
    """Those of the group's open links that work now: their maker may still invite."""
    makers = {i.created_by_id for i in found}
    able = {m for m in makers if membership.may_still_invite(m, group)}
    return {i.id for i in found if i.created_by_id in able}


def revoke_invitation(actor: Actor, group: Group | None, invitation_id: Any) -> bool:
    """Revoke an invitation (a group's, or the site's); its link answers 404 from then on."""
    if not _may_see(actor, group):
        raise Denied("Only the group's owners and moderators can revoke invitations.")
    iid = validation.integer(invitation_id, "invitation_id", minimum=1)
    same_scope = Invitation.group_id == group.id if group else Invitation.group_id.is_(None)
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == iid, same_scope))
    if invitation is None:
        raise NotFound()
    if invitation.revoked_at is not None:
        return False
    invitation.revoked_at = utcnow()
    audit.record(
        actor,
        Action.REVOKE_INVITATION,
        rank=policy.moderation_rank(actor, group),
        target_type="invitation",
        target_id=invitation.id,
        group=group,
    )
    db.session.flush()
    return True


def find_open_invitation(token: Any, *, user_id: int | None = None) -> Invitation:
    """The invitation behind a token, if it can still be used (by `user_id`, if given);
    else `NotFound`.

    Unknown, forged, revoked, expired and used-up tokens all answer the same, and so do a
    group link whose maker may no longer invite and one shown to someone the group keeps
    out: for them it leads nowhere, and they learn nothing new.
    """
    if not isinstance(token, str) or not 8 <= len(token) <= 100:
        raise NotFound(DEAD_LINK)
    invitation: Invitation | None = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _digest(token))
    )
    if invitation is None or not invitation.is_open():
        raise NotFound(DEAD_LINK)
    _check_group_doors(invitation, user_id)
    return invitation


def _check_group_doors(invitation: Invitation, user_id: int | None) -> None:
    """`NotFound` if the link's maker may no longer invite, or the group keeps `user_id` out."""
    group = invitation_group(invitation)
    if group is None:
        return
    if not membership.may_still_invite(invitation.created_by_id, group):
        raise NotFound(DEAD_LINK)
    if user_id is not None and membership.live_exclusion(group, user_id) is not None:
        raise NotFound(DEAD_LINK)


def invitation_group(invitation: Invitation) -> Group | None:
    """The group an invitation leads into (None for a site invitation)."""
    if invitation.group_id is None:
        return None
    return db.session.get(Group, invitation.group_id)


def accept_invitation(
    actor: Actor, token: Any, *, new_account: bool = False
) -> tuple[Group | None, Membership | None]:
    """Join through an invitation; accepting again changes nothing and counts once.

    `new_account`: the account was made with this invitation just now (registration),
    the only case that spends a site invitation or starts the member at trust level 1.
    """
    user_id = policy.require_member(actor)
    # Lock the row on PostgreSQL so two people cannot both take the last use.
    invitation = find_open_invitation_for_update(token, user_id)
    group = invitation_group(invitation)
    if group is None and not new_account:
        # A site invitation is for newcomers: an existing member spends none of its uses
        # and gains nothing by it.
        return None, None
    found = membership_of(group, user_id) if group is not None else None
    used = db.session.scalar(
        select(InvitationUse).where(
            InvitationUse.invitation_id == invitation.id, InvitationUse.user_id == user_id
        )
    )
    if used is not None and found is None and group is not None:
        # They came in by this link before and have since left: for them it is spent.
        raise NotFound(DEAD_LINK)
    # Someone already in the group spends no use of the link.
    if used is None and found is None:
        db.session.add(InvitationUse(invitation_id=invitation.id, user_id=user_id))
        invitation.uses = Invitation.uses + 1
        if group is not None:
            found = membership.admit_member(
                actor,
                group,
                user_id,
                door=Door.LINK,
                data={"invitation": invitation.id, "invited_by": invitation.created_by_id},
            )
    if new_account:
        user = db.session.get(User, user_id)
        if user is not None and user.trust_level < INVITED_TRUST_LEVEL:
            user.trust_level = INVITED_TRUST_LEVEL
    db.session.flush()
    return group, found


def find_open_invitation_for_update(token: Any, user_id: int) -> Invitation:
    """The open invitation, locked for the use count; one already used by this member counts.

    A member who accepted before may accept again (the answer is the same), even if
    their use was the last one.
    """
    if not isinstance(token, str) or not 8 <= len(token) <= 100:
        raise NotFound(DEAD_LINK)
    invitation: Invitation | None = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _digest(token)).with_for_update()
    )
    if invitation is None or invitation.revoked_at is not None:
        raise NotFound(DEAD_LINK)
    if invitation.expires_at <= utcnow():
        raise NotFound(DEAD_LINK)
    if invitation.uses >= invitation.max_uses:
        already = db.session.scalar(
            select(InvitationUse.id).where(
                InvitationUse.invitation_id == invitation.id, InvitationUse.user_id == user_id
            )
        )
        if already is None:
            raise NotFound(DEAD_LINK)
    _check_group_doors(invitation, user_id)
    return invitation


# --- invitations by name ---------------------------------------------------------------


def _standing(invitation: MemberInvitation) -> bool:
    """A pending invitation by name still stands: its inviter may still invite by name,
    and the group does not keep the invitee out."""
    return (
        invitation.state == MemberInvitationState.PENDING
        and membership.may_still_invite(invitation.invited_by_id, invitation.group, by_name=True)
        and membership.live_exclusion(invitation.group, invitation.user_id) is None
    )


def my_member_invitations(actor: Actor) -> list[MemberInvitation]:
    """The actor's pending invitations by name that still stand, newest first."""
    user_id = policy.require_member(actor)
    found = db.session.scalars(
        select(MemberInvitation)
        .where(
            MemberInvitation.user_id == user_id,
            MemberInvitation.state == MemberInvitationState.PENDING,
        )
        .order_by(MemberInvitation.created_at.desc(), MemberInvitation.id.desc())
    )
    return [invitation for invitation in found if _standing(invitation)]


def _my_standing_invitation(actor: Actor, invitation_id: Any) -> MemberInvitation:
    """One of the actor's standing invitations; anyone else's, an answered, withdrawn or
    void one, and an id that was never used all answer the same `NotFound`."""
    user_id = policy.require_member(actor)
    if isinstance(invitation_id, bool) or not isinstance(invitation_id, int):
        raise NotFound()
    invitation: MemberInvitation | None = db.session.scalar(
        select(MemberInvitation)
        .where(MemberInvitation.id == invitation_id, MemberInvitation.user_id == user_id)
        .with_for_update()
    )
    if invitation is None or not _standing(invitation):
        raise NotFound()
    return invitation


def accept_member_invitation(actor: Actor, invitation_id: Any) -> tuple[Group, Membership]:
    """Accept an invitation by name: the invitee joins with the role offered."""
    invitation = _my_standing_invitation(actor, invitation_id)
    invitation.state = MemberInvitationState.ACCEPTED
    invitation.decided_at = utcnow()
    db.session.flush()
    found = membership.admit_member(
        actor,
        invitation.group,
        invitation.user_id,
        door=Door.NAME,
        role=invitation.role,
        data={"member_invitation": invitation.id, "invited_by": invitation.invited_by_id},
    )
    return invitation.group, found


def decline_member_invitation(actor: Actor, invitation_id: Any) -> MemberInvitation:
    """Decline an invitation by name: the owners see only that it was declined."""
    invitation = _my_standing_invitation(actor, invitation_id)
    invitation.state = MemberInvitationState.DECLINED
    invitation.decided_at = utcnow()
    db.session.flush()
    return invitation


# How many answered invitations by name the owners' list shows besides the pending ones.
DECLINED_SHOWN = 50


def group_member_invitations(actor: Actor, group: Group) -> list[MemberInvitation]:
    """The group's invitations by name for its owners: pending ones, and the latest
    declined ones, newest first."""
    policy.check_manage_group(actor, group, "see its invitations by name")
    base = select(MemberInvitation).where(MemberInvitation.group_id == group.id)
    newest = (MemberInvitation.created_at.desc(), MemberInvitation.id.desc())
    pending = db.session.scalars(
        base.where(MemberInvitation.state == MemberInvitationState.PENDING).order_by(*newest)
    )
    declined = db.session.scalars(
        base.where(MemberInvitation.state == MemberInvitationState.DECLINED)
        .order_by(*newest)
        .limit(DECLINED_SHOWN)
    )
    return [*pending, *declined]


def withdraw_member_invitation(actor: Actor, group: Group, invitation_id: Any) -> bool:
    """Take back a pending invitation by name (owners); True if it was pending."""
    policy.check_manage_group(actor, group, "can withdraw invitations")
    iid = validation.integer(invitation_id, "invitation_id", minimum=1)
    invitation: MemberInvitation | None = db.session.scalar(
        select(MemberInvitation).where(
            MemberInvitation.id == iid, MemberInvitation.group_id == group.id
        )
    )
    if invitation is None:
        raise NotFound()
    if invitation.state != MemberInvitationState.PENDING:
        return False
    invitation.state = MemberInvitationState.WITHDRAWN
    invitation.decided_at = utcnow()
    db.session.flush()
    return True
