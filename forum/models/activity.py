"""What trust levels are computed from: likes, visits, reading, and running totals."""

from __future__ import annotations

from datetime import date
from datetime import datetime

from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow


class PostLike(db.Model):  # type: ignore[name-defined,misc]
    """One member liking one post (once)."""

    __tablename__ = "post_likes"
    __table_args__ = (Index("ix_post_likes_user_created", "user_id", "created_at"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The liked post's author, copied so "likes received" needs no join.
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserVisit(db.Model):  # type: ignore[name-defined,misc]
    """One row per member per day they were active: the 100-day window of trust level 3."""

    __tablename__ = "user_visits"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    posts_read: Mapped[int] = mapped_column(Integer, default=0)
    seconds_read: Mapped[int] = mapped_column(Integer, default=0)


class TopicRead(db.Model):  # type: ignore[name-defined,misc]
    """How far a member has read a topic ("topics entered" counts these rows)."""

    __tablename__ = "topic_reads"
    __table_args__ = (Index("ix_topic_reads_user_first", "user_id", "first_read_at"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_number: Mapped[int] = mapped_column(Integer, default=0)
    first_read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserStats(db.Model):  # type: ignore[name-defined,misc]
    """Running totals for trust levels 1 and 2 (level 3 reads the 100-day window)."""

    __tablename__ = "user_stats"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    days_visited: Mapped[int] = mapped_column(Integer, default=0)
    topics_entered: Mapped[int] = mapped_column(Integer, default=0)
    posts_read: Mapped[int] = mapped_column(Integer, default=0)
    seconds_read: Mapped[int] = mapped_column(Integer, default=0)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
