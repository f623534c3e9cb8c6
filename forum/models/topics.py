"""Topics: a title and a flat, chronological list of posts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.users import User


class Topic(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "topics"
    __table_args__ = (
        # The board page: pinned first, then by last activity.
        Index("ix_topics_board_order", "board_id", "pinned", "last_post_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="RESTRICT"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_post_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_poster_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # Posts that are not deleted; also the next post number is `next_number`.
    posts_count: Mapped[int] = mapped_column(Integer, default=0)
    next_number: Mapped[int] = mapped_column(Integer, default=1)
    # Bumped by every change to the topic's posts (reply, edit, delete): rendered pages of
    # the topic are cached under it, so a bump retires them everywhere at once.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    # Locked: nobody but moderators replies or edits. Closed: no new replies, edits allowed.
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Slow mode: each member may post here once every N minutes (0 = off).
    slow_mode_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A new member's topic whose first post waits for a moderator's approval: shown only
    # to its author and the board's moderators until approved (policy.visible_topics).
    awaiting_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    # Many-to-one loads hit the identity map first: the board page already holds the board.
    board: Mapped[Board] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined", innerjoin=True)
    last_poster: Mapped[User | None] = relationship(foreign_keys=[last_poster_id])

    @property
    def url(self) -> str:
        return f"/t/{self.id}"

    @property
    def author_shown(self) -> bool:
        """True while the opening post is there for readers, so naming its author tells
        them nothing new (`opening_post_shown` is mapped in forum.models.posts)."""
        return bool(getattr(self, "opening_post_shown", True))

    def __repr__(self) -> str:
        return f"<Topic {self.id} {self.title!r}>"
