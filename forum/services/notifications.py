"""Notifications: short plain-text messages to one member.

Two sorts. Messages from the site and its moderators ("Your post was hidden") keep
their whole sentence in `text`. Notifications about what another member did (a reply,
a mention, a quote, likes, a join request: the kinds in `ACTED`) keep who did it in
`actor_id`, and `text` holds the sentence with no name in it ("Someone replied to your
post."): `shown` names them when the notification is read, as the reader may see
them then. A name frozen into the text would outlive a deleted account and could name
someone the reader no longer may know.

Who is told about a new post (`notify_post`): the opening post's author, the author of
the post it answers, the authors of posts it quotes and the members it mentions; each
once, with the strongest reason (mention > quote > reply), never the author themself,
and only members who may read the post (policy, with each recipient's own `Actor`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from forum import outbox
from forum import policy
from forum import senders
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.listings import Page
from forum.listings import _paged
from forum.models.activity import PostLike
from forum.models.base import utcnow
from forum.models.email import DigestFrequency
from forum.models.email import EmailSettings
from forum.models.groups import Group
from forum.models.groups import JoinRequest
from forum.models.groups import Membership
from forum.models.groups import Role
from forum.models.notifications import EmailChoice
from forum.models.notifications import Notification
from forum.models.notifications import NotificationPreference
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import DELETED_MEMBER
from forum.models.users import User
from forum.policy import Actor
from forum.rendering import mentioned_names
from forum.services import watching

TEXT_MAX = 500
KIND_MAX = 32
# The outbox kind that mails one notification at once (handled, at send time, by
# forum.services.notification_mail, which the app imports at start: it imports this
# module, so the kind is named here rather than imported from there).
MAIL_KIND = "notification_mail"
# A member who chooses "digest" for a kind gets their first summary after this long.
DIGEST_PERIODS = {"daily": 1, "weekly": 7}  # days

# Kinds about something a member did, with the sentence shown when read: `{name}` is who
# did it (as the reader may see them), `{group}` the group (only while it is visible:
# `visible_notifications` drops the notification otherwise).
ACTED: dict[str, str] = {
    "mention": "{name} mentioned you.",
    "quote": "{name} quoted your post.",
    "reply": "{name} replied to your post.",
    "topic_reply": "{name} replied in your topic.",
    "like": "{name} liked your post.",
    "watched_post": "{name} posted in a topic you watch.",
    "new_topic": "{name} started a topic where you watch.",
    "join_request": "{name} asks to join {group}.",
    "join_accepted": "Your request to join {group} was accepted.",
    "join_declined": "Your request to join {group} was declined.",
    # Never the conversation's title or the message's words: mail subjects and the
    # notifications page say only that there is one.
    "message": "{name} sent you a private message.",
}
# A reply in the reader's topic, named by its title while they may see it (looked up when
# shown, through the policy: a title is never stored in a notification).
TOPIC_REPLY_TITLED = "{name} replied in your topic “{topic}”."
# One notification per recipient per post: the first of these that applies.
POST_KINDS = ("mention", "quote", "reply", "topic_reply", "watched_post", "new_topic")
# What each watching level lets through (see forum.services.watching).
LEVEL_KINDS = {
    "watching": frozenset(POST_KINDS),
    "tracking": frozenset({"mention", "quote", "reply", "topic_reply"}),
    "normal": frozenset({"mention"}),
    "muted": frozenset(),
}
# At most this many members mentioned in one post are told (the rest stay plain names).
MENTIONS_MAX = 10
QUOTES_MAX = 10
SOMEONE = "someone"
# A quote: a blockquote whose first line links to the quoted post, as the "Quote" action
# writes it: `> [ann wrote](/p/12):`.
QUOTE_RE = re.compile(
    r"^ {0,3}> ?\[[^\]\n]{0,200}\]\(/p/([1-9][0-9]{0,8})(?:#[\w-]*)?\)", re.MULTILINE
)
_UNREACHED_KEY = "forum_unreached_mentions"
# What the author is told: nothing about who, or which groups they are in.
UNREACHED_MENTIONS = "Some people you mentioned can't see this topic and were not told."


def notify(
    user_id: int,
    kind: str,
    text: str,
    *,
    post_id: int | None = None,
    group_id: int | None = None,
    actor_id: int | None = None,
    email: str | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
    meeting_id: int | None = None,
) -> Notification:
    """Add a notification for a member (plain text, cut to 500 characters); mailed at once
    when the member chose "immediately" for its kind (`email`: that choice, if known)."""
    if len(text) > TEXT_MAX:
        text = text[: TEXT_MAX - 1] + "…"
    notification = Notification(
        user_id=user_id,
        kind=kind[:KIND_MAX],
        text=text,
        post_id=post_id,
        group_id=group_id,
        actor_id=actor_id,
        conversation_id=conversation_id,
        message_id=message_id,
        meeting_id=meeting_id,
        count=1,
        created_at=utcnow(),
    )
    db.session.add(notification)
    db.session.execute(update(User).where(User.id == user_id).values(has_unread_notifications=True))
    db.session.flush()
    if email is None:
        email = db.session.scalar(
            select(NotificationPreference.email).where(
                NotificationPreference.user_id == user_id, NotificationPreference.kind == kind
            )
        )
    if email == EmailChoice.IMMEDIATELY:
        # Only the id: the mail is built when it is sent, through the member's permissions
        # then (a member who left the group meanwhile gets nothing).
        outbox.enqueue(MAIL_KIND, {"notification_id": notification.id})
    return notification


def _capital(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _stored_text(kind: str) -> str:
    # The sentence with no name in it: what `text` keeps (exports, old clients).
    return _capital(ACTED[kind].format(name=SOMEONE, group="a group"))


def _choice(user_id: int, kind: str) -> Any:
    # The member's row for a kind they may choose for (None: shown, never mailed).
    return db.session.execute(
        select(NotificationPreference.in_app, NotificationPreference.email).where(
            NotificationPreference.user_id == user_id, NotificationPreference.kind == kind
        )
    ).first()


def notify_acted(
    user_id: int,
    kind: str,
    actor_id: int | None,
    *,
    post_id: int | None = None,
    group_id: int | None = None,
    conversation_id: int | None = None,
    message_id: int | None = None,
) -> Notification | None:
    """Tell a member that another did something (`ACTED` kinds; named when read), unless
    they turned that kind off (None then)."""
    chosen = _choice(user_id, kind)
    if chosen is not None and not chosen.in_app:
        return None
    return notify(
        user_id,
        kind,
        _stored_text(kind),
        post_id=post_id,
        group_id=group_id,
        actor_id=actor_id,
        email=chosen.email if chosen is not None else EmailChoice.NEVER.value,
        conversation_id=conversation_id,
        message_id=message_id,
    )


def notify_notice(
    user_id: int,
    kind: str,
    text: str,
    *,
    post_id: int | None = None,
    group_id: int | None = None,
    meeting_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> Notification | None:
    """A notice from the site of a kind the member chooses for (`NOTICES`: reminders),
    unless they turned it off (None then). Out of the forum it goes through the configured
    reminder senders (forum.senders), once each: e-mail among them, as the member chose
    for the kind (`details`: what the senders need to word it, e.g. the meeting's id)."""
    chosen = _choice(user_id, kind)
    if chosen is not None and not chosen.in_app:
        return None
    email = chosen.email if chosen is not None else EmailChoice.NEVER.value
    notification = notify(
        user_id,
        kind,
        text,
        post_id=post_id,
        group_id=group_id,
        meeting_id=meeting_id,
        # Not mailed by `notify`: the e-mail sender is how a reminder's mail goes out, so
        # it goes once (a digest still sums it up, as the member chose).
        email=EmailChoice.NEVER.value,
    )
    senders.queue(notification.id, email=email == EmailChoice.IMMEDIATELY, details=details)
    return notification


def neutral_text(notification: Notification) -> str:
    """The notification in words that name nobody and nothing (for mail bodies set to
    "only a link"): the stored sentence of an `ACTED` kind, a generic one otherwise (the
    text of other kinds may hold a group's or a meeting's name)."""
    if notification.kind in ACTED:
        return _stored_text(notification.kind)
    return "You have a new notification."


@dataclass(frozen=True)
class Shown:
    """A notification as its reader sees it now: the sentence, and where it leads."""

    text: str
    url: str | None


def shown(actor: Actor, items: Sequence[Notification]) -> dict[int, Shown]:
    """Each notification (by id) as the reader sees it: who acted named only as the
    reader may see them now ("someone" otherwise, "deleted member" once deleted), a
    post's link to the post, a group's to the group (its requests, for those deciding)."""
    acted = [n for n in items if n.kind in ACTED]
    actor_ids = sorted({n.actor_id for n in acted if n.actor_id is not None})
    known: dict[int, str] = {}
    if actor_ids:
        for user_id, username in db.session.execute(
            policy.visible_users(actor)
            .where(User.id.in_(actor_ids))
            .with_only_columns(User.id, User.username)
        ):
            known[user_id] = username
        deleted = db.session.scalars(
            select(User.id).where(User.id.in_(actor_ids), User.deleted_at.is_not(None))
        )
        known.update(dict.fromkeys(deleted, DELETED_MEMBER))
    group_ids = sorted({n.group_id for n in acted if n.group_id is not None})
    groups: dict[int, Group] = {}
    if group_ids:
        for visible in db.session.scalars(
            policy.visible_groups(actor).where(Group.id.in_(group_ids))
        ):
            groups[visible.id] = visible
    # Those who decide a group's join requests see the askers' names on its requests
    # page: the notification may name them too.
    askers = [
        n.actor_id
        for n in acted
        if n.kind == "join_request"
        and n.actor_id is not None
        and n.actor_id not in known
        and n.group_id in groups
        and policy.can_invite(actor, groups[n.group_id])
    ]
    if askers:
        for user_id, username in db.session.execute(
            select(User.id, User.username).where(
                User.id.in_(sorted(set(askers))), User.deleted_at.is_(None)
            )
        ):
            known[user_id] = username
    titles = _topic_titles(actor, [n.post_id for n in acted if n.kind == "topic_reply"])
    found: dict[int, Shown] = {}
    for n in items:
        url = f"/p/{n.post_id}" if n.post_id is not None else None
        if n.conversation_id is not None and n.message_id is not None:
            url = f"/messages/{n.conversation_id}/m/{n.message_id}"
        if n.kind == "meeting_reminder":
            # Leads to the meeting itself (`visible_notifications` checks its group);
            # reminders from before `meeting_id` existed lead to the member's meetings.
            url = f"/meetings/{n.meeting_id}" if n.meeting_id is not None else "/meetings"
        if n.kind not in ACTED:
            found[n.id] = Shown(n.text, url)
            continue
        # The account row itself gone (ON DELETE SET NULL): it was deleted.
        name = known.get(n.actor_id, SOMEONE) if n.actor_id is not None else DELETED_MEMBER
        about = groups.get(n.group_id or 0)
        group_name = about.name if about is not None else "a group"
        if about is not None:
            url = f"/g/{about.slug}/requests" if n.kind == "join_request" else f"/g/{about.slug}"
        sentence = ACTED[n.kind]
        if n.kind == "like" and n.count > 1:
            others = n.count - 1
            sentence = f"{{name}} and {others} other{'s' if others > 1 else ''} liked your post."
        title = titles.get(n.post_id or 0)
        if n.kind == "topic_reply" and title is not None:
            sentence = TOPIC_REPLY_TITLED
        # A member's name keeps its case; "someone" opening a sentence gets a capital.
        # (`format` puts a name or title in as it is: braces in one are not read.)
        text = sentence.format(name=name, group=group_name, topic=title)
        if name in (SOMEONE, DELETED_MEMBER) or not sentence.startswith("{name}"):
            text = _capital(text)
        found[n.id] = Shown(text, url)
    return found


def _topic_titles(actor: Actor, post_ids: Collection[int | None]) -> dict[int, str]:
    # The topics of these posts, by post id, that the reader may see now (one query).
    wanted = sorted({post_id for post_id in post_ids if post_id is not None})
    if not wanted:
        return {}
    rows = db.session.execute(
        policy.visible_posts(actor)
        .where(Post.id.in_(wanted))
        .with_only_columns(Post.id, Topic.title)
    )
    return {post_id: title for post_id, title in rows}


# Names looked up per post: more `@name`s than this stay plain text.
MENTION_LOOKUPS = 50


def mentionable(actor: Actor, source: str) -> dict[str, int]:
    """The members a post's text mentions (`@name`) whom the author may see, by lower-case
    name, in the order first mentioned. Anyone else (unknown, or hidden from the author)
    is left out alike: their name stays plain text and nobody is told."""
    names = mentioned_names(source)[:MENTION_LOOKUPS]
    if not names:
        return {}
    found: dict[str, int] = {}
    for key, user_id in db.session.execute(
        policy.visible_users(actor)
        .where(User.username_key.in_(names))
        .with_only_columns(User.username_key, User.id)
    ):
        found[key] = user_id
    return {name: found[name] for name in names if name in found}


def _may_read(user: User, post: Post) -> bool:
    # Each recipient's own permissions, as if they opened the post now.
    if user.is_deleted:
        return False
    return policy.can_see_post_body(policy.actor_for(user, guests_read=False), post)


def quoted_post_ids(source: str) -> list[int]:
    """Ids of the posts a post's text quotes (see `QUOTE_RE`), at most `QUOTES_MAX`."""
    found: list[int] = []
    for match in QUOTE_RE.finditer(source):
        post_id = int(match.group(1))
        if post_id not in found:
            found.append(post_id)
    return found[:QUOTES_MAX]


def notify_post(actor: Actor, post: Post, *, mentioned: Collection[int] = ()) -> int:
    """Tell members about a new post (see the module docstring); `mentioned`: ids of the
    members its text mentions whom the author may see (the first `MENTIONS_MAX` count).
    Returns how many mentioned members were not told because they cannot read it.

    A post waiting for approval tells nobody: its readers cannot see it yet.
    """
    if post.is_hidden or post.topic.awaiting_approval:
        return 0
    reasons: dict[int, str] = {}

    def add(user_id: int | None, kind: str) -> None:
        if user_id is None or user_id == actor.user_id:
            return
        known = reasons.get(user_id)
        if known is None or POST_KINDS.index(kind) < POST_KINDS.index(known):
            reasons[user_id] = kind

    if post.number > 1:
        add(post.topic.author_id, "topic_reply")
    if post.reply_to_id is not None:
        add(db.session.scalar(select(Post.author_id).where(Post.id == post.reply_to_id)), "reply")
    quoted = quoted_post_ids(post.body)
    if quoted:
        # Only posts the author can see: a guessed id of a hidden post tells nobody.
        for author_id in db.session.scalars(
            policy.visible_posts(actor)
            .where(Post.id.in_(quoted), Post.deleted_at.is_(None))
            .with_only_columns(Post.author_id)
        ):
            add(author_id, "quote")
    chosen = list(dict.fromkeys(mentioned))[:MENTIONS_MAX]
    for user_id in chosen:
        add(user_id, "mention")
    new_topic = post.number == 1
    for user_id in watching.watchers(post.topic, new_topic=new_topic):
        add(user_id, "new_topic" if new_topic else "watched_post")
    # Members who blocked the author hear nothing of them (and the author is not told).
    for blocker in policy.blockers_of(actor.user_id or 0, list(reasons)):
        reasons.pop(blocker, None)
    unreached = 0
    if reasons:
        levels = watching.levels_for(post.topic, list(reasons))
        users = db.session.scalars(select(User).where(User.id.in_(sorted(reasons))))
        for user in users:
            kind = reasons[user.id]
            # Muted (or a level that does not take this kind): silently nothing. Not
            # counted as "could not see": that would tell the author who muted them.
            if kind not in LEVEL_KINDS[levels[user.id]]:
                continue
            if not _may_read(user, post):
                unreached += user.id in chosen
                continue
            notify_acted(user.id, kind, actor.user_id, post_id=post.id)
    # The author hears only the number (`unreached_mentions`), never who.
    db.session.info.setdefault(_UNREACHED_KEY, {})[post.id] = unreached
    return unreached


def notify_approved(post: Post) -> int:
    """Tell members about a post a moderator has just approved, as `notify_post` would
    have had it been posted now: with its author's permissions as they are now (quotes,
    mentions) and each recipient's. Before approval it told nobody."""
    author = post.author
    if author.is_deleted:
        return 0
    actor = policy.actor_for(author, guests_read=False)
    return notify_post(actor, post, mentioned=mentionable(actor, post.body).values())


def unreached_mentions(post: Post) -> int:
    """How many members mentioned in a post just written in this session could not read
    it and were not told (0 if none)."""
    found: dict[int, int] = db.session.info.get(_UNREACHED_KEY, {})
    return found.get(post.id, 0)


def notify_like(actor: Actor, post: Post) -> None:
    """Tell a post's author it was liked: one unread notification per post, counting the
    likes since they last read it, naming the latest liker."""
    author = post.author
    if post.author_id == actor.user_id or not _may_read(author, post):
        return
    pending: Notification | None = db.session.scalar(
        select(Notification).where(
            Notification.user_id == author.id,
            Notification.kind == "like",
            Notification.post_id == post.id,
            Notification.read_at.is_(None),
        )
    )
    if pending is None:
        notify_acted(author.id, "like", actor.user_id, post_id=post.id)
        return
    pending.count = Notification.count + 1
    pending.actor_id = actor.user_id
    pending.created_at = utcnow()
    db.session.execute(
        update(User).where(User.id == author.id).values(has_unread_notifications=True)
    )
    db.session.flush()


def withdraw_like(actor: Actor, post: Post, liked_at: datetime) -> None:
    """A like given at `liked_at` was taken back: count it out of the author's unread
    like notification (the one counting likes since they last read one), and remove that
    notification when nothing is left in it. Likes counted in one already read stay."""
    pending: Notification | None = db.session.scalar(
        select(Notification).where(
            Notification.user_id == post.author_id,
            Notification.kind == "like",
            Notification.post_id == post.id,
            Notification.read_at.is_(None),
        )
    )
    if pending is None:
        return
    last_read = db.session.scalar(
        select(func.max(Notification.read_at)).where(
            Notification.user_id == post.author_id,
            Notification.kind == "like",
            Notification.post_id == post.id,
        )
    )
    if last_read is not None and liked_at <= last_read:
        return  # given before the author read the last one: not in the pending count
    if pending.count <= 1:
        db.session.delete(pending)
        db.session.flush()
        _refresh_unread_flag(pending.user_id)
        return
    pending.count = Notification.count - 1
    if pending.actor_id == actor.user_id:
        # It named the member who took the like back: name the latest liker left.
        pending.actor_id = db.session.scalar(
            select(PostLike.user_id)
            .where(PostLike.post_id == post.id)
            .order_by(PostLike.created_at.desc(), PostLike.user_id.desc())
            .limit(1)
        )
    db.session.flush()


def _refresh_unread_flag(user_id: int) -> None:
    # The header looks for unread notifications only while this flag is up.
    left = db.session.scalar(
        select(Notification.id)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .limit(1)
    )
    db.session.execute(
        update(User).where(User.id == user_id).values(has_unread_notifications=left is not None)
    )


def notify_join_request(request: JoinRequest) -> None:
    """Tell a group's owners and moderators that a member asks to join."""
    deciders = db.session.scalars(
        select(Membership.user_id).where(
            Membership.group_id == request.group_id,
            Membership.role.in_([Role.OWNER, Role.MODERATOR]),
            Membership.user_id != request.user_id,
        )
    )
    for user_id in sorted(set(deciders)):
        notify_acted(user_id, "join_request", request.user_id, group_id=request.group_id)


def notify_join_decided(request: JoinRequest, *, accepted: bool) -> None:
    """Tell a member their join request was accepted or declined (not by whom)."""
    kind = "join_accepted" if accepted else "join_declined"
    notify_acted(request.user_id, kind, None, group_id=request.group_id)


def notifications(actor: Actor, *, page: int = 1, per_page: int = 30) -> Page[Notification]:
    """The actor's notifications, newest first (only those they may still see)."""
    policy.require_member(actor)
    scope = policy.visible_notifications(actor)
    total = int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)
    stmt = scope.order_by(Notification.created_at.desc(), Notification.id.desc())
    return _paged(stmt, total, page, per_page)


def notifications_before(
    actor: Actor, before: int | None, *, limit: int = 30
) -> tuple[list[Notification], int | None]:
    """A page of the actor's visible notifications older than the one with id `before`
    (None: the newest), newest first, and the id to ask `before` next (None: no more).
    Ids only order the member's own list: another member's id just marks a place."""
    policy.require_member(actor)
    scope = policy.visible_notifications(actor)
    if before is not None:
        scope = scope.where(Notification.id < before)
    items = list(db.session.scalars(scope.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(items) > limit
    items = items[:limit]
    return items, (items[-1].id if more else None)


def unread_count(actor: Actor) -> int:
    """How many of the actor's visible notifications are unread (guests: 0)."""
    if not actor.is_member:
        return 0
    # Every member page shows the count and nearly always it is 0: a cheap look at the
    # member's own unread rows first, the scoped count (which hides notifications about
    # posts they can no longer see) only when there are some.
    unread = db.session.scalar(
        select(Notification.id)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .limit(1)
    )
    if unread is None:
        return 0
    scope = policy.visible_notifications(actor).where(Notification.read_at.is_(None))
    return int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)


def mark_one_read(actor: Actor, notification_id: int) -> bool:
    """Mark one of the actor's visible notifications read; True if it was unread.
    Anyone else's (or one they may no longer see) is `NotFound`."""
    policy.require_member(actor)
    found = db.session.scalar(
        policy.visible_notifications(actor).where(Notification.id == notification_id)
    )
    if found is None:
        raise NotFound()
    return mark_read(actor, [notification_id]) > 0


def mark_all_read(actor: Actor) -> int:
    """Mark the actor's visible notifications read; the number marked."""
    return mark_read(actor, None)


def mark_read(actor: Actor, ids: Sequence[int] | None) -> int:
    """Mark some of the actor's visible notifications read (`ids`; None: all of them);
    the number marked. Ids of anyone else's, or of ones they may no longer see, change
    nothing."""
    policy.require_member(actor)
    unread = policy.visible_notifications(actor).where(Notification.read_at.is_(None))
    chosen = unread if ids is None else unread.where(Notification.id.in_(sorted(set(ids))))
    result = db.session.execute(
        update(Notification)
        .where(Notification.id.in_(chosen.with_only_columns(Notification.id)))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    # The navigation looks for unread notifications only while this flag says there may
    # be some: it stays up while any visible one is left unread (on another page).
    left = ids is not None and (
        db.session.scalar(unread.with_only_columns(Notification.id).limit(1)) is not None
    )
    db.session.execute(
        update(User)
        .where(User.id == actor.user_id)
        .values(has_unread_notifications=left)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


# Notices from the site that a member may choose for too. Their text is written when
# made and may name a meeting: shown only while its group or post is visible.
NOTICES = ("meeting_reminder", "reminder")
# Kinds a member may choose for: what other members do, and reminders.
PREFERENCE_KINDS = (*ACTED, *NOTICES)
EMAIL_CHOICES = tuple(choice.value for choice in EmailChoice)


def preferences(actor: Actor) -> dict[str, dict[str, bool | str]]:
    """The member's choice for each kind: in-app on/off, e-mail never/immediately/digest
    (the defaults where they chose nothing: shown, never mailed)."""
    user_id = policy.require_member(actor)
    found: dict[str, dict[str, bool | str]] = {
        kind: {"in_app": True, "email": EmailChoice.NEVER.value} for kind in PREFERENCE_KINDS
    }
    for row in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    ):
        if row.kind in found:
            found[row.kind] = {"in_app": row.in_app, "email": row.email}
    return found


def set_preferences(actor: Actor, changes: Any) -> dict[str, dict[str, bool | str]]:
    """Change some of the member's choices ({kind: {"in_app": bool, "email": choice}});
    an unknown kind or value is `Invalid` and changes nothing."""
    user_id = policy.require_member(actor)
    if not isinstance(changes, dict):
        raise Invalid("preferences", "Give an object of kinds.")
    current = preferences(actor)
    for kind, change in changes.items():
        if kind not in current:
            raise Invalid("preferences", f"Unknown kind: {str(kind)[:KIND_MAX]}.")
        if not isinstance(change, dict) or set(change) - {"in_app", "email"}:
            raise Invalid("preferences", "Each kind takes in_app and email.")
        in_app = change.get("in_app", current[kind]["in_app"])
        email = change.get("email", current[kind]["email"])
        if not isinstance(in_app, bool) or email not in EMAIL_CHOICES:
            raise Invalid(
                "preferences", f"in_app is true or false; email one of {', '.join(EMAIL_CHOICES)}."
            )
        current[kind] = {"in_app": in_app, "email": email}
    for kind in changes:
        row = db.session.scalar(
            select(NotificationPreference).where(
                NotificationPreference.user_id == user_id, NotificationPreference.kind == kind
            )
        )
        if row is None:
            row = NotificationPreference(user_id=user_id, kind=kind)
            db.session.add(row)
        row.in_app = bool(current[kind]["in_app"])
        row.email = str(current[kind]["email"])
    if any(choice["email"] == EmailChoice.DIGEST for choice in current.values()):
        schedule_digest(user_id)
    db.session.flush()
    return current


def schedule_digest(user_id: int) -> None:
    """Make sure the digest job will look at this member (a settings row with a next
    digest time, unless their digests are off). Members who never chose "digest" have no
    schedule, so the job every 5 minutes reads only the rows that are due."""
    row = db.session.get(EmailSettings, user_id)
    if row is None:
        row = EmailSettings(user_id=user_id, digest=DigestFrequency.DAILY.value, link_only=True)
        db.session.add(row)
    if row.digest != DigestFrequency.OFF and row.next_digest_at is None:
        row.next_digest_at = utcnow() + timedelta(days=DIGEST_PERIODS[row.digest])


SUGGESTIONS_MAX = 10
_PREFIX_RE = re.compile(r"[A-Za-z0-9_-]{1,20}")


def mention_suggestions(actor: Actor, prefix: Any) -> list[str]:
    """Names starting with `prefix` that the member may mention as links: those
    `policy.visible_users` lets them see (themselves excepted): fellow members of their
    groups, staff, authors of posts they can read. Never someone known only inside a
    secret group they are not in. An odd prefix finds nothing, like an unknown one."""
    policy.require_member(actor)
    if not isinstance(prefix, str) or not _PREFIX_RE.fullmatch(prefix):
        return []
    # LIKE wildcards cannot occur: the prefix is letters, digits, "_" and "-" only, and
    # "_" is escaped.
    pattern = prefix.lower().replace("_", "\\_") + "%"
    names = db.session.scalars(
        policy.visible_users(actor)
        .where(User.username_key.like(pattern, escape="\\"), User.id != actor.user_id)
        .order_by(User.username_key)
        .limit(SUGGESTIONS_MAX)
        .with_only_columns(User.username)
    )
    return list(names)
