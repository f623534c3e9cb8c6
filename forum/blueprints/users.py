"""Member profiles, with trust levels: a member's own progress, and granting by hand."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from forum import listings
from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.errors import Denied
from forum.errors import Invalid
from forum.models.groups import Group
from forum.models.users import User
from forum.policy import Actor
from forum.services import labels
from forum.services import trust

bp = Blueprint("users", __name__)

Page = str | tuple[str, int]


def _profile_page(actor: Actor, user: User, status: int = 200, **extra: Any) -> tuple[str, int]:
    values: dict[str, Any] = {
        "errors": {},
        "form": {},
        "problem": None,
        "label_problem": None,
        **extra,
    }
    page = render_template(
        "users/profile.html",
        profile=listings.profile(actor, user),
        own=user.id == actor.user_id,
        progress=trust.progress(user) if user.id == actor.user_id else None,
        grant_scopes=listings.trust_grant_scopes(actor, user),
        # Outside its groups only the site label exists (policy.shown_label).
        site_label=policy.shown_label(user, None),
        label_scopes=listings.label_scopes(actor, user),
        level_names=trust.LEVEL_NAMES,
        max_group_grant=trust.MAX_OWNER_GRANT,
        # The "Message" button only where starting a conversation would work; refusals
        # the viewer must not learn about (a block) hide it like any other.
        can_message=policy.can_message_member(actor, user),
        can_block=policy.can_block(actor, user),
        blocked=user.id in context.blocked_ids(),
        **values,
    )
    return page, status


@bp.get("/u/<username>")
def profile(username: str) -> Page:
    actor = context.current_actor()
    return _profile_page(actor, policy.require_user(actor, username))


def _grant_scope(actor: Actor, user: User, value: str) -> Group | None:
    """The scope chosen in the form ("site" or a group's slug), among those allowed."""
    for scope in listings.trust_grant_scopes(actor, user):
        if (scope.group.slug if scope.group is not None else "site") == value:
            return scope.group
    policy.require_member(actor)
    raise Denied(
        "Only site admins set members' trust levels; "
        "a group's owners grant levels that count inside their group."
    )


@bp.post("/u/<username>/trust")
@transaction.writes
def grant_trust(username: str) -> Page | Response:
    actor = context.current_actor()
    user = policy.require_user(actor, username)
    names = ("level", "scope", "reason")
    form: dict[str, Any] = {name: request.form.get(name, "") for name in names}
    form["lock"] = request.form.get("lock") == "yes"
    group = _grant_scope(actor, user, form["scope"])
    try:
        changed = trust.grant_level(
            actor, user, level=form["level"], lock=form["lock"], group=group, reason=form["reason"]
        )
    except Invalid as exc:
        transaction.discard()
        return _profile_page(actor, user, 400, form=form, errors=exc.fields)
    except Denied as exc:
        transaction.discard()
        return _profile_page(actor, user, 403, form=form, problem=exc.message)
    name = user.username
    flash("Trust level saved." if changed else "Nothing to change.")
    return redirect(url_for("users.profile", username=name))


@bp.post("/u/<username>/label")
@transaction.writes
def set_label(username: str) -> Page | Response:
    actor = context.current_actor()
    user = policy.require_user(actor, username)
    form = {name: request.form.get(name, "") for name in ("label", "label_scope", "reason")}
    scopes = {
        (s.group.slug if s.group is not None else "site"): s
        for s in listings.label_scopes(actor, user)
    }
    scope = scopes.get(form["label_scope"])
    if scope is None:
        policy.require_member(actor)
        raise Denied("Only site admins and a group's owners give role labels.")
    try:
        changed = labels.set_label(
            actor, user, label=form["label"], group=scope.group, reason=form["reason"]
        )
    except Invalid as exc:
        transaction.discard()
        return _profile_page(actor, user, 400, form=form, errors=exc.fields)
    except Denied as exc:
        transaction.discard()
        return _profile_page(actor, user, 403, form=form, label_problem=exc.message)
    flash("Label saved." if changed else "Nothing to change.")
    return redirect(url_for("users.profile", username=user.username, _anchor="labels"))


@bp.get("/me")
def me() -> Response:
    policy.require_member(context.current_actor())
    member = context.current_member()
    name = member.username if member is not None else ""
    return redirect(url_for("users.profile", username=name))
