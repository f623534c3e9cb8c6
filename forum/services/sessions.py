"""Browser sessions recorded server-side: started at login, ended by logout (here or from
another device), by a password change or suspension, or by time.

The session cookie and the remember-me cookie carry only a random key; the table keeps
its SHA-256. Every logged-in request makes one lookup by that hash (joined to the
member), so ending the row ends both cookies at once, wherever they were copied to.

Lifetimes: a remembered session lasts 30 days from the login (REMEMBER_COOKIE_DURATION),
however active; one that is not remembered ends after 14 days without a request
(FORUM_SESSION_IDLE). "Last seen" is written at most every TOUCH_EVERY, so reading
pages does not turn into a write per request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.sql.elements import ColumnElement

from forum.errors import Denied
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.sessions import DEVICE_MAX
from forum.models.sessions import UserSession
from forum.models.users import User
from forum.policy import Actor
from forum.policy import require_member

# "Last seen" (and an idle session's expiry) move at most this often.
TOUCH_EVERY = timedelta(minutes=5)
# What `secrets.token_urlsafe(32)` makes: anything else (an old "id:epoch" cookie from
# before sessions were recorded, junk) is refused without a query.
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def remember_duration() -> timedelta:
    """How long a remembered login lasts (the remember-me cookie's lifetime too)."""
    duration: timedelta = current_app.config["REMEMBER_COOKIE_DURATION"]
    return duration


def idle_limit() -> timedelta:
    """How long a session that is not remembered survives without a request."""
    limit: timedelta = current_app.config["FORUM_SESSION_IDLE"]
    return limit


# Checked in order; the first match names the browser and the system. Coarse on
# purpose: enough for a member to tell their phone from their laptop, not a fingerprint.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str | None) -> str:
    """A coarse label such as "Firefox on Android" from a User-Agent header."""
    agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    if browser and system:
        label = f"{browser} on {system}"
    elif browser or system:
        label = f"{browser or 'A browser'} on {system or 'an unknown system'}"
    else:
        label = "An unknown browser"
    return label[:DEVICE_MAX]


def start_session(
    user: User, *, remember: bool, user_agent: str | None = None, now: datetime | None = None
) -> UserSession:
    """Record a new session for the member and put its key on `user.session_key`."""
    now = now or utcnow()
    key = secrets.token_urlsafe(32)
    lifetime = remember_duration() if remember else idle_limit()
    row = UserSession(
        user_id=user.id,
        key_hash=_digest(key),
        auth_epoch=user.auth_epoch,
        remembered=remember,
        device=device_label(user_agent),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    db.session.add(row)
    db.session.flush()
    user.session_key = key
    return row


# Built once: this runs on every logged-in request, and building the statement cost
# about as much as running it.
_LOOKUP = (
    select(User, UserSession)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.key_hash == bindparam("key_hash"))
)


def load_session(key: str, now: datetime | None = None) -> tuple[User, UserSession] | None:
    """The member and live session a cookie's key belongs to, in one indexed query."""
    if not KEY_PATTERN.fullmatch(key):
        return None
    now = now or utcnow()
    found = db.session.execute(_LOOKUP, {"key_hash": _digest(key)}).first()
    if found is None:
        return None
    user, row = found
    if not row.is_live(user.auth_epoch, now) or user.is_suspended(now):
        return None
    user.session_key = key
    return user, row


def touch_due(row: UserSession, now: datetime | None = None) -> bool:
    """Whether the session's "last seen" is old enough to be written again."""
    return (now or utcnow()) - row.last_seen_at >= TOUCH_EVERY


def touch_session(session_id: int, now: datetime | None = None) -> None:
    """Write "last seen" (and move an idle session's expiry along); the caller commits."""
    now = now or utcnow()
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(
            last_seen_at=now,
            # A remembered session keeps its fixed end; the others live on while used.
            expires_at=case(
                (UserSession.remembered.is_(True), UserSession.expires_at),
                else_=now + idle_limit(),
            ),
        )
    )


def _live(user: User, now: datetime) -> list[ColumnElement[bool]]:
    return [
        UserSession.user_id == user.id,
        UserSession.ended_at.is_(None),
        UserSession.expires_at > now,
        UserSession.auth_epoch == user.auth_epoch,
    ]


def live_sessions(user: User, now: datetime | None = None) -> list[UserSession]:
    """The member's sessions that still work, most recently active first."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(UserSession)
            .where(*_live(user, now))
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def _own(actor: Actor, user: User) -> None:
    if require_member(actor) != user.id:
        raise Denied()


def end_session(actor: Actor, user: User, session_id: int, now: datetime | None = None) -> None:
    """End one of the member's own live sessions; anyone else's, or a dead one, is 404."""
    _own(actor, user)
    now = now or utcnow()
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, *_live(user, now))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound()


def end_own_session(session_id: int, now: datetime | None = None) -> None:
    """End the session of this very request (logout, or a new login on the same browser).

    Only for the id the request's own cookie opened; quiet if it has ended meanwhile.
    """
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def end_other_sessions(
    actor: Actor, user: User, *, keep: int | None, now: datetime | None = None
) -> int:
    """End every live session of the member but `keep` (this one); returns how many."""
    _own(actor, user)
    now = now or utcnow()
    stmt = update(UserSession).where(*_live(user, now))
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    result = db.session.execute(
        stmt.values(ended_at=now).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def end_every_session(user: User, now: datetime | None = None) -> None:
    """Mark all the member's sessions ended (with a bumped auth_epoch, for password changes)."""
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def prune_sessions(now: datetime | None = None) -> int:
    """Delete sessions that can never work again: ended, expired, or from an old epoch."""
    now = now or utcnow()
    stale_epoch = select(User.id).where(
        User.id == UserSession.user_id, User.auth_epoch != UserSession.auth_epoch
    )
    result = db.session.execute(
        delete(UserSession).where(
            or_(
                UserSession.ended_at.is_not(None),
                UserSession.expires_at <= now,
                stale_epoch.exists(),
            )
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
