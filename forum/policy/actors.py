"""The `Actor`: the permission-relevant facts about whoever makes a request.

The only module of the package that builds anything from the database for its own sake:
`actor_for` reads a member's group facts (through a per-worker cache keyed by the
member's `memberships_version`) and break-glass rows, once per request. The rules take
the `Actor` and never look at request state.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Protocol

from sqlalchemy import select

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import BreakGlass
from forum.models.groups import Membership
from forum.models.groups import Role
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
