"""Private messages and blocks: conversations for their participants only (anyone else:
404), messages, adding people, leaving, reporting a message; blocking a member."""

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
from forum.database import write_intent
from forum.errors import Conflict
from forum.models.messages import Conversation
from forum.policy import Actor
from forum.services import messages


def _conversation(actor: Actor, conversation: Conversation) -> dict[str, Any]:
    row = policy.participation(actor, conversation)
    unread = row is not None and (conversation.last_message_id or 0) > row.last_read_message_id
    names = [user.shown_name for user in messages.participants(actor, conversation)]
    return serializers.conversation(conversation, names, unread)


@bp.post("/conversations")
@transaction.writes
def start_conversation() -> Any:
    data = inputs.body(schemas.messages.ConversationStart)
    actor = context.current_actor()
    policy.require_member(actor)
    conversation = messages.start_conversation(
        actor,
        recipients=data.get("recipients"),
        title=data.get("title"),
        body=data.get("body"),
    )
    return _conversation(actor, conversation), 201


@bp.get("/conversations")
def list_conversations() -> Any:
    page = inputs.page()
    actor = context.current_actor()
    policy.require_member(actor)
    found = messages.conversations(actor, page=page)
    items = [
        serializers.conversation(entry.conversation, entry.participants, entry.unread)
        for entry in found.items
    ]
    return serializers.page_of("conversations", found, items)


@bp.get("/conversations/<id:conversation_id>")
@transaction.writes
def show_conversation(conversation_id: int) -> Any:
    write_intent.set(True)
    page = inputs.page() if request.args.get("page") is not None else None
    actor = context.current_actor()
    policy.require_member(actor)
    conversation = policy.require_conversation(actor, conversation_id)
    found = messages.messages(actor, conversation, page=page)
    # Reading through the API marks read what was shown, as the page does (and the
    # notifications about it): a client showing the messages has shown them.
    messages.mark_read(actor, conversation, found.items)
    return {
        "conversation": _conversation(actor, conversation),
        "messages": [serializers.message(m) for m in found.items],
        "page": found.page,
        "pages": found.pages,
        "notice": messages.REPORT_NOTICE,
    }


@bp.post("/conversations/<id:conversation_id>/messages")
@transaction.writes
def send_message(conversation_id: int) -> Any:
    data = inputs.body(schemas.messages.MessageSend)
    actor = context.current_actor()
    policy.require_member(actor)
    conversation = policy.require_conversation(actor, conversation_id)
    message = messages.send_message(actor, conversation, body=data.get("body"))
    return serializers.message(message), 201


@bp.post("/conversations/<id:conversation_id>/participants")
@transaction.writes
def add_participants(conversation_id: int) -> Any:
    data = inputs.body(schemas.messages.ParticipantsAdd)
    actor = context.current_actor()
    policy.require_member(actor)
    conversation = policy.require_conversation(actor, conversation_id)
    messages.add_participants(actor, conversation, usernames=data.get("usernames"))
    return _conversation(actor, conversation)


@bp.post("/conversations/<id:conversation_id>/leave")
@transaction.writes
def leave_conversation(conversation_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    conversation = policy.require_conversation(actor, conversation_id)
    messages.leave_conversation(actor, conversation)
    return "", 204


@bp.post("/messages/<id:message_id>/report")
@transaction.writes
def report_message(message_id: int) -> Any:
    data = inputs.body(schemas.messages.MessageReportBody)
    actor = context.current_actor()
    policy.require_member(actor)
    message = policy.require_message(actor, message_id)
    report = messages.report_message(
        actor, message, reason=data.get("reason"), note=data.get("note", "")
    )
    return {"id": report.id, "status": report.status}, 201


@bp.delete("/messages/<id:message_id>")
@transaction.writes
def delete_message(message_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    message = policy.require_message(actor, message_id)
    messages.delete_message(actor, message)
    return "", 204


# --- the site moderators' side: reported messages -----------------------------------


@bp.get("/message-reports")
def list_message_reports() -> Any:
    actor = context.current_actor()
    # As for posts' reports: a member who moderates nothing hears 403.
    policy.require_moderator(actor)
    return {
        "reports": [
            serializers.message_report(report, policy.reported_message_window(actor, report))
            for report in messages.open_message_reports(actor)
        ]
    }


@bp.post("/message-reports/<id:message_report_id>/resolve")
@transaction.writes
def resolve_message_report(message_report_id: int) -> Any:
    data = inputs.body(schemas.messages.MessageReportDecision)
    actor = context.current_actor()
    policy.require_member(actor)
    # A report the caller does not handle answers 404, like one that does not exist.
    report = policy.require_message_report(actor, message_report_id)
    if not messages.resolve_message_report(actor, report, decision=data.get("decision")):
        raise Conflict("This report is closed already.")
    return serializers.message_report(report, policy.reported_message_window(actor, report))


@bp.route("/users/<username>/block", methods=["PUT", "DELETE"])
@transaction.writes
def block(username: str) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    user = policy.require_user(actor, inputs.username(username))
    if request.method == "PUT":
        messages.block_user(actor, user)
    else:
        messages.unblock_user(actor, user)
    return "", 204


@bp.route("/me/messaging", methods=["GET", "PUT"])
@transaction.writes
def messaging() -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    if request.method == "PUT":
        data = inputs.body(schemas.messages.MessagingChange)
        messages.set_messages_from_groups_only(actor, data.get("messages_from_groups_only"))
    member = context.current_member()
    return {
        "messages_from_groups_only": bool(member and member.messages_from_groups_only),
        "blocked": [user.username for user in messages.blocked_users(actor)],
    }
