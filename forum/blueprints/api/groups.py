"""Groups: listing and creating them, members, roles and invitations by name, who they
keep out, join requests, break-glass.

A secret group the actor may not see answers every route here exactly like a slug that
does not exist (`policy.require_group`); a 403 only ever concerns a group the actor can
already see.
"""

from __future__ import annotations

from typing import Any

from flask import request

from forum import listings
from forum import policy
from forum import transaction
from forum import validation
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.errors import NotFound
from forum.models.groups import Group
from forum.models.invitations import MemberInvitation
from forum.policy import Actor
from forum.services import groups
from forum.services import invitations
from forum.services import labels
from forum.services import membership


def actor_now() -> Actor:
    """The member's actor rebuilt after this request changed what they belong to or enter.

    The request's actor is built before the service runs; answering with it would show
    a group just joined (or entered) as if from outside.
    """
    return policy.actor_for(context.current_member(), guests_read=False)


def group_answer(actor: Actor, group: Group) -> dict[str, Any]:
    """The group as `actor` sees it."""
    return serializers.group(listings.group_views(actor, [group])[0])


def _group(slug: str) -> Group:
    return policy.require_group(context.current_actor(), inputs.slug(slug))


@bp.get("/groups")
def list_groups() -> Any:
    found = listings.visible_group_list(context.current_actor())
    return {"groups": [serializers.group(view) for view in found]}


@bp.post("/groups")
@transaction.writes
def create_group() -> Any:
    data = inputs.body(schemas.groups.NewGroup)
    group = groups.create_group(
        context.current_actor(),
        name=data.get("name"),
        slug=data.get("slug"),
        visibility=data.get("visibility"),
        description=data.get("description"),
        owner=data.get("owner"),
    )
    answer = group_answer(actor_now(), group)
    return answer, 201


@bp.get("/groups/<slug>")
def show_group(slug: str) -> Any:
    return group_answer(context.current_actor(), _group(slug))


@bp.get("/groups/<slug>/members")
def list_members(slug: str) -> Any:
    found = listings.group_members(context.current_actor(), _group(slug))
    return {"members": [serializers.member(m) for m in found]}


@bp.put("/groups/<slug>/members/<username>")
@transaction.writes
def set_member_role(slug: str, username: str) -> Any:
    data = inputs.body(schemas.groups.RoleChange)
    actor = context.current_actor()
    policy.require_member(actor)
    found = groups.set_member_role(
        actor, _group(slug), inputs.username(username), role=data.get("role")
    )
    if isinstance(found, MemberInvitation):
        # Not in the group yet: invited, and a member only once they accept.
        invited = serializers.member_invitation(found)
        return invited, 202
    answer = serializers.member(found)
    return answer


@bp.delete("/groups/<slug>/members/<username>")
@transaction.writes
def remove_member(slug: str, username: str) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    if not groups.remove_member(actor, _group(slug), inputs.username(username)):
        # Someone who is not in the group: there is no membership to remove.
        raise NotFound()
    return "", 204


@bp.get("/groups/<slug>/member-invitations")
def list_member_invitations(slug: str) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    found = invitations.group_member_invitations(actor, _group(slug))
    return {"invitations": [serializers.member_invitation(i) for i in found]}


@bp.delete("/groups/<slug>/member-invitations/<id:member_invitation_id>")
@transaction.writes
def withdraw_member_invitation(slug: str, member_invitation_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    # Withdrawing twice, or one already answered, is not an error: it stands no more.
    invitations.withdraw_member_invitation(actor, _group(slug), member_invitation_id)
    return "", 204


@bp.get("/groups/<slug>/exclusions")
def list_exclusions(slug: str) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    found = membership.exclusions(actor, _group(slug))
    return {"exclusions": [serializers.exclusion(e) for e in found]}


@bp.delete("/groups/<slug>/exclusions/<username>")
@transaction.writes
def allow_back(slug: str, username: str) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    membership.allow_back(actor, _group(slug), inputs.username(username))
    return "", 204


@bp.get("/me/groups")
def my_groups() -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    return {"groups": [serializers.group(view) for view in listings.my_groups(actor)]}


# --- join requests (public groups) ------------------------------------------------


@bp.post("/groups/<slug>/join-requests")
@transaction.writes
def request_to_join(slug: str) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    request = groups.request_to_join(actor, _group(slug))
    answer = serializers.join_request(request)
    return answer, 201


@bp.get("/groups/<slug>/join-requests")
def list_join_requests(slug: str) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    found = groups.pending_requests(actor, _group(slug))
    return {"join_requests": [serializers.join_request(r) for r in found]}


def _decide(slug: str, request_id: int, *, accept: bool, keep_out: bool = False) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    group = _group(slug)
    groups.decide_join_request(actor, group, request_id, accept=accept, keep_out=keep_out)
    answer = serializers.join_request(listings.join_request(actor, group, request_id))
    return answer


@bp.post("/groups/<slug>/join-requests/<id:request_id>/accept")
@transaction.writes
def accept_join_request(slug: str, request_id: int) -> Any:
    return _decide(slug, request_id, accept=True)


@bp.post("/groups/<slug>/join-requests/<id:request_id>/decline")
@transaction.writes
def decline_join_request(slug: str, request_id: int) -> Any:
    data = inputs.body(schemas.groups.JoinRequestDecline, optional=True)
    keep_out = data.get("keep_out")
    clean = False if keep_out is None else validation.boolean(keep_out, "keep_out")
    return _decide(slug, request_id, accept=False, keep_out=clean)


# --- the admin area ---------------------------------------------------------------


@bp.get("/admin/groups")
def admin_groups() -> Any:
    found = listings.admin_group_overview(context.current_actor())
    return {"groups": [serializers.admin_group(view) for view in found]}


@bp.post("/admin/groups/<id:group_id>/break-glass")
@transaction.writes
def break_glass(group_id: int) -> Any:
    # By id, not slug: the admin cannot "see" the group, and slugs resolve only for those
    # who can. `group_for_admin` answers admins alone (others: 401/403 for every id).
    data = inputs.body(schemas.groups.BreakGlassRequest)
    actor = context.current_actor()
    group = groups.group_for_admin(actor, group_id)
    entry = groups.break_glass(actor, group, reason=data.get("reason"))
    answer = {
        "group": group_answer(actor_now(), group),
        "expires_at": serializers.timestamp(entry.expires_at),
    }
    return answer, 201


# --- moderation settings ----------------------------------------------------------


@bp.patch("/groups/<slug>/moderation")
@transaction.writes
def update_group_moderation(slug: str) -> Any:
    data = inputs.body(schemas.groups.GroupModerationChange)
    actor = context.current_actor()
    policy.require_member(actor)
    group = groups.update_group_moderation(actor, _group(slug), **data)
    answer = serializers.group_moderation(group)
    return answer


@bp.route("/groups/<slug>/my-label", methods=["GET", "PUT"])
@transaction.writes
def my_label(slug: str) -> Any:
    actor = context.current_actor()
    group = policy.require_group(actor, inputs.slug(slug))
    policy.check_hide_label(actor, group)
    if request.method == "PUT":
        data = inputs.body(schemas.groups.LabelChoice)
        labels.show_label(actor, group, shown=data.get("shown"))
    found = labels.my_label(actor, group)
    return {"label": found.label if found else None, "shown": found.shown if found else True}
