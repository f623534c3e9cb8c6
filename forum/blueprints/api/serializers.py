"""JSON shapes of the API's objects, in one place so that every endpoint agrees.

Each shape is declared as an answer model in `forum.blueprints.api.schemas`; the test
suite validates every answer against its model (FORUM_CHECK_CONTRACTS), so a field added
here and not there fails. Plain dicts rather than model instances: no validation cost on
the way out in production.

Serialisers read attributes and relationships, never run queries of their own. What an
actor may see is decided before an object gets here (scopes and guards), except a
deleted or hidden post's text, which `post` blanks through `policy.can_see_post_body`.

Moderation objects never name reporters: a reporter may be someone nobody outside a secret
group may know exists, and peer moderators know each other too well for names to be safe.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from forum import policy
from forum.listings import DirectoryRow
from forum.listings import GroupView
from forum.listings import Page
from forum.listings import Profile
from forum.models.boards import Board
from forum.models.chat import ChatMessage
from forum.models.chat import ChatRoom
from forum.models.groups import Group
from forum.models.groups import GroupExclusion
from forum.models.groups import JoinRequest
from forum.models.groups import Membership
from forum.models.invitations import Invitation
from forum.models.invitations import MemberInvitation
from forum.models.messages import Conversation
from forum.models.messages import ConversationMessage
from forum.models.messages import MessageReport
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
from forum.models.users import DELETED_MEMBER
from forum.models.users import User
from forum.moderation.reports import QueueItem
from forum.policy import Actor
from forum.search.service import SearchItem
from forum.search.service import SearchPage
from forum.services.notifications import Shown

JSON = dict[str, Any]


def timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with an explicit Z, to the second."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def month_of(moment: datetime) -> str | None:
    """The first instant of the moment's month (UTC), for dates shown to the month only."""
    return timestamp(
        moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    )


def join_date(user: User) -> str | None:
    """When the member joined: the month only, unless they chose to show the day."""
    if not user.show_join_date:
        return month_of(user.created_at)
    return timestamp(user.created_at)


def roles(user: User) -> list[str]:
    """The member's site roles, e.g. ["admin"]; empty for ordinary members."""
    return [
        name for name, has in (("admin", user.is_admin), ("moderator", user.is_moderator)) if has
    ]


def user(member: User) -> JSON:
    """A member as other members see them: pseudonym, trust, roles, join month."""
    return {
        "id": member.id,
        "username": member.username,
        "trust_level": member.trust_level,
        "roles": roles(member),
        "created_at": join_date(member),
        "bio": member.bio,
        # The site label only: a group's label shows inside that group alone.
        "label": policy.shown_label(member, None),
        "url": member.url,
    }


def directory_member(row: DirectoryRow) -> JSON:
    """A member in the admins' directory: the account, the day they joined, the posts the
    admin can read and the sanctions in the admin's scopes. Never their groups."""
    return {
        **user(row.user),
        "joined_at": timestamp(row.user.created_at),
        "posts_count": row.posts_count,
        "sanctions": [
            {
                "kind": note.kind.value,
                "until": timestamp(note.until),
                "group": note.group.slug if note.group is not None else None,
            }
            for note in row.sanctions
        ],
    }


def profile(found: Profile) -> JSON:
    """A member's profile, with counts of what the viewer may see."""
    return {
        **user(found.user),
        "posts_count": found.posts_count,
        "topics_count": found.topics_count,
    }


def me(member: User, recovery_codes_left: int) -> JSON:
    """The member's own account.

    Only whether an address is set, never the address itself: whoever holds a leaked
    token must not learn the e-mail behind a pseudonym.
    """
    return {
        **user(member),
        "show_join_date": member.show_join_date,
        "has_email": member.email is not None,
        "email_pending": member.pending_email is not None,
        "recovery_codes_left": recovery_codes_left,
        "silenced_until": timestamp(member.silenced_until),
    }


def user_session(item: UserSession, current_id: int | None) -> JSON:
    """One of the member's own sessions: the device label and times, never the key."""
    return {
        "id": item.id,
        "device": item.device,
        "created_at": timestamp(item.created_at),
        "last_seen_at": timestamp(item.last_seen_at),
        "expires_at": timestamp(item.expires_at),
        "remembered": item.remembered,
        "current": item.id == current_id,
    }


def board(item: Board) -> JSON:
    """A board with its counters."""
    return {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        # Only boards the actor may read get here, so a secret group's slug reaches
        # no one outside it.
        "group": item.group.slug if item.group is not None else None,
        "parent_id": item.parent_id,
        "position": item.position,
        "topics_count": item.topics_count,
        "posts_count": item.posts_count,
        "last_post_at": timestamp(item.last_post_at),
        "url": item.url,
    }


def topic(item: Topic) -> JSON:
    """A topic without its posts."""
    return {
        "id": item.id,
        "board_id": item.board_id,
        "title": item.title,
        # None once the opening post is deleted or hidden: see `Topic.author_shown`.
        "author": item.author.username if item.author_shown else None,
        "posts_count": item.posts_count,
        "created_at": timestamp(item.created_at),
        "last_post_at": timestamp(item.last_post_at),
        "locked": item.locked,
        "pinned": item.pinned,
        "closed": item.closed,
        "slow_mode_minutes": item.slow_mode_minutes,
        "url": item.url,
    }


def unread_topic(item: Topic, last_read: int | None) -> JSON:
    """A topic in an unread or new list, with the member's position in it."""
    last = item.next_number - 1
    new_posts = max(0, last - last_read) if last_read is not None else 0
    return {**topic(item), "last_read": last_read, "new_posts": new_posts}


def post(
    actor: Actor, item: Post, *, liked: bool = False, labels: dict[int, str] | None = None
) -> JSON:
    """A post; a deleted or hidden one keeps its text (and author) only for those who may
    read it (moderators in scope; for a hidden post, its author too, with the reason).

    `liked`: whether the actor likes it (the caller looks that up for a whole page);
    `labels`: the authors' role labels where the post is (`listings.author_labels`).
    """
    readable = policy.can_see_post_body(actor, item)
    return {
        "id": item.id,
        "topic_id": item.topic_id,
        "number": item.number,
        # As on the page: whoever deleted a post they regret is not named beside it.
        "author": item.author.username if readable else None,
        "author_label": (labels or {}).get(item.author_id) if readable else None,
        "reply_to": item.reply_to_id,
        "body": item.body if readable else None,
        "html": item.html if readable else None,
        "created_at": timestamp(item.created_at),
        "edited_at": timestamp(item.edited_at),
        "deleted": item.is_deleted,
        "hidden": item.is_hidden,
        "hidden_kind": item.hidden_kind if item.is_hidden else None,
        # Why it was hidden: for its author (who may edit to ask for a review) and moderators.
        "hidden_reason": item.hidden_reason if item.is_hidden and readable else None,
        "review_requested": item.review_requested_at is not None if readable else False,
        "likes_count": item.likes_count,
        "liked": liked,
        "url": item.url,
    }


def revision(item: PostRevision) -> JSON:
    """An earlier version of a post; a redacted one without its text (body and html
    null), saying who removed it - "author" or "moderator", never which moderator - and
    when."""
    return {
        "number": item.number,
        "body": None if item.is_redacted else item.body,
        "html": None if item.is_redacted else item.html,
        "created_at": timestamp(item.created_at),
        "replaced_at": timestamp(item.replaced_at),
        "redacted": item.is_redacted,
        "redacted_by": item.redacted_as,
        "redacted_at": timestamp(item.redacted_at),
    }


def group(view: GroupView) -> JSON:
    """A group as the actor sees it: `members_count` is null unless they may see members."""
    item = view.group
    return {
        "id": item.id,
        "name": item.name,
        "slug": item.slug,
        "description": item.description,
        "visibility": item.visibility.value,
        "url": item.url,
        "members_count": view.members_count,
        "role": view.role.value if view.role is not None else None,
    }


def admin_group(view: GroupView) -> JSON:
    """A group in the admin overview: what it is called and how big, nothing of its inside."""
    item = view.group
    return {
        "id": item.id,
        "name": item.name,
        "slug": item.slug,
        "visibility": item.visibility.value,
        "members_count": view.members_count,
    }


def member(item: Membership) -> JSON:
    """A member of a group: pseudonym, role, and the month they joined the group."""
    return {
        "username": item.user.username,
        "role": item.role.value,
        "joined_at": month_of(item.created_at),
        "label": policy.shown_label(item.user, item),
        "url": item.user.url,
    }


def _name_of(user: User | None) -> str | None:
    return user.username if user is not None else None


def invitation(item: Invitation, *, working: bool = True) -> JSON:
    """An invitation in a list: its use counts and maker, never its token (shown once).

    `working` is false while its maker may not invite (sanctioned in the group, say)."""
    return {
        "id": item.id,
        "created_at": timestamp(item.created_at),
        "created_by": _name_of(item.created_by),
        "expires_at": timestamp(item.expires_at),
        "max_uses": item.max_uses,
        "uses": item.uses,
        "working": working,
    }


def member_invitation(item: MemberInvitation) -> JSON:
    """An invitation by name, as the group's owners see it (declined: nothing more)."""
    return {
        "id": item.id,
        "username": item.user.username,
        "user_url": item.user.url,
        "role": item.role.value,
        "state": item.state.value,
        "invited_by": _name_of(item.invited_by),
        "created_at": timestamp(item.created_at),
        "decided_at": timestamp(item.decided_at),
    }


def my_invitation(item: MemberInvitation) -> JSON:
    """An invitation by name, as its invitee sees it: the group's name and description
    (the group itself stays closed to them until they accept) and who invited them."""
    return {
        "id": item.id,
        "group": {
            "name": item.group.name,
            "description": item.group.description,
            "visibility": item.group.visibility.value,
        },
        "role": item.role.value,
        "invited_by": _name_of(item.invited_by),
        "created_at": timestamp(item.created_at),
        "url": "/account/invitations",
    }


def exclusion(item: GroupExclusion) -> JSON:
    """Someone a group keeps out, for its owners."""
    return {
        "username": item.user.username,
        "kind": item.kind.value,
        "created_at": timestamp(item.created_at),
        "by": _name_of(item.created_by),
    }


def new_invitation(item: Invitation, token: str, *, link: str) -> JSON:
    """A fresh invitation with its token and link: the only time either is shown.

    `url` is the page's path, like every object's; `link` the full address to share, on
    the host the member is using.
    """
    return {
        "id": item.id,
        "token": token,
        "url": f"/invite/{token}",
        "link": link,
        "expires_at": timestamp(item.expires_at),
        "max_uses": item.max_uses,
        "uses": item.uses,
    }


def join_request(item: JoinRequest) -> JSON:
    """A member asking to join a public group."""
    return {
        "id": item.id,
        "username": item.user.username,
        "user_url": item.user.url,
        "state": item.state.value,
        "created_at": timestamp(item.created_at),
        "decided_at": timestamp(item.decided_at),
    }


def flag(item: Flag) -> JSON:
    """One member's report of a post: the reason, their note and trust level, never a name."""
    return {
        "reason": item.reason.value,
        "note": item.note,
        "trust_level": item.trust_level,
    }


def report(item: Report, flags: list[Flag]) -> JSON:
    """A report as its reporter sees it: `flags` is only their own."""
    return {
        "id": item.id,
        "post_id": item.post_id,
        "topic_id": item.post.topic_id,
        "reasons": [flag(f) for f in flags],
        "status": item.status.value,
        "created_at": timestamp(item.created_at),
    }


def review_report(actor: Actor, item: Report) -> JSON:
    """A report as a moderator in scope reviews it: every flag, the score and the post."""
    return {
        **report(item, list(item.flags)),
        "score": item.score,
        "resolution": item.resolution or None,
        "resolution_reason": item.resolution_reason or None,
        "resolved_at": timestamp(item.resolved_at),
        "post": post(actor, item.post),
    }


def queue_item(actor: Actor, item: QueueItem) -> JSON:
    """One thing waiting in the review queue, with what deciding it needs."""
    return {
        "kind": item.kind,
        "id": item.obj.id,
        "created_at": timestamp(item.created_at),
        "post": post(actor, item.post) if item.post is not None else None,
        "topic": topic(item.topic) if item.topic is not None else None,
        "reasons": [
            {"reason": reason.value, "note": note, "trust_level": level}
            for reason, note, level in item.reasons
        ],
        "score": item.score if item.kind == "report" else None,
        "sanction": sanction(item.sanction) if item.sanction is not None else None,
        "appeal": appeal(item.obj) if isinstance(item.obj, Appeal) else None,
        "member": item.member.username if item.member is not None else None,
        "member_history": (
            {"hidden_posts": item.hidden_posts, "sanctions": item.sanctions}
            if item.member is not None
            else None
        ),
    }


def log_entry(item: ModerationLog) -> JSON:
    """A moderation log entry. Its `data` (what an undo needs) stays inside."""
    return {
        "id": item.id,
        # None: the community's automatic defences (auto-hide, auto-silence).
        "actor": item.actor.username if item.actor is not None else None,
        "action": item.action,
        "target_type": item.target_type,
        "target_id": item.target_id,
        "reason": item.reason,
        "created_at": timestamp(item.created_at),
        "undone": item.undone_at is not None,
    }


def sanction(item: Sanction) -> JSON:
    """A silence or suspension. Not who imposed it: only whether the system did."""
    return {
        "id": item.id,
        "username": item.user.username,
        "kind": item.kind.value,
        "state": item.state.value,
        "group_id": item.group_id,
        "reason": item.reason,
        "starts_at": timestamp(item.starts_at),
        "ends_at": timestamp(item.ends_at),
        "requested_days": item.requested_days,
        "automatic": item.created_by_id is None,
        "lifted_at": timestamp(item.lifted_at),
    }


def appeal(item: Appeal) -> JSON:
    """A member's appeal against a hidden post or a sanction."""
    return {
        "id": item.id,
        "username": item.user.username,
        "target_type": item.target_type,
        "target_id": item.target_id,
        "text": item.text,
        "state": item.state.value,
        "created_at": timestamp(item.created_at),
        "decided_at": timestamp(item.decided_at),
        "decision_reason": item.decision_reason or None,
    }


def notification(item: Notification, shown: Shown | None = None) -> JSON:
    """A notification: plain text (as `notifications.shown` words it for the reader),
    with a link to its post if it has one, and where it leads."""
    return {
        "id": item.id,
        "kind": item.kind,
        "text": shown.text if shown is not None else item.text,
        "post_url": f"/p/{item.post_id}" if item.post_id is not None else None,
        "url": shown.url if shown is not None else None,
        "count": item.count,
        "created_at": timestamp(item.created_at),
        "read": item.read_at is not None,
    }


def page_of(plural: str, found: Page[Any], items: list[JSON]) -> JSON:
    """A paged list: {"<plural>": [...], "page", "pages"}."""
    return {plural: items, "page": found.page, "pages": found.pages}


def group_moderation(item: Group) -> JSON:
    """A group's moderation settings."""
    return {
        "log_visible_to_members": item.log_visible_to_members,
        "approve_first_posts": item.approve_first_posts,
    }


def search_result(item: SearchItem) -> JSON:
    """One search hit: where it is, and a snippet of the post's own text (escaped HTML,
    matches in <mark>). Only posts the actor may read get here (forum.search.service)."""
    return {
        "post_id": item.post.id,
        "topic_id": item.post.topic_id,
        "title": item.topic_title,
        "snippet": str(item.snippet),
        "board_id": item.board.id,
        "board": item.board.name,
        "author": item.author_name,
        "created_at": timestamp(item.created_at),
        "url": item.post.url,
    }


def search_page(found: SearchPage) -> JSON:
    """A page of search results: {"results", "total", "total_exact", "page", "pages",
    "suggestion"}."""
    return {
        "results": [search_result(item) for item in found.items],
        "total": found.total,
        "total_exact": found.total_exact,
        "page": found.page,
        "pages": found.pages,
        "suggestion": found.suggestion,
    }


def conversation(item: Conversation, participants: list[str], unread: bool) -> JSON:
    """A conversation as its participants see it."""
    return {
        "id": item.id,
        "title": item.title,
        "participants": participants,
        "url": f"/messages/{item.id}",
        "unread": unread,
        "last_message_at": timestamp(item.last_message_at),
    }


def message(item: ConversationMessage) -> JSON:
    """A private message; its author as "deleted member" once their account is gone. One
    its author deleted has no words (a report's moderators read them elsewhere)."""
    deleted = item.deleted_at is not None
    return {
        "id": item.id,
        "author": item.author.shown_name if item.author is not None else DELETED_MEMBER,
        "body": "" if deleted else item.body,
        "html": "" if deleted else item.html,
        "deleted": deleted,
        "created_at": timestamp(item.created_at),
        "url": f"/messages/{item.conversation_id}/m/{item.id}",
    }


def reported_message(item: ConversationMessage, *, reported: bool) -> JSON:
    """A message in a report's window, for the moderators handling the report (the words
    of a deleted one stay while its report is open)."""
    return {
        "id": item.id,
        "author": item.author.shown_name if item.author is not None else DELETED_MEMBER,
        "body": item.body,
        "html": item.html,
        "deleted": item.deleted_at is not None,
        "created_at": timestamp(item.created_at),
        "reported": reported,
    }


def message_report(report: MessageReport, window: list[ConversationMessage]) -> JSON:
    """A report of a private message (never the reporter's name), with its window."""
    return {
        "id": report.id,
        "reason": report.reason,
        "note": report.note,
        "status": report.status,
        "created_at": timestamp(report.created_at),
        "resolved_at": timestamp(report.resolved_at),
        "messages": [reported_message(m, reported=m.id == report.message_id) for m in window],
    }


def chat_room(item: ChatRoom) -> JSON:
    return {
        "id": item.id,
        "name": item.name,
        "group": item.group.slug if item.group is not None else None,
        "slow_mode_seconds": item.slow_mode_seconds,
        "retention_days": item.retention_days,
        "token": f"r{item.id}.{item.revision}",
        "url": item.url,
    }


def chat_message(item: ChatMessage) -> JSON:
    return {
        "id": item.id,
        "room_id": item.room_id,
        "author": item.author.shown_name,
        "body": item.body,
        "html": item.html,
        "created_at": timestamp(item.created_at),
    }
