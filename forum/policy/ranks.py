"""Roles and ranks: site admins, who moderates which scope, and at what rank.

A scope is the site (None) or one group. Site moderators moderate the site's boards and
public groups' boards; a group's owners and moderators its boards; a secret group only
from inside (admins: through break-glass). Within a scope an action may be undone only
by someone of the same or a higher rank, and nobody acts on a member whose rank is equal
or higher.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute

from forum.errors import Denied
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.groups import Role
from forum.models.groups import Visibility
from forum.models.users import User
from forum.policy.actors import Actor
from forum.policy.checks import passes
from forum.policy.checks import require_member


def _public_group_ids() -> Select[int]:
    return select(Group.id).where(Group.visibility == Visibility.PUBLIC)


def require_admin(actor: Actor) -> None:
    """Raise unless the actor is a site admin (`NotLoggedIn` for guests, else `Denied`)."""
    require_member(actor)
    if not actor.is_admin:
        raise Denied("Only site admins may do that.")


def can_administer(actor: Actor) -> bool:
    """True for site admins: settings, boards (see `require_admin`)."""
    return passes(require_admin, actor)


def check_appoint_site_moderators(actor: Actor) -> None:
    """Raise unless the actor may appoint (and remove) site moderators: admins only."""
    require_member(actor)
    if not actor.is_admin:
        raise Denied("Only site admins appoint site moderators.")


def can_appoint_site_moderators(actor: Actor) -> bool:
    """True if `check_appoint_site_moderators` lets the actor appoint site moderators."""
    return passes(check_appoint_site_moderators, actor)


def require_moderator(actor: Actor) -> None:
    """Raise unless the actor moderates some scope: the moderation queue, the log and the
    members tab (`NotLoggedIn` for guests, else `Denied`).

    The queue's existence is no secret (the contract lists `GET /reports` as "moderators;
    others 403"), so a member who moderates nothing hears 403, on the pages as in the API.
    What is in the queue stays scoped: items outside the actor's scope answer 404.
    """
    require_member(actor)
    # A silenced moderator loses moderation rights while the silence runs.
    scoped = actor.is_site_moderator or actor.moderated_group_ids or actor.glass_group_ids
    if actor.silenced or not scoped:
        raise Denied("Only moderators may do that.")


def can_moderate_anywhere(actor: Actor) -> bool:
    """True if the actor moderates some scope (the moderator dashboard and its nav link)."""
    return passes(require_moderator, actor)


def check_moderate_scope(actor: Actor, group: Group | None) -> None:
    """Raise unless the actor moderates a scope: the site (None) or one group's boards."""
    require_member(actor)
    if not actor.silenced:
        if group is None:
            if actor.is_site_moderator:
                return
        elif group.id in actor.moderated_group_ids or group.id in actor.glass_group_ids:
            return
        # A site moderator silenced or suspended inside a public group does not moderate
        # it; a secret group is moderated only from inside.
        elif actor.is_site_moderator and not group.is_secret and not _sanctioned_in(actor, group):
            return
    raise Denied("You do not moderate there.")


def can_moderate_scope(actor: Actor, group: Group | None) -> bool:
    """True if `check_moderate_scope` finds that the actor moderates the scope."""
    return passes(check_moderate_scope, actor, group)


def check_moderate(actor: Actor, board: Board) -> None:
    """Raise unless the actor moderates the board (`NotLoggedIn` for guests, else `Denied`).

    Site moderators: site boards and public groups' boards. A group's moderators and
    owners: its boards. A secret group is moderated only from inside: a site moderator
    or admin who is not a member is an outsider there (admins: unless broken in).
    """
    try:
        check_moderate_scope(actor, board.group)
    except Denied:
        # The same rule, said of the board the actor is looking at.
        raise Denied("Only this board's moderators may do that.") from None


def can_moderate(actor: Actor, board: Board) -> bool:
    """True if `check_moderate` finds that the actor moderates the board."""
    return passes(check_moderate, actor, board)


def _sanctioned_in(actor: Actor, group: Group) -> bool:
    """True if the actor is silenced or suspended inside the group."""
    return group.id in actor.silenced_group_ids or group.id in actor.suspended_group_ids


def _in_moderated_scope(
    actor: Actor, group_id: InstrumentedAttribute[int | None]
) -> ColumnElement[bool]:
    """SQL condition: a row scoped by `group_id` lies in what the actor moderates."""
    conditions: list[ColumnElement[bool]] = []
    if not actor.is_member or actor.silenced:
        return false()
    if actor.is_site_moderator:
        conditions.append(group_id.is_(None))
        public = _public_group_ids()
        sanctioned = actor.silenced_group_ids | actor.suspended_group_ids
        if sanctioned:
            # Agrees with can_moderate_scope: not where they are silenced or suspended.
            public = public.where(Group.id.not_in(sorted(sanctioned)))
        conditions.append(group_id.in_(public))
    scoped = actor.moderated_group_ids | actor.glass_group_ids
    if scoped:
        conditions.append(group_id.in_(sorted(scoped)))
    return or_(*conditions) if conditions else false()


def moderated_board_ids(actor: Actor) -> Select[int]:
    """Ids of the boards the actor moderates (agrees with `can_moderate`)."""
    return select(Board.id).where(_in_moderated_scope(actor, Board.group_id))


# Moderation ranks within one scope. An action may be undone only by someone of the same
# or a higher rank, and nobody acts on a member whose rank is equal or higher.
RANK_NONE = 0
RANK_GROUP_MODERATOR = 1
RANK_GROUP_OWNER = 2
RANK_SITE_MODERATOR = 3
RANK_ADMIN = 4


def moderation_rank(actor: Actor, group: Group | None) -> int:
    """The actor's rank in a scope (RANK_NONE if they do not moderate it)."""
    if not can_moderate_scope(actor, group):
        return RANK_NONE
    if actor.is_admin:
        return RANK_ADMIN
    if actor.is_site_moderator and (group is None or not group.is_secret):
        return RANK_SITE_MODERATOR
    if group is not None and group.id in actor.owned_group_ids:
        return RANK_GROUP_OWNER
    return RANK_GROUP_MODERATOR


def member_rank(user: User, group: Group | None) -> int:
    """The rank a member holds in a scope, whether or not they are acting now."""
    if user.is_admin:
        return RANK_ADMIN
    if user.is_moderator and (group is None or not group.is_secret):
        return RANK_SITE_MODERATOR
    if group is None:
        return RANK_NONE
    role = db.session.scalar(
        select(Membership.role).where(
            Membership.group_id == group.id, Membership.user_id == user.id
        )
    )
    if role == Role.OWNER:
        return RANK_GROUP_OWNER
    if role == Role.MODERATOR:
        return RANK_GROUP_MODERATOR
    return RANK_NONE


def check_act_on_member(actor: Actor, user: User, group: Group | None) -> None:
    """Raise unless the actor may sanction the member in a scope (or act against their
    posts): never themselves, an admin, or a moderator of equal or higher rank there."""
    require_member(actor)
    if user.id == actor.user_id:
        raise Denied("You cannot act on yourself.")
    check_moderate_scope(actor, group)
    if user.is_admin or member_rank(user, group) >= moderation_rank(actor, group):
        raise Denied("You cannot act on an admin or a moderator of your rank or above.")


def can_act_on_member(actor: Actor, user: User, group: Group | None) -> bool:
    """True if `check_act_on_member` lets the actor act on the member in the scope."""
    return passes(check_act_on_member, actor, user, group)


def member_trust_level(user: User, group: Group | None) -> int:
    """A member's trust level in a scope (see `Actor.trust_level_in`), for rules about
    members other than the actor: report weights, the community's defences."""
    if group is None:
        return user.trust_level
    granted = db.session.scalar(
        select(Membership.trust_level).where(
            Membership.group_id == group.id,
            Membership.user_id == user.id,
            # A member suspended from the group is an outsider there for the time.
            or_(Membership.suspended_until.is_(None), Membership.suspended_until <= utcnow()),
        )
    )
    return max(user.trust_level, granted or 0)
