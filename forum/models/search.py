"""The search index's work queue: posts whose index entry must be written again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow


class SearchQueue(db.Model):  # type: ignore[name-defined,misc]
    """One row per post to (re)index, written in the same transaction as the change.

    The database stays the only source of truth: a worker drains the queue after its
    commit, any worker may pick up what another left, and a lost row only delays an
    update until `forum reindex`. No foreign key: a row must outlive nothing it names.
    """

    __tablename__ = "search_queue"
    # Ids are never reused (SQLite's AUTOINCREMENT; PostgreSQL's sequences never are):
    # a drain deletes the rows it read by id once their posts are written, and SQLite
    # would otherwise give a row queued meanwhile the id of one just deleted - that row
    # would be deleted unwritten, its post missing from the index until `forum reindex`.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(Integer, index=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
