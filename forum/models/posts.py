"""Posts, the revisions kept when they are edited, and the edits themselves."""

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
from sqlalchemy import and_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import type_coerce
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import column_property
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.topics import Topic
from forum.models.users import User


class HiddenKind(enum.StrEnum):
    MODERATORS = "moderators"  # a moderator hid it
    COMMUNITY = "community"  # members' reports reached the threshold (pending review)
    APPROVAL = "approval"  # a new member's post waiting for a moderator's approval


class Post(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("topic_id", "number"),
        Index("ix_posts_author_created", "author_id", "created_at"),
        # The review queue looks for hidden posts only: a partial index holds just those.
        Index(
            "ix_posts_hidden_author",
            "author_id",
            sqlite_where=text("hidden_at IS NOT NULL"),
            postgresql_where=text("hidden_at IS NOT NULL"),
        ),
        Index("ix_posts_hidden_kind", "hidden_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    # 1-based position in the topic: gives the page of a permalink without counting.
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="SET NULL"), default=None
    )
    body: Mapped[str] = mapped_column(Text)
    # Rendered, sanitised HTML, stored next to the source (see forum.rendering).
    html: Mapped[str] = mapped_column(Text)
    renderer_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revisions_count: Mapped[int] = mapped_column(Integer, default=0)
    # Soft delete: the text stays for moderators; everyone else sees a placeholder.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    deleted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Hidden: readers see a placeholder; moderators in scope see the text; the author sees
    # why and may edit to ask for re-review. Kinds: HiddenKind.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    hidden_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    hidden_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    hidden_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Set when the author edits a hidden post: it goes back to the review queue.
    review_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    likes_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # The topic page loads the topic first; this then resolves from the identity map.
    topic: Mapped[Topic] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined", innerjoin=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def url(self) -> str:
        return f"/p/{self.id}"

    def __repr__(self) -> str:
        return f"<Post {self.id} topic={self.topic_id} #{self.number}>"


# A topic names its author only while its opening post is there for readers (not deleted,
# hidden or waiting for approval). Once it is gone, the name in topic lists would make the
# author known to readers who share no other context with them (the policy's
# shared-context rule counts only posts that readers can read).
Topic.opening_post_shown = column_property(
    select(type_coerce(and_(Post.deleted_at.is_(None), Post.hidden_at.is_(None)), Boolean))
    .where(Post.topic_id == Topic.id, Post.number == 1)
    .correlate_except(Post)
    .scalar_subquery()
)


class RedactedBy(enum.StrEnum):
    AUTHOR = "author"  # the post's author removed the version's text
    MODERATOR = "moderator"  # a moderator of the post's board did (logged)


class PostRevision(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "post_revisions"
    __table_args__ = (UniqueConstraint("post_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    # Revision n holds the body as it was before edit n.
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    # When this text was written (the post's creation or an earlier edit)...
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # ...and when edit n replaced it (None for revisions kept before this was recorded).
    # The author's further edits within a few minutes of this replace the post's text
    # without a new revision (the posts service's EDIT_GRACE).
    replaced_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    editor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Redacted: body and html are emptied; who did it (RedactedBy) and when are kept.
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    redacted_as: Mapped[str | None] = mapped_column(String(16), default=None)
    redacted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    @property
    def is_redacted(self) -> bool:
        return self.redacted_at is not None


class PostEdit(db.Model):  # type: ignore[name-defined,misc]
    """One edit of a post, kept a day: edits per hour are counted from these (a revision
    is not made for every edit, see `PostRevision.replaced_at`). No text."""

    __tablename__ = "post_edits"
    __table_args__ = (Index("ix_post_edits_editor_at", "editor_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    editor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
