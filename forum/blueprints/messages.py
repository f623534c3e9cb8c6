"""Private messages in the browser: the list, starting one (from a profile), a
conversation with its reply form, adding people, leaving, reporting a message; blocks
and the "who may message me" setting; the moderators' window onto reported messages."""

from __future__ import annotations

from typing import Any

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
from forum.blueprints.moderation import REASON_LABELS
from forum.blueprints.pages import requested_page
from forum.database import write_intent
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.errors import RateLimited
from forum.models.messages import Conversation
from forum.policy import Actor
from forum.services import messages

bp = Blueprint("messages", __name__)


def unread_messages() -> int:
    """The member's conversations with unread messages, counted once per request; no
    query unless their row says there may be some (guests: 0)."""
    if "unread_messages" not in g:
        member = context.current_member()
        maybe = member is not None and member.has_unread_messages
        g.unread_messages = (
            messages.unread_conversation_count(context.current_actor()) if maybe else 0
        )
    count: int = g.unread_messages
    return count


@bp.app_context_processor
def _navigation() -> dict[str, object]:
    # A callable: only pages that show the navigation pay for the count.
    return {"unread_messages": unread_messages}


Page = str | tuple[str, int]


@bp.get("/messages")
def index() -> str:
    actor = context.current_actor()
    policy.require_member(actor)
    return render_template(
        "messages/index.html", found=messages.conversations(actor, page=requested_page())
    )


def _new_page(status: int = 200, **values: Any) -> tuple[str, int]:
    values.setdefault("errors", {})
    values.setdefault("form", {})
    values.setdefault("problem", None)
    return render_template("messages/new.html", **values), status


@bp.get("/messages/new")
def new() -> Page:
    policy.require_member(context.current_actor())
    return _new_page(form={"recipients": request.args.get("to", "")[:200]})


@bp.post("/messages/new")
@transaction.writes
def start() -> Page | Response:
    actor = context.current_actor()
    policy.require_member(actor)
    form = {name: request.form.get(name, "") for name in ("recipients", "title", "body")}
    try:
        conversation = messages.start_conversation(
            actor, recipients=form["recipients"], title=form["title"], body=form["body"]
        )
    except Invalid as exc:
        transaction.discard()
        return _new_page(400, form=form, errors=exc.fields)
    except NotFound:
        # Unknown, hidden, blocking or suspended: one answer, naming no reason.
        transaction.discard()
        return _new_page(
            404, form=form, errors={"recipients": "There is no member by that name to message."}
        )
    except (Denied, RateLimited) as exc:
        transaction.discard()
        return _new_page(exc.status, form=form, problem=exc.message)
    return redirect(url_for("messages.show", conversation_id=conversation.id))


def _show_page(
    actor: Actor, conversation: Conversation, status: int = 200, **values: Any
) -> tuple[str, int]:
    page = request.args.get("page")
    found = messages.messages(actor, conversation, page=requested_page() if page else None)
    # Opening a page marks what it shows as read (and its notifications).
    messages.mark_read(actor, conversation, found.items)
    values.setdefault("errors", {})
    values.setdefault("form", {})
    values.setdefault("problem", None)
    html = render_template(
        "messages/show.html",
        conversation=conversation,
        found=found,
        people=messages.participants(actor, conversation),
        blocked=context.blocked_ids(),
        me=actor.user_id,
        can_send=policy.can_send_message(actor, conversation),
        notice=messages.REPORT_NOTICE,
        **values,
    )
    return html, status


@bp.get("/messages/<id:conversation_id>")
@transaction.writes
def show(conversation_id: int) -> Page:
    write_intent.set(True)
    actor = context.current_actor()
    policy.require_member(actor)
    return _show_page(actor, policy.require_conversation(actor, conversation_id))


@bp.get("/messages/<id:conversation_id>/m/<id:message_id>")
def permalink(conversation_id: int, message_id: int) -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    conversation = policy.require_conversation(actor, conversation_id)
    page = messages.page_of_message(actor, conversation, message_id)
    target = url_for("messages.show", conversation_id=conversation.id, page=page)
    return redirect(f"{target}#m{message_id}")


@bp.post("/messages/<id:conversation_id>/m/<id:message_id>/delete")
@transaction.writes
def delete(conversation_id: int, message_id: int) -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    conversation = policy.require_conversation(actor, conversation_id)
    message = policy.require_message(actor, message_id)
    if message.conversation_id != conversation.id:
        raise NotFound()
    messages.delete_message(actor, message)
    flash("Your message was deleted.")
    return redirect(
        url_for("messages.permalink", conversation_id=conversation.id, message_id=message.id)
    )


@bp.post("/messages/<id:conversation_id>")
@transaction.writes
def reply(conversation_id: int) -> Page | Response:
    actor = context.current_actor()
    policy.require_member(actor)
    conversation = policy.require_conversation(actor, conversation_id)
    body = request.form.get("body", "")
    try:
        message = messages.send_message(actor, conversation, body=body)
    except Invalid as exc:
        transaction.discard()
        return _show_page(actor, conversation, 400, form={"body": body}, errors=exc.fields)
    except (Denied, RateLimited) as exc:
        transaction.discard()
        return _show_page(actor, conversation, exc.status, form={"body": body}, problem=exc.message)
    return redirect(
        url_for("messages.permalink", conversation_id=conversation.id, message_id=message.id)
    )


@bp.post("/messages/<id:conversation_id>/participants")
@transaction.writes
def add(conversation_id: int) -> Page | Response:
    actor = context.current_actor()
    policy.require_member(actor)
    conversation = policy.require_conversation(actor, conversation_id)
    names = request.form.get("usernames", "")
    try:
        added = messages.add_participants(actor, conversation, usernames=names)
    except Invalid as exc:
        transaction.discard()
        return _show_page(actor, conversation, 400, add_form=names, add_errors=exc.fields)
    except NotFound:
        transaction.discard()
        problem = {"usernames": "There is no member by that name to add."}
        return _show_page(actor, conversation, 404, add_form=names, add_errors=problem)
    except (Denied, RateLimited) as exc:
        transaction.discard()
        problem = {"usernames": exc.message}
        return _show_page(actor, conversation, exc.status, add_form=names, add_errors=problem)
    flash(f"Added: {', '.join(user.username for user in added)}.")
    return redirect(url_for("messages.show", conversation_id=conversation.id))


@bp.post("/messages/<id:conversation_id>/leave")
@transaction.writes
def leave(conversation_id: int) -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    conversation = policy.require_conversation(actor, conversation_id)
    messages.leave_conversation(actor, conversation)
    flash("You left the conversation.")
    return redirect(url_for("messages.index"))


def _report_page(actor: Actor, message_id: int, status: int = 200, **values: Any) -> Page:
    message = policy.require_message(actor, message_id)
    values.setdefault("errors", {})
    values.setdefault("form", {})
    values.setdefault("problem", None)
    html = render_template(
        "messages/report.html",
        message=message,
        reasons=REASON_LABELS,
        notice=messages.REPORT_NOTICE,
        **values,
    )
    return html, status


@bp.get("/messages/report/<id:message_id>")
def report_form(message_id: int) -> Page:
    actor = context.current_actor()
    policy.require_member(actor)
    return _report_page(actor, message_id)


@bp.post("/messages/report/<id:message_id>")
@transaction.writes
def report(message_id: int) -> Page | Response:
    actor = context.current_actor()
    policy.require_member(actor)
    message = policy.require_message(actor, message_id)
    form = {name: request.form.get(name, "") for name in ("reason", "note")}
    try:
        messages.report_message(actor, message, reason=form["reason"], note=form["note"])
    except Invalid as exc:
        transaction.discard()
        return _report_page(actor, message_id, 400, form=form, errors=exc.fields)
    except (Denied, Conflict) as exc:
        transaction.discard()
        return _report_page(actor, message_id, exc.status, form=form, problem=exc.message)
    flash("Thank you. The moderators will look at this message and the two before it.")
    return redirect(
        url_for(
            "messages.permalink", conversation_id=message.conversation_id, message_id=message.id
        )
    )


# --- blocks and the setting -----------------------------------------------------------


@bp.get("/account/messages")
def settings() -> str:
    actor = context.current_actor()
    policy.require_member(actor)
    return render_template(
        "messages/settings.html",
        member=context.current_member(),
        blocked=messages.blocked_users(actor),
    )


@bp.post("/account/messages")
@transaction.writes
def save_settings() -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    messages.set_messages_from_groups_only(
        actor, request.form.get("messages_from_groups_only") == "1"
    )
    flash("Saved.")
    return redirect(url_for("messages.settings"))


@bp.post("/u/<username>/block")
@transaction.writes
def block(username: str) -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    user = policy.require_user(actor, username)
    # No flash naming them: the profile says so from now on (and a flash would carry
    # the name in the session cookie).
    messages.block_user(actor, user)
    return redirect(url_for("users.profile", username=user.username))


@bp.post("/u/<username>/unblock")
@transaction.writes
def unblock(username: str) -> Response:
    actor = context.current_actor()
    policy.require_member(actor)
    user = policy.require_user(actor, username)
    messages.unblock_user(actor, user)
    if request.form.get("back") == "account":
        return redirect(url_for("messages.settings"))
    return redirect(url_for("users.profile", username=user.username))


# --- the moderators' window ------------------------------------------------------------


@bp.get("/mod/messages")
def reports() -> str:
    actor = context.current_actor()
    policy.require_moderator(actor)
    return render_template(
        "messages/mod_reports.html", reports=messages.open_message_reports(actor), tab="messages"
    )


@bp.get("/mod/messages/<id:message_report_id>")
def report_window(message_report_id: int) -> str:
    actor = context.current_actor()
    policy.require_moderator(actor)
    found = policy.require_message_report(actor, message_report_id)
    return render_template(
        "messages/mod_report.html",
        report=found,
        window=policy.reported_message_window(actor, found),
        reasons=REASON_LABELS,
        tab="messages",
    )


@bp.post("/mod/messages/<id:message_report_id>")
@transaction.writes
def resolve(message_report_id: int) -> Response:
    actor = context.current_actor()
    policy.require_moderator(actor)
    found = policy.require_message_report(actor, message_report_id)
    try:
        messages.resolve_message_report(actor, found, decision=request.form.get("decision"))
    except Invalid as exc:
        transaction.discard()
        flash(next(iter(exc.fields.values())))
        return redirect(url_for("messages.report_window", message_report_id=message_report_id))
    flash("The report is closed.")
    return redirect(url_for("messages.reports"))
