"""The member's own account: `/me`, password, recovery codes, profile, sessions."""

from __future__ import annotations

from typing import Any

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.auth import token_answer
from forum.blueprints.api.blueprint import bp
from forum.errors import NotLoggedIn
from forum.models.users import User
from forum.services import accounts
from forum.services import data_rights
from forum.services import sessions


def _me() -> User:
    policy.require_member(context.current_actor())
    user = context.current_member()
    if user is None:  # pragma: no cover - require_member has just checked
        raise NotLoggedIn()
    return user


def _account(user: User) -> dict[str, Any]:
    return serializers.me(user, accounts.unused_recovery_codes(user))


@bp.get("/me")
def show_me() -> Any:
    return _account(_me())


@bp.patch("/me")
@transaction.writes
def update_me() -> Any:
    data = inputs.body(schemas.accounts.ProfileChange)
    user = _me()
    if "email" in data:
        accounts.confirm_password(user, data.get("password"), ip=context.client_ip())
    mail = accounts.update_profile(
        context.current_actor(),
        user,
        bio=data.get("bio"),
        show_join_date=data.get("show_join_date"),
        # The service reads None as "unchanged"; "" (or null) here removes the address.
        email=("" if data["email"] is None else data["email"]) if "email" in data else None,
    )
    answer = _account(user)
    context.send_mail(mail)
    return answer


@bp.post("/me/password")
@transaction.writes
def change_password() -> Any:
    data = inputs.body(schemas.accounts.PasswordChange)
    user = _me()
    accounts.change_password(
        context.current_actor(),
        user,
        current=data.get("current_password"),
        new=data.get("new_password"),
        ip=context.client_ip(),
    )
    # Every session and token has just ended, this one included: hand over a new one.
    answer = token_answer(user)
    return answer


@bp.post("/me/recovery-codes")
@transaction.writes
def new_recovery_codes() -> Any:
    data = inputs.body(schemas.accounts.PasswordConfirmation)
    user = _me()
    accounts.confirm_password(user, data.get("password"), ip=context.client_ip())
    codes = accounts.issue_recovery_codes(user)
    return {"codes": codes}, 201


@bp.get("/me/export")
def export_data() -> Any:
    user = _me()
    return context.zip_response(data_rights.export_member_data(context.current_actor(), user))


@bp.delete("/me")
@transaction.writes
def delete_me() -> Any:
    data = inputs.body(schemas.accounts.AccountDeletion)
    user = _me()
    accounts.confirm_password(user, data.get("password"), ip=context.client_ip())
    data_rights.delete_account(context.current_actor(), user, posts=data.get("posts"))
    return "", 204


@bp.get("/me/sessions")
def list_sessions() -> Any:
    user = _me()
    current = context.current_session_id()
    rows = sessions.live_sessions(user)
    return {"sessions": [serializers.user_session(row, current) for row in rows]}


@bp.delete("/me/sessions/<id:session_id>")
@transaction.writes
def end_session(session_id: int) -> Any:
    user = _me()
    sessions.end_session(context.current_actor(), user, session_id)
    return "", 204
