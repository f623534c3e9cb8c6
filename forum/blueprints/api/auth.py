"""Who is calling: bearer tokens, CSRF for cookie sessions, and getting back into an account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask import g
from flask import request

from forum import transaction
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.errors import NotLoggedIn
from forum.extensions import csrf
from forum.models.users import User
from forum.services import accounts

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RESET_REQUESTED = {
    "message": (
        "If that address belongs to an account here, a link to choose a new password "
        "is on its way. The link works for one hour."
    )
}

# Endpoints that neither read nor need a session, so a cookie cannot be abused through
# them and they skip the CSRF check. Login CSRF (a forged login into the attacker's
# account) needs the login to set a cookie; POST /auth/token only answers with a token
# that a cross-site page cannot read, so there is nothing to forge. The same holds for
# registering and for the password resets, which prove themselves by a code or a link.
SESSIONLESS: set[str] = set()

View = Callable[..., Any]


def sessionless(view: View) -> View:
    """Mark a view as one that uses no session (no CSRF token needed)."""
    SESSIONLESS.add(f"{bp.name}.{view.__name__}")
    return view


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer ...` header, if there is one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # Other schemes (Basic from a password-protected staging proxy, say) are not ours:
    # such a request is treated like one without the header, CSRF check included.
    if scheme.lower() != "bearer":
        return None
    return token.strip()


def _carries_session_cookie() -> bool:
    """Whether the request carries a cookie that could log someone in (session or remember-me)."""
    names = (
        current_app.config.get("SESSION_COOKIE_NAME", "session"),
        current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
    )
    return any(name in request.cookies for name in names)


@bp.before_request
def _authenticate() -> None:
    token = bearer_token()
    if token is not None:
        found = accounts.find_api_token(token) if token else None
        if found is None:
            # Never fall back to the cookie or to guest: the client asked to be someone.
            raise NotLoggedIn(
                "That token is not valid (any more); get a new one.", code="invalid_token"
            )
        g.api_user, api_token = found
        g.api_token = token
        if accounts.token_touch_due(api_token):
            g.touch_token = api_token.id
    elif request.method in WRITE_METHODS and request.endpoint not in SESSIONLESS:
        if not _carries_session_cookie():
            # Nobody to be: no session for a forged request to ride on, so no CSRF
            # question either. Say what is missing.
            raise NotLoggedIn(
                "Log in first: send `Authorization: Bearer <token>` (from POST "
                "/api/v1/auth/token), or use the session of a logged-in browser."
            )
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            # The blueprint is exempt from the global check so that bearer requests pass;
            # a write that relies on the session cookie still needs the X-CSRFToken header.
            csrf.protect()


def token_answer(user: User) -> dict[str, Any]:
    """A fresh token for the member, with their account."""
    token = accounts.issue_api_token(user)
    return {"token": token, "user": serializers.user(user)}


@bp.post("/auth/token")
@sessionless
@transaction.writes
def create_token() -> Any:
    data = inputs.body(schemas.accounts.Credentials)
    user = accounts.authenticate(data.get("username"), data.get("password"), ip=context.client_ip())
    answer = token_answer(user)
    return answer, 201


@bp.delete("/auth/token")
@transaction.writes
def revoke_token() -> Any:
    if "api_token" not in g:
        raise NotLoggedIn("Send the token to revoke as `Authorization: Bearer <token>`.")
    accounts.revoke_api_token(g.api_token)
    return "", 204


@bp.post("/auth/recover")
@sessionless
@transaction.writes
def recover() -> Any:
    data = inputs.body(schemas.accounts.RecoverRequest)
    user = accounts.reset_password_with_code(
        username=data.get("username"),
        code=data.get("code"),
        new_password=data.get("new_password"),
        ip=context.client_ip(),
    )
    answer = token_answer(user)
    return answer


@bp.post("/auth/reset-request")
@sessionless
@transaction.writes
def request_reset() -> Any:
    data = inputs.body(schemas.accounts.ResetRequest)
    context.send_mail(accounts.request_password_reset(data.get("email"), ip=context.client_ip()))
    return RESET_REQUESTED, 202


@bp.post("/auth/reset")
@sessionless
@transaction.writes
def reset_password() -> Any:
    data = inputs.body(schemas.accounts.ResetWithToken)
    user = accounts.reset_password_with_token(
        token=data.get("token"), new_password=data.get("new_password")
    )
    answer = token_answer(user)
    return answer
