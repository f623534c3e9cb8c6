"""Logging in and out, registering, passwords, recovery codes, the account page, set-up."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_login import login_user
from flask_login import logout_user
from werkzeug.wrappers import Response

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotLoggedIn
from forum.errors import RateLimited
from forum.models.groups import Group
from forum.models.users import User
from forum.services import accounts
from forum.services import data_rights
from forum.services import invitations
from forum.services import sessions
from forum.services import setup

bp = Blueprint("auth", __name__)

Page = str | tuple[str, int]
RESET_SENT = (
    "If that address belongs to an account here, we have sent it a link to choose a new "
    "password. The link works for one hour."
)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: `//evil.example` or `https://...` would leave it."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return url_for("boards.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(c in target for c in "\r\n\t\\"):
        return url_for("boards.index")
    return target


def _start_session(user: User, *, remember: bool = False) -> None:
    """Log the member in on this browser with a new server-side session (committed with the
    request, by the write boundary)."""
    # A new session at every login: nothing a visitor was handed before carries over,
    # and a session this browser still had (another account, say) ends here.
    previous = context.current_session_id()
    if previous is not None:
        sessions.end_own_session(previous)
    session.clear()
    sessions.start_session(user, remember=remember, user_agent=request.user_agent.string)
    login_user(user, remember=remember)
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if not remember and remember_cookie in request.cookies:
        # An older remember-me cookie would otherwise outlive this login's logout.
        session["_remember"] = "clear"


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "") for name in names}


def _problem(exc: Invalid | Conflict) -> dict[str, str]:
    """Field messages for a form; a taken username belongs next to the username."""
    transaction.discard()
    return exc.fields if isinstance(exc, Invalid) else {"username": exc.message}


@bp.route("/login", methods=["GET", "POST"])
@transaction.writes
def login() -> Page | tuple[str, int, dict[str, str]] | Response:
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("auth/login.html", next=target, form={}, error=None)
    form = _form("username")
    try:
        user = accounts.authenticate(
            request.form.get("username"), request.form.get("password"), ip=context.client_ip()
        )
    except (NotLoggedIn, Invalid):
        transaction.discard()
        # One message whether or not the name exists.
        page = render_template(
            "auth/login.html", next=target, form=form, error=accounts.WRONG_LOGIN
        )
        return page, 401
    except RateLimited as exc:
        transaction.discard()
        # The form again, saying how long to wait: after a few typos the wait is seconds.
        page = render_template("auth/login.html", next=target, form=form, error=exc.message)
        return page, 429, {"Retry-After": str(exc.retry_after)}
    _start_session(user, remember=bool(request.form.get("remember")))
    return redirect(target)


@bp.post("/logout")
@transaction.writes
def logout() -> Response:
    current = context.current_session_id()
    if current is not None:
        # Server-side first: a copy of either cookie, replayed later, opens nothing.
        sessions.end_own_session(current)
    _forget_login()
    return redirect(url_for("boards.index"))


def _forget_login() -> None:
    session.clear()
    # After the clear: logout_user() marks the remember-me cookie for deletion in the
    # session, which a later clear would forget (and the cookie would stay behind).
    logout_user()


def _invited_group(invite: str) -> Group | None:
    """The group an invitation leads into; a bad token answers 404 like any other."""
    return invitations.invitation_group(invitations.find_open_invitation(invite))


def _register_page(form: dict[str, str], errors: dict[str, str], invite: str = "") -> str:
    invite_only = context.site_settings()["registration"] != "open"
    return render_template(
        "auth/register.html",
        form=form,
        errors=errors,
        invite_only=invite_only,
        # An invitation lets a newcomer register even when the site is invite-only.
        invite=invite,
        invite_group=_invited_group(invite) if invite else None,
    )


@bp.route("/register", methods=["GET", "POST"])
@transaction.writes
def register() -> Page | Response:
    actor = context.current_actor()
    invite = request.values.get("invite", "")
    if invite and request.method == "GET":
        return redirect(url_for("groups.invitation", token=invite))
    if actor.is_member and request.method == "GET":
        return redirect(url_for("boards.index"))
    if request.method == "GET":
        return _register_page({}, {})
    form = _form("username", "email")
    group = _invited_group(invite) if invite else None
    # Registering with a group's invitation lands the newcomer inside the group.
    target = url_for("groups.show", slug=group.slug) if group else url_for("boards.index")
    try:
        user = accounts.register_member(
            actor,
            username=request.form.get("username"),
            password=request.form.get("password"),
            email=request.form.get("email"),
            invite=invite or None,
        )
        codes = accounts.issue_recovery_codes(user)
        mail = accounts.request_email_confirmation(user)
    except (Invalid, Conflict) as exc:
        return _register_page(form, _problem(exc), invite), 400
    _start_session(user)
    context.send_mail(mail)
    return render_template("auth/codes.html", codes=codes, welcome=True, next_url=target)


@bp.route("/reset", methods=["GET", "POST"])
@transaction.writes
def reset() -> Page | Response:
    if request.method == "GET":
        return render_template("auth/reset.html", form={}, errors={}, sent=None)
    if request.form.get("method") == "email":
        context.send_mail(
            accounts.request_password_reset(request.form.get("email"), ip=context.client_ip())
        )
        # The same words whether or not the address belongs to anyone.
        return render_template("auth/reset.html", form={}, errors={}, sent=RESET_SENT)
    form = _form("username")
    try:
        user = accounts.reset_password_with_code(
            username=request.form.get("username"),
            code=request.form.get("code"),
            new_password=request.form.get("new_password"),
            ip=context.client_ip(),
        )
    except Invalid as exc:
        errors = _problem(exc)
        return render_template("auth/reset.html", form=form, errors=errors, sent=None), 400
    _start_session(user)
    flash("Your password is changed. That recovery code is now used up.")
    return redirect(url_for("auth.account"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
@transaction.writes
def reset_with_link(token: str) -> Page | Response:
    accounts.check_reset_token(token)
    if request.method == "GET":
        return render_template("auth/reset_link.html", token=token, errors={})
    try:
        user = accounts.reset_password_with_token(
            token=token, new_password=request.form.get("new_password")
        )
    except Invalid as exc:
        errors = _problem(exc)
        return render_template("auth/reset_link.html", token=token, errors=errors), 400
    _start_session(user)
    flash("Your password is changed.")
    return redirect(url_for("boards.index"))


@bp.route("/account/confirm/<token>", methods=["GET", "POST"])
@transaction.writes
def confirm_email(token: str) -> Page | Response:
    if request.method == "GET":
        # Mail scanners follow links: only the button below confirms.
        return render_template("auth/confirm.html", token=token)
    accounts.confirm_email(token)
    flash("Your e-mail address is confirmed.")
    return redirect(url_for("boards.index"))


def _account_page(status: int = 200, **extra: Any) -> Page:
    user = _me()
    values = {
        "form": {},
        "errors": {},
        "email_value": user.pending_email or user.email or "",
        "codes_left": accounts.unused_recovery_codes(user),
        "sessions": sessions.live_sessions(user),
        "current_session_id": context.current_session_id(),
        **extra,
    }
    return render_template("auth/account.html", user=user, **values), status


def _me() -> User:
    policy.require_member(context.current_actor())
    user = context.current_member()
    if user is None:  # pragma: no cover - require_member has just checked
        raise NotLoggedIn()
    return user


@bp.get("/account")
def account() -> Page:
    return _account_page()


@bp.post("/account/password")
@transaction.writes
def change_password() -> Page | Response:
    user = _me()
    try:
        accounts.change_password(
            context.current_actor(),
            user,
            current=request.form.get("current_password"),
            new=request.form.get("new_password"),
            ip=context.client_ip(),
        )
    except Invalid as exc:
        return _account_page(400, errors=_problem(exc))
    # Every session ended with the change; this one starts again, fresh, remembered if
    # it was before.
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    _start_session(user, remember=remember_cookie in request.cookies)
    flash("Your password is changed. You are logged out everywhere else.")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/<id:session_id>/logout")
@transaction.writes
def end_session(session_id: int) -> Response:
    user = _me()
    if session_id == context.current_session_id():
        return logout()
    sessions.end_session(context.current_actor(), user, session_id)
    flash("That session is logged out.")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/logout-others")
@transaction.writes
def end_other_sessions() -> Response:
    user = _me()
    ended = sessions.end_other_sessions(
        context.current_actor(), user, keep=context.current_session_id()
    )
    # Apps with API tokens are "elsewhere" too: a member shutting out a lost phone
    # means its app as well.
    tokens = accounts.revoke_all_api_tokens(user)
    if ended or tokens:
        flash("You are logged out everywhere else.")
    else:
        flash("You were not logged in anywhere else.")
    return redirect(url_for("auth.account"))


@bp.post("/account/export")
@transaction.writes
def export_data() -> Response:
    """The member's data as a zip (a POST: the form carries the CSRF token)."""
    user = _me()
    data = data_rights.export_member_data(context.current_actor(), user)
    return context.zip_response(data)


@bp.post("/account/delete")
@transaction.writes
def delete_account() -> Page | Response:
    user = _me()
    try:
        accounts.confirm_password(
            user,
            request.form.get("delete_password"),
            ip=context.client_ip(),
            field="delete_password",
        )
        data_rights.delete_account(context.current_actor(), user, posts=request.form.get("posts"))
    except Invalid as exc:
        return _account_page(400, errors=_problem(exc))
    except Conflict as exc:
        transaction.discard()
        return _account_page(409, errors={"posts": exc.message})
    _forget_login()
    flash("Your account is deleted. Thank you for having been part of this forum.")
    return redirect(url_for("boards.index"))


@bp.post("/account/profile")
@transaction.writes
def update_profile() -> Page | Response:
    user = _me()
    shown = user.pending_email or user.email or ""
    email = request.form.get("email", "")
    form = {"bio": request.form.get("bio", ""), "email": email}
    changes_email = email.strip().lower() != shown
    try:
        if changes_email:
            # A new address is a way to reset the password: ask for the password first.
            accounts.confirm_password(user, request.form.get("password"), ip=context.client_ip())
        mail = accounts.update_profile(
            context.current_actor(),
            user,
            bio=request.form.get("bio", ""),
            show_join_date="show_join_date" in request.form,
            # Unchanged means unchanged: no second confirmation mail for the same address.
            email=email if changes_email else None,
        )
    except Invalid as exc:
        return _account_page(400, errors=_problem(exc), form=form, email_value=email)
    except Denied as exc:
        # A silenced member changing their bio: the reason goes next to the field.
        transaction.discard()
        errors = {"bio": exc.message}
        return _account_page(403, errors=errors, form=form, email_value=email, denied=exc.code)
    context.send_mail(mail)
    flash("Your profile is saved.")
    if mail:
        flash("Check your e-mail: we sent a link to confirm the new address.")
    return redirect(url_for("auth.account"))


@bp.post("/account/recovery-codes")
@transaction.writes
def new_recovery_codes() -> Page:
    user = _me()
    try:
        accounts.confirm_password(user, request.form.get("codes_password"), ip=context.client_ip())
    except Invalid as exc:
        return _account_page(400, errors=_problem(exc))
    codes = accounts.issue_recovery_codes(user)
    return render_template("auth/codes.html", codes=codes, welcome=False, replaced=True)


@bp.route("/setup/<token>", methods=["GET", "POST"])
@transaction.writes
def first_setup(token: str) -> Page | Response:
    setup.check_setup_token(token)
    if request.method == "GET":
        form = {"registration": "invite_only", "guest_access": "none"}
        return render_template("auth/setup.html", token=token, form=form, errors={})
    form = _form("username", "registration", "guest_access")
    try:
        user = setup.complete_setup(
            token,
            username=request.form.get("username"),
            password=request.form.get("password"),
            registration=request.form.get("registration"),
            guest_access=request.form.get("guest_access"),
        )
    except (Invalid, Conflict) as exc:
        errors = _problem(exc)
        return render_template("auth/setup.html", token=token, form=form, errors=errors), 400
    _start_session(user)
    flash("Welcome! Your forum is ready. Start by creating its boards.")
    return redirect(url_for("admin.boards"))
