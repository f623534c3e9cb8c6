"""Chat rooms in the browser: a group's (or the site's) rooms, a room's stream and form.

Works without JavaScript (a form and a "reload" link); with it, `live.js` polls
`/api/v1/changes` and swaps in the fresh stream when the room changed.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints import live
from forum.errors import Invalid
from forum.errors import RateLimited
from forum.models.chat import ChatRoom
from forum.models.groups import Group
from forum.policy import Actor
from forum.services import chat

bp = Blueprint("chat", __name__)


@bp.app_template_filter("clock")
def clock(value: datetime) -> str:
    """`6 Dec 21:04 UTC`: in a chat the time of day matters (the forum knows no member's
    time zone, so it says which one it uses)."""
    value = value.astimezone(UTC)
    return f"{value.day} {value:%b %H:%M} UTC"


Page = str | tuple[str, int] | tuple[str, int, dict[str, str]]


def _rooms_page(
    actor: Actor, group: Group | None, name: str = "", errors: dict[str, str] | None = None
) -> str:
    return render_template(
        "chat/rooms.html",
        group=group,
        rooms=chat.rooms(actor, group),
        can_open=policy.can_open_chat_room(actor, group),
        name=name,
        errors=errors or {},
    )


def _open(actor: Actor, group: Group | None) -> Page | Response:
    name = request.form.get("name", "")
    try:
        room = chat.open_chat_room(actor, group, name=name)
    except Invalid as exc:
        transaction.discard()
        return _rooms_page(actor, group, name, exc.fields), exc.status
    target = room.url
    return redirect(target)


@bp.get("/g/<slug>/rooms")
def group_rooms(slug: str) -> str:
    actor = context.current_actor()
    return _rooms_page(actor, policy.require_group(actor, slug))


@bp.post("/g/<slug>/rooms")
@transaction.writes
def open_group_room(slug: str) -> Page | Response:
    actor = context.current_actor()
    return _open(actor, policy.require_group(actor, slug))


@bp.get("/rooms")
def site_rooms() -> str:
    return _rooms_page(context.current_actor(), None)


@bp.post("/rooms")
@transaction.writes
def open_site_room() -> Page | Response:
    return _open(context.current_actor(), None)


def _room_page(
    actor: Actor, room: ChatRoom, body: str = "", errors: dict[str, str] | None = None
) -> str:
    moderates = policy.can_moderate_chat_room(actor, room)
    return render_template(
        "chat/room.html",
        room=room,
        messages=chat.messages(actor, room),
        can_post=policy.can_post_chat_message(actor, room),
        moderates=moderates,
        manages=policy.can_manage_chat_room(actor, room),
        reports=chat.open_reports(actor, room) if moderates else [],
        token=live.room_token(room),
        poll_seconds=live.POLL_SECONDS,
        body=body,
        errors=errors or {},
    )


@bp.get("/rooms/<id:room_id>")
def show(room_id: int) -> str:
    actor = context.current_actor()
    return _room_page(actor, policy.require_chat_room(actor, room_id))


@bp.post("/rooms/<id:room_id>/messages")
@transaction.writes
def post_message(room_id: int) -> Page | Response:
    actor = context.current_actor()
    room = policy.require_chat_room(actor, room_id)
    body = request.form.get("body", "")
    try:
        chat.post_chat_message(actor, room, body=body)
    except (Invalid, RateLimited) as exc:
        transaction.discard()
        errors = exc.fields if isinstance(exc, Invalid) else {"body": exc.message}
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else {}
        return _room_page(actor, room, body, errors), exc.status, headers
    target = url_for("chat.show", room_id=room.id, _anchor="say")
    return redirect(target)


@bp.post("/rooms/<id:room_id>/settings")
@transaction.writes
def settings(room_id: int) -> Page | Response:
    actor = context.current_actor()
    room = policy.require_chat_room(actor, room_id)
    try:
        changed = chat.change_chat_room(
            actor,
            room,
            slow_mode_seconds=request.form.get("slow_mode_seconds") or None,
            retention_days=request.form.get("retention_days") or None,
        )
    except Invalid as exc:
        transaction.discard()
        return _room_page(actor, room, errors=exc.fields), exc.status
    if changed:
        flash("The room's settings are saved.")
    target = url_for("chat.show", room_id=room.id)
    return redirect(target)


@bp.route("/chat-messages/<id:message_id>/report", methods=["GET", "POST"])
@transaction.writes
def report(message_id: int) -> Page | Response:
    actor = context.current_actor()
    message = policy.require_chat_message(actor, message_id)
    if request.method == "GET":
        policy.check_report_chat_message(actor, message)
        return render_template("chat/report.html", message=message, errors={})
    try:
        chat.report_chat_message(actor, message, reason=request.form.get("reason"))
    except Invalid as exc:
        transaction.discard()
        return render_template("chat/report.html", message=message, errors=exc.fields), 400
    flash("Thank you: the room's moderators will look at it.")
    target = url_for("chat.show", room_id=message.room_id)
    return redirect(target)


@bp.post("/chat-messages/<id:message_id>/hide")
@transaction.writes
def hide(message_id: int) -> Response:
    actor = context.current_actor()
    message = policy.require_chat_message(actor, message_id)
    if chat.hide_chat_message(actor, message, reason=request.form.get("reason", "")):
        flash("The message is hidden.")
    target = url_for("chat.show", room_id=message.room_id)
    return redirect(target)


@bp.post("/chat-messages/<id:message_id>/dismiss")
@transaction.writes
def dismiss(message_id: int) -> Response:
    actor = context.current_actor()
    message = policy.require_chat_message(actor, message_id)
    if chat.dismiss_chat_reports(actor, message):
        flash("The reports are dismissed; the message stays.")
    target = url_for("chat.show", room_id=message.room_id)
    return redirect(target)
