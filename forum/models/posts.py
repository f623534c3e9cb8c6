"""Posts and the revisions kept on every edit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.topics import Topic
from forum.models.users import User


class Post(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("topic_id", "number"),
        Index("ix_posts_author_created", "author_id", "created_at"),
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

    # The topic page loads the topic first; this then resolves from the identity map.
    topic: Mapped[Topic] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined", innerjoin=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def url(self) -> str:
        return f"/p/{self.id}"

    def __repr__(self) -> str:
        return f"<Post {self.id} topic={self.topic_id} #{self.number}>"


class PostRevision(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "post_revisions"
    __table_args__ = (UniqueConstraint("post_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    # Revision n holds the body as it was before edit n.
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    editor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
