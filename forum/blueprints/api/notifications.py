"""The member's notifications: listed through policy (one about a post shows only while
they may still see it), and marked read."""

from __future__ import annotations

from typing import Any

from flask import request

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.models.notifications import WatchScope
from forum.services import notification_mail
from forum.services import notifications
from forum.services import watching


@bp.get("/notifications")
def list_notifications() -> Any:
    page = inputs.page()
    before = inputs.before()
    actor = context.current_actor()
    policy.require_member(actor)
    if before is not None:
        # Cursor paging: stable while new notifications arrive (page numbers shift).
        older, next_before = notifications.notifications_before(actor, before)
        shown = notifications.shown(actor, older)
        return {
            "notifications": [serializers.notification(n, shown[n.id]) for n in older],
            "page": 1,
            "pages": 1,
            "next_before": next_before,
            "unread": notifications.unread_count(actor),
        }
    found = notifications.notifications(actor, page=page)
    shown = notifications.shown(actor, found.items)
    items = [serializers.notification(n, shown[n.id]) for n in found.items]
    return {
        **serializers.page_of("notifications", found, items),
        "next_before": items[-1]["id"] if items and found.page < found.pages else None,
        "unread": notifications.unread_count(actor),
    }


@bp.post("/notifications/read")
@transaction.writes
def mark_notifications_read() -> Any:
    ids = inputs.body(schemas.site.NotificationsRead, optional=True).get("ids")
    actor = context.current_actor()
    policy.require_member(actor)
    marked = notifications.mark_read(actor, ids)
    return {"marked": marked}


@bp.post("/notifications/<id:notification_id>/read")
@transaction.writes
def mark_one_read(notification_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    marked = notifications.mark_one_read(actor, notification_id)
    return {"marked": int(marked)}


def _watch(scope: WatchScope, key: Any) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    if request.method == "PUT":
        data = inputs.body(schemas.site.WatchChange)
        watching.set_watch_level(actor, scope, key, data.get("level"))
    level, chosen = watching.watch_level(actor, scope, key)
    return {"level": level, "chosen": chosen}


@bp.route("/topics/<id:topic_id>/watch", methods=["GET", "PUT"])
@transaction.writes
def topic_watch(topic_id: int) -> Any:
    return _watch(WatchScope.TOPIC, topic_id)


@bp.route("/boards/<id:board_id>/watch", methods=["GET", "PUT"])
@transaction.writes
def board_watch(board_id: int) -> Any:
    return _watch(WatchScope.BOARD, board_id)


@bp.route("/groups/<slug>/watch", methods=["GET", "PUT"])
@transaction.writes
def group_watch(slug: str) -> Any:
    return _watch(WatchScope.GROUP, inputs.slug(slug))


@bp.route("/me/notification-preferences", methods=["GET", "PUT"])
@transaction.writes
def notification_preferences() -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    if request.method == "PUT":
        data = inputs.body(schemas.site.NotificationPreferencesChange)
        changes = {kind: change for kind, change in data.items() if change is not None}
        return notifications.set_preferences(actor, changes)
    return notifications.preferences(actor)


@bp.route("/me/email-settings", methods=["GET", "PUT"])
@transaction.writes
def email_settings() -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    if request.method == "PUT":
        data = inputs.body(schemas.site.EmailSettingsChange)
        changes = {name: value for name, value in data.items() if value is not None}
        return notification_mail.set_email_settings(actor, changes)
    return notification_mail.email_settings(actor)


@bp.get("/users/suggest")
def suggest_users() -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    return {"users": notifications.mention_suggestions(actor, request.args.get("q", ""))}
