"""Throttle events and one-time set-up tokens: security bookkeeping."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow


class ThrottleEvent(db.Model):  # type: ignore[name-defined,misc]
    """One counted event (a failed login, say) under a key.

    Keys never hold a raw IP address or username: both are HMAC'd with a secret salt
    first, and rows older than 14 days are deleted.
    """

    __tablename__ = "throttle_events"
    __table_args__ = (Index("ix_throttle_events_key_at", "key", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
