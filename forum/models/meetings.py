"""Meetings of a group (or the site), members' answers, reminders and calendar feeds."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow


class Repeat(enum.StrEnum):
    NONE = "none"
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"


class Answer(enum.StrEnum):
    GOING = "going"
    MAYBE = "maybe"
    NO = "no"


class Lead(enum.StrEnum):
    """How long before an occurrence a member is reminded."""

    DAY = "1d"
    TWO_HOURS = "2h"
    NONE = "none"


class Meeting(db.Model):  # type: ignore[name-defined,misc]
    """A one-off or repeating meeting. `starts_at` is the first occurrence (UTC); later
    ones are computed in `timezone`, so a 7 pm meeting stays at 7 pm across a clock change.
    """

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_group", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a site meeting (admins and site moderators run it; every member sees it).
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    title: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    repeat: Mapped[str] = mapped_column(String(16), default=Repeat.NONE.value)
    # Where: a place, or online with a link shown to members only.
    place: Mapped[str] = mapped_column(String(200), default="")
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    link: Mapped[str] = mapped_column(String(500), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Rendered through forum.rendering (Markdown, then bleach).
    notes_html: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def url(self) -> str:
        return f"/meetings/{self.id}"


class MeetingAnswer(db.Model):  # type: ignore[name-defined,misc]
    """A member's RSVP to a meeting, and their reminder choice for it."""

    __tablename__ = "meeting_answers"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    answer: Mapped[str] = mapped_column(String(8))
    # Hidden: the other members do not see this member's answer.
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # None: the member's default (`MemberCalendar.reminder`).
    reminder: Mapped[str | None] = mapped_column(String(8), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeetingReminderSent(db.Model):  # type: ignore[name-defined,misc]
    """The marker that a member was reminded of one occurrence: never twice."""

    __tablename__ = "meeting_reminders_sent"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id", "occurrence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    occurrence: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MemberCalendar(db.Model):  # type: ignore[name-defined,misc]
    """A member's time zone, default meeting reminder and private calendar feed."""

    __tablename__ = "member_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    reminder: Mapped[str] = mapped_column(String(8), default=Lead.DAY.value)
    # SHA-256 of the feed's secret token (the URL is shown once when made); None: no feed.
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    feed_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class PersonalReminder(db.Model):  # type: ignore[name-defined,misc]
    """ "Remind me" on a post: a notification at `remind_at`, while they can still see it."""

    __tablename__ = "personal_reminders"
    __table_args__ = (
        Index("ix_personal_reminders_due", "sent_at", "remind_at"),
        Index("ix_personal_reminders_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    remind_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
