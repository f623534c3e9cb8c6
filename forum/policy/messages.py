"""Private messages and blocks: who reads a conversation, who may message whom, and the
one window moderators get onto a reported message.

The rules:

* A conversation exists only for its current participants: anyone else (another member,
  a moderator, an admin: there is no break-glass for messages) and a participant who
  left get `NotFound`, exactly like a conversation that never was.
* A participant reads the messages written since they (last) joined.
* Messaging a member (starting a conversation, adding them to one): the member must be
  one the actor may see (`visible_users`); then the refusals the sender may know about
  (403: the actor is silenced, the member takes messages only from fellow group members,
  the actor is a new member who may only answer); last the ones they must not learn
  (404, like an unknown name: the member blocked them, or is suspended). The 403s come
  first so that a 404 never tells a block apart from an unknown name.
* A reported message, and the two before it in its conversation, are readable by the
  site moderators who handle the report, through the report only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ScalarSelect
from sqlalchemy import Select
from sqlalchemy import false
from sqlalchemy import select

from forum.errors import Denied
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import Membership
from forum.models.messages import Conversation
from forum.models.messages import ConversationMessage
from forum.models.messages import ConversationParticipant
from forum.models.messages import MessageReport
from forum.models.messages import UserBlock
from forum.models.users import User
from forum.policy.actors import Actor
from forum.policy.checks import _require_writer
from forum.policy.checks import passes
from forum.policy.checks import require_member
from forum.policy.users import can_see_user

# A conversation holds at most this many participants at a time.
MAX_PARTICIPANTS = 20
# Messages before a reported one that its moderators read for context.
REPORT_CONTEXT = 2


def _active_conversation_ids(actor: Actor) -> Select[int]:
    return select(ConversationParticipant.conversation_id).where(
        ConversationParticipant.user_id == actor.user_id,
        ConversationParticipant.left_at.is_(None),
    )


def visible_conversations(actor: Actor) -> Select[Conversation]:
    """Conversations the actor takes part in now (guests, and anyone else: none)."""
    if not actor.is_member:
        return select(Conversation).where(false())
    return select(Conversation).where(Conversation.id.in_(_active_conversation_ids(actor)))


def require_conversation(actor: Actor, conversation_id: int) -> Conversation:
    """The conversation, if the actor takes part in it now; else `NotFound`."""
    found: Conversation | None = db.session.scalar(
        visible_conversations(actor).where(Conversation.id == conversation_id)
    )
    if found is None:
        raise NotFound()
    return found


def participation(actor: Actor, conversation: Conversation) -> ConversationParticipant | None:
    """The actor's current place in the conversation (None: not a participant now)."""
    if not actor.is_member:
        return None
    row: ConversationParticipant | None = db.session.scalar(
        select(ConversationParticipant).where(
            ConversationParticipant.conversation_id == conversation.id,
            ConversationParticipant.user_id == actor.user_id,
            ConversationParticipant.left_at.is_(None),
        )
    )
    return row


def _joined_at(actor: Actor, conversation_id: int) -> ScalarSelect[datetime]:
    return (
        select(ConversationParticipant.joined_at)
        .where(
            ConversationParticipant.conversation_id == conversation_id,
            ConversationParticipant.user_id == actor.user_id,
            ConversationParticipant.left_at.is_(None),
        )
        .scalar_subquery()
    )


def visible_messages(actor: Actor, conversation: Conversation) -> Select[ConversationMessage]:
    """The conversation's messages the actor may read: written since they joined, while
    they take part (none otherwise)."""
    if not actor.is_member:
        return select(ConversationMessage).where(false())
    return select(ConversationMessage).where(
        ConversationMessage.conversation_id == conversation.id,
        ConversationMessage.created_at >= _joined_at(actor, conversation.id),
    )


def require_message(actor: Actor, message_id: int) -> ConversationMessage:
    """A message the actor may read as a participant; else `NotFound`."""
    message: ConversationMessage | None = db.session.get(ConversationMessage, message_id)
    if message is None or not actor.is_member:
        raise NotFound()
    conversation = db.session.get(Conversation, message.conversation_id)
    if conversation is None:
        raise NotFound()
    found = db.session.scalar(
        visible_messages(actor, conversation)
        .where(ConversationMessage.id == message_id)
        .with_only_columns(ConversationMessage.id)
    )
    if found is None:
        raise NotFound()
    return message


# --- blocks -------------------------------------------------------------------------


def blocked_ids(actor: Actor) -> frozenset[int]:
    """Ids of the members the actor blocked (guests: none, no query)."""
    if not actor.is_member:
        return frozenset()
    mine = select(UserBlock.blocked_id).where(UserBlock.blocker_id == actor.user_id)
    return frozenset(db.session.scalars(mine))


def blockers_of(user_id: int, among: list[int]) -> frozenset[int]:
    """Which of the members `among` blocked the member `user_id`."""
    if not among:
        return frozenset()
    return frozenset(
        db.session.scalars(
            select(UserBlock.blocker_id).where(
                UserBlock.blocked_id == user_id, UserBlock.blocker_id.in_(sorted(set(among)))
            )
        )
    )


def check_block(actor: Actor, user: User) -> None:
    """Raise unless the actor may block (or unblock) the member: any member they can see,
    never themselves."""
    _require_writer(actor)
    if user.is_deleted or not can_see_user(actor, user):
        raise NotFound()
    if user.id == actor.user_id:
        raise Denied("You cannot block yourself.", code="self")


def can_block(actor: Actor, user: User) -> bool:
    """True if `check_block` lets the actor block the member (the profile's button)."""
    return passes(check_block, actor, user)


# --- messaging ------------------------------------------------------------------------


def _is_staff(user: User) -> bool:
    return user.is_moderator or user.is_admin


def _shares_group(actor: Actor, user: User) -> bool:
    if not actor.group_ids:
        return False
    found = db.session.scalar(
        select(Membership.id)
        .where(Membership.user_id == user.id, Membership.group_id.in_(sorted(actor.group_ids)))
        .limit(1)
    )
    return found is not None


def _messaged_first(actor: Actor, user: User) -> bool:
    """True if `user` wrote a message in a conversation the actor takes part in."""
    found = db.session.scalar(
        select(ConversationMessage.id)
        .where(
            ConversationMessage.author_id == user.id,
            ConversationMessage.conversation_id.in_(_active_conversation_ids(actor)),
        )
        .limit(1)
    )
    return found is not None


def check_message_member(actor: Actor, user: User) -> None:
    """Raise unless the actor may message the member (start a conversation with them or
    add them to one). See the module docstring for the order of the refusals."""
    _require_writer(actor)
    if user.is_deleted or user.id == actor.user_id or not can_see_user(actor, user):
        raise NotFound()
    staff_sender = actor.is_site_moderator or actor.is_admin
    if actor.silenced and not _is_staff(user):
        raise Denied("You are silenced and can message only moderators for now.", code="silenced")
    # Staff are reachable by everyone, and reach everyone, whatever the setting says.
    exempt = staff_sender or _is_staff(user)
    if user.messages_from_groups_only and not exempt and not _shares_group(actor, user):
        raise Denied(
            f"{user.username} takes messages only from members of their groups.",
            code="groups_only",
        )
    if actor.trust_level < 1 and not staff_sender and not _is_staff(user):
        if not _messaged_first(actor, user):
            raise Denied(
                "New members can message moderators, and answer members who messaged "
                "them first; you can message anyone once you have been around a little "
                "longer.",
                code="trust_level",
            )
    # Refusals the sender must not learn about: they answer like an unknown name.
    if user.is_suspended(utcnow()):
        raise NotFound()
    if blockers_of(actor.user_id or 0, [user.id]):
        raise NotFound()


def can_message_member(actor: Actor, user: User) -> bool:
    """True if the actor may message the member (the profile's "Message" button)."""
    return passes(check_message_member, actor, user)


def _others_include_staff(actor: Actor, conversation: Conversation) -> bool:
    found = db.session.scalar(
        select(User.id)
        .join(ConversationParticipant, ConversationParticipant.user_id == User.id)
        .where(
            ConversationParticipant.conversation_id == conversation.id,
            ConversationParticipant.left_at.is_(None),
            User.id != actor.user_id,
            (User.is_moderator.is_(True)) | (User.is_admin.is_(True)),
        )
        .limit(1)
    )
    return found is not None


def check_send_message(actor: Actor, conversation: Conversation) -> None:
    """Raise unless the actor may write in the conversation: a participant now, not
    silenced (a silenced member may still answer in a conversation with a moderator)."""
    require_member(actor)
    if participation(actor, conversation) is None:
        raise NotFound()
    if actor.silenced and not _others_include_staff(actor, conversation):
        raise Denied("You are silenced and cannot send messages for now.", code="silenced")


def can_send_message(actor: Actor, conversation: Conversation) -> bool:
    """True if `check_send_message` lets the actor write in the conversation."""
    return passes(check_send_message, actor, conversation)


def check_add_participant(actor: Actor, conversation: Conversation, user: User) -> None:
    """Raise unless the actor may add the member: a participant adding someone they may
    message (see `check_message_member`)."""
    check_send_message(actor, conversation)
    check_message_member(actor, user)


def can_add_participants(actor: Actor, conversation: Conversation) -> bool:
    """True if the actor may add people to the conversation at all (the form shows)."""
    return passes(check_send_message, actor, conversation)


def check_leave_conversation(actor: Actor, conversation: Conversation) -> None:
    """Raise unless the actor takes part in the conversation (and so may leave it)."""
    require_member(actor)
    if participation(actor, conversation) is None:
        raise NotFound()


def check_report_message(actor: Actor, message: ConversationMessage) -> None:
    """Raise unless the actor may report the message: one they read, someone else's."""
    require_member(actor)
    require_message(actor, message.id)
    if message.author_id == actor.user_id:
        raise Denied("You cannot report your own message.", code="own_message")
    if message.deleted_at is not None:
        raise Denied("Its author deleted this message.", code="deleted")


def can_report_message(actor: Actor, message: ConversationMessage) -> bool:
    """True if `check_report_message` lets the actor report the message."""
    return passes(check_report_message, actor, message)


def check_delete_message(actor: Actor, message: ConversationMessage) -> None:
    """Raise unless the actor may delete the message: their own, in a conversation they
    take part in (anyone else's: 403, as they can see it; one they cannot see: 404)."""
    require_member(actor)
    require_message(actor, message.id)
    if message.author_id != actor.user_id:
        raise Denied("You can delete only your own messages.", code="not_author")


def can_delete_message(actor: Actor, message: ConversationMessage) -> bool:
    """True if `check_delete_message` lets the actor delete the message."""
    return passes(check_delete_message, actor, message)


# --- the moderators' window onto reported messages ----------------------------------


def _handles_message_reports(actor: Actor) -> bool:
    # Site moderators (admins are site moderators too) handle reported messages, and only
    # while not silenced. Group moderators do not: a conversation belongs to no group.
    return actor.is_member and actor.is_site_moderator and not actor.silenced


def visible_message_reports(actor: Actor) -> Select[MessageReport]:
    """Reports of private messages the actor handles (site moderators; others: none)."""
    if not _handles_message_reports(actor):
        return select(MessageReport).where(false())
    return select(MessageReport)


def require_message_report(actor: Actor, report_id: int) -> MessageReport:
    """A message report the actor handles; else `NotFound`."""
    found: MessageReport | None = db.session.scalar(
        visible_message_reports(actor).where(MessageReport.id == report_id)
    )
    if found is None:
        raise NotFound()
    return found


def reported_message_window(actor: Actor, report: MessageReport) -> list[ConversationMessage]:
    """What the moderator handling a report reads: the reported message and the two
    before it in its conversation, oldest first. Nothing else of the conversation."""
    require_message_report(actor, report.id)
    message = report.message
    # Only what the reporter could read themselves: someone added later cannot open
    # earlier messages to moderators by reporting the first one they saw.
    joined = db.session.scalar(
        select(ConversationParticipant.joined_at).where(
            ConversationParticipant.conversation_id == message.conversation_id,
            ConversationParticipant.user_id == report.reporter_id,
        )
    )
    since = joined if joined is not None else message.created_at
    found = list(
        db.session.scalars(
            select(ConversationMessage)
            .where(
                ConversationMessage.conversation_id == message.conversation_id,
                ConversationMessage.id <= message.id,
                ConversationMessage.created_at >= since,
            )
            .order_by(ConversationMessage.id.desc())
            .limit(REPORT_CONTEXT + 1)
        )
    )
    return list(reversed(found))
