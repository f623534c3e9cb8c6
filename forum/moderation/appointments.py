"""Appointing site moderators: admins only, logged like every moderation action."""

from __future__ import annotations

from typing import Any

from forum import audit
from forum import policy
from forum.audit import Action
from forum.audit import clean_reason
from forum.errors import Invalid
from forum.extensions import db
from forum.models.users import User
from forum.policy import Actor


def appoint_site_moderator(actor: Actor, user: User, *, on: bool, reason: Any) -> bool:
    """Make a member a site moderator (`on`) or end that role; True if it changed."""
    policy.check_appoint_site_moderators(actor)
    clean = clean_reason(reason)
    if user.is_admin:
        # Admins moderate the site already; the flag would mean nothing for them.
        raise Invalid("username", "Admins moderate the site already.")
    if user.is_moderator == on:
        return False
    user.is_moderator = on
    audit.record(
        actor,
        Action.SITE_MODERATOR_APPOINTED if on else Action.SITE_MODERATOR_REMOVED,
        rank=policy.moderation_rank(actor, None),
        target_type="user",
        target_id=user.id,
        group=None,
        reason=clean,
    )
    db.session.flush()
    return True
