"""Members' data rights (UK GDPR): a copy of everything the forum holds about a member.

`export_member_data` gathers the member's own data into a zip: `account.json` and their
posts as Markdown. Only what is theirs: the names of other members who reported the same
post, moderated them or invited them are left out (those are other people's data); the
text of a post they reported is in, as they saw it.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from forum.errors import NotFound
from forum.extensions import db
from forum.models.activity import PostLike
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.invitations import MemberInvitation
from forum.models.moderation import Flag
from forum.models.moderation import Sanction
from forum.models.notifications import Notification
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor
from forum.policy import require_member
from forum.policy import visible_posts
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
    notifications = db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    )
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
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("account.json", json.dumps(account, indent=2, ensure_ascii=False))
        for post in posts:
            archive.writestr(_post_file(post), _post_markdown(post, post.topic))
    return buffer.getvalue()
