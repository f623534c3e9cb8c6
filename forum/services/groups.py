"""Groups: creation, roles and invitations by name, leaving and removal, join requests,
break-glass.

Nobody becomes a member here directly: every door ends in
`forum.services.membership.admit_member`, which checks the group's history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import BreakGlass
from forum.models.groups import ExclusionKind
from forum.models.groups import Group
from forum.models.groups import JoinRequest
from forum.models.groups import Membership
from forum.models.groups import RequestState
from forum.models.groups import Role
from forum.models.groups import Visibility
from forum.models.invitations import MemberInvitation
from forum.models.invitations import MemberInvitationState
from forum.models.users import User
from forum.policy import Actor
from forum.services import labels
from forum.services import membership
from forum.services import notifications
from forum.services.membership import Door
from forum.services.membership import membership_of
from forum.services.notifications import notify

BREAK_GLASS_LIFETIME = timedelta(hours=1)
BREAK_GLASS_REASON_MIN = 10


def _slug(value: Any) -> str:
    slug = validation.text(value, "slug", min_len=1, max_len=validation.SLUG_MAX, label="Slug")
    if not validation.SLUG_RE.match(slug):
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
        "name": (
            name,
            lambda v: validation.text(v, "name", min_len=1, max_len=validation.NAME_MAX),
        ),
        "slug": (slug, _slug),
        "description": (
            description,
            lambda v: validation.text(v, "description", max_len=validation.DESCRIPTION_MAX),
        ),
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
    audit.record(
        actor,
        Action.CREATE_GROUP,
        rank=policy.moderation_rank(actor, group),
        target_type="group",
        target_id=group.id,
        group=group,
    )
    membership.admit_member(actor, group, first_owner, door=Door.CREATION, role=Role.OWNER)
    db.session.flush()
    return group


def update_group(actor: Actor, group: Group, *, name: Any = None, description: Any = None) -> Group:
    """Rename or describe a group."""
    policy.check_manage_group(actor, group, "can change it")
    if name is not None:
        group.name = validation.text(name, "name", min_len=1, max_len=validation.NAME_MAX)
    if description is not None:
        group.description = validation.text(
            description, "description", max_len=validation.DESCRIPTION_MAX
        )
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
    policy.check_manage_group(actor, group, "can change how it is moderated")
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
    audit.record(
        actor,
        Action.GROUP_SETTINGS_CHANGED,
        rank=policy.moderation_rank(actor, group),
        target_type="group",
        target_id=group.id,
        group=group,
        reason=summary,
    )
    db.session.flush()
    return group


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


EXCLUDED_MESSAGES = {
    ExclusionKind.REMOVED: "They were removed from this group: allow them back first.",
    ExclusionKind.DECLINED: ("Their request to join was declined for good: allow them back first."),
}


def _refuse_excluded(group: Group, user: User) -> None:
    """Tell an owner why someone cannot come in (they knew them: no news to them)."""
    exclusion = membership.live_exclusion(group, user.id)
    if exclusion is not None:
        raise Conflict(EXCLUDED_MESSAGES[exclusion.kind], code="excluded")


def set_member_role(
    actor: Actor, group: Group, username: Any, *, role: Any
) -> Membership | MemberInvitation:
    """Change a member's role, or invite someone not in the group yet to join with that
    role: they become a member only by accepting (owners and admins only)."""
    policy.check_manage_group(actor, group, "can set roles")
    clean_role = Role(validation.choice(role, "role", tuple(r.value for r in Role)))
    user = _find_member(actor, group, username)
    found = membership_of(group, user.id)
    if found is None:
        return invite_member(actor, group, user, role=clean_role)
    if found.role == clean_role:
        return found
    if found.role == Role.OWNER and _owners(group) <= 1:
        raise Conflict("A group needs at least one owner: make someone else owner first.")
    before = found.role
    found.role = clean_role
    audit.record(
        actor,
        Action.SET_ROLE,
        rank=policy.moderation_rank(actor, group),
        target_type="user",
        target_id=user.id,
        group=group,
        reason=clean_role.value,
    )
    db.session.flush()
    if clean_role == Role.MEMBER:
        # Members make no links: whatever they made as a moderator or owner stops working.
        membership.revoke_made_by(actor, group, user.id, why="demoted")
    elif before == Role.OWNER:
        # Moderators still make links, but only owners invite by name.
        membership.revoke_made_by(actor, group, user.id, why="demoted", links=False)
    db.session.flush()
    return found


def invite_member(actor: Actor, group: Group, user: User, *, role: Role) -> MemberInvitation:
    """Invite a member the actor knows, by name, to join the group with a role; they are
    told, and join only if they accept. Inviting again while it waits changes the role."""
    policy.check_invite_by_name(actor, group)
    _refuse_excluded(group, user)
    pending: MemberInvitation | None = db.session.scalar(
        select(MemberInvitation).where(
            MemberInvitation.group_id == group.id,
            MemberInvitation.user_id == user.id,
            MemberInvitation.state == MemberInvitationState.PENDING,
        )
    )
    if pending is not None and membership.may_still_invite(
        pending.invited_by_id, group, by_name=True
    ):
        pending.role = role
        db.session.flush()
        return pending
    if pending is not None:
        # Its inviter may no longer invite: it is void, and this one replaces it.
        pending.state = MemberInvitationState.WITHDRAWN
        pending.decided_at = utcnow()
    invitation = MemberInvitation(
        group_id=group.id,
        user_id=user.id,
        role=role,
        invited_by_id=actor.user_id or None,
        state=MemberInvitationState.PENDING,
        created_at=utcnow(),
    )
    db.session.add(invitation)
    db.session.flush()
    # Neither the group nor the inviter is named: the notification outlives a withdrawn
    # invitation, and the invitations page shows both only while it stands.
    notify(
        user.id,
        "group_invitation",
        "You have been invited to join a group. Open your invitations to accept or decline.",
    )
    return invitation


def remove_member(actor: Actor, group: Group, username: Any) -> bool:
    """Remove a member (owners, admins) or leave (the member); True if someone left."""
    user = _find_member(actor, group, username)
    leaving = user.id == actor.user_id
    if not leaving and not policy.can_manage_group(actor, group):
        raise Denied("Only the group's owners can remove members.")
    found = membership_of(group, user.id)
    if found is None:
        return False
    if found.role == Role.OWNER and _owners(group) <= 1:
        raise Conflict("A group needs at least one owner: make someone else owner first.")
    if found.label is not None or found.hide_label:
        # The group's label goes with the membership: its cached pages must forget it.
        labels.refresh_pages(user.id, group.id)
    db.session.delete(found)
    audit.record(
        actor,
        Action.LEAVE_GROUP if leaving else Action.REMOVE_MEMBER,
        rank=policy.moderation_rank(actor, group),
        target_type="user",
        target_id=user.id,
        group=group,
    )
    db.session.flush()
    # A removal sticks: no link, request or invitation brings them back until an owner
    # lets them. Leaving by oneself keeps every door open.
    if not leaving:
        membership.exclude(actor, group, user.id, ExclusionKind.REMOVED)
    membership.revoke_made_by(actor, group, user.id, why="left" if leaving else "removed")
    db.session.flush()
    return True


def request_to_join(actor: Actor, group: Group) -> JoinRequest:
    """Ask to join a public group; asking again returns the pending request."""
    member_id = policy.require_member(actor)
    # The same plain refusal whether or not the group keeps them out: it tells them
    # nothing they did not know.
    policy.check_request_to_join(actor, group)
    if membership.live_exclusion(group, member_id) is not None:
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
    notifications.notify_join_request(request)
    return request


def pending_requests(actor: Actor, group: Group) -> list[JoinRequest]:
    """Open join requests, for those who decide them."""
    policy.check_invite(actor, group, "see join requests")
    return list(
        db.session.scalars(
            select(JoinRequest)
            .where(JoinRequest.group_id == group.id, JoinRequest.state == RequestState.PENDING)
            .order_by(JoinRequest.created_at)
        )
    )


def decide_join_request(
    actor: Actor, group: Group, request_id: Any, *, accept: bool, keep_out: bool = False
) -> bool:
    """Accept (the asker becomes a member) or decline a pending request; `keep_out` with a
    decline also keeps them from asking again (and from every other door) until an owner
    lets them back."""
    policy.check_invite(actor, group, "decide join requests")
    rid = validation.integer(request_id, "request_id", minimum=1)
    request = db.session.scalar(
        select(JoinRequest).where(JoinRequest.id == rid, JoinRequest.group_id == group.id)
    )
    if request is None:
        raise NotFound()
    if request.state != RequestState.PENDING:
        return False
    if accept:
        _refuse_excluded(group, request.user)
    request.state = RequestState.ACCEPTED if accept else RequestState.DECLINED
    request.decided_at = utcnow()
    request.decided_by_id = actor.user_id
    db.session.flush()
    if accept:
        membership.admit_member(
            actor,
            group,
            request.user_id,
            door=Door.REQUEST,
            data={"request": request.id, "accepted_by": actor.user_id},
        )
    notifications.notify_join_decided(request, accepted=accept)
    if not accept and keep_out:
        membership.exclude(actor, group, request.user_id, ExclusionKind.DECLINED)
        audit.record(
            actor,
            Action.JOIN_REQUEST_DECLINED,
            rank=policy.moderation_rank(actor, group),
            target_type="user",
            target_id=request.user_id,
            group=group,
            reason="",
            data={"request": request.id, "keep_out": True},
        )
    db.session.flush()
    return True


def break_glass(actor: Actor, group: Group, *, reason: Any) -> BreakGlass:
    """Let an admin into a secret group for an hour: logged, and shown to its owners."""
    policy.check_break_glass(actor, group)
    clean_reason = validation.text(
        reason,
        "reason",
        min_len=BREAK_GLASS_REASON_MIN,
        max_len=validation.REASON_MAX,
        label="Reason",
    )
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
    audit.record(
        actor,
        Action.BREAK_GLASS,
        rank=policy.moderation_rank(actor, group),
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
