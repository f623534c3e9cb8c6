"""Site administration: settings and boards. Every view starts with `require_admin`."""

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
from forum.blueprints import context
from forum.errors import Invalid
from forum.extensions import db
from forum.services import boards as board_service
from forum.services import settings as settings_service

bp = Blueprint("admin", __name__, url_prefix="/admin")

Page = str | tuple[str, int]
SETTING_FIELDS = ("site_name", "site_description", "registration", "guest_access")
BOARD_FIELDS = ("name", "description", "parent_id")


def _boards_page(status: int = 200, **extra: Any) -> Page:
    entries = listings.board_index(context.current_actor())
    values: dict[str, Any] = {"errors": {}, "form": {}, "failed": None, **extra}
    return render_template("admin/boards.html", entries=entries, **values), status


@bp.route("", methods=["GET", "POST"])
def settings() -> Page | Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    if request.method == "GET":
        return render_template("admin/settings.html", form=context.site_settings(), errors={})
    form = {name: request.form.get(name, "") for name in SETTING_FIELDS}
    try:
        settings_service.update_settings(actor, form)
    except Invalid as exc:
        db.session.rollback()
        return render_template("admin/settings.html", form=form, errors=exc.fields), 400
    context.commit()
    flash("Settings saved.")
    return redirect(url_for("admin.settings"))


@bp.get("/boards")
def boards() -> Page:
    policy.require_admin(context.current_actor())
    return _boards_page()


@bp.post("/boards")
def create_board() -> Page | Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    form = {name: request.form.get(name, "") for name in BOARD_FIELDS}
    try:
        board = board_service.create_board(
            actor, name=form["name"], description=form["description"], parent_id=form["parent_id"]
        )
    except Invalid as exc:
        db.session.rollback()
        return _boards_page(400, errors=exc.fields, form=form, failed="new")
    flash(f"Board “{board.name}” created.")
    context.commit()
    return redirect(url_for("admin.boards"))


@bp.post("/boards/<id:board_id>")
def update_board(board_id: int) -> Page | Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    board = policy.require_board(actor, board_id)
    form = {name: request.form.get(name, "") for name in BOARD_FIELDS}
    try:
        board_service.update_board(actor, board, **form)
    except Invalid as exc:
        db.session.rollback()
        return _boards_page(400, errors=exc.fields, form=form, failed=board_id)
    context.commit()
    flash("Board saved.")
    return redirect(url_for("admin.boards"))


@bp.post("/boards/<id:board_id>/move")
def move_board(board_id: int) -> Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    board = policy.require_board(actor, board_id)
    board_service.move_board(actor, board, direction=request.form.get("direction", ""))
    context.commit()
    return redirect(url_for("admin.boards", _anchor=f"board-{board_id}"))
