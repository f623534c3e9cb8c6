"""Browser sessions, recorded server-side so that logging out (here or elsewhere) ends them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow

DEVICE_MAX = 60


class UserSession(db.Model):  # type: ignore[name-defined,misc]
    """One login on one browser: the session cookie and its remember-me cookie carry its key.

    Only a SHA-256 of the key is stored (like API tokens), so a leaked database opens no
    session. No IP address is kept: the device label is a coarse guess from the
    User-Agent ("Firefox on Android"), enough for a member to recognise their phone.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The one lookup every logged-in request makes goes through this unique index.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The member's auth_epoch when the session began: a password change or a suspension
    # bumps it, which ends this session without touching its row.
    auth_epoch: Mapped[int] = mapped_column(Integer)
    remembered: Mapped[bool] = mapped_column(Boolean, default=False)
    device: Mapped[str] = mapped_column(String(DEVICE_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written at most every few minutes (the sessions service's TOUCH_EVERY), not per request.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Remembered: 30 days after the login. Otherwise: the idle limit after last_seen_at.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def is_live(self, epoch: int, now: datetime) -> bool:
        """True while the session may still be used by a member whose epoch is `epoch`."""
        return self.ended_at is None and self.expires_at > now and self.auth_epoch == epoch
