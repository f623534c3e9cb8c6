"""Chat rooms: short messages in a stream, a group's (or the site's), with reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.users import User

# History kept unless the room's owners choose otherwise (days).
DEFAULT_RETENTION_DAYS = 30


class ChatRoom(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "chat_rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a site room (opened by admins), readable like the boards outside groups.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Seconds each member waits between two messages here (0 = off).
    slow_mode_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retention_days: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_RETENTION_DAYS, server_default=str(DEFAULT_RETENTION_DAYS)
    )
    # Bumped by every change to the stream (a message, a hidden one): the live endpoint's
    # token and ETag, so "nothing changed" is one comparison.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    group: Mapped[Group | None] = relationship()

    @property
    def url(self) -> str:
        return f"/rooms/{self.id}"

    def __repr__(self) -> str:
        return f"<ChatRoom {self.id} {self.name!r}>"


class ChatMessage(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "chat_messages"
    __table_args__ = (
        Index("ix_chat_messages_room_id", "room_id", "id"),
        Index("ix_chat_messages_room_author", "room_id", "author_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("chat_rooms.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    # Sanitised (forum.rendering), like a post's.
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Hidden by a moderator: gone from the stream for everyone (the log keeps who and why).
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    hidden_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined", innerjoin=True)
    room: Mapped[ChatRoom] = relationship()


class ChatReport(db.Model):  # type: ignore[name-defined,misc]
    """A member asking the room's moderators to look at a message (once per member)."""

    __tablename__ = "chat_reports"
    __table_args__ = (UniqueConstraint("message_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("chat_messages.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a moderator hid the message or dismissed the reports.
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    message: Mapped[ChatMessage] = relationship()
