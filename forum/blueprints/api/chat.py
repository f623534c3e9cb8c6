"""Chat rooms over the API, and `GET /changes`, what the live pages poll."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask import jsonify
from flask import request

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints import live
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.errors import Invalid
from forum.services import chat


@bp.get("/changes")
def changes() -> Any:
    since = request.args.get("since", "")
    token = live.current_token(context.current_actor(), since)
    if token in request.if_none_match:
        answer = Response(status=304)
    else:
        answer = jsonify({"token": token, "changed": token != since})
    # Cache-Control comes from the house rule (forum.blueprints.context): "private,
    # no-store" for a member, "no-cache" for a guest; the script sends If-None-Match itself.
    answer.set_etag(token)
    return answer


@bp.get("/groups/<slug>/rooms")
def group_rooms(slug: str) -> Any:
    actor = context.current_actor()
    group = policy.require_group(actor, inputs.slug(slug))
    return {"rooms": [serializers.chat_room(r) for r in chat.rooms(actor, group)]}


@bp.post("/groups/<slug>/rooms")
@transaction.writes
def open_group_room(slug: str) -> Any:
    data = inputs.body(schemas.chat.RoomDraft)
    actor = context.current_actor()
    group = policy.require_group(actor, inputs.slug(slug))
    room = chat.open_chat_room(actor, group, name=data.get("name"))
    return serializers.chat_room(room), 201


@bp.get("/rooms")
def site_rooms() -> Any:
    actor = context.current_actor()
    return {"rooms": [serializers.chat_room(r) for r in chat.rooms(actor, None)]}


@bp.post("/rooms")
@transaction.writes
def open_site_room() -> Any:
    data = inputs.body(schemas.chat.RoomDraft)
    room = chat.open_chat_room(context.current_actor(), None, name=data.get("name"))
    return serializers.chat_room(room), 201


@bp.get("/rooms/<id:room_id>")
def show_room(room_id: int) -> Any:
    room = policy.require_chat_room(context.current_actor(), room_id)
    return serializers.chat_room(room)


@bp.patch("/rooms/<id:room_id>")
@transaction.writes
def change_room(room_id: int) -> Any:
    data = inputs.body(schemas.chat.RoomChange)
    actor = context.current_actor()
    room = policy.require_chat_room(actor, room_id)
    chat.change_chat_room(
        actor,
        room,
        slow_mode_seconds=data.get("slow_mode_seconds"),
        retention_days=data.get("retention_days"),
    )
    return serializers.chat_room(room)


@bp.get("/rooms/<id:room_id>/messages")
def room_messages(room_id: int) -> Any:
    actor = context.current_actor()
    room = policy.require_chat_room(actor, room_id)
    after = request.args.get("after")
    if after is not None and not (after.isascii() and after.isdigit() and len(after) <= 9):
        raise Invalid("after", "after must be a message id.")
    found = chat.messages(actor, room, after=int(after) if after is not None else None)
    items = [serializers.chat_message(m) for m in found]
    return {"messages": items, "token": live.room_token(room)}


@bp.post("/rooms/<id:room_id>/messages")
@transaction.writes
def post_room_message(room_id: int) -> Any:
    data = inputs.body(schemas.chat.MessageDraft)
    actor = context.current_actor()
    room = policy.require_chat_room(actor, room_id)
    message = chat.post_chat_message(actor, room, body=data.get("body"))
    return serializers.chat_message(message), 201


@bp.post("/chat-messages/<id:message_id>/reports")
@transaction.writes
def report_room_message(message_id: int) -> Any:
    data = inputs.body(schemas.chat.ChatReportDraft)
    actor = context.current_actor()
    message = policy.require_chat_message(actor, message_id)
    chat.report_chat_message(actor, message, reason=data.get("reason"))
    return {"reported": True}, 201


@bp.post("/chat-messages/<id:message_id>/hide")
@transaction.writes
def hide_room_message(message_id: int) -> Any:
    data = inputs.body(schemas.moderation.OptionalReason, optional=True)
    actor = context.current_actor()
    message = policy.require_chat_message(actor, message_id)
    changed = chat.hide_chat_message(actor, message, reason=data.get("reason", ""))
    return {"changed": changed}
