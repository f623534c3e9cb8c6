"""Per-request plumbing: the actor, the client address, headers, and the commit."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import unquote_to_bytes
from urllib.parse import urlsplit

from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import request
from flask_login import current_user

from forum import mail
from forum.database import write_intent
from forum.extensions import db
from forum.models.users import User
from forum.policy import Actor
from forum.policy import actor_for
from forum.search import service as search_service
from forum.services.accounts import Mail
from forum.services.settings import get_settings

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Per-request values cached on `g` (`_login_user` is Flask-Login's).

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


def commit(*mails: Mail | None) -> None:
    """Commit the request's one transaction, update the search index, then send any
    mail it produced."""
    db.session.commit()
    # After the commit: a busy or broken index never fails the write (errors logged).
    search_service.after_commit(current_app)
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

    @app.before_request
    def _begin_request() -> None:
        write_intent.set(request.method not in READ_METHODS)
        if request.method not in READ_METHODS:
            _reject_invalid_utf8()

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        # Theme files (and the icon) say nothing about anyone: cacheable as they are.
        is_static = request.endpoint in ("static", "favicon")
        if not is_static and ("api_user" in g or current_user.is_authenticated):
            headers["Cache-Control"] = "private, no-store"
        elif not is_static:
            headers.setdefault("Cache-Control", "no-cache")
        return response

    @app.teardown_request
    def _end_request(_exc: BaseException | None) -> None:
        write_intent.set(True)

    @app.context_processor
    def _template_globals() -> dict[str, Any]:
        return {"actor": current_actor(), "site": site_settings(), "member": current_member()}
