"""Members: registering, and profiles (for members only)."""

from __future__ import annotations

from typing import Any

from forum import listings
from forum import policy
from forum.blueprints import context
from forum.blueprints.api import bp
from forum.blueprints.api import inputs
from forum.blueprints.api import serializers
from forum.blueprints.api.auth import sessionless
from forum.services import accounts


@bp.post("/users")
@sessionless
def register() -> Any:
    data = inputs.json_object(("username", "password", "email", "invite"))
    user = accounts.register_member(
        context.current_actor(),
        username=data.get("username"),
        password=data.get("password"),
        email=data.get("email"),
        invite=data.get("invite"),
    )
    # Shown once: the way back in for a member without (or before confirming) an e-mail.
    codes = accounts.issue_recovery_codes(user)
    mail = accounts.request_email_confirmation(user)
    # A newcomer holds no other membership yet: one group at most, the invitation's.
    joined = listings.my_groups(policy.actor_for(user, guests_read=False))
    answer = {
        **serializers.user(user),
        "recovery_codes": codes,
        "group": joined[0].group.slug if joined else None,
    }
    context.commit(mail)
    return answer, 201


@bp.get("/users/<username>")
def show_user(username: str) -> Any:
    actor = context.current_actor()
    user = policy.require_user(actor, inputs.username(username))
    return serializers.profile(listings.profile(actor, user, recent=0))
