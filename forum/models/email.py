"""A member's e-mail choices beyond the per-kind ones, and the record that keeps immediate
mail to one a topic at a time (the notification mail service)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow


class DigestFrequency(enum.StrEnum):
    """How often a member's summary of "digest" notifications is mailed."""

    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"


class EmailSettings(db.Model):  # type: ignore[name-defined,misc]
    """A member's mail settings (no row: daily digests, bodies with only a link). A row is
    made when the member first chooses a setting or a "digest" kind: only rows with a
    `next_digest_at` are ever looked at by the periodic digest job."""

    __tablename__ = "email_settings"
    __table_args__ = (Index("ix_email_settings_next_digest_at", "next_digest_at"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    digest: Mapped[str] = mapped_column(String(8), default=DigestFrequency.DAILY.value)
    # Only a link (no words from any post) unless the member asks for excerpts: mail may
    # be read by others at home.
    link_only: Mapped[bool] = mapped_column(Boolean, default=True)
    # The digest job's schedule: NULL while nothing is to be summed up.
    next_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class MailThrottle(db.Model):  # type: ignore[name-defined,misc]
    """When a member was last mailed about one topic (or conversation, or kind): at most
    one immediate mail per `key` in the throttle window (15 minutes)."""

    __tablename__ = "mail_throttles"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_mail_throttles_sent_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
