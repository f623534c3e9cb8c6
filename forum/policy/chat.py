"""Chat rooms: who may know a room exists, read it, write in it, open and moderate it.

A room has its group's visibility: a secret group's rooms exist only for its members
(anyone else: 404, exactly like a room that never existed). A site room (no group) is
read like the boards outside groups. Writing needs membership of the group (any member,
for a site room) and no silence, site-wide or in the group: the same sanctions as posts.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select

from forum.errors import Denied
from forum.errors import NotFound
from forum.extensions import db
from forum.models.chat import ChatMessage
from forum.models.chat import ChatReport
from forum.models.chat import ChatRoom
from forum.models.groups import Group
from forum.models.groups import Visibility
from forum.policy.actors import Actor
from forum.policy.checks import _deny_silenced
from forum.policy.checks import passes
from forum.policy.checks import require_member
from forum.policy.groups import check_manage_group
from forum.policy.ranks import check_moderate_scope
from forum.policy.ranks import require_admin


def _room_readable(actor: Actor) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if actor.reads_public:
        public = select(Group.id).where(Group.visibility == Visibility.PUBLIC)
        conditions.append(ChatRoom.group_id.is_(None))
        conditions.append(ChatRoom.group_id.in_(public))
    if actor.readable_group_ids:
        conditions.append(ChatRoom.group_id.in_(sorted(actor.readable_group_ids)))
    return or_(*conditions) if conditions else false()


def visible_chat_rooms(actor: Actor) -> Select[ChatRoom]:
    """Rooms the actor may know exist: the site's and public groups' (if they read the
    site), and those of the groups they read."""
    return select(ChatRoom).where(_room_readable(actor))


def visible_chat_messages(actor: Actor) -> Select[ChatMessage]:
    """Messages the actor may read: not hidden, in rooms they may see."""
    return (
        select(ChatMessage)
        .join(ChatRoom, ChatRoom.id == ChatMessage.room_id)
        .where(and_(_room_readable(actor), ChatMessage.hidden_at.is_(None)))
    )


def require_chat_room(actor: Actor, room_id: int) -> ChatRoom:
    """The room, if the actor may know it exists; else `NotFound`."""
    room: ChatRoom | None = db.session.scalar(
        visible_chat_rooms(actor).where(ChatRoom.id == room_id)
    )
    if room is None:
        raise NotFound()
    return room


def require_chat_message(actor: Actor, message_id: int) -> ChatMessage:
    """The message, if the actor may read it; else `NotFound`."""
    message: ChatMessage | None = db.session.scalar(
        visible_chat_messages(actor).where(ChatMessage.id == message_id)
    )
    if message is None:
        raise NotFound()
    return message


def can_see_chat_room(actor: Actor, room: ChatRoom) -> bool:
    """True if the actor may know the room exists (agrees with `visible_chat_rooms`)."""
    if room.group_id is None:
        return actor.reads_public
    if room.group_id in actor.readable_group_ids:
        return True
    group = room.group
    return actor.reads_public and group is not None and not group.is_secret


def check_open_chat_room(actor: Actor, group: Group | None) -> None:
    """Raise unless the actor may open a room: a group's owners (and admins, as for the
    group's other settings); for the site, admins."""
    if group is None:
        require_admin(actor)
        if actor.silenced:
            raise Denied("Only admins open the site's chat rooms.")
        return
    check_manage_group(actor, group, "open chat rooms")


def can_open_chat_room(actor: Actor, group: Group | None) -> bool:
    """True if `check_open_chat_room` lets the actor open a room there."""
    return passes(check_open_chat_room, actor, group)


def check_post_chat_message(actor: Actor, room: ChatRoom) -> None:
    """Raise unless the actor may write in the room (the room is visible to them): a
    member of its group (any member, for a site room), not silenced there."""
    require_member(actor)
    if room.group_id is not None and room.group_id not in actor.group_ids:
        raise Denied("Only the group's members write in its chat rooms.")
    _deny_silenced(actor, room.group_id, "write in chat rooms")


def can_post_chat_message(actor: Actor, room: ChatRoom) -> bool:
    """True if `check_post_chat_message` lets the actor write in the room."""
    return passes(check_post_chat_message, actor, room)


def check_moderate_chat_room(actor: Actor, room: ChatRoom) -> None:
    """Raise unless the actor moderates the room's scope (hide messages, slow mode,
    reports): the group's moderators, or the site's for a site room."""
    check_moderate_scope(actor, room.group)


def can_moderate_chat_room(actor: Actor, room: ChatRoom) -> bool:
    """True if `check_moderate_chat_room` finds that the actor moderates the room."""
    return passes(check_moderate_chat_room, actor, room)


def check_manage_chat_room(actor: Actor, room: ChatRoom) -> None:
    """Raise unless the actor runs the room (its name and how long its history is kept):
    whoever may open rooms there."""
    check_open_chat_room(actor, room.group)


def can_manage_chat_room(actor: Actor, room: ChatRoom) -> bool:
    """True if `check_manage_chat_room` lets the actor change the room's settings."""
    return passes(check_manage_chat_room, actor, room)


def check_report_chat_message(actor: Actor, message: ChatMessage) -> None:
    """Raise unless the actor may report the message (visible to them): any member but
    its author."""
    require_member(actor)
    if message.author_id == actor.user_id:
        raise Denied("You cannot report your own message.")


def can_report_chat_message(actor: Actor, message: ChatMessage) -> bool:
    """True if `check_report_chat_message` lets the actor report the message."""
    return passes(check_report_chat_message, actor, message)


def visible_chat_reports(actor: Actor, room: ChatRoom) -> Select[ChatReport]:
    """The room's open reports, for its moderators (nobody else: none)."""
    stmt = (
        select(ChatReport)
        .join(ChatMessage, ChatMessage.id == ChatReport.message_id)
        .where(ChatMessage.room_id == room.id, ChatReport.handled_at.is_(None))
    )
    return stmt if can_moderate_chat_room(actor, room) else stmt.where(false())
