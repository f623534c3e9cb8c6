"""Private messages: conversations, who takes part (with history), their messages,
members' blocks, and reports of single messages.

Kept apart from topics and posts on purpose: no board, topic, post or search query can
ever reach a message, because none of them reads these tables.
"""

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
from forum.models.users import User


class Conversation(db.Model):  # type: ignore[name-defined,misc]
    """A private conversation between two or more members."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starter_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The newest message (for the list's order and unread marks), kept in step on send.
    last_message_id: Mapped[int | None] = mapped_column(Integer, default=None)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationParticipant(db.Model):  # type: ignore[name-defined,misc]
    """One member's place in a conversation. Leaving sets `left_at` (the row stays: the
    history); being added again starts a new stint at `joined_at`, and only messages from
    then on are theirs to read."""

    __tablename__ = "conversation_participants"
    __table_args__ = (
        UniqueConstraint("conversation_id", "user_id"),
        Index("ix_conversation_participants_user", "user_id", "left_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # The newest message id this member has seen (unread marks).
    last_read_message_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class ConversationMessage(db.Model):  # type: ignore[name-defined,misc]
    """One message: Markdown source and its sanitised HTML (forum.rendering)."""

    __tablename__ = "conversation_messages"
    __table_args__ = (
        Index("ix_conversation_messages_conversation", "conversation_id", "id"),
        Index("ix_conversation_messages_author_created", "author_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    # The author's row stays when they delete their account (a tombstone shown as
    # "deleted member"): the others keep their copy of the conversation.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Deleted by its author: the others see a placeholder. The text itself is wiped then,
    # unless a report of it is open (the moderators handling it read what was reported;
    # it is wiped when the last open report is closed).
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    author: Mapped[User | None] = relationship(lazy="joined")


class UserBlock(db.Model):  # type: ignore[name-defined,misc]
    """`blocker` wants nothing from `blocked`: no messages, no mentions, posts collapsed.
    The blocked member is never told."""

    __tablename__ = "user_blocks"
    __table_args__ = (
        UniqueConstraint("blocker_id", "blocked_id"),
        Index("ix_user_blocks_blocked", "blocked_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    blocked_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageReport(db.Model):  # type: ignore[name-defined,misc]
    """A participant's report of one message. While it exists, site moderators may read
    that message and the two before it (policy.reported_message_window), nothing more."""

    __tablename__ = "message_reports"
    __table_args__ = (
        UniqueConstraint("message_id", "reporter_id"),
        Index("ix_message_reports_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="CASCADE")
    )
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # A FlagReason value (forum.models.moderation), as for posts.
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    # "open", "dismissed" or "upheld".
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    message: Mapped[ConversationMessage] = relationship()
