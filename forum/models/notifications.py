"""Notifications: short messages to one member, shown on their notifications page."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow


class Notification(db.Model):  # type: ignore[name-defined,misc]
    """A message to one member. One about a post shows only while they may still see it."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    # Plain text, escaped when shown; never user-written HTML.
    text: Mapped[str] = mapped_column(Text)
    # Checked through policy when listed (see policy.visible_notifications).
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), default=None
    )
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    # A private message: shown only while the member still takes part in its
    # conversation (policy.visible_notifications); leads to the message.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), default=None
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="CASCADE"), default=None
    )
    # A meeting reminder leads to its meeting, and goes with it (the group's check is
    # `group_id`'s: policy.visible_notifications).
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), default=None
    )
    # Who acted (replied, mentioned, quoted, liked, asked to join): their name is shown
    # when the notification is read, as the reader may see it then, never stored in
    # `text`. Gone (NULL) when the account row is; a deleted member shows as such.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Grouped likes: how many since the member last read this notification.
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class WatchLevel(enum.StrEnum):
    """How closely a member follows a topic, board or group."""

    # Every new post (a topic), every new topic (a board or group).
    WATCHING = "watching"
    # Replies to me, mentions, quotes: the default.
    TRACKING = "tracking"
    # Mentions only.
    NORMAL = "normal"
    # Nothing, ever.
    MUTED = "muted"


class WatchScope(enum.StrEnum):
    TOPIC = "topic"
    BOARD = "board"
    GROUP = "group"


class Watch(db.Model):  # type: ignore[name-defined,misc]
    """A member's chosen level for one topic, board or group (none: tracking). The most
    specific choice counts: a topic's over its board's over its group's."""

    __tablename__ = "watches"
    __table_args__ = (
        UniqueConstraint("user_id", "scope", "target_id"),
        Index("ix_watches_scope_target", "scope", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # No foreign key: one column for three tables. Read only through policy-checked
    # targets, and a row for a target that is gone matches nothing.
    scope: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailChoice(enum.StrEnum):
    """When a kind of notification is also mailed (stored only: mail comes later)."""

    NEVER = "never"
    IMMEDIATELY = "immediately"
    DIGEST = "digest"


class NotificationPreference(db.Model):  # type: ignore[name-defined,misc]
    """A member's choice for one kind of notification (none: in-app on, e-mail never)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str] = mapped_column(String(16), default=EmailChoice.NEVER.value)
