"""Invitations: links into a group (made, listed and revoked by its owners and
moderators; accepted by whoever holds one) and a member's own invitations by name.

Unknown, forged, revoked, expired and used-up tokens all answer the same 404, and so does
a link whose maker may no longer invite or that leads into a group that keeps the member
out. Someone else's invitation by name answers like an id never used.
"""

from __future__ import annotations

from typing import Any

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.blueprints.api.groups import actor_now
from forum.blueprints.api.groups import group_answer
from forum.blueprints.groups import invitation_link
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.services import invitations


@bp.post("/groups/<slug>/invitations")
@transaction.writes
def create_invitation(slug: str) -> Any:
    data = inputs.body(schemas.groups.InvitationDraft, optional=True)
    actor = context.current_actor()
    policy.require_member(actor)
    group = policy.require_group(actor, inputs.slug(slug))
    made = invitations.create_invitation(
        actor,
        group,
        max_uses=data.get("max_uses"),
        expires_in_hours=data.get("expires_in_hours"),
    )
    answer = serializers.new_invitation(
        made.invitation, made.token, link=invitation_link(made.token)
    )
    return answer, 201


@bp.get("/groups/<slug>/invitations")
def list_invitations(slug: str) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    group = policy.require_group(actor, inputs.slug(slug))
    found = invitations.open_invitations(actor, group)
    working = invitations.working_invitation_ids(group, found)
    return {"invitations": [serializers.invitation(i, working=i.id in working) for i in found]}


@bp.delete("/groups/<slug>/invitations/<id:invitation_id>")
@transaction.writes
def revoke_invitation(slug: str, invitation_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    group = policy.require_group(actor, inputs.slug(slug))
    # Revoking twice is not an error: the link is dead either way.
    invitations.revoke_invitation(actor, group, invitation_id)
    return "", 204


@bp.post("/invitations/<token>/accept")
@transaction.writes
def accept_invitation(token: str) -> Any:
    actor = context.current_actor()
    # Guests first, whatever the token: a guest learns nothing about which tokens exist.
    policy.require_member(actor)
    group, membership = invitations.accept_invitation(actor, inputs.token(token))
    answer = _acceptance(group, membership)
    return answer


def _acceptance(group: Group | None, membership: Membership | None) -> dict[str, Any]:
    """What accepting answers: the group as the member sees it now that they are in (none
    while a group suspension they left with still runs), and their membership."""
    member_now = actor_now()
    shown = group is not None and policy.can_see_group(member_now, group)
    return {
        "group": group_answer(member_now, group) if shown and group is not None else None,
        "member": serializers.member(membership) if membership is not None else None,
    }


# --- my invitations by name -----------------------------------------------------------


@bp.get("/me/invitations")
def my_invitations() -> Any:
    actor = context.current_actor()
    found = invitations.my_member_invitations(actor)
    return {"invitations": [serializers.my_invitation(i) for i in found]}


@bp.post("/me/invitations/<id:member_invitation_id>/accept")
@transaction.writes
def accept_member_invitation(member_invitation_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    group, membership = invitations.accept_member_invitation(actor, member_invitation_id)
    answer = _acceptance(group, membership)
    return answer


@bp.post("/me/invitations/<id:member_invitation_id>/decline")
@transaction.writes
def decline_member_invitation(member_invitation_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    invitations.decline_member_invitation(actor, member_invitation_id)
    return "", 204
