"""A member's notifications, and the unread count the navigation shows."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.pages import requested_page
from forum.database import write_intent
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import csrf
from forum.models.notifications import WatchScope
from forum.services import notification_mail
from forum.services import notifications
from forum.services import watching

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
        "watch_level": _watch_level,
        "notification_preferences": lambda: notifications.preferences(actor),
        "email_settings": lambda: notification_mail.email_settings(actor),
        "preference_labels": PREFERENCE_LABELS,
    }


PREFERENCE_LABELS = {
    "mention": "Someone mentions you",
    "quote": "Someone quotes your post",
    "reply": "Someone replies to your post",
    "topic_reply": "Someone replies in your topic",
    "like": "Someone likes your post",
    "watched_post": "A new post in a topic you watch",
    "new_topic": "A new topic where you watch",
    "join_request": "A member asks to join a group you run",
    "join_accepted": "Your request to join a group is accepted",
    "join_declined": "Your request to join a group is declined",
    "message": "Someone sends you a private message",
    "meeting_reminder": "A meeting of yours is coming up",
    "reminder": "A reminder you set is due",
}


@bp.post("/account/notifications")
@transaction.writes
def preferences() -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    # An unticked box is not sent: every kind is read, on or off.
    changes = {
        kind: {
            "in_app": request.form.get(f"{kind}.in_app") == "1",
            "email": request.form.get(f"{kind}.email", "never"),
        }
        for kind in notifications.PREFERENCE_KINDS
    }
    try:
        notifications.set_preferences(actor, changes)
    except Invalid as exc:
        transaction.discard()
        flash(exc.fields.get("preferences", "Those choices could not be saved."))
        return redirect(url_for("auth.account", _anchor="notify-h"))
    flash("Your notification choices are saved.")
    return redirect(url_for("auth.account", _anchor="notify-h"))


def _watch_level(scope: str, target_id: int) -> str:
    # For the watch control on topic, board and group pages (members only), which show a
    # target the view already passed through its policy guard.
    actor = context.current_actor()
    if not actor.is_member:
        return ""
    level, _chosen = watching.level_of_shown(actor, WatchScope(scope), target_id)
    return level


def _set_watch(scope: WatchScope, key: int | str, back: str) -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    try:
        level = watching.set_watch_level(actor, scope, key, request.form.get("level"))
    except Invalid as exc:
        transaction.discard()
        flash(exc.fields.get("level", "Choose a level."))
        return redirect(back)
    flash(WATCH_SAVED[level])
    return redirect(back)


WATCH_SAVED = {
    "watching": "Watching: you will be told of everything new here.",
    "tracking": "Tracking: you will be told of replies to you, mentions and quotes.",
    "normal": "Normal: you will be told only when someone mentions you.",
    "muted": "Muted: you will not be told of anything here.",
}


@bp.post("/t/<id:topic_id>/watch")
@transaction.writes
def watch_topic(topic_id: int) -> Response:
    return _set_watch(WatchScope.TOPIC, topic_id, url_for("topics.show", topic_id=topic_id))


@bp.post("/b/<id:board_id>/watch")
@transaction.writes
def watch_board(board_id: int) -> Response:
    return _set_watch(WatchScope.BOARD, board_id, url_for("boards.show", board_id=board_id))


@bp.post("/g/<slug>/watch")
@transaction.writes
def watch_group(slug: str) -> Response:
    return _set_watch(WatchScope.GROUP, slug, url_for("groups.show", slug=slug))


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


@bp.post("/account/email")
@transaction.writes
def email_settings() -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    changes = {
        "digest": request.form.get("digest", "daily"),
        # An unticked box is not sent.
        "link_only": request.form.get("link_only") == "1",
    }
    try:
        notification_mail.set_email_settings(actor, changes)
    except Invalid as exc:
        transaction.discard()
        flash(next(iter(exc.fields.values()), "Those choices could not be saved."))
        return redirect(url_for("auth.account", _anchor="email-h"))
    flash("Your e-mail choices are saved.")
    return redirect(url_for("auth.account", _anchor="email-h"))


# No CSRF token: mail programs POST here themselves (RFC 8058 one-click unsubscribe, body
# "List-Unsubscribe=One-Click"), and the signed token in the path is what authorises it.
# GET only shows a button: mail scanners follow links, and must not unsubscribe anyone.
@csrf.exempt
@bp.route("/email/unsubscribe/<token>", methods=["GET", "POST"])
@transaction.writes
def unsubscribe(token: str) -> tuple[str, int]:
    try:
        if request.method == "GET":
            found = notification_mail.read_unsubscribe_token(token)
            return render_template("notifications/unsubscribe.html", token=token, found=found), 200
        done = notification_mail.unsubscribe(token, everything=request.form.get("scope") == "all")
    except (Invalid, NotFound) as exc:
        # A clear page, nothing changed: damaged, tampered with, too old, or the account
        # or its address gone.
        transaction.discard()
        status = 404 if isinstance(exc, NotFound) else 400
        return render_template("notifications/unsubscribe.html", problem=exc.message), status
    return render_template("notifications/unsubscribe.html", done=done), 200
