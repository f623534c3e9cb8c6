"""Groups (public or secret), their members, join requests, exclusions and break-glass entries."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import Enum
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy import event
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.users import User


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    SECRET = "secret"  # noqa: S105 - a visibility, not a password


class Role(enum.StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    OWNER = "owner"


class RequestState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class ExclusionKind(enum.StrEnum):
    # Removed by the group's owners (or an admin).
    REMOVED = "removed"
    # A join request declined with "do not let them ask again".
    DECLINED = "declined"


def _enum(kind: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: no PostgreSQL enum type to migrate.
    return Enum(
        kind,
        name=name,
        native_enum=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class Group(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    # Lower-case letters, digits and dashes; unique; used in URLs (/g/<slug>).
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, "group_visibility"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The group may show its moderation log (never reporters' names) to all its members.
    log_visible_to_members: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # A brand-new (trust level 0) member's first N posts here wait for approval (0 = off).
    approve_first_posts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def is_secret(self) -> bool:
        return self.visibility == Visibility.SECRET

    @property
    def url(self) -> str:
        return f"/g/{self.slug}"

    def __repr__(self) -> str:
        return f"<Group {self.id} {self.slug}>"


class Membership(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("group_id", "user_id"),
        Index("ix_memberships_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(_enum(Role, "membership_role"), default=Role.MEMBER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Sanctions inside this group (forum.models.moderation.Sanction keeps the history).
    # Silenced: reads the group, cannot post in it. Suspended: an outsider for the time.
    silenced_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # A trust level the group's owners granted (1-3): it applies on this group's boards
    # only, raising the member's site level there and never lowering or locking it
    # (`Actor.trust_level_in`). None: no grant. It goes with the membership.
    trust_level: Mapped[int | None] = mapped_column(Integer, default=None)
    trust_granted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    trust_granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # A role label the group's owners gave, shown inside this group only (its boards and
    # member list) instead of the site label; it goes with the membership.
    label: Mapped[str | None] = mapped_column(String(60), default=None)
    # The member's choice: no label of theirs (group or site) shows inside this group.
    hide_label: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)
    group: Mapped[Group] = relationship()


class JoinRequest(db.Model):  # type: ignore[name-defined,misc]
    """A member asking to join a public group; owners and moderators decide."""

    __tablename__ = "join_requests"
    __table_args__ = (Index("ix_join_requests_group_state", "group_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[RequestState] = mapped_column(
        _enum(RequestState, "join_request_state"), default=RequestState.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)


class GroupExclusion(db.Model):  # type: ignore[name-defined,misc]
    """Someone the group keeps out: removed, or declined for good, until an owner lets them
    back. Rows are history: letting someone back sets `lifted_at`, and a later removal
    adds a new row. Every door into the group checks for a live one (the membership
    service's `admit_member`)."""

    __tablename__ = "group_exclusions"
    __table_args__ = (Index("ix_group_exclusions_group_user", "group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[ExclusionKind] = mapped_column(_enum(ExclusionKind, "group_exclusion_kind"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    lifted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class BreakGlass(db.Model):  # type: ignore[name-defined,misc]
    """A site admin's logged, time-limited entry into a secret group, shown to its owners."""

    __tablename__ = "break_glass"
    __table_args__ = (Index("ix_break_glass_admin_until", "admin_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    admin_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    admin: Mapped[User] = relationship(lazy="joined", innerjoin=True)


@event.listens_for(Session, "after_flush")
def _retire_cached_memberships(session: Session, _context: object) -> None:
    """Bump `memberships_version` of everyone whose memberships this flush changed.

    A data invariant, kept here like a trigger: no service can forget it, and a member
    removed from a secret group loses access on their very next request in every worker.
    """
    changed = {
        obj.user_id
        for obj in (*session.new, *session.dirty, *session.deleted)
        if isinstance(obj, Membership)
    }
    if changed:
        session.connection().execute(
            update(User)
            .where(User.id.in_(sorted(changed)))
            .values(memberships_version=User.memberships_version + 1)
        )
