"""Invitations: links (into a group, or onto an invite-only site) and invitations by name."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.groups import Role
from forum.models.users import User


def _enum(kind: type[enum.StrEnum], name: str) -> Enum:
    # Plain strings with a CHECK constraint, as in forum.models.groups.
    return Enum(
        kind,
        name=name,
        native_enum=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class Invitation(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a site invitation (registration only).
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True, default=None
    )
    # Only a SHA-256 of the token is kept: the link itself is the secret.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # A group link works only while its maker may still invite there (checked at each use).
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def is_open(self, now: datetime | None = None) -> bool:
        """Neither revoked, expired nor used up."""
        now = now or utcnow()
        return self.revoked_at is None and self.expires_at > now and self.uses < self.max_uses


class InvitationUse(db.Model):  # type: ignore[name-defined,misc]
    """Who used an invitation: accepting twice counts once."""

    __tablename__ = "invitation_uses"
    __table_args__ = (UniqueConstraint("invitation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MemberInvitationState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    # Taken back by an owner, or void: its inviter may no longer invite, or the group
    # keeps the invitee out.
    WITHDRAWN = "withdrawn"


class MemberInvitation(db.Model):  # type: ignore[name-defined,misc]
    """An owner's invitation of one member, by name, to join a group with a role.

    Being added needs consent: the invitee becomes a member only by accepting. Until then
    the group itself stays closed to them (a secret group answers 404); this row is their
    only view of it.
    """

    __tablename__ = "member_invitations"
    __table_args__ = (
        Index("ix_member_invitations_user_state", "user_id", "state"),
        Index("ix_member_invitations_group_state", "group_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(_enum(Role, "member_invitation_role"))
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    state: Mapped[MemberInvitationState] = mapped_column(
        _enum(MemberInvitationState, "member_invitation_state"),
        default=MemberInvitationState.PENDING,
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
    group: Mapped[Group] = relationship()
