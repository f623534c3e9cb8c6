"""First-run set-up: a one-time link with which the first admin creates their account."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.settings import SiteSetting
from forum.models.users import User
from forum.services.accounts import create_user
from forum.services.settings import write_settings

TOKEN_KEY = "_setup_token"  # noqa: S105 - a settings key, not a secret
TOKEN_LIFETIME = timedelta(days=1)
# A keyed hash of a fixed text under the secret key the database was set up with: it
# tells whether a server has that key without storing the key (see secret_key_matches).
KEY_CHECK_KEY = "_secret_key_check"
_KEY_CHECK_TEXT = b"forum: the secret key every app server of this forum shares"


def has_admin() -> bool:
    """True once any admin account exists."""
    return db.session.scalar(select(User.id).where(User.is_admin.is_(True)).limit(1)) is not None


def create_setup_token() -> str:
    """A fresh one-time set-up token (replacing any earlier one); only its hash is stored."""
    raw = secrets.token_urlsafe(24)
    value = json.dumps(
        {
            "hash": hashlib.sha256(raw.encode()).hexdigest(),
            "expires": (utcnow() + TOKEN_LIFETIME).isoformat(),
        }
    )
    row = db.session.get(SiteSetting, TOKEN_KEY)
    if row is None:
        db.session.add(SiteSetting(key=TOKEN_KEY, value=value))
    else:
        row.value = value
    db.session.flush()
    return raw


def check_setup_token(token: Any) -> None:
    """Raise `NotFound` unless the token is the current, unexpired set-up token."""
    row = db.session.get(SiteSetting, TOKEN_KEY)
    if row is None or not isinstance(token, str) or has_admin():
        raise NotFound()
    data = json.loads(row.value)
    expected = hashlib.sha256(token.encode()).hexdigest()
    if not secrets.compare_digest(expected, data["hash"]):
        raise NotFound()
    if datetime.fromisoformat(data["expires"]) < utcnow():
        raise NotFound()


def complete_setup(
    token: Any,
    *,
    username: Any,
    password: Any,
    registration: Any = "invite_only",
    guest_access: Any = "none",
) -> User:
    """Create the first admin and the two access settings; spends the token."""
    check_setup_token(token)
    errors: dict[str, str] = {}
    try:
        write_settings({"registration": registration, "guest_access": guest_access})
    except Invalid as exc:
        errors.update(exc.fields)
    try:
        user = create_user(username=username, password=password, is_admin=True)
    except Invalid as exc:
        errors.update(exc.fields)
    if errors:
        raise Invalid(errors)
    user.trust_level = 4
    row = db.session.get(SiteSetting, TOKEN_KEY)
    if row is not None:
        db.session.delete(row)
    db.session.flush()
    return user


def _key_check(secret: str) -> str:
    return hmac.new(secret.encode(), _KEY_CHECK_TEXT, hashlib.sha256).hexdigest()


def secret_key_matches(secret: str, *, accept_new: bool = False) -> bool:
    """True if `secret` is the key the database was set up with (recorded the first time
    asked, and replaced when `accept_new`); False if it is another.

    Sessions, CSRF tokens, login throttles and members' recovery codes all hang on the
    key: a second app server, or a server whose key file was lost, that made a key of its
    own would log members out on every other request and lock out for good the members
    who have no e-mail address and rely on their recovery codes.
    """
    check = _key_check(secret)
    row = db.session.get(SiteSetting, KEY_CHECK_KEY)
    if row is None:
        db.session.add(SiteSetting(key=KEY_CHECK_KEY, value=check))
    elif not hmac.compare_digest(row.value, check):
        if not accept_new:
            return False
        row.value = check
    db.session.flush()
    return True
