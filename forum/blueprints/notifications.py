"""A member's notifications, and the unread count the navigation shows."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import url_for
from werkzeug.wrappers import Response

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.pages import requested_page
from forum.database import write_intent
from forum.services import notifications

bp = Blueprint("notifications", __name__)


def unread_notifications() -> int:
    """The member's unread notifications, counted once per request (guests: 0, no query)."""
    if "unread_notifications" not in g:
        member = context.current_member()
        # The member's row says whether there may be any: most pages need no query.
        maybe = member is not None and member.has_unread_notifications
        g.unread_notifications = notifications.unread_count(context.current_actor()) if maybe else 0
    count: int = g.unread_notifications
    return count


@bp.app_context_processor
def _navigation() -> dict[str, object]:
    # A callable, not a number: only pages that show the navigation pay for the COUNT.
    actor = context.current_actor()
    return {
        "unread_notifications": unread_notifications,
        "can_moderate_anywhere": policy.can_moderate_anywhere(actor),
    }


@bp.get("/notifications")
@transaction.writes
def index() -> str:
    # Opening the page marks what it shows as read, so this GET writes: take SQLite's
    # write lock when the transaction begins (a read one could not be upgraded under load).
    write_intent.set(True)
    actor = context.current_actor()
    policy.require_member(actor)
    found = notifications.notifications(actor, page=requested_page())
    # Those unread until now keep their "new" mark on this page.
    fresh = {n.id for n in found.items if n.read_at is None}
    if fresh:
        notifications.mark_read(actor, sorted(fresh))
    # Rendered here, before the boundary's commit, which would expire every loaded
    # notification.
    shown = notifications.shown(actor, found.items)
    return render_template(
        "notifications/index.html",
        found=found,
        fresh=fresh,
        shown=shown,
        acted=notifications.ACTED,
    )


@bp.post("/notifications/read")
@transaction.writes
def mark_read() -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    marked = notifications.mark_all_read(actor)
    if marked:
        flash("All notifications are marked as read.")
    return redirect(url_for("notifications.index"))
