"""Site administration: settings, boards, groups, site invitations.

Every view starts with `require_admin`.
"""

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
from forum import validation
from forum.blueprints import context
from forum.blueprints.groups import invitation_link
from forum.blueprints.pages import requested_page
from forum.errors import Conflict
from forum.errors import Invalid
from forum.errors import NotFound
from forum.models.users import User
from forum.moderation import appointments
from forum.policy import Actor
from forum.services import boards as board_service
from forum.services import data_rights
from forum.services import groups as group_service
from forum.services import invitations as invitation_service
from forum.services import privacy
from forum.services import settings as settings_service

bp = Blueprint("admin", __name__, url_prefix="/admin")

Page = str | tuple[str, int]
SETTING_FIELDS = ("site_name", "site_description", "registration", "guest_access")
BOARD_FIELDS = ("name", "description", "parent_id")
GROUP_FIELDS = ("name", "slug", "description", "visibility", "owner")
INVITATION_FIELDS = ("max_uses", "expires_in_hours")


def _boards_page(status: int = 200, **extra: Any) -> Page:
    entries = listings.board_index(context.current_actor())
    values: dict[str, Any] = {"errors": {}, "form": {}, "failed": None, **extra}
    return render_template("admin/boards.html", entries=entries, **values), status


def _settings_page(form: dict[str, Any], errors: dict[str, str]) -> str:
    # The trust-level thresholds and limits, in the order and sections the service lists.
    sections: dict[str, list[tuple[str, str]]] = {}
    for name, spec in settings_service.NUMBER_SETTINGS.items():
        sections.setdefault(spec.section, []).append((name, spec.label))
    return render_template(
        "admin/settings.html", form=form, errors=errors, number_sections=sections
    )


@bp.route("", methods=["GET", "POST"])
@transaction.writes
def settings() -> Page | Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    if request.method == "GET":
        return _settings_page(context.site_settings(), {})
    form = {name: request.form.get(name, "") for name in SETTING_FIELDS}
    # A number left out of the form keeps its value (older forms, scripts).
    form.update({n: request.form[n] for n in settings_service.NUMBER_SETTINGS if n in request.form})
    try:
        settings_service.update_settings(actor, form)
    except Invalid as exc:
        transaction.discard()
        return _settings_page(form, exc.fields), 400
    flash("Settings saved.")
    return redirect(url_for("admin.settings"))


@bp.get("/boards")
def boards() -> Page:
    policy.require_admin(context.current_actor())
    return _boards_page()


@bp.post("/boards")
@transaction.writes
def create_board() -> Page | Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    form = {name: request.form.get(name, "") for name in BOARD_FIELDS}
    try:
        board = board_service.create_board(
            actor, name=form["name"], description=form["description"], parent_id=form["parent_id"]
        )
    except Invalid as exc:
        transaction.discard()
        return _boards_page(400, errors=exc.fields, form=form, failed="new")
    flash(f"Board “{board.name}” created.")
    return redirect(url_for("admin.boards"))


@bp.post("/boards/<id:board_id>")
@transaction.writes
def update_board(board_id: int) -> Page | Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    board = policy.require_board(actor, board_id)
    form = {name: request.form.get(name, "") for name in BOARD_FIELDS}
    try:
        board_service.update_board(actor, board, **form)
    except Invalid as exc:
        transaction.discard()
        return _boards_page(400, errors=exc.fields, form=form, failed=board_id)
    flash("Board saved.")
    return redirect(url_for("admin.boards"))


@bp.post("/boards/<id:board_id>/move")
@transaction.writes
def move_board(board_id: int) -> Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    board = policy.require_board(actor, board_id)
    board_service.move_board(actor, board, direction=request.form.get("direction", ""))
    return redirect(url_for("admin.boards", _anchor=f"board-{board_id}"))


# --- groups -------------------------------------------------------------------


def _groups_page(status: int = 200, **extra: Any) -> Page:
    actor = context.current_actor()
    # Every group by name, visibility and size; a secret one shows nothing more.
    rows = listings.admin_group_overview(actor)
    values: dict[str, Any] = {
        "errors": {},
        "form": {"visibility": "secret"},
        "failed": None,
        **extra,
    }
    return render_template(
        "admin/groups.html",
        rows=rows,
        visible={r.group.id for r in rows if policy.can_see_group(actor, r.group)},
        breakable={r.group.id for r in rows if policy.can_break_glass(actor, r.group)},
        **values,
    ), status


@bp.get("/groups")
def groups() -> Page:
    policy.require_admin(context.current_actor())
    return _groups_page()


@bp.post("/groups")
@transaction.writes
def create_group() -> Page | Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    form = {name: request.form.get(name, "") for name in GROUP_FIELDS}
    try:
        group = group_service.create_group(actor, **form)
    except Invalid as exc:
        transaction.discard()
        return _groups_page(400, errors=exc.fields, form=form, failed="new")
    except Conflict as exc:
        transaction.discard()
        return _groups_page(409, errors={"slug": exc.message}, form=form, failed="new")
    flash(f"Group “{group.name}” created.")
    return redirect(url_for("admin.groups"))


@bp.post("/groups/<id:group_id>/break-glass")
@transaction.writes
def break_glass(group_id: int) -> Page | Response:
    actor = context.current_actor()
    group = group_service.group_for_admin(actor, group_id)
    reason = request.form.get("reason", "")
    try:
        group_service.break_glass(actor, group, reason=reason)
    except Invalid as exc:
        transaction.discard()
        return _groups_page(400, errors=exc.fields, form={"reason": reason}, failed=group_id)
    target = url_for("groups.show", slug=group.slug)
    flash("You are inside the group for one hour. Its owners can see that you entered, and why.")
    return redirect(target)


def _site_invitations_page(status: int = 200, **extra: Any) -> Page:
    values: dict[str, Any] = {"form": {}, "errors": {}, "link": None, **extra}
    defaults = {"max_uses": 1, "hours": invitation_service.DEFAULT_HOURS}
    page = render_template(
        "admin/groups_site_invitations.html",
        defaults=defaults,
        max_hours=invitation_service.MAX_HOURS,
        open_invitations=invitation_service.open_invitations(context.current_actor(), None),
        **values,
    )
    return page, status


@bp.route("/invitations", methods=["GET", "POST"])
@transaction.writes
def site_invitations() -> Page:
    actor = context.current_actor()
    policy.require_admin(actor)
    if request.method == "GET":
        return _site_invitations_page()
    form = {name: request.form.get(name, "") for name in INVITATION_FIELDS}
    try:
        made = invitation_service.create_invitation(
            actor, None, max_uses=form["max_uses"], expires_in_hours=form["expires_in_hours"]
        )
    except Invalid as exc:
        transaction.discard()
        return _site_invitations_page(400, form=form, errors=exc.fields)
    # Shown once: only a hash of the token is stored.
    return _site_invitations_page(link=invitation_link(made.token))


@bp.post("/invitations/<id:invitation_id>/revoke")
@transaction.writes
def revoke_site_invitation(invitation_id: int) -> Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    invitation_service.revoke_invitation(actor, None, invitation_id)
    flash("The invitation is revoked: its link no longer works.")
    return redirect(url_for("admin.site_invitations"))


# --- the member directory --------------------------------------------------------


@bp.get("/members")
def members() -> Page:
    actor = context.current_actor()
    policy.require_admin(actor)
    try:
        filters = listings.member_filters(request.args)
    except Invalid as exc:
        page = render_template(
            "admin/members.html", form=request.args, errors=exc.fields, found=None, filters=None
        )
        return page, 400
    found = listings.member_directory(actor, filters, requested_page())
    return render_template(
        "admin/members.html", form=request.args, errors={}, found=found, filters=filters
    )


@bp.post("/members/delete")
@transaction.writes
def delete_member() -> Page | Response:
    """Delete a member's account on their request (logged with the reason)."""
    actor = context.current_actor()
    policy.require_admin(actor)
    form = {name: request.form.get(name, "") for name in ("username", "posts", "reason")}
    try:
        user = data_rights.require_member_to_delete(actor, form["username"])
        if user.id == actor.user_id:
            raise Invalid("username", "Delete your own account from your account page.")
        data_rights.delete_account(actor, user, posts=form["posts"], reason=form["reason"])
    except (Invalid, Conflict) as exc:
        transaction.discard()
        errors = exc.fields if isinstance(exc, Invalid) else {"posts": exc.message}
        page = render_template(
            "admin/members.html",
            form={},
            errors={},
            found=None,
            filters=None,
            delete_form=form,
            delete_errors=errors,
        )
        return page, 400 if isinstance(exc, Invalid) else 409
    flash(f"The account {form['username'].strip()} is deleted.")
    return redirect(url_for("admin.members"))


# --- site moderators ------------------------------------------------------------


def _visible_member(actor: Actor, username: str) -> User:
    """The member by name, if the admin may see them; else a form error."""
    try:
        return policy.require_user(actor, username.strip()[:40])
    except NotFound:
        raise Invalid("username", "There is no member with that username.") from None


def _moderators_page(status: int = 200, **extra: Any) -> Page:
    values: dict[str, Any] = {"errors": {}, "form": {}, **extra}
    page = render_template(
        "admin/moderators.html",
        moderators=listings.site_moderators(context.current_actor()),
        **values,
    )
    return page, status


@bp.route("/moderators", methods=["GET", "POST"])
@transaction.writes
def moderators() -> Page | Response:
    actor = context.current_actor()
    policy.require_admin(actor)
    if request.method == "GET":
        return _moderators_page()
    form = {name: request.form.get(name, "") for name in ("username", "action", "reason")}
    try:
        on = validation.choice(form["action"], "action", ("appoint", "remove")) == "appoint"
        user = _visible_member(actor, form["username"])
        changed = appointments.appoint_site_moderator(actor, user, on=on, reason=form["reason"])
    except Invalid as exc:
        transaction.discard()
        return _moderators_page(400, form=form, errors=exc.fields)
    name = user.username
    if not changed:
        flash(f"Nothing to change: {name} {'is' if on else 'is not'} a site moderator.")
    else:
        flash(f"{name} is {'now' if on else 'no longer'} a site moderator.")
    return redirect(url_for("admin.moderators"))


def _privacy_page(text: str, errors: dict[str, str], status: int = 200) -> Page:
    page = privacy.page(context.site_settings())
    return render_template(
        "admin/privacy.html",
        text=text,
        errors=errors,
        is_default=page.is_default,
        default_text=privacy.default_text(),
    ), status


@bp.route("/privacy", methods=["GET", "POST"])
@transaction.writes
def privacy_policy() -> Page | Response:
    """Edit the privacy page; saving an empty text (or "Use the default") restores the default."""
    actor = context.current_actor()
    policy.require_admin(actor)
    if request.method == "GET":
        return _privacy_page(privacy.page(context.site_settings()).markdown, {})
    text = "" if "use_default" in request.form else request.form.get("privacy_policy", "")
    if text.strip() == privacy.default_text().strip():
        text = ""  # unchanged default: keep following the default as it improves
    try:
        settings_service.update_settings(actor, {"privacy_policy": text})
    except Invalid as exc:
        transaction.discard()
        return _privacy_page(text, exc.fields, 400)
    flash("The privacy page is saved." if text else "The privacy page shows the default text.")
    return redirect(url_for("pages.privacy_page"))
