"""Accounts: registration, login, passwords, recovery codes, API tokens, profiles."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from forum import throttle
from forum import validation
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.errors import NotLoggedIn
from forum.extensions import db
from forum.mail import Mail
from forum.models.base import utcnow
from forum.models.users import ApiToken
from forum.models.users import RecoveryCode
from forum.models.users import User
from forum.passwords import is_common_password
from forum.policy import Actor
from forum.policy import actor_for
from forum.policy import check_change_bio
from forum.policy import require_member
from forum.services import sessions
from forum.services import trust
from forum.services.settings import get_settings

RECOVERY_CODES = 8
RESET_MAX_AGE = 60 * 60
CONFIRM_MAX_AGE = 2 * 24 * 60 * 60
WRONG_LOGIN = "Wrong username or password."
# A token's "last used" is written at most this often: not a write per API request.
TOKEN_TOUCH_EVERY = timedelta(hours=1)


def _hash_password(password: str) -> str:
    method = current_app.config.get("FORUM_PASSWORD_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


# One hash of a throw-away password, checked when a username does not exist, so that a
# login for a missing account costs the same time as one for a real account.
_DUMMY_HASH: dict[str, str] = {}


def _dummy_check(password: str) -> None:
    method = current_app.config.get("FORUM_PASSWORD_METHOD", "scrypt")
    if method not in _DUMMY_HASH:
        _DUMMY_HASH[method] = generate_password_hash(secrets.token_hex(8), method=method)
    check_password_hash(_DUMMY_HASH[method], password)


def _check_new_password(password: Any, username: str, field: str = "password") -> str:
    if not isinstance(password, str):
        raise Invalid(field, "Password must be text.")
    if "\x00" in password:
        raise Invalid(field, "Password contains a NUL byte, which is not allowed.")
    if len(password) < validation.PASSWORD_MIN:
        raise Invalid(field, f"Password must be at least {validation.PASSWORD_MIN} characters.")
    if len(password) > validation.PASSWORD_MAX:
        raise Invalid(field, f"Password must be at most {validation.PASSWORD_MAX} characters.")
    if is_common_password(password, username=username):
        raise Invalid(field, "That password is too common or too easy to guess; choose another.")
    return password


def find_user(username: str) -> User | None:
    """The member with this name in any case, or None (for services, not for display)."""
    if not isinstance(username, str):
        return None
    return db.session.scalar(select(User).where(User.username_key == username.strip().lower()))


def create_user(
    *,
    username: Any,
    password: Any,
    email: Any = None,
    is_admin: bool = False,
    is_moderator: bool = False,
) -> User:
    """Make an account without checking registration settings (CLI, first-run set-up)."""
    errors: dict[str, str] = {}
    name = address = ""
    try:
        name = validation.username(username)
    except Invalid as exc:
        errors.update(exc.fields)
    try:
        _check_new_password(password, name)
    except Invalid as exc:
        errors.update(exc.fields)
    try:
        address = validation.email(email) or ""
    except Invalid as exc:
        errors.update(exc.fields)
    if errors:
        raise Invalid(errors)
    if find_user(name) is not None:
        raise Conflict("That username is taken; choose another.", code="username_taken")
    user = User(
        username=name,
        username_key=name.lower(),
        password_hash=_hash_password(password),
        is_admin=is_admin,
        is_moderator=is_moderator,
        created_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    if address:
        # Addresses are confirmed by link before they count, so a taken address is
        # never revealed here; `request_email_confirmation` handles both cases.
        user.pending_email = address
    return user


def register_member(
    actor: Actor, *, username: Any, password: Any, email: Any = None, invite: Any = None
) -> User:
    """Register a new member, if registration is open (or an invitation allows it)."""
    if actor.is_member:
        raise Denied("You are already logged in.")
    if invite:
        from forum.services import invitations

        # A bad token fails before anything is made; the same token is used below.
        invitations.find_open_invitation(invite)
        user = create_user(username=username, password=password, email=email)
        # Only an account made with the invitation starts at the invited trust level.
        invitations.accept_invitation(actor_for(user, guests_read=False), invite, new_account=True)
        return user
    if get_settings()["registration"] != "open":
        raise Denied("This forum takes new members by invitation only.", code="invite_required")
    return create_user(username=username, password=password, email=email)


def authenticate(username: Any, password: Any, *, ip: str | None) -> User:
    """The member with these credentials, or `NotLoggedIn`; throttled per account and IP."""
    if not isinstance(username, str) or not isinstance(password, str):
        raise Invalid("username", "Username and password are required.")
    # Counted before the password is checked, so that parallel guesses see one another;
    # a wrong password leaves it counted, a right one takes it back.
    attempt = throttle.login_attempt(username, ip)
    user = find_user(username)
    if user is None:
        _dummy_check(password)
        ok = False
    else:
        ok = check_password_hash(user.password_hash, password)
    if not ok or user is None:
        raise NotLoggedIn(WRONG_LOGIN, code="invalid_credentials")
    attempt.succeeded()
    if user.is_suspended():
        raise Denied("Your account is suspended.", code="suspended")
    # Levels are checked lazily at login, so they are right even if the daily job never
    # runs; the caller's commit keeps the change.
    trust.recompute_member(user)
    return user


def end_all_sessions(user: User) -> None:
    """Invalidate every session, remember-me cookie and API token of the member."""
    # The bumped epoch alone ends them all (sessions and tokens carry the old one); the
    # rows are marked or deleted too, so that no list shows them.
    user.auth_epoch += 1
    sessions.end_every_session(user)
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    db.session.flush()


def confirm_password(user: User, password: Any, *, ip: str | None, field: str = "password") -> None:
    """Check the member's password again before a sensitive change; failures are throttled.

    New recovery codes, a new e-mail address or a new password each let someone keep the
    account, so a stolen session or token alone must not be enough for them, and wrong
    guesses count towards the same limit as failed logins.
    """
    username = user.username
    # The attempt is counted on a connection of its own before the password is checked.
    # On SQLite this request's transaction (it loaded the member) holds the write lock
    # that connection needs; nothing has been changed yet, so end the transaction first.
    db.session.rollback()
    attempt = throttle.login_attempt(username, ip)
    ok = isinstance(password, str) and check_password_hash(user.password_hash, password)
    # Nothing has changed yet: end the transaction again, so that a right password is
    # taken back at once rather than with the change that follows, which may still fail
    # (a new password that is too common) and must not leave a "failed login" behind.
    db.session.rollback()
    if not ok:
        which = "current password" if field == "current_password" else "password"
        raise Invalid(field, f"Your {which} is not right.")
    attempt.succeeded(with_transaction=False)


def change_password(
    actor: Actor, user: User, *, current: Any, new: Any, ip: str | None = None
) -> None:
    """Change the member's own password; ends all their other sessions and tokens."""
    if require_member(actor) != user.id:
        raise Denied()
    confirm_password(user, current, ip=ip, field="current_password")
    user.password_hash = _hash_password(_check_new_password(new, user.username, "new_password"))
    end_all_sessions(user)


# --- recovery codes -----------------------------------------------------------


def _code_digest(code: str) -> str:
    # Codes are random (80 bits), so a fast keyed hash is enough; no need for scrypt.
    key = str(current_app.config["SECRET_KEY"]).encode()
    normal = code.strip().lower().replace("-", "").replace(" ", "")
    return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()


def issue_recovery_codes(user: User) -> list[str]:
    """Replace the member's recovery codes with fresh ones; the only time they are shown."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)
        code = f"{raw[:5]}-{raw[5:]}"
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_code_digest(code)))
    db.session.flush()
    return codes


def unused_recovery_codes(user: User) -> int:
    """How many recovery codes the member has left."""
    rows = db.session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(list(rows))


def reset_password_with_code(
    *, username: Any, code: Any, new_password: Any, ip: str | None
) -> User:
    """Set a new password with a one-time recovery code (spends the code)."""
    if not isinstance(username, str) or not isinstance(code, str):
        raise Invalid("code", "Username and recovery code are required.")
    # A weak new password is refused before anything is counted or looked up: it is no
    # guess at the code, and says nothing about the account.
    password = _check_new_password(new_password, username.strip(), "new_password")
    attempt = throttle.login_attempt(username, ip)
    user = find_user(username)
    row = None
    if user is not None:
        row = db.session.scalar(
            select(RecoveryCode).where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _code_digest(code),
                RecoveryCode.used_at.is_(None),
            )
        )
    mismatch = Invalid("code", "That username and recovery code do not match.")
    if user is None or row is None:
        raise mismatch
    password_hash = _hash_password(password)
    # Spent with a conditional update: two requests with the same code at once (both
    # read it as unused) must not both succeed. On PostgreSQL the second waits for the
    # first's row lock and then matches no row; on SQLite the write lock orders them.
    spent = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(spent, "rowcount", 0) != 1:
        raise mismatch
    attempt.succeeded()
    user.password_hash = password_hash
    end_all_sessions(user)
    return user


# --- e-mail: confirmation and reset links -----------------------------------


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=f"forum.{purpose}")


def _base_url() -> str:
    return str(current_app.config["FORUM_BASE_URL"]).rstrip("/")


def request_email_confirmation(user: User) -> Mail | None:
    """A confirmation mail for the member's pending address (a warning if it is taken)."""
    address = user.pending_email
    if not address:
        return None
    owner = db.session.scalar(select(User).where(User.email == address))
    if owner is not None and owner.id != user.id:
        user.pending_email = None
        db.session.flush()
        return Mail(
            to=address,
            subject="Someone tried to use your e-mail address",
            body=(
                "Someone tried to add this e-mail address to another account on the forum. "
                "It is still only on your account, and nothing has changed. If you forgot "
                "your password, use 'Forgot password' on the login page."
            ),
        )
    token = _serializer("confirm").dumps({"uid": user.id, "email": address})
    return Mail(
        to=address,
        subject="Confirm your e-mail address",
        body=(
            "Follow this link to confirm the e-mail address of your forum account:\n\n"
            f"{_base_url()}/account/confirm/{token}\n\nThe link works for two days."
        ),
    )


def confirm_email(token: Any) -> User:
    """Attach a pending address once its link is followed."""
    try:
        data = _serializer("confirm").loads(str(token), max_age=CONFIRM_MAX_AGE)
    except BadSignature as exc:
        raise NotFound("That link is not valid or has expired.") from exc
    user = db.session.get(User, data.get("uid"))
    if user is None or user.pending_email != data.get("email"):
        raise NotFound("That link is not valid or has expired.")
    taken = db.session.scalar(select(User).where(User.email == user.pending_email))
    if taken is not None and taken.id != user.id:
        raise NotFound("That link is not valid or has expired.")
    user.email, user.pending_email = user.pending_email, None
    db.session.flush()
    return user


def request_password_reset(email: Any, *, ip: str | None = None) -> Mail | None:
    """A reset mail if a member has this confirmed address; the caller says the same either way."""
    try:
        address = validation.email(email)
    except Invalid:
        return None
    if address:
        # Nobody may make the forum flood an inbox, whether or not the address is known.
        throttle.check_and_record_reset(address, ip)
    user = db.session.scalar(select(User).where(User.email == address)) if address else None
    if user is None or user.email is None:
        return None
    # The token carries a fragment of the password hash: it dies once used.
    token = _serializer("reset").dumps({"uid": user.id, "h": user.password_hash[-12:]})
    return Mail(
        to=user.email,
        subject="Reset your forum password",
        body=(
            "Follow this link to choose a new password:\n\n"
            f"{_base_url()}/reset/{token}\n\n"
            "The link works for one hour. If you did not ask for this, ignore this mail."
        ),
    )


def _user_for_reset_token(token: Any) -> User:
    try:
        data = _serializer("reset").loads(str(token), max_age=RESET_MAX_AGE)
    except BadSignature as exc:
        raise NotFound("That link is not valid or has expired.") from exc
    user = db.session.get(User, data.get("uid"))
    if user is None or user.password_hash[-12:] != data.get("h"):
        raise NotFound("That link is not valid or has expired.")
    return user


def check_reset_token(token: Any) -> User:
    """The member a reset link belongs to, or `NotFound` if it is bad, used or expired."""
    return _user_for_reset_token(token)


def reset_password_with_token(*, token: Any, new_password: Any) -> User:
    """Set a new password through an e-mailed link (once)."""
    user = _user_for_reset_token(token)
    user.password_hash = _hash_password(
        _check_new_password(new_password, user.username, "new_password")
    )
    end_all_sessions(user)
    return user


# --- API tokens ---------------------------------------------------------------


def _token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_api_token(user: User) -> str:
    """A new bearer token for the member; only its hash is stored."""
    raw = secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(user_id=user.id, token_hash=_token_digest(raw), auth_epoch=user.auth_epoch)
    )
    db.session.flush()
    return raw


# Built once: it runs on every bearer request.
_TOKEN_LOOKUP = (
    select(User, ApiToken)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def find_api_token(raw: str, now: datetime | None = None) -> tuple[User, ApiToken] | None:
    """The member and token a bearer token opens, in one query; None if it is not valid.

    A token unused for longer than the `api_token_idle_days` setting raises `NotLoggedIn`
    (code `token_expired`), so that the client can say why it must log in again.
    """
    now = now or utcnow()
    found = db.session.execute(_TOKEN_LOOKUP, {"token_hash": _token_digest(raw)}).first()
    if found is None:
        return None
    user, token = found
    if user.auth_epoch != token.auth_epoch or user.is_suspended(now):
        return None
    idle_days = int(get_settings()["api_token_idle_days"])
    if now - (token.last_used_at or token.created_at) > timedelta(days=idle_days):
        raise NotLoggedIn(
            f"This token was not used for more than {idle_days} days, so it stopped "
            "working. Log in again (POST /api/v1/auth/token) for a new one.",
            code="token_expired",
        )
    return user, token


def user_for_api_token(raw: str) -> User | None:
    """The member a bearer token belongs to, if it is still valid."""
    found = find_api_token(raw)
    return found[0] if found is not None else None


def token_touch_due(token: ApiToken, now: datetime | None = None) -> bool:
    """Whether the token's `last_used_at` is old enough to be written again (hourly)."""
    return token.last_used_at is None or (now or utcnow()) - token.last_used_at >= TOKEN_TOUCH_EVERY


def touch_api_token(token_id: int, now: datetime | None = None) -> None:
    """Record that a token was used; the caller commits."""
    db.session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now or utcnow())
    )


def revoke_api_token(raw: str) -> bool:
    """Delete a bearer token; True if it existed."""
    result = db.session.execute(delete(ApiToken).where(ApiToken.token_hash == _token_digest(raw)))
    return bool(getattr(result, "rowcount", 0))


def prune_idle_api_tokens(now: datetime | None = None) -> int:
    """Delete tokens that expired by the idle rule (they could never work again)."""
    now = now or utcnow()
    cutoff = now - timedelta(days=int(get_settings()["api_token_idle_days"]))
    result = db.session.execute(
        delete(ApiToken).where(func.coalesce(ApiToken.last_used_at, ApiToken.created_at) < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def revoke_all_api_tokens(user: User) -> int:
    """Delete every bearer token of the member; returns how many there were."""
    result = db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    return int(getattr(result, "rowcount", 0) or 0)


# --- profile ------------------------------------------------------------------


def update_profile(
    actor: Actor, user: User, *, bio: Any = None, show_join_date: Any = None, email: Any = None
) -> Mail | None:
    """Change the member's own profile; a new e-mail address waits for confirmation."""
    if require_member(actor) != user.id:
        raise Denied()
    errors: dict[str, str] = {}
    mail = None
    if bio is not None:
        try:
            clean_bio = validation.text(bio, "bio", max_len=validation.BIO_MAX, label="About you")
        except Invalid as exc:
            errors.update(exc.fields)
        else:
            if clean_bio != user.bio:
                # The bio is public text like a post: a silence stops it changing too.
                # (Sending it unchanged, as the account form always does, is no change.)
                check_change_bio(actor)
            user.bio = clean_bio
    if show_join_date is not None:
        try:
            user.show_join_date = validation.boolean(show_join_date, "show_join_date")
        except Invalid as exc:
            errors.update(exc.fields)
    if email is not None:
        try:
            address = validation.email(email)
        except Invalid as exc:
            errors.update(exc.fields)
        else:
            if address is None:
                user.email = user.pending_email = None
            elif address != user.email:
                user.pending_email = address
    if errors:
        raise Invalid(errors)
    db.session.flush()
    if email is not None and user.pending_email:
        mail = request_email_confirmation(user)
    return mail
