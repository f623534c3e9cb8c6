"""Member profiles."""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import url_for
from werkzeug.wrappers import Response

from forum import listings
from forum import policy
from forum.blueprints import context

bp = Blueprint("users", __name__)


@bp.get("/u/<username>")
def profile(username: str) -> str:
    actor = context.current_actor()
    user = policy.require_user(actor, username)
    return render_template("users/profile.html", profile=listings.profile(actor, user))


@bp.get("/me")
def me() -> Response:
    policy.require_member(context.current_actor())
    member = context.current_member()
    name = member.username if member is not None else ""
    return redirect(url_for("users.profile", username=name))
