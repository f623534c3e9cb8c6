"""The outbox: effects of a committed change that are still to be delivered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow


class OutboxRow(db.Model):  # type: ignore[name-defined,misc]
    """One effect to deliver (a mail, a post to index), written in the same transaction
    as the change that made it, and deleted once delivered (forum.outbox).

    The database stays the only source of truth: any worker (or `forum outbox drain`)
    may deliver what another left, so a worker killed between its commit and the send
    loses nothing. No foreign key: a row must outlive whatever it names.
    """

    __tablename__ = "outbox"
    # Ids are never reused (SQLite's AUTOINCREMENT; PostgreSQL's sequences never are):
    # the search drain deletes the rows it read by id once their posts are written, and
    # SQLite would otherwise give a row queued meanwhile the id of one just deleted -
    # that row would be deleted unwritten, its post missing from the index.
    __table_args__ = (
        Index("ix_outbox_kind_next_attempt_at", "kind", "next_attempt_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # The one id a kind is about, as a column so that rows can be queued by the
    # thousand with INSERT ... SELECT (search: the post to index).
    subject_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[str | None] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the last attempt was made and the row is given up on (kept for the admin).
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
