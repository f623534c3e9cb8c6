"""Members' data rights (UK GDPR): a copy of everything the forum holds about a member,
and deleting their account.

`export_member_data` gathers the member's own data into a zip: `account.json` and their
posts as Markdown. Only what is theirs: the names of other members who reported the same
post, moderated them or invited them are left out (those are other people's data); the
text of a post they reported is in, as they saw it.

`delete_account` removes the person and keeps a tombstone: the row stays (posts kept as
"deleted member" and moderation log rows point at it) under the name `deleted-<id>`,
with no e-mail, password, bio, sessions, tokens, codes, notifications, invitations,
group memberships, likes or reading history. Their posts are either emptied (text,
earlier versions and titles of their topics; the others' replies stay) or kept under the
tombstone. The old name is free at once: nothing keeps it, not even a hash (a list of
old names would itself be the personal data being erased); links to the old profile
then reach whoever takes the name, which the member accepts by deleting.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from forum import audit
from forum import outbox
from forum import validation
from forum.audit import clean_reason
from forum.errors import Conflict
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.activity import PostLike
from forum.models.activity import TopicRead
from forum.models.activity import UserStats
from forum.models.activity import UserVisit
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.chat import ChatMessage
from forum.models.chat import ChatReport
from forum.models.chat import ChatRoom
from forum.models.email import EmailSettings
from forum.models.groups import Group
from forum.models.groups import JoinRequest
from forum.models.groups import Membership
from forum.models.groups import Role
from forum.models.invitations import MemberInvitation
from forum.models.meetings import Meeting
from forum.models.meetings import MeetingAnswer
from forum.models.meetings import MemberCalendar
from forum.models.meetings import PersonalReminder
from forum.models.moderation import Flag
from forum.models.moderation import Sanction
from forum.models.modlog import Action
from forum.models.notifications import Notification
from forum.models.notifications import NotificationPreference
from forum.models.posts import Post
from forum.models.posts import PostEdit
from forum.models.posts import PostRevision
from forum.models.sessions import UserSession
from forum.models.topics import Topic
from forum.models.users import DELETED_MEMBER
from forum.models.users import ApiToken
from forum.models.users import RecoveryCode
from forum.models.users import User
from forum.policy import Actor
from forum.policy import can_administer
from forum.policy import directory_users
from forum.policy import erasable_posts
from forum.policy import erasable_topics
from forum.policy import moderation_rank
from forum.policy import require_member
from forum.policy import visible_meetings
from forum.policy import visible_notifications
from forum.policy import visible_posts
from forum.search import queue as search_queue
from forum.services import messages
from forum.services import sessions

EXPORT_FORMAT = 1


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _base_url() -> str:
    return str(current_app.config["FORUM_BASE_URL"]).rstrip("/")


def _own_posts(actor: Actor, user: User) -> list[Post]:
    # Through the policy scope: a post the member can no longer reach (a group that
    # removed them) is the group's now, and its topic and board names are not theirs.
    rows = db.session.scalars(
        visible_posts(actor).where(Post.author_id == user.id).order_by(Post.id)
    )
    return list(rows)


def _account(actor: Actor, user: User, posts: list[Post]) -> dict[str, Any]:
    memberships = db.session.execute(
        select(Membership, Group)
        .join(Group, Group.id == Membership.group_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.id)
    )
    # As the notifications page lists them: one about a group that removed them is gone.
    notifications = db.session.scalars(visible_notifications(actor).order_by(Notification.id))
    flags = db.session.scalars(select(Flag).where(Flag.reporter_id == user.id).order_by(Flag.id))
    visible_ids = {post.id for post in posts}
    reported: list[dict[str, Any]] = []
    for flag in flags:
        post = db.session.scalar(visible_posts(actor).where(Post.id == flag.post_id))
        reported.append(
            {
                "post_id": flag.post_id,
                # The reported post's text as the member could see it (none once it is
                # out of their reach); never the other reporters.
                "post_text": post.body if post is not None and not post.is_deleted else None,
                "reason": str(flag.reason),
                "note": flag.note,
                "created_at": _when(flag.created_at),
            }
        )
    sanctions = db.session.scalars(
        select(Sanction).where(Sanction.user_id == user.id).order_by(Sanction.id)
    )
    likes = db.session.scalars(
        select(PostLike).where(PostLike.user_id == user.id).order_by(PostLike.created_at)
    )
    invitations = db.session.scalars(
        select(MemberInvitation)
        .where(MemberInvitation.user_id == user.id)
        .order_by(MemberInvitation.id)
    )
    return {
        "format": EXPORT_FORMAT,
        "profile": {
            "id": user.id,
            "username": user.username,
            "joined_at": _when(user.created_at),
            "bio": user.bio,
            "show_join_date": user.show_join_date,
            "trust_level": user.trust_level,
            "is_admin": user.is_admin,
            "is_moderator": user.is_moderator,
            "silenced_until": _when(user.silenced_until),
            "suspended_until": _when(user.suspended_until),
        },
        "email": user.email,
        "pending_email": user.pending_email,
        # Device labels and times only: never a session key or its hash.
        "sessions": [
            {
                "device": item.device,
                "created_at": _when(item.created_at),
                "last_seen_at": _when(item.last_seen_at),
                "expires_at": _when(item.expires_at),
                "remembered": item.remembered,
            }
            for item in sessions.live_sessions(user)
        ],
        "groups": [
            {
                "name": group.name,
                "slug": group.slug,
                "role": membership.role.value,
                "joined_at": _when(membership.created_at),
            }
            for membership, group in memberships
        ],
        "notifications": [
            {
                "kind": item.kind,
                "text": item.text,
                "post_id": item.post_id if item.post_id in visible_ids else None,
                "created_at": _when(item.created_at),
                "read_at": _when(item.read_at),
            }
            for item in notifications
        ],
        "reports": reported,
        # Who decided a sanction is the moderators' data; what and why is the member's.
        "sanctions": [
            {
                "kind": item.kind.value,
                "state": item.state.value,
                "reason": item.reason,
                "starts_at": _when(item.starts_at),
                "ends_at": _when(item.ends_at),
                "lifted_at": _when(item.lifted_at),
                "group": item.group_id is not None,
            }
            for item in sanctions
        ],
        "likes": [
            {"post_id": item.post_id, "created_at": _when(item.created_at)} for item in likes
        ],
        "invitations": [
            {
                "group": item.group.name,
                "role": item.role.value,
                "state": item.state.value,
                "created_at": _when(item.created_at),
                "decided_at": _when(item.decided_at),
            }
            for item in invitations
        ],
        # Their chat messages (kept for the room's retention period, then deleted).
        "chat_messages": [
            {
                "id": item.id,
                "room_id": item.room_id,
                "body": item.body,
                "created_at": _when(item.created_at),
                "hidden": item.hidden_at is not None,
            }
            for item in db.session.scalars(
                select(ChatMessage).where(ChatMessage.author_id == user.id).order_by(ChatMessage.id)
            )
        ],
        "posts": [
            {
                "id": post.id,
                "topic_id": post.topic_id,
                "number": post.number,
                "file": _post_file(post),
            }
            for post in posts
        ],
    }


def _settings_and_meetings(actor: Actor, user: User) -> dict[str, Any]:
    """The member's meeting answers, calendar settings (never the feed's token or its
    hash), personal reminders, notification choices and mail settings."""
    answers = list(
        db.session.scalars(
            select(MeetingAnswer).where(MeetingAnswer.user_id == user.id).order_by(MeetingAnswer.id)
        )
    )
    # A meeting's title as the member may see it now (their answer is theirs either way).
    titles: dict[int, str] = {}
    if answers:
        for meeting_id, title in db.session.execute(
            visible_meetings(actor)
            .where(Meeting.id.in_(sorted({a.meeting_id for a in answers})))
            .with_only_columns(Meeting.id, Meeting.title)
        ):
            titles[meeting_id] = title
    calendar = db.session.scalar(select(MemberCalendar).where(MemberCalendar.user_id == user.id))
    reminders = list(
        db.session.scalars(
            select(PersonalReminder)
            .where(PersonalReminder.user_id == user.id)
            .order_by(PersonalReminder.id)
        )
    )
    readable = (
        set(
            db.session.scalars(
                visible_posts(actor)
                .where(Post.id.in_(sorted({r.post_id for r in reminders})))
                .with_only_columns(Post.id)
            )
        )
        if reminders
        else set()
    )
    mail = db.session.get(EmailSettings, user.id)
    return {
        "meeting_answers": [
            {
                "meeting_id": item.meeting_id,
                "meeting": titles.get(item.meeting_id),
                "answer": item.answer,
                "hidden": item.hidden,
                "reminder": item.reminder,
                "updated_at": _when(item.updated_at),
            }
            for item in answers
        ],
        "calendar": (
            {
                "timezone": calendar.timezone,
                "reminder": calendar.reminder,
                # Whether a feed exists and since when: its secret stays out of any file.
                "feed": calendar.feed_token_hash is not None,
                "feed_created_at": _when(calendar.feed_created_at),
            }
            if calendar is not None
            else None
        ),
        "reminders": [
            {
                # The post only while they may still read it (as the reminder itself).
                "post_id": item.post_id if item.post_id in readable else None,
                "remind_at": _when(item.remind_at),
                "created_at": _when(item.created_at),
                "sent_at": _when(item.sent_at),
            }
            for item in reminders
        ],
        "notification_preferences": [
            {"kind": item.kind, "in_app": item.in_app, "email": item.email}
            for item in db.session.scalars(
                select(NotificationPreference)
                .where(NotificationPreference.user_id == user.id)
                .order_by(NotificationPreference.kind)
            )
        ],
        "email_settings": (
            {
                "digest": mail.digest,
                "link_only": mail.link_only,
                "next_digest_at": _when(mail.next_digest_at),
                "last_digest_at": _when(mail.last_digest_at),
            }
            if mail is not None
            else None
        ),
    }


def _post_file(post: Post) -> str:
    return f"posts/{post.topic_id}-{post.number}.md"


def _post_markdown(post: Post, topic: Topic) -> str:
    header = [
        f"# {topic.title}",
        "",
        f"- Board: {topic.board.name}",
        f"- Date: {_when(post.created_at)}",
        f"- Link: {_base_url()}{post.url}",
    ]
    if post.edited_at is not None:
        header.append(f"- Edited: {_when(post.edited_at)}")
    if post.is_deleted:
        header.append("- Deleted")
    return "\n".join(header) + "\n\n" + post.body + "\n"


def export_member_data(actor: Actor, user: User) -> bytes:
    """A zip of the member's own data: `account.json` and `posts/<topic>-<number>.md`."""
    if require_member(actor) != user.id:
        raise NotFound()
    posts = _own_posts(actor, user)
    account = _account(actor, user, posts)
    # Private messages they wrote; those others wrote to them are the others' words.
    account["messages"] = messages.exported_messages(user)
    account.update(_settings_and_meetings(actor, user))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("account.json", json.dumps(account, indent=2, ensure_ascii=False))
        for post in posts:
            archive.writestr(_post_file(post), _post_markdown(post, post.topic))
    return buffer.getvalue()


# --- deleting an account --------------------------------------------------------------

REMOVE = "remove"
KEEP = "keep"
POST_CHOICES = (REMOVE, KEEP)
REMOVED_TITLE = "Removed topic"


def tombstone_name(user: User) -> str:
    """The placeholder name of a deleted account: never derived from the old name."""
    return f"{validation.TOMBSTONE_PREFIX}{user.id}"


def _clean_choice(posts: Any) -> str:
    if posts not in POST_CHOICES:
        raise Invalid("posts", "Choose whether to remove your posts or keep them.")
    return str(posts)


def _check_no_sole_ownership(user: User) -> None:
    # A group must keep an owner: the member hands it over first (or an admin does).
    owned = db.session.scalars(
        select(Group)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user.id, Membership.role == Role.OWNER)
    )
    for group in owned:
        others = db.session.scalar(
            select(func.count(Membership.id)).where(
                Membership.group_id == group.id,
                Membership.role == Role.OWNER,
                Membership.user_id != user.id,
            )
        )
        if not others:
            raise Conflict(
                f"You are the only owner of the group {group.name}: make another member "
                "an owner first.",
                code="sole_owner",
            )


def _remove_posts(actor: Actor, user: User) -> None:
    """Empty every post of the member (as if they had deleted each), and its history."""
    now = utcnow()
    posts = list(db.session.scalars(erasable_posts(actor, user.id)))
    for post in posts:
        if not post.is_deleted:
            topic = post.topic
            topic.posts_count = Topic.posts_count - 1
            topic.revision = Topic.revision + 1
            topic.board.posts_count = Board.posts_count - 1
            topic.board.revision = Board.revision + 1
            post.deleted_at = now
            post.deleted_by_id = user.id
        # The text goes for everyone, moderators too: it is the member's, not the forum's.
        post.body = ""
        post.html = ""
        post.hidden_reason = ""
        post.revisions_count = 0
    ids = [post.id for post in posts]
    if ids:
        db.session.execute(delete(PostRevision).where(PostRevision.post_id.in_(ids)))
        db.session.execute(delete(PostLike).where(PostLike.post_id.in_(ids)))
    # A title is their writing too; the topic stays for the replies of others.
    for topic in db.session.scalars(erasable_topics(actor, user.id)):
        topic.title = REMOVED_TITLE
        topic.revision = Topic.revision + 1


def _requeue_kept_posts(actor: Actor, user: User) -> None:
    # The index holds each post's author name: rebuild their documents under the new name.
    for post in db.session.scalars(erasable_posts(actor, user.id)):
        outbox.enqueue(search_queue.KIND, {}, subject_id=post.id)


def _forget_private_data(user: User, old_name: str) -> None:
    sessions.end_every_session(user)
    for model in (
        UserSession,
        ApiToken,
        RecoveryCode,
        Notification,
        MemberInvitation,
        JoinRequest,
        Membership,
        PostEdit,
        UserVisit,
        TopicRead,
        UserStats,
    ):
        column = model.editor_id if model is PostEdit else model.user_id
        db.session.execute(delete(model).where(column == user.id))
    # Likes they gave: a like is a private signal of what they read and agreed with.
    liked = list(db.session.scalars(select(PostLike.post_id).where(PostLike.user_id == user.id)))
    if liked:
        db.session.execute(delete(PostLike).where(PostLike.user_id == user.id))
        db.session.execute(
            update(Post)
            .where(Post.id.in_(liked))
            .values(likes_count=Post.likes_count - 1)
            .execution_options(synchronize_session=False)
        )
        # The counts show on the topics' cached pages, keyed by their revision.
        db.session.execute(
            update(Topic)
            .where(Topic.id.in_(select(Post.topic_id).where(Post.id.in_(liked))))
            .values(revision=Topic.revision + 1)
            .execution_options(synchronize_session=False)
        )
    # Chat is short-lived talk: their messages (and reports) go with the account, whatever
    # they chose for their posts; the rooms' live pages see the change.
    mine = select(ChatMessage.id).where(ChatMessage.author_id == user.id)
    db.session.execute(
        delete(ChatReport).where(
            or_(ChatReport.reporter_id == user.id, ChatReport.message_id.in_(mine))
        )
    )
    db.session.execute(
        update(ChatRoom)
        .where(ChatRoom.id.in_(select(ChatMessage.room_id).where(ChatMessage.author_id == user.id)))
        .values(revision=ChatRoom.revision + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(ChatMessage).where(ChatMessage.author_id == user.id))
    # Other members' notifications name them ("x replied to you"): the name goes there too,
    # as a whole name only ("ann" leaves "Planning" alone).
    whole_name = re.compile(rf"(?<![\w-]){re.escape(old_name)}(?![\w-])")
    for notification in db.session.scalars(
        select(Notification).where(Notification.text.contains(old_name))
    ):
        notification.text = whole_name.sub(DELETED_MEMBER, notification.text)


def delete_account(actor: Actor, user: User, *, posts: Any, reason: Any = "") -> None:
    """Delete a member's account, by the member (password confirmed by the caller) or an
    admin on their request (logged). Leaves a tombstone row; see the module docstring."""
    acting = require_member(actor)
    by_admin = acting != user.id
    if by_admin and not can_administer(actor):
        raise NotFound()
    if user.is_deleted:
        raise NotFound()
    choice = _clean_choice(posts)
    clean = clean_reason(reason) if by_admin else ""
    _check_no_sole_ownership(user)
    old_name = user.username
    name = tombstone_name(user)
    if choice == REMOVE:
        _remove_posts(actor, user)
    else:
        _requeue_kept_posts(actor, user)
    _forget_private_data(user, old_name)
    # Out of every conversation; the others keep their copies ("deleted member").
    messages.leave_all(user)
    user.username = name
    user.username_key = name
    user.email = None
    user.pending_email = None
    # Not a hash of anything: no password can ever match it.
    user.password_hash = "!"  # noqa: S105 - a marker, not a password
    user.bio = ""
    # A role label vouched for the person; the tombstone is nobody.
    user.label = None
    user.group_labels = False
    user.is_admin = False
    user.is_moderator = False
    user.trust_level = 0
    user.trust_level_locked = True
    user.show_join_date = False
    user.auth_epoch += 1
    user.deleted_at = utcnow()
    if by_admin:
        audit.record(
            actor,
            Action.ACCOUNT_DELETED,
            rank=moderation_rank(actor, None),
            target_type="user",
            target_id=user.id,
            group=None,
            reason=clean,
            data={"posts": choice},
        )
    db.session.flush()


def require_member_to_delete(actor: Actor, username: Any) -> User:
    """The account an admin is about to delete on request, by name; else `Invalid`."""
    name = username.strip().lower()[:40] if isinstance(username, str) else ""
    user: User | None = db.session.scalar(directory_users(actor).where(User.username_key == name))
    if user is None:
        raise Invalid("username", "There is no member with that username.")
    return user
