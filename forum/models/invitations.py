"""Invitation links: into a group, or (without a group) onto an invite-only site."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow


class Invitation(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a site invitation (registration only).
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True, default=None
    )
    # Only a SHA-256 of the token is kept: the link itself is the secret.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int] = mapped_column(Integer, default=1)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

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
