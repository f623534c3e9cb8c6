"""A planted world for leak tests: a secret group full of canaries, and every kind of outsider.

The world is built once per test module and database backend, through the factories
(that is, through the app's own services), and the tests treat it as read-only: each
request runs in its own app context (`PageClient`), so nothing a request does is held
over between tests, and no test here writes except the ones that prove a write is
refused (they check that nothing changed).

Every canary matches `CANARY_RE` (case-insensitive `canary...7`): a scan for that one
pattern finds every planted secret, including ones a later issue adds.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy import delete
from sqlalchemy import select

from forum import models  # noqa: F401 - every table, for create_all
from forum.extensions import db
from forum.models.activity import PostLike
from forum.models.activity import TopicRead
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import BreakGlass
from forum.models.groups import Group
from forum.models.groups import GroupExclusion
from forum.models.groups import JoinRequest
from forum.models.groups import Membership
from forum.models.groups import Role
from forum.models.invitations import Invitation
from forum.models.invitations import InvitationUse
from forum.models.invitations import MemberInvitation
from forum.models.moderation import Appeal
from forum.models.moderation import Flag
from forum.models.moderation import Report
from forum.models.moderation import Sanction
from forum.models.modlog import ModerationLog
from forum.models.notifications import Notification
from forum.models.posts import Post
from forum.models.posts import PostRevision
from forum.models.sessions import UserSession
from forum.models.topics import Topic
from forum.models.users import User
from forum.moderation import actions as moderation_actions
from forum.moderation import appeals as appeal_service
from forum.moderation import reports as report_service
from forum.moderation import sanctions as sanction_service
from forum.search import postgres_backend
from forum.search import service as search_service
from forum.services import accounts
from forum.services import chat as chat_service
from forum.services import groups as group_service
from forum.services import invitations as invitation_service
from forum.services import labels as label_service
from forum.services import likes as like_service
from forum.services import meetings as meeting_service
from forum.services import messages as message_service
from forum.services import notifications as notification_service
from forum.services import posts as post_service
from forum.services import reminders as reminder_service
from tests import factories
from tests.conftest import PageClient
from tests.conftest import make_test_app
from tests.conftest import throwaway_postgres

# --- canaries ------------------------------------------------------------------------

CANARY_RE = re.compile(r"canary[a-z]*7", re.IGNORECASE)

GROUP_NAME = "CANARYGRP7 Circle"
GROUP_SLUG = "canaryslug7"
GROUP_DESCRIPTION = "CANARYGDESC7: a closed circle."
BOARD_NAME = "CANARYBOARD7 room"
BOARD_DESCRIPTION = "CANARYBDESC7: talk here."
TOPIC_TITLE = "CANARYTOPIC7 first steps"
POST_BODY = "CANARYPOST7 opening words of the circle."
REPLY_BODY = "CANARYREPLY7 an answer inside the circle."
EDIT_OLD_BODY = "CANARYEDITOLD7 what was first written."
EDIT_NEW_BODY = "CANARYEDITNEW7 what it says now."
DELETED_BODY = "CANARYDELETED7 something regretted."
LEFT_BODY = "CANARYLEFT7 written before leaving."
SECOND_TITLE = "CANARYSECOND7 plans for spring"
SECOND_BODY = "CANARYSECONDBODY7 the owner's own topic."
GLASS_REASON = "CANARYREASON7 looking into a safeguarding complaint"
# Moderation inside the secret group (issue 4): a report, a hidden post, a sanction, an
# appeal and notifications. Seen by the group's moderators (and the member concerned).
REPORT_NOTE = "CANARYNOTE7 this reply crosses a line."
HIDDEN_BODY = "CANARYHIDDEN7 something a moderator hid."
HIDE_REASON = "CANARYHIDE7 personal details of someone else."
SANCTION_REASON = "CANARYSANCTION7 repeated personal attacks."
APPEAL_TEXT = "CANARYAPPEAL7 I was provoked, please look again."
NOTIFY_TEXT = "CANARYNOTIFY7 someone answered you inside the circle."
# Issue 14: a chat room of the secret group and a message in it.
ROOM_NAME = "CANARYROOM7 evening chat"
CHAT_BODY = "CANARYCHAT7 hello from the circle."
# Issue 14: the secret group's weekly meeting, its online link and notes.
MEETING_TITLE = "CANARYMEETING7 circle night"
MEETING_LINK = "https://canarylink7.example/join"
MEETING_NOTES = "CANARYMEETNOTES7 bring the usual."
# Issue 14: a private conversation between the secret group's owner and member.
MESSAGE_TITLE = "CANARYCHAT7 just between us"
MESSAGE_BODY = "CANARYWHISPER7 a private message about the circle."
# A member of the secret group only, silenced there: unknown outside it like SECRET_USERNAME.
MUTED_USERNAME = "CanaryMute7"
# Only in the secret group, posted only there: unknown to everyone outside it (a
# pseudonym can identify a person), so the name itself must never show outside.
SECRET_USERNAME = "CanaryUser7"
# The twin of SECRET_USERNAME: a member with no groups and no posts (so nobody outside
# can know them either), same initial (profiles show it).
QUIET_USERNAME = "CalmMember7"
# Role labels (issue 14): the secret group's owner and the removed member were given
# labels inside the group; they show inside it only. A site label (on a member outside the
# group, who posts on the public topic) shows everywhere.
GROUP_LABEL = "CANARYLABEL7 circle counsellor"
LEFT_LABEL = "CANARYLEFTLABEL7 former helper"
SITE_LABEL = "Peer supporter"
MISSING_USERNAME = "Cnobody7x"
MISSING_SLUG = "nosuchslug7"
FORGED_TOKEN = "forgedTOKENforgedTOKEN0123456789abcdef"
FORGED_TOKEN_TWIN = "madeupTOKENmadeupTOKEN0123456789abcdef"

# Search (issue 5): words planted only inside the secret group, each searched for by
# every outsider, with whether an insider finds it (a positive control). Group names
# are not indexed, and an edited post's old text is not its text any more: nobody
# finds those. Hidden and deleted posts: the group's moderators (and a broken-in admin).
SEARCH_MARKERS = (
    (POST_BODY.split()[0], True),
    (REPLY_BODY.split()[0], True),
    (EDIT_NEW_BODY.split()[0], True),
    (TOPIC_TITLE.split()[0], True),
    (SECOND_TITLE.split()[0], True),
    (BOARD_NAME.split()[0], True),
    (SECRET_USERNAME, True),
    (MUTED_USERNAME, True),
    (HIDDEN_BODY.split()[0], True),
    (DELETED_BODY.split()[0], True),
    (LEFT_BODY.split()[0], True),
    (GROUP_NAME.split()[0], False),
    (EDIT_OLD_BODY.split()[0], False),
)
# A word in no post, title, name or board: what a search for a secret word must look like.
NOWHERE_WORD = "nowhereword7x"

# Public-side markers: outsiders must see these (the tests cannot pass by breaking all).
PUBLIC_TOPIC_TITLE = "Public hello from the lounge"
PUBLIC_GROUP_NAME = "Allotment Club"
PUBLIC_GROUP_SLUG = "allotment-club"
OTHER_GROUP_SLUG = "other-circle"

GUEST_NONE = "guest_none"
GUEST_PUBLIC = "guest_public"
NON_MEMBER = "non_member"
OTHER_GROUP_MEMBER = "other_group_member"
REMOVED_MEMBER = "removed_member"
SITE_MODERATOR = "site_moderator"
SITE_ADMIN = "site_admin"

# Every kind of outsider the visibility rule names (issue 3).
OUTSIDERS = (
    GUEST_NONE,
    GUEST_PUBLIC,
    NON_MEMBER,
    OTHER_GROUP_MEMBER,
    REMOVED_MEMBER,
    SITE_MODERATOR,
    SITE_ADMIN,
)
GUESTS = {GUEST_NONE: "none", GUEST_PUBLIC: "public_boards"}

# Insiders: who must see the canaries (positive controls).
SECRET_MEMBER = "secret_member"
SECRET_OWNER = "secret_owner"
GLASS_ADMIN = "glass_admin"
INSIDERS = (SECRET_MEMBER, SECRET_OWNER, GLASS_ADMIN)
# Invited by name into the secret group, not yet answered: sees its name and description
# on their invitations page, and nothing else of it (issue 10).
INVITEE = "invitee"

USERNAMES = {
    NON_MEMBER: "plainmember",
    OTHER_GROUP_MEMBER: "othermember",
    REMOVED_MEMBER: "leftmember",
    SITE_MODERATOR: "sitemod",
    SITE_ADMIN: "siteadmin",
    SECRET_MEMBER: SECRET_USERNAME,
    SECRET_OWNER: "circleowner",
    GLASS_ADMIN: "glassadmin",
    INVITEE: "invitedmember",
}


@dataclass
class Planted:
    """Ids and names of the planted world (plain values: no ORM objects to go stale)."""

    app: Flask
    backend: str
    secret_group_id: int
    secret_board_id: int
    secret_topic_id: int
    second_topic_id: int
    first_post_id: int
    reply_post_id: int
    edited_post_id: int
    deleted_post_id: int
    left_post_id: int
    second_post_id: int
    secret_invitation_id: int
    secret_invite_token: str
    # Dead links into the secret group: they must answer like forged ones.
    used_up_token: str
    revoked_token: str
    expired_token: str
    other_invite_token: str
    other_group_id: int
    other_board_id: int
    other_topic_id: int
    public_board_id: int
    public_topic_id: int
    public_post_id: int
    public_group_id: int
    public_group_board_id: int
    public_group_topic_id: int
    # Moderation inside the secret group.
    hidden_post_id: int
    report_id: int
    sanction_id: int
    appeal_id: int
    log_entry_id: int
    missing_id: int
    # The secret member's browser session (a row id): outsiders must not end it.
    secret_member_session_id: int = 0
    # Session keys (as Flask-Login stores them) and API tokens, by kind.
    session_ids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    guest_access: str = "none"
    # Invitations by name into the secret group (issue 10): the invitee's pending one, and
    # an earlier one the owner withdrew.
    member_invitation_id: int = 0
    withdrawn_member_invitation_id: int = 0
    # Issue 13: the secret member's notification about a secret post (someone else's to
    # everyone outside).
    notification_id: int = 0
    # Issue 14: the secret group's chat room and a message in it.
    secret_room_id: int = 0
    secret_chat_message_id: int = 0
    # Issue 14: the secret group's meeting (the removed member had answered "going").
    meeting_id: int = 0
    # Issue 14: a private conversation between the owner and the member, and its message
    # (for everyone else, including admins and moderators, they do not exist).
    conversation_id: int = 0
    message_id: int = 0
    # The secret member's personal reminder on the secret topic's first post.
    reminder_id: int = 0

    @property
    def secret_post_ids(self) -> tuple[int, ...]:
        """Every post inside the secret group."""
        return (
            self.first_post_id,
            self.reply_post_id,
            self.edited_post_id,
            self.deleted_post_id,
            self.left_post_id,
            self.second_post_id,
            self.hidden_post_id,
        )

    @property
    def secret_refs(self) -> dict[str, set[int]]:
        """Paths of secret objects, by prefix: a link to any of them is a leak."""
        return {
            "b": {self.secret_board_id},
            "t": {self.secret_topic_id, self.second_topic_id},
            "p": set(self.secret_post_ids),
        }

    def state(self) -> tuple[Any, ...]:
        """Everything a write could change, read fresh: equal before and after = no write.

        Not the site settings: switching guest access between guest kinds is the test's.
        """
        db.session.rollback()
        columns = (
            (Post.id, Post.body, Post.deleted_at, Post.revisions_count, Post.topic_id),
            (Topic.id, Topic.title, Topic.board_id, Topic.locked, Topic.pinned, Topic.revision),
            (Board.id, Board.name, Board.description, Board.group_id, Board.parent_id),
            (Board.position, Board.topics_count, Board.posts_count),
            (Group.id, Group.name, Group.slug, Group.description, Group.visibility),
            (Membership.group_id, Membership.user_id, Membership.role),
            (Invitation.id, Invitation.uses, Invitation.max_uses, Invitation.revoked_at),
            (InvitationUse.invitation_id, InvitationUse.user_id),
            (JoinRequest.id, JoinRequest.state),
            (BreakGlass.id, BreakGlass.group_id, BreakGlass.admin_id),
            (ModerationLog.id, ModerationLog.undone_at),
            (User.id, User.username, User.trust_level, User.is_admin, User.bio, User.auth_epoch),
            (User.id, User.is_moderator, User.trust_level_locked, User.silenced_until),
            (User.id, User.suspended_until),
            # Issue 10: a redaction empties a revision's text.
            (PostRevision.id, PostRevision.body, PostRevision.redacted_at),
            # Issue 4: moderation, likes and notifications.
            (Post.id, Post.hidden_at, Post.hidden_kind, Post.likes_count),
            (Topic.id, Topic.closed, Topic.slow_mode_minutes),
            (Group.id, Group.log_visible_to_members, Group.approve_first_posts),
            (Membership.id, Membership.silenced_until, Membership.suspended_until),
            (Report.id, Report.status, Report.score, Report.group_id),
            (Flag.id, Flag.reason, Flag.note),
            (Sanction.id, Sanction.state, Sanction.ends_at, Sanction.confirmed_by_id),
            (Appeal.id, Appeal.state),
            (Notification.id, Notification.read_at),
            (PostLike.post_id, PostLike.user_id),
            # Issue 10: who a group keeps out, and invitations by name.
            (GroupExclusion.id, GroupExclusion.lifted_at),
            (MemberInvitation.id, MemberInvitation.state, MemberInvitation.role),
            # Issue 10: browser sessions.
            (UserSession.id, UserSession.user_id, UserSession.ended_at),
        )
        found = tuple(
            tuple(sorted(tuple(map(str, row)) for row in db.session.execute(select(*cols))))
            for cols in columns
        )
        db.session.rollback()
        return found

    def set_guest_access(self, value: str) -> None:
        """Switch the site's guest access (it is one site setting, not per visitor)."""
        if value != self.guest_access:
            db.session.rollback()
            factories.set_settings(guest_access=value)
            self.guest_access = value

    def client(self, kind: str, *, api: bool = False) -> FlaskClient:
        """A fresh client acting as `kind`: a guest, a cookie session, or (api) a bearer token.

        Bearer clients carry no cookie: the token alone must decide what they see.
        """
        if kind in GUESTS:
            self.set_guest_access(GUESTS[kind])
        self.app.test_client_class = PageClient
        client = self.app.test_client()
        if kind in GUESTS:
            return client
        if api:
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {self.tokens[kind]}"
            return client
        with client.session_transaction() as session:
            session["_user_id"] = self.session_ids[kind]
            session["_fresh"] = True
        # Flask-Login completes the session on the first request (it adds `_id`): do
        # that now, so that it does not make the first compared answer look different.
        client.get("/help")
        return client


def _invitation(token: str) -> Invitation:
    found: Invitation | None = db.session.scalar(
        select(Invitation).where(
            Invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        )
    )
    assert found is not None
    return found


def _user(kind: str, **flags: Any) -> User:
    return factories.make_user(USERNAMES[kind], **flags)


def _plant_moderation(
    group: Group, topic: Topic, reply: Post, edited: Post, owner: User, secret_user: User
) -> dict[str, int]:
    """Moderation inside the secret group: its owner reports a reply, hides a new
    member's post and silences them for 30 days (unconfirmed: a second moderator must
    confirm); the member appeals; a member likes a post and is notified of a reply."""
    owner_actor = factories.actor(owner)
    muted = factories.make_user(MUTED_USERNAME, trust_level=1)
    invitation_service.accept_invitation(
        factories.actor(muted), factories.make_invitation(group, max_uses=1)
    )
    db.session.commit()
    hidden = factories.make_post(topic, muted, body=HIDDEN_BODY)
    report = report_service.report_post(owner_actor, reply, reason="abuse", note=REPORT_NOTE)
    moderation_actions.hide_post(owner_actor, hidden, reason=HIDE_REASON)
    db.session.commit()
    owner_actor = factories.actor(owner)
    sanction = sanction_service.silence_member(
        owner_actor, muted, group=group, days=30, reason=SANCTION_REASON
    )
    db.session.commit()
    appeal = appeal_service.appeal(
        factories.actor(muted), target_type="sanction", target_id=sanction.id, text=APPEAL_TEXT
    )
    like_service.like_post(factories.actor(secret_user), edited)
    secret_notification = notification_service.notify(
        secret_user.id, "canary", NOTIFY_TEXT, post_id=reply.id, group_id=group.id
    )
    db.session.commit()
    entry_id = db.session.scalar(
        select(ModerationLog.id).where(
            ModerationLog.action == "member_silenced", ModerationLog.group_id == group.id
        )
    )
    assert entry_id is not None
    return {
        "hidden_post_id": hidden.id,
        "report_id": report.id,
        "sanction_id": sanction.id,
        "appeal_id": appeal.id,
        "log_entry_id": entry_id,
        "muted_user_id": muted.id,
        "notification_id": secret_notification.id,
    }


def plant(app: Flask, backend: str) -> Planted:
    """Build the world through the services; return its ids."""
    site_admin = factories.make_admin(USERNAMES[SITE_ADMIN])
    glass_admin = factories.make_admin(USERNAMES[GLASS_ADMIN])
    site_mod = _user(SITE_MODERATOR, moderator=True, trust_level=2)
    plain = _user(NON_MEMBER, trust_level=1)
    other = _user(OTHER_GROUP_MEMBER, trust_level=1)
    left = _user(REMOVED_MEMBER, trust_level=1)
    owner = _user(SECRET_OWNER, trust_level=1)
    secret_user = _user(SECRET_MEMBER, trust_level=1)
    invitee = _user(INVITEE, trust_level=1)
    quiet = factories.make_user(QUIET_USERNAME, trust_level=1)
    # Twins down to the second they joined: admins know every member, so pages that show
    # an account to an admin (joined <time datetime=...>) must not differ by the moment the
    # world was built (a flaky difference when the two straddled a second).
    quiet.created_at = secret_user.created_at
    users = {
        SITE_ADMIN: site_admin,
        GLASS_ADMIN: glass_admin,
        SITE_MODERATOR: site_mod,
        NON_MEMBER: plain,
        OTHER_GROUP_MEMBER: other,
        REMOVED_MEMBER: left,
        SECRET_OWNER: owner,
        SECRET_MEMBER: secret_user,
        INVITEE: invitee,
    }
    # Tokens and sessions from the start: the removed member's were made while they
    # were still inside, and must stop working there at once.
    tokens = {kind: accounts.issue_api_token(user) for kind, user in users.items()}
    db.session.commit()
    session_ids = {kind: factories.make_session(user) for kind, user in users.items()}

    # The public side: a site board with a topic, and a public group with a board.
    public_board = factories.make_board("Open lounge", description="Everyone welcome.")
    public_topic = factories.make_topic(
        public_board, plain, title=PUBLIC_TOPIC_TITLE, body="Hello, everyone."
    )
    public_post = factories.make_post(public_topic, plain, body="A second public post.")
    factories.make_post(public_topic, owner, body="The circle's owner, speaking in public.")
    factories.make_post(public_topic, left, body="Someone who will leave a group, in public.")
    allot_owner = factories.make_user("allotowner", trust_level=1)
    public_group = factories.make_group(
        PUBLIC_GROUP_NAME, slug=PUBLIC_GROUP_SLUG, owner=allot_owner, members=(plain,)
    )
    public_group_board = factories.make_board("Allotment board", group=public_group)
    public_group_topic = factories.make_topic(
        public_group_board, allot_owner, title="Seed swap", body="Bring seeds."
    )

    # Another secret group: its member is an outsider to ours.
    other_owner = factories.make_user("otherowner", trust_level=1)
    other_group = factories.make_group(
        "Other circle", slug=OTHER_GROUP_SLUG, secret=True, owner=other_owner, members=(other,)
    )
    other_board = factories.make_board("Other room", group=other_group)
    other_topic = factories.make_topic(other_board, other, title="Other circle news", body="Hi.")
    other_invite_token = factories.make_invitation(other_group, max_uses=50)

    # The secret group, with canaries everywhere.
    group = group_service.create_group(
        factories.OPERATOR,
        name=GROUP_NAME,
        slug=GROUP_SLUG,
        visibility="secret",
        description=GROUP_DESCRIPTION,
        owner=owner.username,
    )
    db.session.commit()
    owner_actor = factories.actor(owner)
    # Members join as people do: through one-use links (an owner cannot add by name
    # someone they have no shared context with).
    invitation_service.accept_invitation(
        factories.actor(secret_user), factories.make_invitation(group, max_uses=1)
    )
    used_up_token = factories.make_invitation(group, max_uses=1)
    invitation_service.accept_invitation(factories.actor(left), used_up_token)
    db.session.commit()
    revoked_token = factories.make_invitation(group, max_uses=5)
    revoked = _invitation(revoked_token)
    invitation_service.revoke_invitation(owner_actor, group, revoked.id)
    expired_token = factories.make_invitation(group, max_uses=5, hours=1)
    # Time cannot pass in a test: move the expiry into the past instead.
    _invitation(expired_token).expires_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    board = factories.make_board(BOARD_NAME, description=BOARD_DESCRIPTION, group=group)
    topic = factories.make_topic(board, secret_user, title=TOPIC_TITLE, body=POST_BODY)
    first_post_id = db.session.scalar(select(Post.id).where(Post.topic_id == topic.id))
    first_post = db.session.get(Post, first_post_id)
    reply = factories.make_post(topic, secret_user, body=REPLY_BODY, reply_to=first_post)
    edited = factories.make_post(topic, owner, body=EDIT_OLD_BODY)
    post_service.edit_post(factories.actor(owner), edited, body=EDIT_NEW_BODY)
    db.session.commit()
    deleted = factories.make_post(topic, owner, body=DELETED_BODY)
    post_service.delete_post(factories.actor(owner), deleted)
    db.session.commit()
    left_post = factories.make_post(topic, left, body=LEFT_BODY)
    # Unread tracking (issue 13): the member who will be removed read the secret topic's
    # first post, so it was "unread" for them. (Not the member: their topic page would
    # then open at the first unread post, a redirect, not the page the matrix expects.)
    db.session.add(TopicRead(user_id=left.id, topic_id=topic.id, last_read_number=1))
    db.session.commit()
    second = factories.make_topic(board, owner, title=SECOND_TITLE, body=SECOND_BODY)
    second_post_id = db.session.scalar(select(Post.id).where(Post.topic_id == second.id))
    secret_invite_token = factories.make_invitation(group, max_uses=5)
    secret_invitation_id = _invitation(secret_invite_token).id
    # The owner invites someone by name, takes it back, and invites them again. (Through
    # the service that follows the name lookup: the invitee has no shared context here.)
    withdrawn = group_service.invite_member(owner_actor, group, invitee, role=Role.MEMBER)
    invitation_service.withdraw_member_invitation(owner_actor, group, withdrawn.id)
    pending = group_service.invite_member(owner_actor, group, invitee, role=Role.MODERATOR)
    member_invitation_ids = {
        "member_invitation_id": pending.id,
        "withdrawn_member_invitation_id": withdrawn.id,
    }
    db.session.commit()
    # A notification about the removed member's own post, from while they were inside:
    # once they are out, it must be gone from their list with the rest of the group.
    notification_service.notify(
        left.id, "report_handled", NOTIFY_TEXT, post_id=left_post.id, group_id=group.id
    )
    meeting = meeting_service.create_meeting(
        owner_actor,
        group,
        {
            "title": MEETING_TITLE,
            "starts_at": (utcnow() + timedelta(days=30)).strftime("%Y-%m-%dT19:00"),
            "timezone": "Europe/London",
            "repeat": "weekly",
            "where": "online",
            "link": MEETING_LINK,
            "notes": MEETING_NOTES,
        },
    )
    for answering in (secret_user, left):
        meeting_service.answer_meeting(factories.actor(answering), meeting, answer="going")
    reminder = reminder_service.remind_me(factories.actor(secret_user), first_post, preset="week")
    db.session.commit()
    label_service.set_label(owner_actor, left, label=LEFT_LABEL, group=group)
    group_service.remove_member(owner_actor, group, left.username)
    db.session.commit()
    moderation = _plant_moderation(group, topic, reply, edited, owner, secret_user)
    muted_id = moderation.pop("muted_user_id")
    group_service.break_glass(factories.actor(glass_admin), group, reason=GLASS_REASON)
    room = chat_service.open_chat_room(owner_actor, group, name=ROOM_NAME)
    chat_message = chat_service.post_chat_message(factories.actor(owner), room, body=CHAT_BODY)
    chat_ids = {"secret_room_id": room.id, "secret_chat_message_id": chat_message.id}
    db.session.commit()
    # Inside the broken glass the admin manages the group: they label its owner there.
    label_service.set_label(factories.actor(glass_admin), owner, label=GROUP_LABEL, group=group)
    label_service.set_label(factories.actor(site_admin), plain, label=SITE_LABEL)
    db.session.commit()
    conversation = message_service.start_conversation(
        owner_actor, recipients=[secret_user.username], title=MESSAGE_TITLE, body=MESSAGE_BODY
    )
    db.session.commit()
    message_id = conversation.last_message_id
    # Its notification would change the member's counts that other rows check.
    db.session.execute(delete(Notification).where(Notification.kind == "message"))
    db.session.commit()
    planted = Planted(
        app=app,
        backend=backend,
        secret_group_id=group.id,
        secret_board_id=board.id,
        secret_topic_id=topic.id,
        second_topic_id=second.id,
        first_post_id=first_post_id,
        reply_post_id=reply.id,
        edited_post_id=edited.id,
        deleted_post_id=deleted.id,
        left_post_id=left_post.id,
        second_post_id=second_post_id,
        secret_invitation_id=secret_invitation_id,
        secret_invite_token=secret_invite_token,
        used_up_token=used_up_token,
        revoked_token=revoked_token,
        expired_token=expired_token,
        other_invite_token=other_invite_token,
        other_group_id=other_group.id,
        other_board_id=other_board.id,
        other_topic_id=other_topic.id,
        public_board_id=public_board.id,
        public_topic_id=public_topic.id,
        public_post_id=public_post.id,
        public_group_id=public_group.id,
        public_group_board_id=public_group_board.id,
        public_group_topic_id=public_group_topic.id,
        **moderation,
        # Far beyond anything planted, and the same number of digits for every kind.
        missing_id=987_654,
        secret_member_session_id=db.session.scalar(
            select(UserSession.id).where(UserSession.user_id == secret_user.id)
        ),
        session_ids=session_ids,
        tokens=tokens,
        **member_invitation_ids,
        **chat_ids,
        meeting_id=meeting.id,
        conversation_id=conversation.id,
        message_id=message_id or 0,
        reminder_id=reminder.id,
        user_ids={
            **{u.username: u.id for u in (*users.values(), quiet, allot_owner, other_owner)},
            MUTED_USERNAME: muted_id,
        },
    )
    factories.set_settings(guest_access="none")
    # The factories commit directly: feed the search index what the app's own requests
    # would have fed it after their commits.
    search_service.drain_all(app)
    return planted


def _own_postgres_database() -> contextlib.AbstractContextManager[str]:
    """A throwaway PostgreSQL database with the schema, for one module's world.

    Not the session's shared test database: the function-scoped `app` fixture empties
    that one after every test, which would pull the world from under this module.
    """
    return throwaway_postgres("forum_leaks", schema=True)


@contextlib.contextmanager
def planted_world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend: str,
    *,
    search: str = "whoosh",
) -> Iterator[Planted]:
    """Plant the world in a database of its own on `backend`, searched by `search`."""
    tmp = tmp_path_factory.mktemp(f"leaks-{backend}-{search}")
    with contextlib.ExitStack() as stack:
        if backend == "postgres":
            url = stack.enter_context(_own_postgres_database())
        else:
            template: Path = request.getfixturevalue("sqlite_template")
            shutil.copy(template, tmp / "forum.db")
            url = f"sqlite:///{tmp / 'forum.db'}"
        if search == "postgres":
            # Not a model: the migration makes it; here, the backend's own table.
            engine = create_engine(url)
            postgres_backend.metadata.create_all(engine)
            engine.dispose()
        app = make_test_app(url, tmp / "instance", FORUM_SEARCH_BACKEND=search)
        with app.app_context():
            try:
                yield plant(app, backend)
            finally:
                db.session.remove()
                db.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def planted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Planted]:
    """The planted world on one backend, shared (read-only) by a module's tests."""
    with planted_world(request, tmp_path_factory, str(request.param)) as world:
        yield world


@pytest.fixture
def fresh_world(app: Flask, backend: str) -> Planted:
    """A world of its own, for the few tests that must change something."""
    return plant(app, backend)
