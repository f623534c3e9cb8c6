"""The moderation log: who did what to what, why and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.users import User


class ModerationLog(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "moderation_log"
    __table_args__ = (Index("ix_moderation_log_group_at", "group_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)
    # The scope the entry belongs to: a group's entries are seen only inside that group.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # JSON: what an undo needs (e.g. the board a topic moved from). Never reporters' names.
    data: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    # The actor's moderation rank in this scope when they acted (policy.moderation_rank):
    # only a moderator of the same or a higher rank may undo the action.
    actor_rank: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    undone_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
