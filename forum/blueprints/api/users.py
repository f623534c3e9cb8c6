"""Members: registering, profiles (for members only) and trust levels."""

from __future__ import annotations

from typing import Any

from forum import listings
from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.auth import sessionless
from forum.blueprints.api.blueprint import bp
from forum.services import accounts
from forum.services import labels
from forum.services import trust


@bp.post("/users")
@sessionless
@transaction.writes
def register() -> Any:
    data = inputs.body(schemas.accounts.Registration)
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
    context.send_mail(mail)
    return answer, 201


@bp.get("/users/<username>")
def show_user(username: str) -> Any:
    actor = context.current_actor()
    user = policy.require_user(actor, inputs.username(username))
    return serializers.profile(listings.profile(actor, user, recent=0))


@bp.put("/users/<username>/trust-level")
@transaction.writes
def set_trust_level(username: str) -> Any:
    data = inputs.body(schemas.moderation.TrustGrant)
    actor = context.current_actor()
    policy.require_member(actor)
    user = policy.require_user(actor, inputs.username(username))
    slug = data.get("group")
    group = policy.require_group(actor, slug) if slug is not None else None
    changed = trust.grant_level(
        actor,
        user,
        level=data.get("level"),
        # A level set by hand is meant to stay: unlocked, the daily job would recompute it.
        lock=data.get("lock", True),
        group=group,
        reason=data.get("reason") or "",
    )
    answer = {
        **serializers.user(user),
        "trust_level_locked": user.trust_level_locked,
        "group": group.slug if group is not None else None,
        "group_trust_level": trust.group_level(user, group) if group is not None else None,
        "changed": changed,
    }
    return answer


@bp.put("/users/<username>/label")
@transaction.writes
def set_label(username: str) -> Any:
    data = inputs.body(schemas.moderation.LabelGrant)
    actor = context.current_actor()
    policy.require_member(actor)
    user = policy.require_user(actor, inputs.username(username))
    slug = data.get("group")
    group = policy.require_group(actor, slug) if slug is not None else None
    changed = labels.set_label(
        actor, user, label=data.get("label"), group=group, reason=data.get("reason") or ""
    )
    return {
        **serializers.user(user),
        "group": group.slug if group is not None else None,
        "group_label": labels.group_label(user, group) if group is not None else None,
        "changed": changed,
    }


@bp.get("/me/trust")
def my_trust() -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    user = context.current_member()
    assert user is not None  # noqa: S101 - require_member has just checked
    return trust.progress(user)
