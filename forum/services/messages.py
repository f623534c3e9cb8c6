"""Private messages: starting conversations, writing, adding people, leaving, reading
with unread marks, reporting a message; and members' blocks and their "who may message
me" setting.

Every rule is policy's (`forum.policy.messages`); this module validates, writes and
flushes, and tells the other participants (a `message` notification each, never with the
message's words). It never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.errors import Conflict
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.listings import Page
from forum.listings import _paged
from forum.models.base import utcnow
from forum.models.messages import Conversation
from forum.models.messages import ConversationMessage
from forum.models.messages import ConversationParticipant
from forum.models.messages import MessageReport
from forum.models.messages import UserBlock
from forum.models.moderation import FlagReason
from forum.models.notifications import Notification
from forum.models.users import User
from forum.policy import Actor
from forum.rendering import TooComplex
from forum.rendering import render_markdown
from forum.services import limits
from forum.services import notifications

MESSAGES_PER_PAGE = 20
CONVERSATIONS_PER_PAGE = 30
REPORT_REASONS: tuple[str, ...] = tuple(reason.value for reason in FlagReason)
NOTE_MAX = 500
# Shown in every conversation, before anyone reports anything.
REPORT_NOTICE = "If you report a message, moderators will see it and the two before it."


def _names(value: Any, field: str) -> list[str]:
    """A list of usernames (text), without repeats (any case), or `Invalid`."""
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    if not isinstance(value, list) or not value:
        raise Invalid(field, "Name at least one member.")
    found: dict[str, str] = {}
    for name in value:
        if not isinstance(name, str) or not name.strip():
            raise Invalid(field, "Each name must be a username.")
        found.setdefault(name.strip().lstrip("@").lower(), name.strip().lstrip("@"))
    return list(found.values())


def _member_to_message(actor: Actor, name: str) -> User:
    """The member by name whom the actor may message; `NotFound` alike for an unknown,
    hidden, suspended or blocking one (policy.check_message_member)."""
    if len(name) > validation.USERNAME_MAX:
        raise NotFound()
    user: User | None = db.session.scalar(
        select(User).where(User.username_key == name.lower(), User.deleted_at.is_(None))
    )
    if user is None:
        raise NotFound()
    policy.check_message_member(actor, user)
    return user


def _render(actor: Actor, body: str) -> str:
    try:
        # Links only from trust level 1, as in posts (spam by private message is worse).
        return render_markdown(body, links=actor.trust_level >= 1)
    except TooComplex as exc:
        raise Invalid("body", exc.message) from exc


def _active(conversation: Conversation) -> list[ConversationParticipant]:
    return list(
        db.session.scalars(
            select(ConversationParticipant)
            .where(
                ConversationParticipant.conversation_id == conversation.id,
                ConversationParticipant.left_at.is_(None),
            )
            .order_by(ConversationParticipant.id)
        )
    )


def _write(actor: Actor, conversation: Conversation, body: str) -> ConversationMessage:
    author_id = policy.require_member(actor)
    now = utcnow()
    message = ConversationMessage(
        conversation_id=conversation.id,
        author_id=author_id,
        body=body,
        html=_render(actor, body),
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    conversation.last_message_id = message.id
    conversation.last_message_at = now
    others = [p.user_id for p in _active(conversation) if p.user_id != author_id]
    db.session.execute(
        update(ConversationParticipant)
        .where(
            ConversationParticipant.conversation_id == conversation.id,
            ConversationParticipant.user_id == author_id,
        )
        .values(last_read_message_id=message.id)
        .execution_options(synchronize_session=False)
    )
    # The header's count of unread conversations looks only while this flag is up.
    if others:
        db.session.execute(
            update(User)
            .where(User.id.in_(others))
            .values(has_unread_messages=True)
            .execution_options(synchronize_session=False)
        )
    # Those who blocked the author are not told (and the author never learns who did).
    blockers = policy.blockers_of(author_id, others)
    for user_id in others:
        if user_id not in blockers:
            notifications.notify_acted(
                user_id,
                "message",
                author_id,
                conversation_id=conversation.id,
                message_id=message.id,
            )
    db.session.flush()
    return message


def start_conversation(actor: Actor, *, recipients: Any, title: Any, body: Any) -> Conversation:
    """Start a conversation with up to 19 others; `NotFound` for a recipient the actor may
    not message without being told why (unknown, hidden, blocking, suspended)."""
    user_id = policy.require_member(actor)
    names = _names(recipients, "recipients")
    me = db.session.get(User, user_id)
    if me is not None and me.username_key in {name.lower() for name in names}:
        raise Invalid("recipients", "You cannot send a message to yourself.")
    if len(names) + 1 > policy.MAX_PARTICIPANTS:
        raise Invalid(
            "recipients",
            f"A conversation can have at most {policy.MAX_PARTICIPANTS} people, you included.",
        )
    users = [_member_to_message(actor, name) for name in names]
    clean_title = validation.title(title)
    clean_body = validation.body(body)
    limits.check_can_message(actor)
    now = utcnow()
    conversation = Conversation(
        title=clean_title, starter_id=user_id, created_at=now, last_message_at=now
    )
    db.session.add(conversation)
    db.session.flush()
    for member_id in [user_id, *(u.id for u in users)]:
        db.session.add(
            ConversationParticipant(
                conversation_id=conversation.id, user_id=member_id, joined_at=now
            )
        )
    db.session.flush()
    _write(actor, conversation, clean_body)
    return conversation


def send_message(actor: Actor, conversation: Conversation, *, body: Any) -> ConversationMessage:
    """Add a message to a conversation the actor takes part in."""
    policy.check_send_message(actor, conversation)
    clean_body = validation.body(body)
    limits.check_can_message(actor)
    return _write(actor, conversation, clean_body)


def add_participants(actor: Actor, conversation: Conversation, *, usernames: Any) -> list[User]:
    """Add members the actor may message (each `NotFound` like an unknown name if not);
    at most `MAX_PARTICIPANTS` at a time. They read the conversation from now on."""
    policy.check_send_message(actor, conversation)
    names = _names(usernames, "usernames")
    active = {p.user_id for p in _active(conversation)}
    users = [_member_to_message(actor, name) for name in names]
    new = [user for user in users if user.id not in active]
    if not new:
        raise Invalid("usernames", "They already take part in this conversation.")
    if len(active) + len(new) > policy.MAX_PARTICIPANTS:
        raise Invalid(
            "usernames",
            f"A conversation can have at most {policy.MAX_PARTICIPANTS} people.",
        )
    now = utcnow()
    for user in new:
        row: ConversationParticipant | None = db.session.scalar(
            select(ConversationParticipant).where(
                ConversationParticipant.conversation_id == conversation.id,
                ConversationParticipant.user_id == user.id,
            )
        )
        if row is None:
            db.session.add(
                ConversationParticipant(
                    conversation_id=conversation.id, user_id=user.id, joined_at=now
                )
            )
        else:
            # A new stint: what was said while they were away stays unread by them.
            row.joined_at = now
            row.left_at = None
            row.last_read_message_id = conversation.last_message_id or 0
    # Someone new to it has its latest message unread (the list marks it so too).
    db.session.execute(
        update(User)
        .where(User.id.in_([user.id for user in new]))
        .values(has_unread_messages=True)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return new


def leave_conversation(actor: Actor, conversation: Conversation) -> None:
    """Leave a conversation: from now on it (and its notifications) is gone for the actor."""
    policy.check_leave_conversation(actor, conversation)
    row = policy.participation(actor, conversation)
    if row is not None:
        row.left_at = utcnow()
    db.session.flush()
    _refresh_unread_messages(actor)


def leave_all(user: User) -> None:
    """Take a member out of every conversation (their account is being deleted): the
    others keep their copies, with the author shown as "deleted member"."""
    db.session.execute(
        update(ConversationParticipant)
        .where(
            ConversationParticipant.user_id == user.id,
            ConversationParticipant.left_at.is_(None),
        )
        .values(left_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(UserBlock).where(UserBlock.blocker_id == user.id))


@dataclass(frozen=True)
class ConversationEntry:
    """A conversation in the actor's list: who else takes part, and whether it is new."""

    conversation: Conversation
    others: list[str]
    unread: bool
    # Everyone taking part now, the actor included.
    participants: list[str]


def conversations(actor: Actor, *, page: int = 1) -> Page[ConversationEntry]:
    """The actor's conversations, latest message first, each marked unread or not."""
    user_id = policy.require_member(actor)
    scope = policy.visible_conversations(actor)
    total = int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)
    found = _paged(
        scope.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()),
        total,
        page,
        CONVERSATIONS_PER_PAGE,
    )
    ids = [c.id for c in found.items]
    people: dict[int, list[str]] = {cid: [] for cid in ids}
    everyone: dict[int, list[str]] = {cid: [] for cid in ids}
    read: dict[int, int] = {}
    if ids:
        for row in db.session.scalars(
            select(ConversationParticipant)
            .where(
                ConversationParticipant.conversation_id.in_(ids),
                ConversationParticipant.left_at.is_(None),
            )
            .order_by(ConversationParticipant.id)
        ):
            everyone[row.conversation_id].append(row.user.shown_name)
            if row.user_id == user_id:
                read[row.conversation_id] = row.last_read_message_id
            else:
                people[row.conversation_id].append(row.user.shown_name)
    entries = [
        ConversationEntry(
            conversation=c,
            others=people[c.id],
            unread=(c.last_message_id or 0) > read.get(c.id, 0),
            participants=everyone[c.id],
        )
        for c in found.items
    ]
    return Page(
        items=entries,
        page=found.page,
        pages=found.pages,
        total=found.total,
        per_page=found.per_page,
    )


def participants(actor: Actor, conversation: Conversation) -> list[User]:
    """Who takes part in the conversation now (for its participants only)."""
    policy.check_leave_conversation(actor, conversation)
    return [p.user for p in _active(conversation)]


def messages(
    actor: Actor, conversation: Conversation, *, page: int | None = None
) -> Page[ConversationMessage]:
    """A page of the messages the actor may read, oldest first (None: the last page)."""
    scope = policy.visible_messages(actor, conversation)
    total = int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)
    pages = max(1, -(-total // MESSAGES_PER_PAGE))
    chosen = pages if page is None else min(max(1, page), pages)
    return _paged(scope.order_by(ConversationMessage.id), total, chosen, MESSAGES_PER_PAGE)


def page_of_message(actor: Actor, conversation: Conversation, message_id: int) -> int:
    """The page a message the actor may read is on; `NotFound` for any other."""
    scope = policy.visible_messages(actor, conversation)
    found = db.session.scalar(
        scope.where(ConversationMessage.id == message_id).with_only_columns(ConversationMessage.id)
    )
    if found is None:
        raise NotFound()
    before = int(
        db.session.scalar(
            select(func.count()).select_from(
                scope.where(ConversationMessage.id < message_id).subquery()
            )
        )
        or 0
    )
    return before // MESSAGES_PER_PAGE + 1


def mark_read(
    actor: Actor, conversation: Conversation, shown: Sequence[ConversationMessage]
) -> None:
    """Move the actor's read mark forward to the newest message they were shown."""
    row = policy.participation(actor, conversation)
    if row is None or not shown:
        return
    newest = max(m.id for m in shown)
    if newest > row.last_read_message_id:
        row.last_read_message_id = newest
        db.session.flush()
        _refresh_unread_messages(actor)
    # The notifications about what they have now read are read too.
    told = list(
        db.session.scalars(
            policy.visible_notifications(actor)
            .where(
                Notification.conversation_id == conversation.id,
                Notification.message_id <= newest,
                Notification.read_at.is_(None),
            )
            .with_only_columns(Notification.id)
        )
    )
    if told:
        notifications.mark_read(actor, told)


def _unread_scope(actor: Actor) -> Any:
    # The actor's conversations with a message newer than their read mark.
    return (
        policy.visible_conversations(actor)
        .join(
            ConversationParticipant,
            and_(
                ConversationParticipant.conversation_id == Conversation.id,
                ConversationParticipant.user_id == actor.user_id,
                ConversationParticipant.left_at.is_(None),
            ),
        )
        .where(
            func.coalesce(Conversation.last_message_id, 0)
            > ConversationParticipant.last_read_message_id
        )
    )


def unread_conversation_count(actor: Actor) -> int:
    """How many of the actor's conversations have a message they have not read (the
    header's count; callers ask only while `users.has_unread_messages` is up)."""
    if not actor.is_member:
        return 0
    scope = _unread_scope(actor)
    return int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)


def _refresh_unread_messages(actor: Actor) -> None:
    # Lowered once nothing is left unread, so that the header stops counting.
    if actor.user_id is None:
        return
    left = db.session.scalar(_unread_scope(actor).with_only_columns(Conversation.id).limit(1))
    if left is None:
        db.session.execute(
            update(User)
            .where(User.id == actor.user_id)
            .values(has_unread_messages=False)
            .execution_options(synchronize_session=False)
        )


def _has_open_report(message: ConversationMessage) -> bool:
    return (
        db.session.scalar(
            select(MessageReport.id)
            .where(MessageReport.message_id == message.id, MessageReport.status == "open")
            .limit(1)
        )
        is not None
    )


def _wipe(message: ConversationMessage) -> None:
    message.body = ""
    message.html = ""


def delete_message(actor: Actor, message: ConversationMessage) -> bool:
    """Delete the actor's own message: the others see "This message was deleted." The
    words are wiped at once, unless a report of the message is open: the moderators
    handling it read what was reported (and the author must not escape a report by
    deleting); they are wiped when the report is closed. True if it was not deleted yet."""
    policy.check_delete_message(actor, message)
    if message.deleted_at is not None:
        return False
    message.deleted_at = utcnow()
    if not _has_open_report(message):
        _wipe(message)
    db.session.flush()
    return True


def report_message(
    actor: Actor, message: ConversationMessage, *, reason: Any, note: Any = ""
) -> MessageReport:
    """Report a message to the site's moderators: they will read it and the two before
    it. A member reports a message once (`Conflict` the second time)."""
    policy.check_report_message(actor, message)
    clean_reason = validation.choice(reason, "reason", REPORT_REASONS)
    clean_note = validation.text(note, "note", max_len=NOTE_MAX)
    existing = db.session.scalar(
        select(MessageReport.id).where(
            MessageReport.message_id == message.id, MessageReport.reporter_id == actor.user_id
        )
    )
    if existing is not None:
        raise Conflict("You have reported this message already.")
    report = MessageReport(
        message_id=message.id,
        reporter_id=policy.require_member(actor),
        reason=clean_reason,
        note=clean_note,
        status="open",
        created_at=utcnow(),
    )
    db.session.add(report)
    db.session.flush()
    return report


def open_message_reports(actor: Actor) -> list[MessageReport]:
    """The open reports of messages the actor handles, oldest first."""
    return list(
        db.session.scalars(
            policy.visible_message_reports(actor)
            .where(MessageReport.status == "open")
            .order_by(MessageReport.id)
        )
    )


RESOLUTIONS = ("dismissed", "upheld")
# What the reporter is told: the decision in neutral words, never the message's text,
# the conversation's title, the author's name or the moderator's.
REPORT_DECISIONS = {
    "upheld": "A moderator looked at the private message you reported and agreed with "
    "your report. Thank you for telling us.",
    "dismissed": "A moderator looked at the private message you reported and decided "
    "no action was needed. Thank you for telling us.",
}
REPORT_DECIDED_KIND = "message_report_decided"


def resolve_message_report(actor: Actor, report: MessageReport, *, decision: Any) -> bool:
    """Close a message report (dismissed, or upheld: the moderator acts on the member
    through the usual sanctions), log it and tell the reporter. True if it was open."""
    policy.require_message_report(actor, report.id)
    clean = validation.choice(decision, "decision", RESOLUTIONS)
    if report.status != "open":
        return False
    report.status = clean
    report.resolved_at = utcnow()
    report.resolved_by_id = actor.user_id
    audit.record(
        actor,
        Action.MESSAGE_REPORT_RESOLVED,
        rank=policy.moderation_rank(actor, None),
        target_type="message_report",
        target_id=report.id,
        group=None,
        data={"decision": clean, "user": report.message.author_id},
    )
    # No conversation or message id on it: the notice holds nothing of the message, and
    # stays with the reporter even after they leave the conversation.
    notifications.notify(report.reporter_id, REPORT_DECIDED_KIND, REPORT_DECISIONS[clean])
    db.session.flush()
    # A message its author deleted kept its words only for the open reports.
    if report.message.deleted_at is not None and not _has_open_report(report.message):
        _wipe(report.message)
        db.session.flush()
    return True


# --- blocks and the "who may message me" setting --------------------------------------


def block_user(actor: Actor, user: User) -> bool:
    """Block a member (they are not told). True if they were not blocked yet."""
    policy.check_block(actor, user)
    if user.id in policy.blocked_ids(actor):
        return False
    db.session.add(UserBlock(blocker_id=actor.user_id, blocked_id=user.id, created_at=utcnow()))
    db.session.execute(
        update(User)
        .where(User.id == actor.user_id)
        .values(has_blocks=True)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return True


def unblock_user(actor: Actor, user: User) -> bool:
    """Unblock a member. True if they were blocked."""
    policy.check_block(actor, user)
    result = db.session.execute(
        delete(UserBlock).where(
            UserBlock.blocker_id == actor.user_id, UserBlock.blocked_id == user.id
        )
    )
    left = db.session.scalar(
        select(UserBlock.id).where(UserBlock.blocker_id == actor.user_id).limit(1)
    )
    db.session.execute(
        update(User)
        .where(User.id == actor.user_id)
        .values(has_blocks=left is not None)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return bool(getattr(result, "rowcount", 0))


def blocked_users(actor: Actor) -> list[User]:
    """The members the actor blocked, by name (the account page's list)."""
    ids = policy.blocked_ids(actor)
    if not ids:
        return []
    return list(
        db.session.scalars(select(User).where(User.id.in_(sorted(ids))).order_by(User.username_key))
    )


def set_messages_from_groups_only(actor: Actor, value: Any) -> bool:
    """Choose whether only members sharing a group with the actor may message them."""
    user_id = policy.require_member(actor)
    clean = validation.boolean(value, "messages_from_groups_only")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    user.messages_from_groups_only = clean
    db.session.flush()
    return clean


def exported_messages(user: User) -> list[dict[str, Any]]:
    """For the member's data export: the messages they wrote (in every conversation,
    also ones they left). Others' messages are the others' words and stay out."""
    return [
        {
            "conversation_id": message.conversation_id,
            "id": message.id,
            "created_at": message.created_at.isoformat(),
            "body": message.body,
            "deleted": message.deleted_at is not None,
        }
        for message in db.session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.author_id == user.id)
            .order_by(ConversationMessage.id)
        )
    ]


def waiting_report_count(actor: Actor) -> int:
    """Open reports of messages the actor handles (the moderators' header count)."""
    scope = policy.visible_message_reports(actor).where(MessageReport.status == "open")
    return int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)
