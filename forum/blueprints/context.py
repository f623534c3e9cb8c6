"""Per-request plumbing: the actor, the client address, headers, mail from a write."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any
from urllib.parse import unquote_to_bytes
from urllib.parse import urlsplit

from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import request
from flask import session
from flask_login import current_user

from forum import mail
from forum import outbox
from forum import policy
from forum import transaction
from forum.database import write_intent
from forum.mail import Mail
from forum.models.users import User
from forum.policy import Actor
from forum.policy import actor_for
from forum.services import accounts
from forum.services import sessions
from forum.services.settings import get_settings

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Per-request values cached on `g` (`_login_user` is Flask-Login's): `actor`,
# `site_settings`, `api_user`/`api_token` (bearer requests), `member_session_id` (the
# cookie's server-side session), `touch_session`/`touch_token` (a "last seen" due) and
# `dead_login` (a cookie whose session has ended).

# How long writing "last seen" waits for SQLite's write lock before giving up (ms): it is
# bookkeeping, and a reader's page must not wait behind writers for it.
TOUCH_WAIT_MS = 250
# A year, and no `preload`: being on browsers' preload lists is hard to undo.
HSTS = "max-age=31536000"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def current_member() -> User | None:
    """The logged-in member (session or API token), or None for a guest."""
    if "api_user" in g:
        user: User | None = g.api_user
        return user
    if current_user.is_authenticated:
        return current_user._get_current_object()  # type: ignore[no-any-return]
    return None


def member_for_session_key(key: str) -> User | None:
    """Flask-Login's user loader: the member whose live session this cookie's key opens."""
    found = sessions.load_session(key)
    if found is None:
        g.dead_login = True
        return None
    user, row = found
    g.member_session_id = row.id
    if sessions.touch_due(row):
        g.touch_session = row.id
    return user


def current_session_id() -> int | None:
    """The id of the server-side session this request's cookie belongs to (not a token's)."""
    if "api_user" in g or not current_user.is_authenticated:
        return None
    session_id: int | None = g.get("member_session_id")
    return session_id


def site_settings() -> dict[str, Any]:
    """Site settings, read once per request."""
    if "site_settings" not in g:
        g.site_settings = get_settings()
    settings: dict[str, Any] = g.site_settings
    return settings


def current_actor() -> Actor:
    """The `Actor` for this request, built once."""
    if "actor" not in g:
        user = current_member()
        guests_read = user is None and site_settings()["guest_access"] == "public_boards"
        g.actor = actor_for(
            user, guests_read=guests_read, cache=current_app.extensions["forum_group_facts"]
        )
    actor: Actor = g.actor
    return actor


def blocked_ids() -> frozenset[int]:
    """Whom the member blocked, looked up once per request, and only when their row says
    they blocked anyone (guests and most members: no query)."""
    if "blocked_ids" not in g:
        member = current_member()
        found = frozenset[int]()
        if member is not None and member.has_blocks:
            found = policy.blocked_ids(current_actor())
        g.blocked_ids = found
    blocked: frozenset[int] = g.blocked_ids
    return blocked


def _trusted_proxies() -> set[str]:
    return {
        part.strip()
        for part in str(current_app.config.get("FORUM_TRUSTED_PROXIES", "")).split(",")
        if part.strip()
    }


def public_url(path: str) -> str:
    """`path` (from `url_for`) as a full link on the address this request came in on.

    Links shown in a page or an API answer (an invitation to copy) must work for whoever
    asked, on the host and port they are using: a forum served on another port than the
    configured `FORUM_BASE_URL` (or reached by another name) would otherwise hand out
    dead links. `FORUM_BASE_URL` stays for mail and the command line, which have no
    request. The configured scheme wins when it is https (a proxy that terminates TLS
    may not say so), so a token is never handed out on a plain-http link by mistake.
    """
    configured = urlsplit(str(current_app.config["FORUM_BASE_URL"]))
    scheme = request.scheme
    forwarded = request.headers.get("X-Forwarded-Proto", "").strip().lower()
    if forwarded in ("http", "https") and request.remote_addr in _trusted_proxies():
        scheme = forwarded
    if configured.scheme == "https" or request.host.lower() == configured.netloc.lower():
        scheme = configured.scheme
    return f"{scheme}://{request.host}{path}"


def client_ip() -> str | None:
    """The client's address; X-Forwarded-For is believed only from a configured proxy."""
    remote = request.remote_addr
    trusted = _trusted_proxies()
    if remote not in trusted:
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    # Walk from the nearest hop outwards; the first address no trusted proxy added is the client.
    for hop in reversed(hops):
        if hop in trusted:
            continue
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote
        return hop
    return remote


def _write_last_seen() -> None:
    """Write a due "last seen" for this request's session or token, best-effort."""
    session_id = g.pop("touch_session", None)
    token_id = g.pop("touch_token", None)
    if session_id is None and token_id is None:
        return

    def touch() -> None:
        if session_id is not None:
            sessions.touch_session(session_id)
        if token_id is not None:
            accounts.touch_api_token(token_id)

    # As with reading activity (forum.activity): what the request left uncommitted is
    # discarded at teardown anyway, and a GET's read transaction cannot safely turn into
    # a write on SQLite; so it is written in a short transaction of its own.
    transaction.write_apart(touch, wait_ms=TOUCH_WAIT_MS, what="last seen")


def _forget_dead_login() -> None:
    """After a cookie that opens no session (ended, expired), have the browser drop it."""
    if not g.pop("dead_login", False) or current_user.is_authenticated:
        return
    # Flask-Login copies a remember-me cookie's key into the session before asking us,
    # so a dead one would be looked up twice on every request from then on.
    for name in ("_user_id", "_fresh", "_id"):
        session.pop(name, None)
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        session["_remember"] = "clear"  # Flask-Login deletes the cookie after this hook


def _warn_about_forwarded_for(app: Flask) -> None:
    # Behind a reverse proxy that is not in FORUM_TRUSTED_PROXIES, every member seems to
    # come from the proxy's address, so the per-address login limit would soon refuse
    # everyone. Said once per worker, at the first request that shows the problem.
    if app.extensions.get("forum_forwarded_warned") or "X-Forwarded-For" not in request.headers:
        return
    app.extensions["forum_forwarded_warned"] = True
    if str(app.config.get("FORUM_TRUSTED_PROXIES", "")).strip():
        return
    log.warning(
        "Requests carry X-Forwarded-For but FORUM_TRUSTED_PROXIES is empty: every member "
        "seems to come from %s (the proxy), so they share one address for the login "
        "throttle. Set FORUM_TRUSTED_PROXIES to the proxy's address.",
        request.remote_addr,
    )


def send_mail(*mails: Mail | None) -> None:
    """Send the mail a write produced (None: it produced none).

    Called in the view body, before the boundary commits: `forum.mail.send` queues the
    mail in the request's transaction (the outbox), so it leaves only if the write is
    committed, and only after the answer has been sent.
    """
    for message in mails:
        if message is not None:
            mail.send(message)


def _reject_invalid_utf8() -> None:
    # Werkzeug replaces bad bytes with U+FFFD silently; a member's text would change
    # without a word. Refuse the request instead so the form can say so.
    if request.mimetype != "application/x-www-form-urlencoded":
        return
    raw = request.get_data(cache=True)
    for pair in raw.split(b"&"):
        for piece in pair.split(b"=", 1):
            try:
                unquote_to_bytes(piece.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                abort(400, "The form contained text that is not valid UTF-8.")


def init_app(app: Flask) -> None:
    """Install the request hooks and template globals."""

    hsts = str(app.config["FORUM_BASE_URL"]).startswith("https://")

    @app.before_request
    def _begin_request() -> None:
        write_intent.set(request.method not in READ_METHODS)
        _warn_about_forwarded_for(app)
        if request.method not in READ_METHODS:
            _reject_invalid_utf8()

    # Registered first so that it runs last (Flask runs these in reverse): the headers
    # below may be what loads the member, and so what finds "last seen" due.
    @app.after_request
    def _last_seen(response: Response) -> Response:
        _write_last_seen()
        _forget_dead_login()
        return response

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if hsts:
            headers["Strict-Transport-Security"] = HSTS
        if request.endpoint == "health.healthz":
            # Sets its own no-store; a monitor's probe never loads a member (activity).
            return response
        # Theme files (and the icon) say nothing about anyone: cacheable as they are.
        is_static = request.endpoint in ("static", "favicon")
        if not is_static and ("api_user" in g or current_user.is_authenticated):
            headers["Cache-Control"] = "private, no-store"
        elif request.view_args and "token" in request.view_args:
            # A page whose address is a secret (an invitation, a reset or confirmation
            # link, the set-up link) is kept by no cache, the browser's included.
            headers["Cache-Control"] = "no-store"
        elif not is_static:
            headers.setdefault("Cache-Control", "no-cache")
        return response

    # After each write boundary's commit the outbox delivers what the request queued
    # (search at once, mail after the answer; errors logged, never failing the write).
    transaction.add_after_commit_hook(app, outbox.after_commit)

    @app.teardown_request
    def _end_request(_exc: BaseException | None) -> None:
        write_intent.set(True)

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        return {"actor": current_actor(), "site": site_settings(), "member": current_member()}


def zip_response(data: bytes) -> Response:
    """The export as a download, never cached by a browser or a proxy."""
    response = Response(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = 'attachment; filename="my-forum-data.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response
