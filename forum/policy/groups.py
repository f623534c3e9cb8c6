"""Groups: who may know a group exists, see its members, run it and open its doors."""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select

from forum.errors import Denied
from forum.errors import NotFound
from forum.extensions import db
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.groups import Visibility
from forum.policy.actors import Actor
from forum.policy.checks import passes
from forum.policy.checks import require_member
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


def check_see_members(actor: Actor, group: Group) -> None:
    """Raise unless the actor may see who is in the group: its members, and who runs it.

    The group itself is visible to the caller (it came through `require_group`), so a
    refusal here is a 403, not a 404.
    """
    require_member(actor)
    if group.id not in actor.group_ids and not can_manage_group(actor, group):
        raise Denied("Only the group's members see who is in it.")


def can_see_members(actor: Actor, group: Group) -> bool:
    """True if `check_see_members` lets the actor see who is in the group."""
    return passes(check_see_members, actor, group)


def can_see_group_log(actor: Actor, group: Group) -> bool:
    """True if the actor may read the group's moderation log: its moderators, and all its
    members when the group opens the log to them (agrees with `visible_log_entries`)."""
    if can_moderate_scope(actor, group):
        return True
    return group.log_visible_to_members and group.id in actor.group_ids


def check_manage_group(actor: Actor, group: Group, doing: str = "may do that") -> None:
    """Raise unless the actor runs the group: its owners, and admins (inside a secret
    group: broken in). `doing` ends the refusal: "Only the group's owners <doing>."."""
    require_member(actor)
    if not actor.silenced:
        if group.id in actor.owned_group_ids:
            return
        if actor.is_admin and (not group.is_secret or group.id in actor.glass_group_ids):
            return
    raise Denied(f"Only the group's owners {doing}.")


def can_manage_group(actor: Actor, group: Group) -> bool:
    """True if `check_manage_group` finds that the actor runs the group."""
    return passes(check_manage_group, actor, group)


def check_invite(actor: Actor, group: Group, doing: str = "may do that") -> None:
    """Raise unless the actor opens the group's doors: its owners and moderators (not while
    sanctioned there), and admins in a public group: they make links and decide join
    requests. `doing` ends the refusal: "Only the group's owners and moderators <doing>."

    Never through break-glass: an admin inside a secret group for a logged hour may look
    and moderate, but not turn that hour into membership for anyone, themselves included.
    A link works only while its maker still passes this check (see
    forum.services.membership.may_still_invite).
    """
    require_member(actor)
    if not actor.silenced:
        # A silence or suspension in the group already takes it out of moderated_group_ids.
        if group.id in actor.moderated_group_ids:
            return
        if actor.is_admin and not group.is_secret and not _sanctioned_in(actor, group):
            return
    raise Denied(f"Only the group's owners and moderators {doing}.")


def can_invite(actor: Actor, group: Group) -> bool:
    """True if `check_invite` lets the actor make links and decide join requests."""
    return passes(check_invite, actor, group)


def can_see_invitations(actor: Actor, group: Group) -> bool:
    """True if the actor may list (and revoke) the group's links: whoever may invite, and
    whoever manages the group (an admin through break-glass looks, and may close doors)."""
    return can_invite(actor, group) or can_manage_group(actor, group)


def check_invite_by_name(actor: Actor, group: Group) -> None:
    """Raise unless the actor may invite someone they know by name (who must accept): the
    group's owners, and admins in a public group (never through break-glass)."""
    require_member(actor)
    if not actor.silenced:
        if group.id in actor.owned_group_ids:
            return
        if actor.is_admin and not group.is_secret and not _sanctioned_in(actor, group):
            return
    raise Denied("Only the group's owners can invite people by name.")


def can_invite_by_name(actor: Actor, group: Group) -> bool:
    """True if `check_invite_by_name` lets the actor invite people by name."""
    return passes(check_invite_by_name, actor, group)


def check_request_to_join(actor: Actor, group: Group) -> None:
    """Raise unless the actor may ask to join: a public group they are not in (nor
    suspended from: they are still a member). Exclusions are history, checked by the
    service with the same plain refusal."""
    require_member(actor)
    if (
        group.is_secret
        or group.id in actor.group_ids
        or group.id in actor.suspended_group_ids
        or not can_see_group(actor, group)
    ):
        raise Denied("You cannot ask to join this group.")


def can_request_to_join(actor: Actor, group: Group) -> bool:
    """True if `check_request_to_join` lets the actor ask to join the group."""
    return passes(check_request_to_join, actor, group)


def check_break_glass(actor: Actor, group: Group) -> None:
    """Raise unless the actor is a site admin outside a secret group (the step is logged
    and shown to its owners)."""
    require_member(actor)
    if not actor.is_admin or actor.silenced or not group.is_secret or group.id in actor.group_ids:
        raise Denied("Only a site admin outside this secret group can do that.")


def can_break_glass(actor: Actor, group: Group) -> bool:
    """True if `check_break_glass` lets the actor break into the secret group."""
    return passes(check_break_glass, actor, group)
