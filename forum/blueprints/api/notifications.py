"""The member's notifications: listed through policy (one about a post shows only while
they may still see it), and marked read."""

from __future__ import annotations

from typing import Any

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.errors import Invalid
from forum.services import notifications

# At most one page's worth of ids and then some: a client marks what it showed.
MAX_IDS = 100


@bp.get("/notifications")
def list_notifications() -> Any:
    page = inputs.page()
    actor = context.current_actor()
    policy.require_member(actor)
    found = notifications.notifications(actor, page=page)
    items = [serializers.notification(n) for n in found.items]
    return {
        **serializers.page_of("notifications", found, items),
        "unread": notifications.unread_count(actor),
    }


@bp.post("/notifications/read")
@transaction.writes
def mark_notifications_read() -> Any:
    data = inputs.json_object(("ids",), optional=True)
    ids = data.get("ids")
    if ids is not None and (
        not isinstance(ids, list)
        or len(ids) > MAX_IDS
        or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids)
    ):
        raise Invalid("ids", f"ids must be a list of at most {MAX_IDS} notification ids.")
    actor = context.current_actor()
    policy.require_member(actor)
    marked = notifications.mark_read(actor, ids)
    return {"marked": marked}
