"""Members: whose profile the actor may see, the admins' directory, trust grants, role
labels, the actor's own profile text and notifications.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true

from forum.errors import Denied
from forum.errors import NotFound
from forum.extensions import db
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.messages import ConversationParticipant
from forum.models.notifications import Notification
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy.actors import Actor
from forum.policy.checks import _deny_silenced
from forum.policy.checks import _require_writer
from forum.policy.checks import passes
from forum.policy.checks import require_member
from forum.policy.content import readable_board_ids
from forum.policy.content import visible_posts
from forum.policy.groups import can_manage_group
from forum.policy.groups import visible_groups
from forum.policy.ranks import can_administer
from forum.policy.ranks import can_moderate_anywhere
from forum.policy.ranks import moderated_board_ids


def _user_visible(actor: Actor) -> ColumnElement[bool]:
    """Whom a member may know exists: themselves, staff, authors of posts they can read
    under the author's name, and fellow members of their groups. Admins know every member
    (the member directory), though not which secret groups they are in.

    Someone who only ever posts in a secret group stays unknown outside it: even a
    pseudonym can identify a person. A post shows its author's name to readers only while
    it is published (not deleted, hidden or waiting for approval), so only such posts
    count: posting publicly once and deleting it must not make the author known for
    good. Moderators see the names on every post of the boards they moderate (they review
    hidden and waiting posts), so there any post counts.
    """
    if not actor.is_member:
        return false()
    if actor.is_admin:
        return true()
    named: list[ColumnElement[bool]] = [
        and_(
            Post.deleted_at.is_(None),
            Post.hidden_at.is_(None),
            Topic.awaiting_approval.is_(False),
        )
    ]
    if can_moderate_anywhere(actor):
        named.append(Topic.board_id.in_(moderated_board_ids(actor)))
    wrote_visible = (
        select(Post.id)
        .join(Topic, Topic.id == Post.topic_id)
        .where(
            Post.author_id == User.id,
            Topic.board_id.in_(readable_board_ids(actor)),
            or_(*named),
        )
        .exists()
    )
    conditions: list[ColumnElement[bool]] = [
        User.id == actor.user_id,
        User.is_admin.is_(True),
        User.is_moderator.is_(True),
        wrote_visible,
    ]
    if actor.readable_group_ids:
        fellow = select(Membership.user_id).where(
            Membership.group_id.in_(sorted(actor.readable_group_ids))
        )
        conditions.append(User.id.in_(fellow))
    return or_(*conditions)


def visible_users(actor: Actor) -> Select[User]:
    """Member profiles the actor may see (guests: none)."""
    # A deleted member's tombstone has no profile for anyone.
    return select(User).where(_user_visible(actor), User.deleted_at.is_(None))


def directory_users(actor: Actor) -> Select[User]:
    """Every member, for the admins' member directory (anyone else: none).

    Admins know every member, also those who never posted, to appoint and look after
    them; they do not know which secret groups a member is in, so whatever a directory
    shows or filters on besides the accounts themselves comes from the other scopes
    (posts through `visible_posts`, sanctions through `visible_sanctions`).
    """
    return select(User).where(
        true() if can_administer(actor) else false(), User.deleted_at.is_(None)
    )


def require_user(actor: Actor, username: str) -> User:
    """The member by name (any case), if the actor may see them; else `NotFound`."""
    user: User | None = db.session.scalar(
        visible_users(actor).where(User.username_key == username.lower())
    )
    if user is None:
        raise NotFound()
    return user


def can_see_user(actor: Actor, user: User) -> bool:
    """True if the actor may see the member's profile (see `visible_users`)."""
    if not actor.is_member:
        return False
    found = db.session.scalar(select(User.id).where(User.id == user.id, _user_visible(actor)))
    return found is not None


def _check_vouch(actor: Actor, user: User, group: Group | None, what: _Vouch) -> None:
    # Trust levels and role labels vouch for a member the same way: site-wide only by
    # admins; inside a group by whoever manages it, for its members; never one's own.
    require_member(actor)
    if user.id == actor.user_id:
        raise Denied(what.own)
    allowed = not actor.silenced
    if group is None:
        if not (allowed and actor.is_admin):
            raise Denied(what.site)
        return
    if allowed and can_manage_group(actor, group):
        is_member = db.session.scalar(
            select(Membership.id).where(
                Membership.group_id == group.id, Membership.user_id == user.id
            )
        )
        if is_member is not None:
            return
    raise Denied(what.group)


@dataclass(frozen=True)
class _Vouch:
    """What a refusal to vouch for a member says: for oneself, site-wide, in a group."""

    own: str
    site: str
    group: str


_TRUST = _Vouch(
    own="Nobody sets their own trust level.",
    site="Only site admins set members' trust levels; "
    "a group's owners grant levels that count inside their group.",
    group="Only the group's owners grant trust levels inside it, to its members.",
)
_LABEL = _Vouch(
    own="Nobody gives themselves a role label: it vouches for you, so another admin "
    "(or, inside a group, one of its owners) gives it.",
    site="Only site admins give site role labels; "
    "a group's owners give labels that show inside their group.",
    group="Only the group's owners give role labels inside it, to its members.",
)


def check_grant_trust(actor: Actor, user: User, group: Group | None) -> None:
    """Raise unless the actor may set the member's trust level. Site levels (`group` None):
    admins only, who may also lock them. A level inside a group: whoever manages the group
    (its owners; admins where they may manage it), for its members, up to level 3; it
    never changes the member's site level. Never one's own."""
    _check_vouch(actor, user, group, _TRUST)


def can_grant_trust(actor: Actor, user: User, group: Group | None) -> bool:
    """True if `check_grant_trust` lets the actor set the member's trust level there."""
    return passes(check_grant_trust, actor, user, group)


def check_set_label(actor: Actor, user: User, group: Group | None) -> None:
    """Raise unless the actor may give or take away the member's role label there. The site
    label (`group` None): admins only. A label inside a group: whoever manages the group
    (its owners; admins where they may manage it), for its members. Never one's own: a
    label vouches for someone, so the holder can neither write nor change it."""
    _check_vouch(actor, user, group, _LABEL)


def can_set_label(actor: Actor, user: User, group: Group | None) -> bool:
    """True if `check_set_label` lets the actor set the member's label there."""
    return passes(check_set_label, actor, user, group)


def check_hide_label(actor: Actor, group: Group) -> None:
    """Raise unless the actor may choose whether their label shows in the group: its
    members (the group came through `require_group`, so a refusal is a 403)."""
    require_member(actor)
    if group.id not in actor.group_ids:
        raise Denied("Only the group's members choose whether their label shows there.")


def can_hide_label(actor: Actor, group: Group) -> bool:
    """True if `check_hide_label` lets the actor choose whether their label shows there."""
    return passes(check_hide_label, actor, group)


def shown_label(user: User, membership: Membership | None) -> str | None:
    """The role label shown beside the member's name in a place: `membership` is theirs in
    the place's group (None on the site's boards, profiles, or when they are not in it).

    A group's label shows only inside that group, instead of the site label; a member who
    hides their label in a group shows none there. Outside every group only the site label
    exists, so a secret group's label can never reach a page outside it.
    """
    if user.is_deleted:
        return None
    if membership is not None:
        if membership.hide_label:
            return None
        if membership.label:
            return membership.label
    return user.label or None


def check_change_bio(actor: Actor) -> None:
    """Raise unless the actor may change their public profile text (not while silenced
    site-wide: it is public writing, like a post)."""
    _require_writer(actor)
    _deny_silenced(actor, None, "change the text about you")


def visible_notifications(actor: Actor) -> Select[Notification]:
    """The actor's notifications, each only while its post, group or conversation is still
    visible.

    A notification is written when something happens; by the time it is read the member
    may have left the group, so visibility is decided on reading, not on writing.
    """
    if not actor.is_member:
        return select(Notification).where(false())
    return select(Notification).where(
        Notification.user_id == actor.user_id,
        or_(
            Notification.post_id.is_(None),
            Notification.post_id.in_(visible_posts(actor).with_only_columns(Post.id)),
        ),
        or_(
            Notification.group_id.is_(None),
            Notification.group_id.in_(visible_groups(actor).with_only_columns(Group.id)),
        ),
        # A private message: only while the member takes part in its conversation (one
        # who left, or was never in it, sees nothing of it). The same rule as
        # `policy.visible_conversations`, written on the participants table here because
        # `messages` sits above this module.
        or_(
            Notification.conversation_id.is_(None),
            Notification.conversation_id.in_(
                select(ConversationParticipant.conversation_id).where(
                    ConversationParticipant.user_id == actor.user_id,
                    ConversationParticipant.left_at.is_(None),
                )
            ),
        ),
        # A meeting's reminder: only while the member is in the meeting's group (a
        # public group stays visible after leaving it; its reminders do not). A deleted
        # meeting takes its reminders with it (ON DELETE CASCADE).
        or_(
            Notification.meeting_id.is_(None),
            Notification.group_id.is_(None),
            Notification.group_id.in_(sorted(actor.group_ids)),
        ),
    )
