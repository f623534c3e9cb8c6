"""Who may see and do what: the one place that decides.

Three kinds of function live here, and nowhere else:

* scopes (`visible_boards`, `visible_topics`, `visible_posts`, `visible_users`) return a
  `Select` that every list and lookup starts from, so that nothing can forget a filter;
* predicates (`can_reply`, `can_moderate`, ...) return a bool for one object;
* guards (`require_topic`, ...) load through a scope and raise `NotFound` when the actor
  may not see the thing, so that hidden and absent look exactly alike.

Functions take an `Actor`, built once per request by `actor_for`, never `current_user`,
`request` or `g`. Later capabilities (groups, moderation scopes, search) extend the
`Actor` and the single `_board_readable` condition; every scope inherits the change.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.orm import joinedload

from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import ForumError
from forum.errors import NotFound
from forum.errors import NotLoggedIn
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import BreakGlass
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.groups import Role
from forum.models.groups import Visibility
from forum.models.moderation import Appeal
from forum.models.moderation import Report
from forum.models.moderation import Sanction
from forum.models.modlog import ModerationLog
from forum.models.notifications import Notification
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User


@dataclass(frozen=True)
class Actor:
    """The permissions-relevant facts about whoever makes a request."""

    user_id: int | None = None
    is_admin: bool = False
    is_site_moderator: bool = False
    # Whether the site lets this actor read boards outside groups (guests: a setting).
    reads_public: bool = False
    silenced: bool = False
    trust_level: int = 0
    # Groups the member belongs to (any role), moderates (moderator or owner), owns.
    group_ids: frozenset[int] = field(default_factory=frozenset)
    moderated_group_ids: frozenset[int] = field(default_factory=frozenset)
    owned_group_ids: frozenset[int] = field(default_factory=frozenset)
    # Secret groups an admin has entered through a logged, time-limited break-glass step.
    glass_group_ids: frozenset[int] = field(default_factory=frozenset)
    # Groups where the member is silenced: they read the group but cannot post in it.
    # (A group suspension takes the group out of `group_ids` altogether for its time.)
    silenced_group_ids: frozenset[int] = field(default_factory=frozenset)
    # Groups the member is suspended from (out of `group_ids` for the time). Kept apart so
    # that a site moderator sanctioned inside a public group stops moderating it too.
    suspended_group_ids: frozenset[int] = field(default_factory=frozenset)
    # (group id, level) for each group (in `group_ids`) whose owners granted the member a
    # trust level: it counts on that group's boards only (see `trust_level_in`).
    group_trust_levels: frozenset[tuple[int, int]] = field(default_factory=frozenset)

    def trust_level_in(self, group_id: int | None) -> int:
        """The actor's trust level on a board of a scope: the site level outside groups;
        inside a group, the higher of the site level and the group's grant."""
        level = self.trust_level
        if group_id is not None:
            for granted_in, granted in self.group_trust_levels:
                if granted_in == group_id:
                    level = max(level, granted)
        return level

    @property
    def readable_group_ids(self) -> frozenset[int]:
        """Groups whose boards the actor reads whatever their visibility."""
        return self.group_ids | self.glass_group_ids

    @property
    def is_member(self) -> bool:
        """True for a logged-in member, False for a guest."""
        return self.user_id is not None


# The server's operator at the command line (`forum demo`, scripts): an admin who is not a
# member account. User id 0 matches no row, so nothing is ever attributed to it.
OPERATOR = Actor(user_id=0, is_admin=True, is_site_moderator=True, reads_public=True)

# The community's automatic defences (auto-hide, auto-silence) acting with nobody online.
# It may do nothing through policy: services acting for it skip the checks and log
# entries carry no actor.
SYSTEM = Actor()


# (group id, role, silenced until, suspended until, granted trust level) per membership.
GroupFacts = list[tuple[int, Role, datetime | None, datetime | None, int | None]]


class FactsCache(Protocol):
    """Where a worker keeps members' group facts (see `actor_for`)."""

    def get(self, key: tuple[int, int]) -> GroupFacts | None: ...

    def put(self, key: tuple[int, int], value: GroupFacts, size: int) -> None: ...


def _group_facts(user: User, cache: FactsCache | None) -> GroupFacts:
    # Keyed by the member's memberships_version, which every membership change bumps in
    # the same transaction: a cached answer can never outlive the membership it reflects.
    key = (user.id, user.memberships_version)
    found = cache.get(key) if cache is not None else None
    if found is None:
        found = [
            (group_id, Role(role), silenced_until, suspended_until, trust_level)
            for group_id, role, silenced_until, suspended_until, trust_level in db.session.execute(
                select(
                    Membership.group_id,
                    Membership.role,
                    Membership.silenced_until,
                    Membership.suspended_until,
                    Membership.trust_level,
                ).where(Membership.user_id == user.id)
            )
        ]
        if cache is not None:
            cache.put(key, found, 1)
    return found


def actor_for(
    user: User | None,
    *,
    guests_read: bool,
    now: datetime | None = None,
    cache: FactsCache | None = None,
) -> Actor:
    """Build the actor for a member (or a guest when `user` is None)."""
    if user is None:
        return Actor(reads_public=guests_read)
    now = now or utcnow()
    silenced = user.is_silenced(now) or user.is_suspended(now)
    # A group suspension makes the member an outsider for its time; a group silence lets
    # them read but not post there. Either takes away their moderation of that group.
    roles = []
    quiet: set[int] = set()
    away: set[int] = set()
    granted: set[tuple[int, int]] = set()
    for group_id, role, silenced_until, suspended_until, level in _group_facts(user, cache):
        if suspended_until is not None and suspended_until > now:
            away.add(group_id)
            continue
        if silenced_until is not None and silenced_until > now:
            quiet.add(group_id)
            role = Role.MEMBER
        roles.append((group_id, role))
        if level:
            granted.add((group_id, level))
    glass: frozenset[int] = frozenset()
    if user.is_admin:
        glass = frozenset(
            db.session.scalars(
                select(BreakGlass.group_id).where(
                    BreakGlass.admin_id == user.id, BreakGlass.expires_at > now
                )
            )
        )
    return Actor(
        user_id=user.id,
        is_admin=user.is_admin,
        # A silenced moderator loses moderation rights while the silence runs.
        is_site_moderator=(user.is_moderator or user.is_admin) and not silenced,
        reads_public=True,
        silenced=silenced,
        trust_level=user.trust_level,
        group_ids=frozenset(group_id for group_id, _role in roles),
        moderated_group_ids=frozenset(
            group_id for group_id, role in roles if role in (Role.MODERATOR, Role.OWNER)
        ),
        owned_group_ids=frozenset(group_id for group_id, role in roles if role == Role.OWNER),
        glass_group_ids=glass,
        silenced_group_ids=frozenset(quiet),
        suspended_group_ids=frozenset(away),
        group_trust_levels=frozenset(granted),
    )


# --- scopes -----------------------------------------------------------------


def _public_group_ids() -> Select[int]:
    return select(Group.id).where(Group.visibility == Visibility.PUBLIC)


def _board_readable(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition on `Board` for boards the actor may read.

    Site boards and public groups' boards: whoever reads the site. A secret group's
    boards: its members, and an admin while broken in. Nothing else, ever.
    """
    conditions: list[ColumnElement[bool]] = []
    if actor.reads_public:
        conditions.append(Board.group_id.is_(None))
        conditions.append(Board.group_id.in_(_public_group_ids()))
    if actor.readable_group_ids:
        conditions.append(Board.group_id.in_(sorted(actor.readable_group_ids)))
    return or_(*conditions) if conditions else false()


def readable_board_ids(actor: Actor) -> Select[int]:
    """Ids of the boards the actor may read (for IN-filters, e.g. in search)."""
    return select(Board.id).where(_board_readable(actor))


def visible_boards(actor: Actor) -> Select[Board]:
    """Boards the actor may see."""
    return select(Board).where(_board_readable(actor))


def moderated_board_ids(actor: Actor) -> Select[int]:
    """Ids of the boards the actor moderates (agrees with `can_moderate`)."""
    return select(Board.id).where(_in_moderated_scope(actor, Board.group_id))


def _topic_shown(actor: Actor, *, own_waiting: bool) -> ColumnElement[bool]:
    """SQL condition on `Topic`: readable, and not a topic still waiting for approval
    (those: the board's moderators, and with `own_waiting` their author)."""
    shown: list[ColumnElement[bool]] = [Topic.awaiting_approval.is_(False)]
    if own_waiting and actor.is_member:
        shown.append(Topic.author_id == actor.user_id)
    if can_moderate_anywhere(actor):
        shown.append(Topic.board_id.in_(moderated_board_ids(actor)))
    return and_(Topic.board_id.in_(readable_board_ids(actor)), or_(*shown))


def visible_topics(actor: Actor, *, own_waiting: bool = True) -> Select[Topic]:
    """Topics the actor may see. `own_waiting=False` leaves out the actor's own topics
    that wait for approval: lists shared between readers (cached) must not hold them."""
    return select(Topic).where(_topic_shown(actor, own_waiting=own_waiting))


def visible_posts(actor: Actor) -> Select[Post]:
    """Posts the actor may see (deleted ones included: they show as placeholders)."""
    return (
        select(Post)
        .join(Topic, Topic.id == Post.topic_id)
        .where(_topic_shown(actor, own_waiting=True))
    )


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


def visible_log_entries(actor: Actor) -> Select[ModerationLog]:
    """Moderation log entries in the actor's scope: a group's stay inside the group.

    Moderators see their scope's entries; a group that opens its log shows its entries to
    all its members too (entries never name reporters).
    """
    conditions = [_in_moderated_scope(actor, ModerationLog.group_id)]
    if actor.group_ids:
        open_logs = select(Group.id).where(
            Group.id.in_(sorted(actor.group_ids)), Group.log_visible_to_members.is_(True)
        )
        conditions.append(ModerationLog.group_id.in_(open_logs))
    return select(ModerationLog).where(or_(*conditions))


def visible_reports(actor: Actor) -> Select[Report]:
    """Reports the actor may review: in their scope, and never about their own posts."""
    own_posts = select(Post.id).where(Post.author_id == actor.user_id)
    return select(Report).where(
        _in_moderated_scope(actor, Report.group_id), Report.post_id.not_in(own_posts)
    )


def visible_sanctions(actor: Actor) -> Select[Sanction]:
    """Sanctions the actor may see: their own (with the reasons), and those in their scope."""
    conditions = [_in_moderated_scope(actor, Sanction.group_id)]
    if actor.is_member:
        conditions.append(Sanction.user_id == actor.user_id)
    return select(Sanction).where(or_(*conditions))


def visible_appeals(actor: Actor) -> Select[Appeal]:
    """Appeals the actor may see: their own, and those in their scope they may decide."""
    conditions = [
        and_(
            _in_moderated_scope(actor, Appeal.group_id),
            Appeal.user_id != actor.user_id,
            or_(Appeal.acted_by_id.is_(None), Appeal.acted_by_id != actor.user_id),
        )
    ]
    if actor.is_member:
        conditions.append(Appeal.user_id == actor.user_id)
    return select(Appeal).where(or_(*conditions))


def visible_notifications(actor: Actor) -> Select[Notification]:
    """The actor's notifications, each only while its post or group is still visible.

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
    )


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
    return select(User).where(_user_visible(actor))


def directory_users(actor: Actor) -> Select[User]:
    """Every member, for the admins' member directory (anyone else: none).

    Admins know every member, also those who never posted, to appoint and look after
    them; they do not know which secret groups a member is in, so whatever a directory
    shows or filters on besides the accounts themselves comes from the other scopes
    (posts through `visible_posts`, sanctions through `visible_sanctions`).
    """
    return select(User).where(true() if can_administer(actor) else false())


# --- predicates -------------------------------------------------------------


def can_see_group(actor: Actor, group: Group) -> bool:
    """True if the actor may know the group exists."""
    if group.id in actor.readable_group_ids:
        return True
    return actor.reads_public and not group.is_secret


def can_see_board(actor: Actor, board: Board) -> bool:
    """True if the actor may read the board."""
    if board.group is None:
        return actor.reads_public
    return can_see_group(actor, board.group)


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


def _sanctioned_in(actor: Actor, group: Group) -> bool:
    return group.id in actor.silenced_group_ids or group.id in actor.suspended_group_ids


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


def can_create_board(actor: Actor, group: Group | None) -> bool:
    """Site boards: admins. A group's boards: whoever manages the group."""
    if group is None:
        return can_administer(actor)
    return can_manage_group(actor, group)


def _posts_in(actor: Actor, board: Board) -> bool:
    """Membership rule for writing: a group's boards take posts from its members
    (not from those silenced in the group)."""
    if board.group_id is None:
        return True
    return board.group_id in actor.group_ids and board.group_id not in actor.silenced_group_ids


def can_see_topic(actor: Actor, topic: Topic) -> bool:
    """True if the actor may read the topic (one waiting for approval: its author and
    the board's moderators)."""
    if not can_see_board(actor, topic.board):
        return False
    if not topic.awaiting_approval:
        return True
    return (actor.is_member and topic.author_id == actor.user_id) or can_moderate(
        actor, topic.board
    )


def can_see_post(actor: Actor, post: Post) -> bool:
    """True if the actor may see the post (perhaps only as a deleted placeholder)."""
    return can_see_topic(actor, post.topic)


def can_moderate(actor: Actor, board: Board) -> bool:
    """True if the actor moderates the board.

    Site moderators: site boards and public groups' boards. A group's moderators and
    owners: its boards. A secret group is moderated only from inside: a site moderator
    or admin who is not a member is an outsider there (admins: unless broken in).
    """
    return can_moderate_scope(actor, board.group)


def can_moderate_scope(actor: Actor, group: Group | None) -> bool:
    """True if the actor moderates a scope: the site (None) or one group's boards."""
    if not actor.is_member or actor.silenced:
        return False
    if group is None:
        return actor.is_site_moderator
    if group.id in actor.moderated_group_ids or group.id in actor.glass_group_ids:
        return True
    # A site moderator silenced or suspended inside a public group does not moderate it.
    sanctioned = group.id in actor.silenced_group_ids or group.id in actor.suspended_group_ids
    return actor.is_site_moderator and not group.is_secret and not sanctioned


def can_moderate_anywhere(actor: Actor) -> bool:
    """True if the actor moderates some scope (the moderator dashboard and its nav link)."""
    if not actor.is_member or actor.silenced:
        return False
    return actor.is_site_moderator or bool(actor.moderated_group_ids | actor.glass_group_ids)


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


def can_act_on_member(actor: Actor, user: User, group: Group | None) -> bool:
    """True if the actor may sanction the member in a scope: never themselves, an admin,
    or a moderator of equal or higher rank there."""
    if user.id == actor.user_id or user.is_admin:
        return False
    rank = moderation_rank(actor, group)
    return rank > RANK_NONE and member_rank(user, group) < rank


def can_undo_log_entry(actor: Actor, entry: ModerationLog, group: Group | None) -> bool:
    """True if the actor may undo a logged action (`group`: the entry's scope): once, and
    only as a moderator there of the same or a higher rank than whoever acted."""
    if entry.undone_at is not None:
        return False
    rank = moderation_rank(actor, group)
    return rank > RANK_NONE and rank >= entry.actor_rank


# --- writing: each rule once, as a check that raises with its reason ------------------
#
# The `check_*` functions raise `NotLoggedIn`, `NotFound` (the actor cannot see the
# thing: nothing more may be said), or `Denied`/`Conflict` with the reason a person can
# act on (`silenced`, `locked`...). The `can_*` predicates are derived from them, so that
# the buttons shown, the HTML pages and the JSON API always give the same answer.


WriteCheck = Callable[..., None]


def _passes(check: WriteCheck, *args: object) -> bool:
    try:
        check(*args)
    except (NotLoggedIn, NotFound, Denied, Conflict):
        return False
    return True


def silenced_in(actor: Actor, group_id: int | None) -> bool:
    """True if a silence stops the actor writing in a scope: a site-wide silence (or
    suspension), or a silence inside that group."""
    return actor.silenced or (group_id is not None and group_id in actor.silenced_group_ids)


def _deny_silenced(actor: Actor, group_id: int | None, doing: str) -> None:
    """Raise `Denied` (code `silenced`) if a silence stops the actor writing in the scope.

    The one place the reason is worded: pages show it with a link to the member's
    standing (`/account/standing`: why, for how long, and how to appeal).
    """
    if actor.silenced:
        raise Denied(f"You are silenced and cannot {doing} for now.", code="silenced")
    if group_id is not None and group_id in actor.silenced_group_ids:
        raise Denied(
            f"You are silenced in this group and cannot {doing} here for now.", code="silenced"
        )


def _require_writer(actor: Actor) -> None:
    if not actor.is_member:
        raise NotLoggedIn()


def check_change_bio(actor: Actor) -> None:
    """Raise unless the actor may change their public profile text (not while silenced
    site-wide: it is public writing, like a post)."""
    _require_writer(actor)
    _deny_silenced(actor, None, "change the text about you")


def check_post_topic(actor: Actor, board: Board) -> None:
    """Raise unless the actor may start a topic on the board (see the checks above)."""
    _require_writer(actor)
    if not can_see_board(actor, board):
        raise NotFound()
    if can_moderate(actor, board):
        return
    _deny_silenced(actor, board.group_id, "post")
    if not _posts_in(actor, board):
        raise Denied("Only the group's members post here.")


def check_reply(actor: Actor, topic: Topic) -> None:
    """Raise unless the actor may reply to the topic (see the checks above)."""
    _require_writer(actor)
    if not can_see_topic(actor, topic):
        raise NotFound()
    board = topic.board
    if can_moderate(actor, board):
        return
    _deny_silenced(actor, board.group_id, "post")
    if topic.locked:
        raise Denied("This topic is locked.", code="locked")
    if topic.closed:
        raise Denied("This topic is closed: it takes no new replies.", code="closed")
    if not _posts_in(actor, board):
        raise Denied("Only the group's members post here.")


def check_edit_post(actor: Actor, post: Post) -> None:
    """Raise unless the actor may edit the post: its author (topic not locked), or a
    moderator of its board."""
    _require_writer(actor)
    if not can_see_post(actor, post):
        raise NotFound()
    topic = post.topic
    if can_moderate(actor, topic.board):
        return
    _deny_silenced(actor, topic.board.group_id, "edit posts")
    if post.author_id != actor.user_id or post.is_deleted:
        raise Denied("You can only edit your own posts.")
    if topic.locked:
        raise Denied("This topic is locked.", code="locked")


def check_delete_post(actor: Actor, post: Post) -> None:
    """Raise unless the actor may delete the post (or could, were it not deleted already):
    its author, or a moderator of its board."""
    _require_writer(actor)
    if not can_see_post(actor, post):
        raise NotFound()
    board = post.topic.board
    if can_moderate(actor, board):
        return
    if post.author_id != actor.user_id:
        raise Denied("You can only delete your own posts.")
    # Taking one's own words down stays possible during a group's silence (it adds
    # nothing); a site-wide silence stops every write, as it always has.
    if actor.silenced:
        _deny_silenced(actor, None, "delete posts")


def _check_respond(actor: Actor, post: Post, doing: str, own: str, gone: ForumError) -> None:
    _require_writer(actor)
    if not can_see_post(actor, post):
        raise NotFound()
    _deny_silenced(actor, post.topic.board.group_id, doing)
    if post.author_id == actor.user_id:
        raise Denied(own)
    if post.is_deleted or post.is_hidden:
        raise gone


def check_like_post(actor: Actor, post: Post) -> None:
    """Raise unless the actor may like (or unlike) the post: a member who can read it,
    not its author, not silenced there."""
    _check_respond(
        actor,
        post,
        "like posts",
        "You cannot like your own post.",
        Denied("You cannot like a deleted or hidden post."),
    )


def check_report_post(actor: Actor, post: Post) -> None:
    """Raise unless the actor may report the post: a member who can read it, not its
    author, not silenced there; a hidden or deleted post has been dealt with (409)."""
    _check_respond(
        actor,
        post,
        "report posts",
        "You cannot report your own post.",
        Conflict("This post has been dealt with already."),
    )


def can_report_post(actor: Actor, post: Post) -> bool:
    """True if `check_report_post` lets the actor report the post."""
    return _passes(check_report_post, actor, post)


def can_like_post(actor: Actor, post: Post) -> bool:
    """True if `check_like_post` lets the actor like the post."""
    return _passes(check_like_post, actor, post)


def can_post_topic(actor: Actor, board: Board) -> bool:
    """True if `check_post_topic` lets the actor start a topic on the board."""
    return _passes(check_post_topic, actor, board)


def can_reply(actor: Actor, topic: Topic) -> bool:
    """True if `check_reply` lets the actor reply to the topic."""
    return _passes(check_reply, actor, topic)


def can_edit_post(actor: Actor, post: Post) -> bool:
    """True if `check_edit_post` lets the actor edit the post."""
    return _passes(check_edit_post, actor, post)


def can_delete_post(actor: Actor, post: Post) -> bool:
    """True if `check_delete_post` lets the actor delete the post."""
    return _passes(check_delete_post, actor, post)


# --- trust levels ---------------------------------------------------------------------


def can_post_links(actor: Actor, board: Board) -> bool:
    """True if the actor's posts on the board may carry links and images: trust level 1
    and up there (a group's grant counts on its own boards only), or moderating the board.
    """
    if actor.trust_level_in(board.group_id) >= 1 or actor.is_site_moderator:
        return True
    # A group's moderators moderate its boards only: their role says nothing elsewhere.
    return board.group_id is not None and board.group_id in actor.moderated_group_ids


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


def can_grant_trust(actor: Actor, user: User, group: Group | None) -> bool:
    """Site levels (`group` None): admins only, who may also lock them. A level inside a
    group: whoever manages the group (its owners; admins where they may manage it), for
    its members, up to level 3; it never changes the member's site level."""
    if not actor.is_member or actor.silenced or user.id == actor.user_id:
        return False
    if group is None:
        return actor.is_admin
    if not can_manage_group(actor, group):
        return False
    is_member = db.session.scalar(
        select(Membership.id).where(Membership.group_id == group.id, Membership.user_id == user.id)
    )
    return is_member is not None


def can_appoint_site_moderators(actor: Actor) -> bool:
    """Site moderators are appointed by admins."""
    return can_administer(actor)


def can_administer(actor: Actor) -> bool:
    """True for site admins: settings, boards."""
    return actor.is_member and actor.is_admin


def can_see_post_body(actor: Actor, post: Post) -> bool:
    """True if the actor may read the post's text. A deleted post's: moderators only; a
    hidden (or waiting) post's: moderators, and its author."""
    if not can_see_post(actor, post):
        return False
    if post.is_deleted:
        return can_moderate(actor, post.topic.board)
    if post.is_hidden:
        return post.author_id == actor.user_id or can_moderate(actor, post.topic.board)
    return True


def can_see_revisions(actor: Actor, post: Post) -> bool:
    """True if the actor may read the post's edit history."""
    return can_see_post_body(actor, post)


def can_redact_revision(actor: Actor, post: Post) -> bool:
    """True if the actor may remove the text of one of the post's earlier versions: its
    author (even silenced: it only takes their own words away) or a moderator of its board."""
    if not actor.is_member or not can_see_post(actor, post):
        return False
    return post.author_id == actor.user_id or can_moderate(actor, post.topic.board)


def can_see_user(actor: Actor, user: User) -> bool:
    """True if the actor may see the member's profile (see `visible_users`)."""
    if not actor.is_member:
        return False
    found = db.session.scalar(select(User.id).where(User.id == user.id, _user_visible(actor)))
    return found is not None


def post_actions(actor: Actor, post: Post) -> dict[str, bool]:
    """Which buttons a post shows to the actor."""
    return topic_post_actions(actor, post.topic, [post])[post.id]


class PostFacts(Protocol):
    """What deciding a post's buttons needs: a `Post`, or a cached summary of one."""

    @property
    def id(self) -> int: ...

    @property
    def author_id(self) -> int: ...

    @property
    def revisions_count(self) -> int: ...

    @property
    def is_deleted(self) -> bool: ...

    @property
    def is_hidden(self) -> bool: ...


def board_view_variant(actor: Actor, board: Board) -> str:
    """How a board's topic list looks to the actor: "moderator" (topics waiting for
    approval listed) or "reader". Lists are shared between readers of one variant."""
    return "moderator" if can_moderate(actor, board) else "reader"


def topic_view_variant(actor: Actor, topic: Topic) -> str:
    """How a topic's posts look to the actor: "moderator" (deleted and hidden text shown,
    with why) or "reader" (placeholders).

    Everyone who can see a topic sees its posts the same way within a variant, which is
    what lets rendered pages be shared between readers (see forum.fragments). What differs
    between readers of one variant (their buttons, an author's note on their own hidden
    post) goes into per-reader holes, decided by `topic_post_actions`.
    """
    return "moderator" if can_moderate(actor, topic.board) else "reader"


def topic_post_actions(
    actor: Actor, topic: Topic, posts: Sequence[PostFacts]
) -> dict[int, dict[str, bool]]:
    """`post_actions` for a page of one topic's posts, deciding the shared facts once.

    Must agree with `can_edit_post`, `can_delete_post`, `can_reply`, `can_see_revisions`,
    `can_see_post_body`, `can_like_post` and `can_report_post` post by post; a test
    checks that it does.
    """
    sees = can_see_topic(actor, topic)
    # A silence in the topic's group stops writing there, but not taking one's own words
    # down (as in `check_edit_post` and `check_delete_post`).
    writer = actor.is_member and not silenced_in(actor, topic.board.group_id) and sees
    deleter = actor.is_member and not actor.silenced and sees
    moderates = sees and can_moderate(actor, topic.board)
    replies = can_reply(actor, topic)
    actions = {}
    for post in posts:
        own = post.author_id == actor.user_id and actor.is_member
        # Deleted text: moderators only. Hidden (or waiting) text: moderators and the author.
        shown = not post.is_deleted and (not post.is_hidden or own)
        readable = sees and (shown or moderates)
        # Liking and reporting: someone else's post that everyone can still read.
        open_to_others = writer and not own and not post.is_deleted and not post.is_hidden
        actions[post.id] = {
            "edit": moderates or (writer and own and not post.is_deleted and not topic.locked),
            "delete": not post.is_deleted and (moderates or (own and deleter)),
            "reply": replies,
            "revisions": post.revisions_count > 0 and readable,
            "body": readable,
            "like": open_to_others,
            "report": open_to_others,
        }
    return actions


# --- guards -----------------------------------------------------------------


def require_member(actor: Actor) -> int:
    """The actor's user id, or `NotLoggedIn`."""
    if actor.user_id is None:
        raise NotLoggedIn()
    return actor.user_id


def require_board(actor: Actor, board_id: int) -> Board:
    """The board, if the actor may see it; else `NotFound`."""
    board: Board | None = db.session.scalar(visible_boards(actor).where(Board.id == board_id))
    if board is None:
        raise NotFound()
    return board


def require_topic(actor: Actor, topic_id: int) -> Topic:
    """The topic, if the actor may see it; else `NotFound`."""
    # Its board comes along: every caller shows or checks it. The board condition is the
    # scope's; the rare topic waiting for approval is then decided by the predicate, which
    # agrees with `visible_topics` (a test checks) and spares the hottest page of the site
    # from building that part of the statement.
    stmt = (
        select(Topic)
        .where(Topic.id == topic_id, Topic.board_id.in_(readable_board_ids(actor)))
        .options(joinedload(Topic.board))
    )
    topic: Topic | None = db.session.scalar(stmt)
    if topic is None or (topic.awaiting_approval and not can_see_topic(actor, topic)):
        raise NotFound()
    return topic


def require_post(actor: Actor, post_id: int) -> Post:
    """The post, if the actor may see it; else `NotFound`."""
    post: Post | None = db.session.scalar(visible_posts(actor).where(Post.id == post_id))
    if post is None:
        raise NotFound()
    return post


def require_group(actor: Actor, slug: str) -> Group:
    """The group by slug, if the actor may know it exists; else `NotFound`."""
    if not isinstance(slug, str) or len(slug) > 40:
        raise NotFound()
    group: Group | None = db.session.scalar(visible_groups(actor).where(Group.slug == slug))
    if group is None:
        raise NotFound()
    return group


def require_user(actor: Actor, username: str) -> User:
    """The member by name (any case), if the actor may see them; else `NotFound`."""
    user: User | None = db.session.scalar(
        visible_users(actor).where(User.username_key == username.lower())
    )
    if user is None:
        raise NotFound()
    return user


def require_admin(actor: Actor) -> None:
    """Raise unless the actor is a site admin (`NotLoggedIn` for guests, else `Denied`)."""
    require_member(actor)
    if not can_administer(actor):
        raise Denied("Only site admins may do that.")


def require_report(actor: Actor, report_id: int) -> Report:
    """The report, if it lies in the actor's moderation scope; else `NotFound`."""
    report: Report | None = db.session.scalar(visible_reports(actor).where(Report.id == report_id))
    if report is None:
        raise NotFound()
    return report


def require_sanction(actor: Actor, sanction_id: int) -> Sanction:
    """The sanction, if the actor may see it (theirs, or in their scope); else `NotFound`."""
    sanction: Sanction | None = db.session.scalar(
        visible_sanctions(actor).where(Sanction.id == sanction_id)
    )
    if sanction is None:
        raise NotFound()
    return sanction


def require_appeal(actor: Actor, appeal_id: int) -> Appeal:
    """The appeal, if the actor may see it; else `NotFound`."""
    appeal: Appeal | None = db.session.scalar(visible_appeals(actor).where(Appeal.id == appeal_id))
    if appeal is None:
        raise NotFound()
    return appeal


def require_log_entry(actor: Actor, entry_id: int) -> ModerationLog:
    """The moderation log entry, if the actor may see it; else `NotFound`."""
    entry: ModerationLog | None = db.session.scalar(
        visible_log_entries(actor).where(ModerationLog.id == entry_id)
    )
    if entry is None:
        raise NotFound()
    return entry
