"""Groups in the browser: the groups list, a group's page, running it, invitation links,
and a member's own invitations by name (/account/invitations).

Every route under /g/<slug> starts with `policy.require_group`, before anything else (even
before asking a guest to log in): a secret group answers an outsider with the same 404 as
a slug that was never used. Refusals (403) are only for groups the actor can see.
"""

from __future__ import annotations

from collections.abc import Callable
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
from forum.blueprints.pages import requested_page
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.groups import Role
from forum.models.invitations import MemberInvitation
from forum.moderation import sentences
from forum.policy import Actor
from forum.services import boards
from forum.services import groups
from forum.services import invitations
from forum.services import labels
from forum.services import meetings
from forum.services import membership

bp = Blueprint("groups", __name__)

Page = str | tuple[str, int]
ROLES = tuple(role.value for role in Role)


def _deny_unless(actor: Actor, allowed: bool, message: str) -> None:
    """Guests are sent to log in; members who may not do this get a 403."""
    if not allowed:
        policy.require_member(actor)
        raise Denied(message)


def _group_for(
    actor: Actor, slug: str, allowed: Callable[[Actor, Group], bool], message: str
) -> Group:
    """The group (404 if the actor may not know it exists), if `allowed` (else 403)."""
    group = policy.require_group(actor, slug)
    _deny_unless(actor, allowed(actor, group), message)
    return group


OWNERS_ONLY = "Only the group's owners can do that."
RUNNERS_ONLY = "Only the group's owners and moderators can do that."


def _my_name() -> str:
    member = context.current_member()
    return member.username if member is not None else ""


def _tools(actor: Actor, group: Group) -> dict[str, bool]:
    """Which links and buttons the group's pages offer the actor."""
    return {
        "manage": policy.can_manage_group(actor, group),
        "invite": policy.can_invite(actor, group),
        "invitations": policy.can_see_invitations(actor, group),
        "invite_by_name": policy.can_invite_by_name(actor, group),
        "new_board": policy.can_create_board(actor, group),
        "ask": policy.can_request_to_join(actor, group),
        "members": policy.can_see_members(actor, group),
        "log": policy.can_see_group_log(actor, group),
    }


def _member_labels(members: list[Membership]) -> dict[int, str]:
    """The role label beside each member's name on the group's member lists."""
    shown = {m.user_id: policy.shown_label(m.user, m) for m in members}
    return {user_id: label for user_id, label in shown.items() if label}


def _group_page(actor: Actor, group: Group) -> str:
    tools = _tools(actor, group)
    members = listings.group_members(actor, group) if tools["members"] else []
    return render_template(
        "groups/show.html",
        group=group,
        tools=tools,
        role=listings.group_role(actor, group),
        glass=group.id in actor.glass_group_ids and group.id not in actor.group_ids,
        boards=listings.group_boards(actor, group),
        members=members,
        labels=_member_labels(members),
        my_label=labels.my_label(actor, group),
        requested=tools["ask"] and listings.has_pending_request(actor, group),
        requests=len(groups.pending_requests(actor, group)) if tools["invite"] else 0,
        break_glass=listings.break_glass_notes(actor, group) if tools["manage"] else [],
        meetings=meetings.upcoming_meetings(actor, group, limit=5),
        arrange_meetings=policy.can_manage_meetings(actor, group),
    )


@bp.get("/groups")
def index() -> str:
    actor = context.current_actor()
    return render_template(
        "groups/index.html",
        mine=listings.my_groups(actor),
        joinable=listings.joinable_groups(actor),
        invited=len(invitations.my_member_invitations(actor)) if actor.is_member else 0,
    )


@bp.get("/g/<slug>")
def show(slug: str) -> str:
    actor = context.current_actor()
    return _group_page(actor, policy.require_group(actor, slug))


@bp.post("/g/<slug>/label")
@transaction.writes
def show_label(slug: str) -> Response:
    actor = context.current_actor()
    group = policy.require_group(actor, slug)
    shown = request.form.get("shown") == "yes"
    if labels.show_label(actor, group, shown=shown):
        flash("Your label shows in this group." if shown else "Your label is hidden in this group.")
    return redirect(url_for("groups.show", slug=slug, _anchor="my-label"))


@bp.post("/g/<slug>/join")
@transaction.writes
def join(slug: str) -> Response:
    actor = context.current_actor()
    group = policy.require_group(actor, slug)
    groups.request_to_join(actor, group)
    flash("Your request is sent. One of the group's owners or moderators will decide.")
    return redirect(url_for("groups.show", slug=slug))


@bp.route("/g/<slug>/leave", methods=["GET", "POST"])
@transaction.writes
def leave(slug: str) -> Page | Response:
    actor = context.current_actor()
    group = policy.require_group(actor, slug)
    policy.require_member(actor)
    role = listings.group_role(actor, group)
    if request.method == "GET":
        return render_template("groups/leave.html", group=group, role=role, error=None)
    try:
        left = groups.remove_member(actor, group, _my_name())
    except Conflict as exc:
        transaction.discard()
        page = render_template("groups/leave.html", group=group, role=role, error=exc.message)
        return page, 409
    name = group.name
    if left:
        flash(f"You have left {name}.")
    return redirect(url_for("groups.index"))


# --- members ----------------------------------------------------------------


def _members_page(actor: Actor, group: Group, status: int = 200, **extra: Any) -> tuple[str, int]:
    values: dict[str, Any] = {"form": {}, "errors": {}, "problem": None, **extra}
    members = listings.group_members(actor, group)
    page = render_template(
        "groups/members.html",
        group=group,
        tools=_tools(actor, group),
        members=members,
        labels=_member_labels(members),
        invited=invitations.group_member_invitations(actor, group),
        kept_out=membership.exclusions(actor, group),
        roles=ROLES,
        **values,
    )
    return page, status


def _role_news(found: Membership | MemberInvitation) -> str:
    if isinstance(found, MemberInvitation):
        return (
            f"{found.user.username} is invited to join as a {found.role.value}. "
            "They become a member only if they accept."
        )
    return f"{found.user.username} is now a {found.role.value} of the group."


@bp.route("/g/<slug>/members", methods=["GET", "POST"])
@transaction.writes
def members(slug: str) -> Page | Response:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_manage_group, OWNERS_ONLY)
    if request.method == "GET":
        return _members_page(actor, group)
    form = {"username": request.form.get("username", ""), "role": request.form.get("role", "")}
    try:
        found = groups.set_member_role(actor, group, form["username"], role=form["role"])
    except Invalid as exc:
        transaction.discard()
        return _members_page(actor, group, 400, form=form, errors=exc.fields)
    except NotFound:
        transaction.discard()
        errors = {"username": "There is no member with that username."}
        return _members_page(actor, group, 400, form=form, errors=errors)
    except (Conflict, Denied) as exc:
        transaction.discard()
        return _members_page(actor, group, exc.status, form=form, problem=exc.message)
    flash(_role_news(found))
    return redirect(url_for("groups.members", slug=slug))


@bp.post("/g/<slug>/member-invitations/<id:member_invitation_id>/withdraw")
@transaction.writes
def withdraw_member_invitation(slug: str, member_invitation_id: int) -> Response:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_manage_group, OWNERS_ONLY)
    if invitations.withdraw_member_invitation(actor, group, member_invitation_id):
        flash("The invitation is withdrawn.")
    return redirect(url_for("groups.members", slug=slug))


@bp.post("/g/<slug>/exclusions/<username>/allow")
@transaction.writes
def allow_back(slug: str, username: str) -> Response:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_manage_group, OWNERS_ONLY)
    exclusion = membership.allow_back(actor, group, username)
    name = exclusion.user.username
    flash(
        f"{name} may come back: an invitation, a link or (in a public group) a request "
        "to join can let them in again."
    )
    return redirect(url_for("groups.members", slug=slug))


@bp.post("/g/<slug>/members/<username>/role")
@transaction.writes
def set_role(slug: str, username: str) -> Page | Response:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_manage_group, OWNERS_ONLY)
    try:
        membership = groups.set_member_role(actor, group, username, role=request.form.get("role"))
    except (Invalid, Conflict) as exc:
        transaction.discard()
        return _members_page(actor, group, exc.status, problem=exc.message)
    flash(f"{membership.user.username} is now a {membership.role.value} of the group.")
    # Owners who step down cannot manage members any more: back to the group's page.
    own = username.lower() == _my_name().lower()
    return redirect(url_for("groups.show" if own else "groups.members", slug=slug))


@bp.route("/g/<slug>/members/<username>/remove", methods=["GET", "POST"])
@transaction.writes
def remove_member(slug: str, username: str) -> Page | Response:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_manage_group, OWNERS_ONLY)
    membership = listings.group_member(actor, group, username)
    if membership is None:
        raise NotFound()
    name = membership.user.username
    if request.method == "GET":
        return render_template("groups/remove.html", group=group, name=name)
    try:
        groups.remove_member(actor, group, name)
    except Conflict as exc:
        transaction.discard()
        return _members_page(actor, group, 409, problem=exc.message)
    flash(f"{name} is no longer in the group.")
    # Owners who remove themselves have left: the members page is no longer theirs.
    own = name.lower() == _my_name().lower()
    return redirect(url_for("groups.index") if own else url_for("groups.members", slug=slug))


# --- invitations --------------------------------------------------------------


def invitation_link(token: str) -> str:
    """The full link to share, on the address the member is using (see `public_url`)."""
    return context.public_url(url_for("groups.invitation", token=token))


def _invitations_page(
    actor: Actor, group: Group, status: int = 200, **extra: Any
) -> tuple[str, int]:
    values: dict[str, Any] = {"form": {}, "errors": {}, "link": None, "problem": None, **extra}
    found = invitations.open_invitations(actor, group)
    page = render_template(
        "groups/invitations.html",
        group=group,
        tools=_tools(actor, group),
        invitations=found,
        working=invitations.working_invitation_ids(group, found),
        defaults={"max_uses": 1, "hours": invitations.DEFAULT_HOURS},
        max_hours=invitations.MAX_HOURS,
        **values,
    )
    return page, status


@bp.route("/g/<slug>/invitations", methods=["GET", "POST"])
@transaction.writes
def invitation_list(slug: str) -> Page:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_see_invitations, RUNNERS_ONLY)
    if request.method == "GET":
        return _invitations_page(actor, group)
    form = {name: request.form.get(name, "") for name in ("max_uses", "expires_in_hours")}
    try:
        made = invitations.create_invitation(
            actor, group, max_uses=form["max_uses"], expires_in_hours=form["expires_in_hours"]
        )
    except Invalid as exc:
        transaction.discard()
        return _invitations_page(actor, group, 400, form=form, errors=exc.fields)
    except Denied as exc:
        transaction.discard()
        return _invitations_page(actor, group, 403, problem=exc.message)
    # The token exists in the clear only now: the page shows it once, and it is not stored.
    return _invitations_page(actor, group, link=invitation_link(made.token))


@bp.post("/g/<slug>/invitations/<id:invitation_id>/revoke")
@transaction.writes
def revoke_invitation(slug: str, invitation_id: int) -> Response:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_see_invitations, RUNNERS_ONLY)
    invitations.revoke_invitation(actor, group, invitation_id)
    flash("The invitation is revoked: its link no longer works.")
    return redirect(url_for("groups.invitation_list", slug=slug))


# --- join requests ------------------------------------------------------------


@bp.get("/g/<slug>/requests")
def join_requests(slug: str) -> str:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_invite, RUNNERS_ONLY)
    return render_template(
        "groups/requests.html",
        group=group,
        tools=_tools(actor, group),
        pending=groups.pending_requests(actor, group),
    )


@bp.post("/g/<slug>/requests/<id:request_id>")
@transaction.writes
def decide_request(slug: str, request_id: int) -> Response:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_invite, RUNNERS_ONLY)
    decision = validation.choice(request.form.get("decision"), "decision", ("accept", "decline"))
    accept = decision == "accept"
    keep_out = not accept and request.form.get("keep_out") == "yes"
    try:
        decided = groups.decide_join_request(
            actor, group, request_id, accept=accept, keep_out=keep_out
        )
    except Conflict as exc:
        transaction.discard()
        flash(exc.message)
        return redirect(url_for("groups.join_requests", slug=slug))
    if decided:
        if accept:
            flash("Request accepted: they are now a member.")
        elif keep_out:
            flash("Request declined. They cannot ask again unless an owner allows them back.")
        else:
            flash("Request declined.")
    return redirect(url_for("groups.join_requests", slug=slug))


# --- boards -------------------------------------------------------------------


@bp.route("/g/<slug>/boards/new", methods=["GET", "POST"])
@transaction.writes
def new_board(slug: str) -> Page | Response:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_create_board, OWNERS_ONLY)
    form = {name: request.form.get(name, "") for name in ("name", "description")}
    if request.method == "GET":
        return render_template("groups/new_board.html", group=group, form=form, errors={})
    try:
        board = boards.create_board(
            actor, name=form["name"], description=form["description"], group=group
        )
    except Invalid as exc:
        transaction.discard()
        page = render_template("groups/new_board.html", group=group, form=form, errors=exc.fields)
        return page, 400
    target = url_for("boards.show", board_id=board.id)
    flash("Board created. Members of the group can start topics in it.")
    return redirect(target)


# --- moderation: settings and the log -------------------------------------------


def _moderation_page(
    actor: Actor, group: Group, status: int = 200, **extra: Any
) -> tuple[str, int]:
    values: dict[str, Any] = {"errors": {}, "form": None, **extra}
    page = render_template(
        "groups/moderation.html",
        group=group,
        tools=_tools(actor, group),
        most=groups.APPROVE_FIRST_POSTS_MAX,
        **values,
    )
    return page, status


@bp.route("/g/<slug>/moderation", methods=["GET", "POST"])
@transaction.writes
def moderation_settings(slug: str) -> Page | Response:
    actor = context.current_actor()
    group = _group_for(actor, slug, policy.can_manage_group, OWNERS_ONLY)
    if request.method == "GET":
        return _moderation_page(actor, group)
    form = {
        "log_visible_to_members": request.form.get("log_visible_to_members") == "yes",
        "approve_first_posts": request.form.get("approve_first_posts", ""),
    }
    try:
        groups.update_group_moderation(actor, group, **form)
    except Invalid as exc:
        transaction.discard()
        return _moderation_page(actor, group, 400, form=form, errors=exc.fields)
    flash("Moderation settings saved.")
    return redirect(url_for("groups.moderation_settings", slug=slug))


@bp.get("/g/<slug>/log")
def log(slug: str) -> str:
    actor = context.current_actor()
    group = _group_for(
        actor, slug, policy.can_see_group_log, "Only the group's moderators see its log."
    )
    found = listings.group_log(actor, group, requested_page())
    return render_template(
        "groups/log.html",
        group=group,
        tools=_tools(actor, group),
        entries=found,
        view=listings.log_view(actor, found.items, undoable=frozenset()),
        lines=sentences.log_lines(actor, found.items),
    )


# --- the invitation link ------------------------------------------------------


@bp.get("/invite/<token>")
def invitation(token: str) -> str:
    # Unknown, forged, revoked, expired and used-up tokens: the ordinary 404. Whoever holds
    # an open one was invited, and may learn the group's name (nothing more).
    actor = context.current_actor()
    # Someone the group keeps out gets the dead link's 404: they learn nothing new.
    found = invitations.find_open_invitation(token, user_id=actor.user_id)
    group = invitations.invitation_group(found)
    return render_template(
        "groups/invite.html",
        token=token,
        group=group,
        already_in=group is not None and group.id in actor.group_ids,
        form={},
        errors={},
    )


@bp.post("/invite/<token>")
@transaction.writes
def accept(token: str) -> Response:
    actor = context.current_actor()
    if not actor.is_member:
        return redirect(url_for("auth.login", next=request.path))
    # Accepting again is harmless: the service answers the same, with one membership. A
    # member whose last use it was may repeat it, so the token is not checked here first.
    group, _membership = invitations.accept_invitation(actor, token)
    if group is None:
        # A site invitation is for newcomers: a member spends none of its uses.
        transaction.discard()
        return redirect(url_for("boards.index"))
    return _welcome(group)


def _welcome(group: Group) -> Response:
    """After a join, the group; or, while a group suspension the member left with
    still runs, their standing (the group stays closed to them until it ends)."""
    member_now = policy.actor_for(context.current_member(), guests_read=False)
    inside = policy.can_see_group(member_now, group)
    target = url_for("groups.show", slug=group.slug) if inside else url_for("moderation.standing")
    name = group.name
    if inside:
        flash(f"Welcome to {name}.")
    else:
        flash(f"You are in {name}, but suspended there for now: see your standing.")
    return redirect(target)


# --- a member's own invitations by name ---------------------------------------------


@bp.get("/account/invitations")
def my_invitations() -> str:
    actor = context.current_actor()
    return render_template(
        "groups/my_invitations.html", invitations=invitations.my_member_invitations(actor)
    )


@bp.post("/account/invitations/<id:member_invitation_id>/accept")
@transaction.writes
def accept_member_invitation(member_invitation_id: int) -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    group, _membership = invitations.accept_member_invitation(actor, member_invitation_id)
    return _welcome(group)


@bp.post("/account/invitations/<id:member_invitation_id>/decline")
@transaction.writes
def decline_member_invitation(member_invitation_id: int) -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    invitations.decline_member_invitation(actor, member_invitation_id)
    flash("Invitation declined. The group's owners see only that you declined.")
    return redirect(url_for("groups.my_invitations"))
