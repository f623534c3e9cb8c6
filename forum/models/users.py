"""Members, their API tokens and their one-time recovery codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow

# Shown instead of a deleted account's tombstone name (`deleted-<id>`) on its kept posts.
DELETED_MEMBER = "deleted member"


class User(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"
    # Lets `session_key` below be a plain attribute rather than a column.
    __allow_unmapped__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(20))
    # Usernames are unique regardless of case; the lower-case copy carries the index.
    username_key: Mapped[str] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Confirmed address only; stored lower-case.
    email: Mapped[str | None] = mapped_column(String(254), unique=True, default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    trust_level: Mapped[int] = mapped_column(Integer, default=0)
    # Granted by hand and locked: the automatic recomputation leaves it alone.
    trust_level_locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Set by every new notification, cleared when the member reads them: the navigation
    # looks for unread notifications only when this says there may be some.
    has_unread_notifications: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )
    # Set when someone writes to the member in a conversation, cleared when they have read
    # every conversation: the header counts unread conversations only while it is up.
    has_unread_messages: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # The "new topics" list (forum.unread) starts here: "Dismiss new" moves it to now, so
    # that dismissing needs no row per topic (topic_reads rows count for trust levels).
    new_topics_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Bumped on password change or suspension: every session and token made before dies.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped whenever the member's group memberships change (forum.models.groups), so
    # that group facts cached per worker are retired at once everywhere.
    memberships_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Profiles show the join month only, unless the member chooses to show the date.
    show_join_date: Mapped[bool] = mapped_column(Boolean, default=False)
    bio: Mapped[str] = mapped_column(Text, default="")
    # Set while the member has blocked anyone: pages look up whom only then (most
    # members never block anyone, and a topic page must not pay a query for nothing).
    has_blocks: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Only members who share a group with this one may message them. On for new members
    # (the model's default); members from before the setting existed keep it off.
    messages_from_groups_only: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default="0"
    )
    # A role label the site's admins gave ("Peer supporter"), shown beside the name
    # everywhere (see the labels service). Never set by the member: it vouches for them.
    label: Mapped[str | None] = mapped_column(String(60), default=None)
    # True once a membership of theirs got a group label or hides labels: only then does a
    # group's topic page look for memberships (a stale True costs one query, nothing else).
    group_labels: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    silenced_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # A new e-mail address waits here until the member follows the link sent to it, so
    # registration never says whether an address is already in use.
    pending_email: Mapped[str | None] = mapped_column(String(254), default=None)
    # Set when the account was deleted (the data rights service): the row stays as a
    # tombstone named `deleted-<id>` so that kept posts and the moderation log still
    # point somewhere; no e-mail, no password, no profile, no login.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # Not stored: the key of the browser session this object was loaded for, or has just
    # started (the sessions service's start_session). Flask-Login puts it in the session
    # cookie and the remember-me cookie, so both die with the session's row.
    session_key: str | None = None

    # Flask-Login protocol -------------------------------------------------
    is_active = True
    is_anonymous = False
    is_authenticated = True

    def get_id(self) -> str:
        if not self.session_key:
            # Fail loudly: a login without a recorded session could never be ended.
            raise RuntimeError("no recorded session: start one with sessions.start_session")
        return self.session_key

    def is_suspended(self, now: datetime | None = None) -> bool:
        """True while a suspension runs."""
        return self.suspended_until is not None and self.suspended_until > (now or utcnow())

    def is_silenced(self, now: datetime | None = None) -> bool:
        """True while a silence runs."""
        return self.silenced_until is not None and self.silenced_until > (now or utcnow())

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def shown_name(self) -> str:
        """The name pages show: "deleted member" for a deleted account's kept posts."""
        return DELETED_MEMBER if self.is_deleted else self.username

    @property
    def url(self) -> str:
        return f"/u/{self.username}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username}>"


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Only a SHA-256 of the token is stored: a leaked database yields no usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    auth_epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class RecoveryCode(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
