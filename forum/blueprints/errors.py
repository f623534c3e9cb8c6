"""Turning failures into responses: JSON under /api/, pages elsewhere, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask import Response
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.routing import RequestRedirect

from forum import transaction
from forum.blueprints.context import current_member
from forum.blueprints.context import site_settings
from forum.errors import ForumError
from forum.errors import Invalid
from forum.errors import NotLoggedIn
from forum.errors import RateLimited

log = logging.getLogger("forum.errors")

HTTP_CODES = {
    400: "bad_request",
    401: "not_logged_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}

# One body for "absent" and "hidden": nothing in a 404 may depend on what was asked for.
NOT_FOUND_MESSAGE = "Not found."

# Pages a guest opens even where guests may read nothing (`guest_access` "none"): the
# welcome page, logging in, registering and getting back in, invitation links, help,
# the privacy page (read before joining), theme files, the unsubscribe link of a mail
# (no login: its signed token is the authority). Every other page - boards, topics,
# groups, profiles, latest, search, a mistyped address - sends a guest to log in and back
# (`_guest_gate`).
GUEST_PAGES = frozenset(
    {"boards.index", "groups.invitation", "pages.help_page", "pages.trust_page"}
    | {"pages.privacy_page", "static", "favicon", "health.healthz"}
    | {"notifications.unsubscribe"}
    # A calendar feed is fetched by a phone's calendar, never logged in: its token is the key.
    | {"meetings.feed"}
)


def is_api_request() -> bool:
    """True for requests to the JSON API."""
    return request.path.startswith("/api/")


def api_error(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> tuple[Response, int]:
    """The contract's error body: {"error": {"code", "message", "fields"?}}."""
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify({"error": body}), status


def _page(status: int, message: str, code: str = "") -> tuple[str, int]:
    # `code` lets the page add what a person can do next (silenced: their standing).
    # A guest's 404 offers logging in: what is hidden from guests may be a member's page.
    login_next = None
    if status == 404 and request.method in ("GET", "HEAD") and current_member() is None:
        login_next = request.full_path.rstrip("?")
    page = render_template(
        "error.html", status=status, message=message, code=code, login_next=login_next
    )
    return page, status


# A form's free text, shown again on the disk-full page so that a member can copy what
# they wrote (nothing was saved). Never passwords or tokens: only these fields.
KEPT_FIELDS = ("title", "body", "text", "bio", "description", "site_description", "note")
KEPT_CHARS = 100_000


def _disk_full() -> Any:
    """503 for a write the full disk refused: the message, and the member's text back."""
    transaction.report_disk_full(log, f"{request.method} {request.path}")
    message = transaction.DISK_FULL_MESSAGE
    if is_api_request():
        return api_error(503, "disk_full", message)
    kept = []
    if request.method == "POST" and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        kept = [
            (name, request.form[name][:KEPT_CHARS])
            for name in KEPT_FIELDS
            if request.form.get(name, "").strip()
        ]
    page = render_template("error.html", status=503, message=message, code="disk_full", kept=kept)
    return page, 503


def _guest_gate() -> None:
    """Where guests may read nothing, a guest's page is a log-in invitation.

    A member following a saved link while logged out got "Not found... the page may have
    moved", and /latest and /search looked empty: the forum seemed gone. Every page but
    `GUEST_PAGES` now sends them to log in and back (`NotLoggedIn`), whether what they
    asked for exists, is hidden or is not there at all, so the answer says nothing about
    which. Not the JSON API, which keeps its contract (401, 404).
    """
    if request.method not in ("GET", "HEAD") or is_api_request():
        return
    if request.endpoint in GUEST_PAGES or request.blueprint == "auth":
        return
    if isinstance(request.routing_exception, (MethodNotAllowed, RequestRedirect)):
        return
    if current_member() is not None or site_settings()["guest_access"] != "none":
        return
    raise NotLoggedIn()


def handle_forum_error(exc: ForumError) -> Any:
    """Roll back, then answer in the request's language (JSON or HTML)."""
    transaction.discard()
    message = NOT_FOUND_MESSAGE if exc.status == 404 else exc.message
    if is_api_request():
        response = api_error(
            exc.status, exc.code, message, exc.fields if isinstance(exc, Invalid) else None
        )
        if isinstance(exc, RateLimited):
            response[0].headers["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, NotLoggedIn) and exc.code == "not_logged_in":
        # Only a GET can be repeated after logging in; a form post would answer 405.
        if request.method != "GET":
            return redirect(url_for("auth.login"))
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    status, page = exc.status, _page(exc.status, message, exc.code)
    if isinstance(exc, RateLimited):
        return page[0], status, {"Retry-After": str(exc.retry_after)}
    return page


def init_app(app: Flask) -> None:
    """Register the handlers, and the log-in invitation for guests."""
    app.register_error_handler(ForumError, handle_forum_error)
    app.before_request(_guest_gate)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        transaction.discard()
        message = "The form expired or was sent from elsewhere. Go back, reload and try again."
        if is_api_request():
            return api_error(400, "csrf_failed", "Missing or invalid CSRF token.")
        return _page(400, message)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        transaction.discard()
        status = exc.code or 500
        if status == 404:
            message = NOT_FOUND_MESSAGE
        elif status == 413:
            message = "That is too large."
        else:
            message = exc.description or "Bad request."
        if is_api_request():
            return api_error(status, HTTP_CODES.get(status, "error"), message)
        return _page(status, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        transaction.discard()
        if transaction.is_disk_full(exc):
            # Not a bug: said once a minute, not with a traceback per request.
            return _disk_full()
        if app.testing and not app.config.get("FORUM_TEST_SWALLOW_ERRORS"):
            raise exc  # tests see the real traceback
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side. Nothing was saved; please try again."
        if is_api_request():
            return api_error(500, "server_error", message)
        return _page(500, message)
