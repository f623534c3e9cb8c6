"""Boards (categories) and their sub-boards."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.groups import Group


class Board(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One level of nesting: a sub-board's parent is a top-level board.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("boards.id", ondelete="RESTRICT"), index=True, default=None
    )
    # The group whose board this is (None: a site board). Everything about a secret
    # group's board, its topics and posts, follows the group's visibility.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="RESTRICT"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Denormalised counters, kept by the services, so the index needs no aggregates.
    topics_count: Mapped[int] = mapped_column(Integer, default=0)
    posts_count: Mapped[int] = mapped_column(Integer, default=0)
    last_post_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_topic_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # Bumped by every change to what the board's topic list shows (a new topic, a reply,
    # a deleted post; later: pin, lock, move). Rendered topic lists are cached under it.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    group: Mapped[Group | None] = relationship(lazy="joined")

    @property
    def url(self) -> str:
        return f"/b/{self.id}"

    def __repr__(self) -> str:
        return f"<Board {self.id} {self.name!r}>"
