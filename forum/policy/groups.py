"""Groups: who may know a group exists, see its members, run it and open its doors."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select

from forum.errors import NotFound
from forum.extensions import db
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.groups import Visibility
from forum.policy.actors import Actor
from forum.policy.ranks import _sanctioned_in
from forum.policy.ranks import can_moderate_scope


def visible_groups(actor: Actor) -> Select[Group]:
    """Groups the actor may know exist: public ones (if they read the site), their own."""
    conditions: list[ColumnElement[bool]] = []
    if actor.reads_public:
        conditions.append(Group.visibility == Visibility.PUBLIC)
    if actor.readable_group_ids:
        conditions.append(Group.id.in_(sorted(actor.readable_group_ids)))
    return select(Group).where(or_(*conditions) if conditions else false())


def visible_members(actor: Actor, group: Group) -> Select[Membership]:
    """The group's memberships, if the actor may see who is in it (else none)."""
    stmt = select(Membership).where(Membership.group_id == group.id)
    return stmt if can_see_members(actor, group) else stmt.where(false())


def require_group(actor: Actor, slug: str) -> Group:
    """The group by slug, if the actor may know it exists; else `NotFound`."""
    if not isinstance(slug, str) or len(slug) > 40:
        raise NotFound()
    group: Group | None = db.session.scalar(visible_groups(actor).where(Group.slug == slug))
    if group is None:
        raise NotFound()
    return group


def can_see_group(actor: Actor, group: Group) -> bool:
    """True if the actor may know the group exists."""
    if group.id in actor.readable_group_ids:
        return True
    return actor.reads_public and not group.is_secret


def can_see_members(actor: Actor, group: Group) -> bool:
    """True if the actor may see who is in the group: its members, and who runs it."""
    return group.id in actor.group_ids or can_manage_group(actor, group)


def can_see_group_log(actor: Actor, group: Group) -> bool:
    """True if the actor may read the group's moderation log: its moderators, and all its
    members when the group opens the log to them (agrees with `visible_log_entries`)."""
    if can_moderate_scope(actor, group):
        return True
    return group.log_visible_to_members and group.id in actor.group_ids


def can_manage_group(actor: Actor, group: Group) -> bool:
    """True for the group's owners, and for admins (inside a secret group: broken in)."""
    if not actor.is_member or actor.silenced:
        return False
    if group.id in actor.owned_group_ids:
        return True
    if not actor.is_admin:
        return False
    return not group.is_secret or group.id in actor.glass_group_ids


def can_invite(actor: Actor, group: Group) -> bool:
    """True for the group's owners and moderators (not while sanctioned there), and for
    admins in a public group: they make links and decide join requests.

    Never through break-glass: an admin inside a secret group for a logged hour may look
    and moderate, but not turn that hour into membership for anyone, themselves included.
    A link works only while its maker still passes this check (see
    forum.services.membership.may_still_invite).
    """
    if not actor.is_member or actor.silenced:
        return False
    # A silence or suspension in the group already takes it out of moderated_group_ids.
    if group.id in actor.moderated_group_ids:
        return True
    return actor.is_admin and not group.is_secret and not _sanctioned_in(actor, group)


def can_see_invitations(actor: Actor, group: Group) -> bool:
    """True if the actor may list (and revoke) the group's links: whoever may invite, and
    whoever manages the group (an admin through break-glass looks, and may close doors)."""
    return can_invite(actor, group) or can_manage_group(actor, group)


def can_invite_by_name(actor: Actor, group: Group) -> bool:
    """True for the group's owners, and admins in a public group (never through
    break-glass): they invite someone they know by name (who must accept)."""
    if not actor.is_member or actor.silenced:
        return False
    if group.id in actor.owned_group_ids:
        return True
    return actor.is_admin and not group.is_secret and not _sanctioned_in(actor, group)


def can_request_to_join(actor: Actor, group: Group) -> bool:
    """True if the actor may ask to join: a public group they are not in (nor suspended
    from: they are still a member). Exclusions are history, checked by the service."""
    return (
        actor.is_member
        and not group.is_secret
        and group.id not in actor.group_ids
        and group.id not in actor.suspended_group_ids
        and can_see_group(actor, group)
    )


def can_break_glass(actor: Actor, group: Group) -> bool:
    """True for a site admin outside a secret group (the step is logged and shown)."""
    return (
        actor.is_member
        and actor.is_admin
        and not actor.silenced
        and group.is_secret
        and group.id not in actor.group_ids
    )
