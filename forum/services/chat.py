"""Chat rooms: opening them, writing, reporting, moderating, and forgetting old history.

Services check policy, validate, mutate and flush; the write boundary commits. Every
change to a room's stream bumps `ChatRoom.revision`, which is what the live endpoint
compares (forum.blueprints.api.live), so a poll with nothing new costs no message query.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.errors import Invalid
from forum.errors import RateLimited
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.chat import ChatMessage
from forum.models.chat import ChatReport
from forum.models.chat import ChatRoom
from forum.models.groups import Group
from forum.models.moderation import FlagReason
from forum.policy import Actor
from forum.rendering import TooComplex
from forum.rendering import render_markdown

NAME_MAX = 80
# Chat messages are short: a line or a few.
MESSAGE_MAX = 2000
SLOW_MODE_MAX = 3600
RETENTION_MIN = 1
RETENTION_MAX = 365
# A flood cap whatever the slow mode: at most this many messages per minute per room.
FLOOD_PER_MINUTE = 12
# What one page (and one `after=` answer) shows at most.
PAGE_SIZE = 50
REPORT_REASONS = tuple(r.value for r in FlagReason)


def _bump(room: ChatRoom) -> None:
    room.revision = ChatRoom.revision + 1


def open_chat_room(actor: Actor, group: Group | None, *, name: Any) -> ChatRoom:
    """Open a room in a group (its owners) or on the site (admins); logged."""
    policy.check_open_chat_room(actor, group)
    clean = validation.text(name, "name", min_len=1, max_len=NAME_MAX)
    room = ChatRoom(group_id=group.id if group else None, name=clean, created_by_id=actor.user_id)
    db.session.add(room)
    db.session.flush()
    audit.record(
        actor,
        Action.CHAT_ROOM_OPENED,
        rank=policy.moderation_rank(actor, group),
        target_type="chat_room",
        target_id=room.id,
        group=group,
        data={"name": clean},
    )
    return room


def rooms(actor: Actor, group: Group | None) -> list[ChatRoom]:
    """The rooms of a group (or the site's) the actor may see, by name."""
    stmt = policy.visible_chat_rooms(actor)
    stmt = stmt.where(
        ChatRoom.group_id == group.id if group is not None else ChatRoom.group_id.is_(None)
    )
    return list(db.session.scalars(stmt.order_by(ChatRoom.name, ChatRoom.id)))


def messages(actor: Actor, room: ChatRoom, *, after: int | None = None) -> list[ChatMessage]:
    """The room's messages, oldest first: those after message id `after`, or the latest
    page (the room already came through `require_chat_room`)."""
    stmt = policy.visible_chat_messages(actor).where(ChatMessage.room_id == room.id)
    if after is not None:
        stmt = stmt.where(ChatMessage.id > after).order_by(ChatMessage.id).limit(PAGE_SIZE)
        return list(db.session.scalars(stmt))
    latest = list(db.session.scalars(stmt.order_by(ChatMessage.id.desc()).limit(PAGE_SIZE)))
    return latest[::-1]


def _check_pace(actor: Actor, room: ChatRoom, now: datetime) -> None:
    """Slow mode (the room's seconds between a member's messages) and the flood cap."""
    mine = select(ChatMessage.created_at).where(
        ChatMessage.room_id == room.id, ChatMessage.author_id == actor.user_id
    )
    if room.slow_mode_seconds:
        last = db.session.scalar(mine.order_by(ChatMessage.created_at.desc()).limit(1))
        if last is not None:
            wait = room.slow_mode_seconds - int((now - last).total_seconds())
            if wait > 0:
                raise RateLimited(
                    f"Slow mode is on in this room: you can write again in {wait} seconds.",
                    retry_after=wait,
                )
    recent = db.session.scalar(
        select(func.count()).select_from(
            mine.where(ChatMessage.created_at > now - timedelta(minutes=1)).subquery()
        )
    )
    if (recent or 0) >= FLOOD_PER_MINUTE:
        raise RateLimited("You are writing very fast: please wait a minute.", retry_after=60)


def post_chat_message(actor: Actor, room: ChatRoom, *, body: Any) -> ChatMessage:
    """Write a message (Markdown through the sanitiser); slow mode and the flood cap
    answer `RateLimited`."""
    policy.check_post_chat_message(actor, room)
    clean = validation.text(body, "body", min_len=1, max_len=MESSAGE_MAX, label="Message")
    now = utcnow()
    _check_pace(actor, room, now)
    try:
        html = render_markdown(clean, links=actor.trust_level_in(room.group_id) > 0)
    except TooComplex as exc:
        raise Invalid("body", exc.message) from exc
    message = ChatMessage(
        room_id=room.id, author_id=actor.user_id, body=clean, html=html, created_at=now
    )
    db.session.add(message)
    _bump(room)
    db.session.flush()
    return message


def report_chat_message(actor: Actor, message: ChatMessage, *, reason: Any) -> ChatReport:
    """Ask the room's moderators to look at a message (again: the same report)."""
    policy.check_report_chat_message(actor, message)
    clean = validation.choice(reason, "reason", REPORT_REASONS)
    found: ChatReport | None = db.session.scalar(
        select(ChatReport).where(
            ChatReport.message_id == message.id, ChatReport.reporter_id == actor.user_id
        )
    )
    if found is not None:
        return found
    report = ChatReport(message_id=message.id, reporter_id=actor.user_id, reason=clean)
    db.session.add(report)
    db.session.flush()
    return report


def open_reports(actor: Actor, room: ChatRoom) -> list[tuple[ChatMessage, list[str]]]:
    """The room's reported messages still waiting, each with its reasons (never who
    reported), for its moderators; nobody else gets any."""
    found: dict[int, tuple[ChatMessage, list[str]]] = {}
    for report in db.session.scalars(policy.visible_chat_reports(actor, room)):
        entry = found.setdefault(report.message_id, (report.message, []))
        if report.reason not in entry[1]:
            entry[1].append(report.reason)
    return list(found.values())


def _handle_reports(message: ChatMessage, now: datetime) -> None:
    db.session.execute(
        update(ChatReport)
        .where(ChatReport.message_id == message.id, ChatReport.handled_at.is_(None))
        .values(handled_at=now)
    )


def hide_chat_message(actor: Actor, message: ChatMessage, *, reason: Any = "") -> bool:
    """Hide a message from the stream (its reports handled); logged. False if hidden."""
    room = message.room
    policy.check_moderate_chat_room(actor, room)
    clean = audit.clean_reason(reason, required=False)
    if message.hidden_at is not None:
        return False
    now = utcnow()
    message.hidden_at = now
    message.hidden_by_id = actor.user_id
    _handle_reports(message, now)
    _bump(room)
    db.session.flush()
    audit.record(
        actor,
        Action.CHAT_MESSAGE_HIDDEN,
        rank=policy.moderation_rank(actor, room.group),
        target_type="chat_message",
        target_id=message.id,
        group=room.group,
        reason=clean,
        data={"room": room.id, "user": message.author_id},
    )
    return True


def dismiss_chat_reports(actor: Actor, message: ChatMessage) -> bool:
    """Leave a reported message as it is and close its reports; logged."""
    room = message.room
    policy.check_moderate_chat_room(actor, room)
    result = db.session.execute(
        update(ChatReport)
        .where(ChatReport.message_id == message.id, ChatReport.handled_at.is_(None))
        .values(handled_at=utcnow())
    )
    if not getattr(result, "rowcount", 0):
        return False
    audit.record(
        actor,
        Action.CHAT_REPORTS_DISMISSED,
        rank=policy.moderation_rank(actor, room.group),
        target_type="chat_message",
        target_id=message.id,
        group=room.group,
        data={"room": room.id, "user": message.author_id},
    )
    return True


def change_chat_room(
    actor: Actor,
    room: ChatRoom,
    *,
    slow_mode_seconds: Any = None,
    retention_days: Any = None,
) -> bool:
    """Set slow mode (the room's moderators) and how long history is kept (its owners);
    None leaves a setting alone. Logged; False if nothing changed."""
    changes: dict[str, Any] = {}
    if slow_mode_seconds is not None:
        policy.check_moderate_chat_room(actor, room)
        seconds = validation.integer(
            slow_mode_seconds, "slow_mode_seconds", minimum=0, maximum=SLOW_MODE_MAX
        )
        if seconds != room.slow_mode_seconds:
            changes["slow_mode_seconds"] = seconds
    if retention_days is not None:
        policy.check_manage_chat_room(actor, room)
        days = validation.integer(
            retention_days, "retention_days", minimum=RETENTION_MIN, maximum=RETENTION_MAX
        )
        if days != room.retention_days:
            changes["retention_days"] = days
    if not changes:
        return False
    for key, value in changes.items():
        setattr(room, key, value)
    db.session.flush()
    audit.record(
        actor,
        Action.CHAT_ROOM_SETTINGS_CHANGED,
        rank=policy.moderation_rank(actor, room.group),
        target_type="chat_room",
        target_id=room.id,
        group=room.group,
        data=changes,
    )
    return True


def prune_chat_messages(now: datetime | None = None) -> int:
    """Delete messages older than their room's retention (the periodic job); flushes."""
    now = now or utcnow()
    deleted = 0
    for days in db.session.scalars(select(ChatRoom.retention_days).distinct()):
        rooms_kept = select(ChatRoom.id).where(ChatRoom.retention_days == days)
        cutoff = now - timedelta(days=days)
        old = select(ChatMessage.id).where(
            ChatMessage.room_id.in_(rooms_kept), ChatMessage.created_at < cutoff
        )
        db.session.execute(delete(ChatReport).where(ChatReport.message_id.in_(old)))
        result = db.session.execute(
            delete(ChatMessage)
            .where(ChatMessage.room_id.in_(rooms_kept), ChatMessage.created_at < cutoff)
            .execution_options(synchronize_session=False)
        )
        deleted += int(getattr(result, "rowcount", 0) or 0)
    db.session.flush()
    return deleted
