"""Invitation links: made by a group's owners and moderators (or admins, for the site)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from forum import policy
from forum import validation
from forum.errors import Denied
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.groups import Role
from forum.models.invitations import Invitation
from forum.models.invitations import InvitationUse
from forum.models.users import User
from forum.policy import Actor
from forum.services.groups import log_action
from forum.services.groups import membership_of

DEFAULT_HOURS = 7 * 24
MAX_HOURS = 30 * 24
MAX_USES = 500
# Members who arrive by invitation were vouched for: they start at trust level 1.
INVITED_TRUST_LEVEL = 1


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
    log_action(
        actor,
        "create_invitation",
        target_type="invitation",
        target_id=invitation.id,
        group=group,
    )
    return NewInvitation(invitation, token)


def _may_invite(actor: Actor, group: Group | None) -> bool:
    return policy.can_invite(actor, group) if group else policy.can_administer(actor)


def open_invitations(actor: Actor, group: Group | None) -> list[Invitation]:
    """The invitations (a group's, or the site's) that can still be used, newest first."""
    if not _may_invite(actor, group):
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
        .order_by(Invitation.created_at.desc())
    )
    return list(rows)


def revoke_invitation(actor: Actor, group: Group | None, invitation_id: Any) -> bool:
    """Revoke an invitation (a group's, or the site's); its link answers 404 from then on."""
    if not _may_invite(actor, group):
        raise Denied("Only the group's owners and moderators can revoke invitations.")
    iid = validation.integer(invitation_id, "invitation_id", minimum=1)
    same_scope = Invitation.group_id == group.id if group else Invitation.group_id.is_(None)
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == iid, same_scope))
    if invitation is None:
        raise NotFound()
    if invitation.revoked_at is not None:
        return False
    invitation.revoked_at = utcnow()
    log_action(
        actor,
        "revoke_invitation",
        target_type="invitation",
        target_id=invitation.id,
        group=group,
    )
    db.session.flush()
    return True


def find_open_invitation(token: Any) -> Invitation:
    """The invitation behind a token, if it can still be used; else `NotFound`.

    Unknown, forged, revoked, expired and used-up tokens all answer the same.
    """
    if not isinstance(token, str) or not 8 <= len(token) <= 100:
        raise NotFound("That invitation does not exist or has expired.")
    invitation: Invitation | None = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _digest(token))
    )
    if invitation is None or not invitation.is_open():
        raise NotFound("That invitation does not exist or has expired.")
    return invitation


def invitation_group(invitation: Invitation) -> Group | None:
    """The group an invitation leads into (None for a site invitation)."""
    if invitation.group_id is None:
        return None
    return db.session.get(Group, invitation.group_id)


def accept_invitation(actor: Actor, token: Any) -> tuple[Group | None, Membership | None]:
    """Join through an invitation; accepting again changes nothing and counts once."""
    user_id = policy.require_member(actor)
    # Lock the row on PostgreSQL so two people cannot both take the last use.
    invitation = find_open_invitation_for_update(token, user_id)
    group = invitation_group(invitation)
    membership = membership_of(group, user_id) if group is not None else None
    used = db.session.scalar(
        select(InvitationUse).where(
            InvitationUse.invitation_id == invitation.id, InvitationUse.user_id == user_id
        )
    )
    if used is not None and membership is None and group is not None:
        # They came in by this link before and have since left or been removed: for them
        # it is spent. A removal must stick, and must not tell them anything either.
        raise NotFound("That invitation does not exist or has expired.")
    # Someone already in the group spends no use of the link.
    if used is None and membership is None:
        db.session.add(InvitationUse(invitation_id=invitation.id, user_id=user_id))
        invitation.uses = Invitation.uses + 1
        if group is not None:
            membership = Membership(group_id=group.id, user_id=user_id, role=Role.MEMBER)
            db.session.add(membership)
    user = db.session.get(User, user_id)
    if user is not None and user.trust_level < INVITED_TRUST_LEVEL:
        user.trust_level = INVITED_TRUST_LEVEL
    db.session.flush()
    return group, membership


def find_open_invitation_for_update(token: Any, user_id: int) -> Invitation:
    """The open invitation, locked for the use count; one already used by this member counts.

    A member who accepted before may accept again (the answer is the same), even if
    their use was the last one.
    """
    if not isinstance(token, str) or not 8 <= len(token) <= 100:
        raise NotFound("That invitation does not exist or has expired.")
    invitation: Invitation | None = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _digest(token)).with_for_update()
    )
    if invitation is None or invitation.revoked_at is not None:
        raise NotFound("That invitation does not exist or has expired.")
    if invitation.expires_at <= utcnow():
        raise NotFound("That invitation does not exist or has expired.")
    if invitation.uses >= invitation.max_uses:
        already = db.session.scalar(
            select(InvitationUse.id).where(
                InvitationUse.invitation_id == invitation.id, InvitationUse.user_id == user_id
            )
        )
        if already is None:
            raise NotFound("That invitation does not exist or has expired.")
    return invitation
