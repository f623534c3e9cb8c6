"""Invitation links into a group: made, listed and revoked by its owners and moderators.

Whoever holds a link accepts it. Unknown, forged, revoked, expired and used-up tokens all
answer the same 404.
"""

from __future__ import annotations

from typing import Any

from forum import policy
from forum.blueprints import context
from forum.blueprints.api import bp
from forum.blueprints.api import inputs
from forum.blueprints.api import serializers
from forum.blueprints.api.groups import actor_now
from forum.blueprints.api.groups import group_answer
from forum.blueprints.groups import invitation_link
from forum.services import invitations


@bp.post("/groups/<slug>/invitations")
def create_invitation(slug: str) -> Any:
    data = inputs.json_object(("max_uses", "expires_in_hours"), optional=True)
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
    context.commit()
    return answer, 201


@bp.get("/groups/<slug>/invitations")
def list_invitations(slug: str) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    found = invitations.open_invitations(actor, policy.require_group(actor, inputs.slug(slug)))
    return {"invitations": [serializers.invitation(i) for i in found]}


@bp.delete("/groups/<slug>/invitations/<id:invitation_id>")
def revoke_invitation(slug: str, invitation_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    group = policy.require_group(actor, inputs.slug(slug))
    # Revoking twice is not an error: the link is dead either way.
    invitations.revoke_invitation(actor, group, invitation_id)
    context.commit()
    return "", 204


@bp.post("/invitations/<token>/accept")
def accept_invitation(token: str) -> Any:
    actor = context.current_actor()
    # Guests first, whatever the token: a guest learns nothing about which tokens exist.
    policy.require_member(actor)
    group, membership = invitations.accept_invitation(actor, inputs.token(token))
    # The group is shown through the guard, as the member sees it now that they are in.
    member_now = actor_now()
    shown = policy.require_group(member_now, group.slug) if group is not None else None
    answer = {
        "group": group_answer(member_now, shown) if shown is not None else None,
        "member": serializers.member(membership) if membership is not None else None,
    }
    context.commit()
    return answer
