"""Groups: creation, roles, leaving, join requests, break-glass."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from forum import policy
from forum import validation
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import BreakGlass
from forum.models.groups import Group
from forum.models.groups import JoinRequest
from forum.models.groups import Membership
from forum.models.groups import RequestState
from forum.models.groups import Role
from forum.models.groups import Visibility
from forum.models.modlog import ModerationLog
from forum.models.users import User
from forum.policy import Actor

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
BREAK_GLASS_LIFETIME = timedelta(hours=1)


def log_action(
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: int,
    group: Group | None,
    reason: str = "",
) -> ModerationLog:
    """Write a moderation log row in the caller's transaction."""
    entry = ModerationLog(
        actor_id=actor.user_id or None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        group_id=group.id if group else None,
        reason=reason,
        created_at=utcnow(),
    )
    db.session.add(entry)
    return entry


def _slug(value: Any) -> str:
    slug = validation.text(value, "slug", min_len=1, max_len=40, label="Slug")
    if not SLUG_RE.match(slug):
        raise Invalid(
            "slug", "Slug may use lower-case letters, digits and dashes (not at either end)."
        )
    return slug


def _member_user(username: Any) -> User:
    if not isinstance(username, str):
        raise Invalid("owner", "Give a username.")
    user: User | None = db.session.scalar(
        select(User).where(User.username_key == username.strip().lower())
    )
    if user is None:
        raise Invalid("owner", "There is no member with that username.")
    return user


def create_group(
    actor: Actor,
    *,
    name: Any,
    slug: Any,
    visibility: Any,
    description: Any = "",
    owner: Any = None,
) -> Group:
    """Create a public or secret group with its first owner (the creator by default)."""
    policy.require_admin(actor)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks: dict[str, tuple[Any, Callable[[Any], Any]]] = {
        "name": (name, lambda v: validation.text(v, "name", min_len=1, max_len=80)),
        "slug": (slug, _slug),
        "description": (description, lambda v: validation.text(v, "description", max_len=500)),
        "visibility": (
            visibility,
            lambda v: validation.choice(v, "visibility", ("public", "secret")),
        ),
    }
    for field, (raw, check) in checks.items():
        try:
            values[field] = check(raw)
        except Invalid as exc:
            errors.update(exc.fields)
    owner_user: User | None = None
    if owner not in (None, ""):
        try:
            owner_user = _member_user(owner)
        except Invalid as exc:
            errors.update(exc.fields)
    if errors:
        raise Invalid(errors)
    if db.session.scalar(select(Group.id).where(Group.slug == values["slug"])) is not None:
        raise Conflict("That slug is already used by another group.", code="slug_taken")
    group = Group(
        name=values["name"],
        slug=values["slug"],
        description=values["description"],
        visibility=Visibility(values["visibility"]),
        created_at=utcnow(),
    )
    db.session.add(group)
    db.session.flush()
    first_owner = owner_user.id if owner_user else policy.require_member(actor)
    db.session.add(Membership(group_id=group.id, user_id=first_owner, role=Role.OWNER))
    log_action(actor, "create_group", target_type="group", target_id=group.id, group=group)
    db.session.flush()
    return group


def update_group(actor: Actor, group: Group, *, name: Any = None, description: Any = None) -> Group:
    """Rename or describe a group."""
    if not policy.can_manage_group(actor, group):
        raise Denied("Only the group's owners can change it.")
    if name is not None:
        group.name = validation.text(name, "name", min_len=1, max_len=80)
    if description is not None:
        group.description = validation.text(description, "description", max_len=500)
    db.session.flush()
    return group


# A group holds at most this many of a new member's first posts for approval.
APPROVE_FIRST_POSTS_MAX = 20


def update_group_moderation(
    actor: Actor,
    group: Group,
    *,
    log_visible_to_members: Any = None,
    approve_first_posts: Any = None,
) -> Group:
    """Open the group's moderation log to its members, or hold new members' first posts."""
    if not policy.can_manage_group(actor, group):
        raise Denied("Only the group's owners can change how it is moderated.")
    errors: dict[str, str] = {}
    changes: dict[str, bool | int] = {}
    if log_visible_to_members is not None:
        try:
            changes["log_visible_to_members"] = validation.boolean(
                log_visible_to_members, "log_visible_to_members"
            )
        except Invalid as exc:
            errors.update(exc.fields)
    if approve_first_posts is not None:
        try:
            changes["approve_first_posts"] = validation.integer(
                approve_first_posts,
                "approve_first_posts",
                minimum=0,
                maximum=APPROVE_FIRST_POSTS_MAX,
            )
        except Invalid as exc:
            errors.update(exc.fields)
    if errors:
        raise Invalid(errors)
    changed = {key: value for key, value in changes.items() if getattr(group, key) != value}
    if not changed:
        return group
    for key, value in changed.items():
        setattr(group, key, value)
    # Members may see the log from now on, so the change itself is the first thing in it.
    summary = ", ".join(f"{key}={str(value).lower()}" for key, value in sorted(changed.items()))
    log_action(
        actor,
        "group_settings_changed",
        target_type="group",
        target_id=group.id,
        group=group,
        reason=summary,
    )
    db.session.flush()
    return group


def membership_of(group: Group, user_id: int) -> Membership | None:
    """The user's membership in the group, if any (no policy check: for services)."""
    return db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user_id)
    )


def _owners(group: Group) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.group_id == group.id, Membership.role == Role.OWNER)
        )
        or 0
    )


def _find_member(actor: Actor, group: Group, username: Any) -> User:
    """The named member, as far as the actor may know them (`policy.visible_users`).

    Even a group's owner cannot probe for accounts they have no shared context with:
    someone who posts only in a secret group must look like a missing name. People they
    cannot see join through invitation links instead.
    """
    if not isinstance(username, str) or len(username) > 40:
        raise NotFound()
    key = username.strip().lower()
    user: User | None = db.session.scalar(
        policy.visible_users(actor).where(User.username_key == key)
    )
    if user is None:
        raise NotFound()
    return user


def set_member_role(actor: Actor, group: Group, username: Any, *, role: Any) -> Membership:
    """Add a member with a role, or change a member's role (owners and admins only)."""
    if not policy.can_manage_group(actor, group):
        raise Denied("Only the group's owners can set roles.")
    clean_role = Role(validation.choice(role, "role", tuple(r.value for r in Role)))
    user = _find_member(actor, group, username)
    membership = membership_of(group, user.id)
    if membership is None:
        membership = Membership(group_id=group.id, user_id=user.id, role=clean_role)
        db.session.add(membership)
        action = "add_member"
    elif membership.role == clean_role:
        return membership
    else:
        if membership.role == Role.OWNER and _owners(group) <= 1:
            raise Conflict("A group needs at least one owner: make someone else owner first.")
        membership.role = clean_role
        action = "set_role"
    log_action(
        actor, action, target_type="user", target_id=user.id, group=group, reason=clean_role.value
    )
    db.session.flush()
    return membership


def remove_member(actor: Actor, group: Group, username: Any) -> bool:
    """Remove a member (owners, admins) or leave (the member); True if someone left."""
    user = _find_member(actor, group, username)
    leaving = user.id == actor.user_id
    if not leaving and not policy.can_manage_group(actor, group):
        raise Denied("Only the group's owners can remove members.")
    membership = membership_of(group, user.id)
    if membership is None:
        return False
    if membership.role == Role.OWNER and _owners(group) <= 1:
        raise Conflict("A group needs at least one owner: make someone else owner first.")
    db.session.delete(membership)
    log_action(
        actor,
        "leave_group" if leaving else "remove_member",
        target_type="user",
        target_id=user.id,
        group=group,
    )
    db.session.flush()
    return True


def request_to_join(actor: Actor, group: Group) -> JoinRequest:
    """Ask to join a public group; asking again returns the pending request."""
    member_id = policy.require_member(actor)
    if not policy.can_request_to_join(actor, group):
        raise Denied("You cannot ask to join this group.")
    pending: JoinRequest | None = db.session.scalar(
        select(JoinRequest).where(
            JoinRequest.group_id == group.id,
            JoinRequest.user_id == member_id,
            JoinRequest.state == RequestState.PENDING,
        )
    )
    if pending is not None:
        return pending
    request = JoinRequest(group_id=group.id, user_id=member_id, created_at=utcnow())
    db.session.add(request)
    db.session.flush()
    return request


def pending_requests(actor: Actor, group: Group) -> list[JoinRequest]:
    """Open join requests, for those who decide them."""
    if not policy.can_invite(actor, group):
        raise Denied("Only the group's owners and moderators see join requests.")
    return list(
        db.session.scalars(
            select(JoinRequest)
            .where(JoinRequest.group_id == group.id, JoinRequest.state == RequestState.PENDING)
            .order_by(JoinRequest.created_at)
        )
    )


def decide_join_request(actor: Actor, group: Group, request_id: Any, *, accept: bool) -> bool:
    """Accept (the asker becomes a member) or decline a pending request."""
    if not policy.can_invite(actor, group):
        raise Denied("Only the group's owners and moderators decide join requests.")
    rid = validation.integer(request_id, "request_id", minimum=1)
    request = db.session.scalar(
        select(JoinRequest).where(JoinRequest.id == rid, JoinRequest.group_id == group.id)
    )
    if request is None:
        raise NotFound()
    if request.state != RequestState.PENDING:
        return False
    request.state = RequestState.ACCEPTED if accept else RequestState.DECLINED
    request.decided_at = utcnow()
    request.decided_by_id = actor.user_id
    if accept and membership_of(group, request.user_id) is None:
        db.session.add(Membership(group_id=group.id, user_id=request.user_id, role=Role.MEMBER))
    db.session.flush()
    return True


def break_glass(actor: Actor, group: Group, *, reason: Any) -> BreakGlass:
    """Let an admin into a secret group for an hour: logged, and shown to its owners."""
    if not policy.can_break_glass(actor, group):
        raise Denied("Only a site admin outside this secret group can do that.")
    clean_reason = validation.text(reason, "reason", min_len=10, max_len=500, label="Reason")
    now = utcnow()
    entry = BreakGlass(
        group_id=group.id,
        admin_id=policy.require_member(actor),
        reason=clean_reason,
        started_at=now,
        expires_at=now + BREAK_GLASS_LIFETIME,
    )
    db.session.add(entry)
    db.session.flush()
    # The log row points at the step itself, so owners see exactly when it ends.
    log_action(
        actor,
        "break_glass",
        target_type="break_glass",
        target_id=entry.id,
        group=group,
        reason=clean_reason,
    )
    db.session.flush()
    return entry


def group_for_admin(actor: Actor, group_id: Any) -> Group:
    """Any group by id, for a site admin (secret ones too: name and counts only)."""
    policy.require_admin(actor)
    gid = validation.integer(group_id, "group_id", minimum=1)
    group = db.session.get(Group, gid)
    if group is None:
        raise NotFound()
    return group
