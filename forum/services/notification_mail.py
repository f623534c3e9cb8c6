"""Notification e-mail: immediate mail per kind, daily or weekly digests, and one-click
unsubscribe links.

Nothing is decided when a notification is made beyond "this member wants this kind at
once" (`notifications.notify` queues the notification's id in the outbox). Everything
else is decided when the outbox sends, with the member's permissions of that moment
(`policy.visible_notifications`, then `policy.can_see_post_body` for the post): a
member who left the group, a post hidden meanwhile, an account deleted or an address
removed - nothing is sent. A retry (the mail server was down) builds the mail again, so
it checks again. Digests are the same: the periodic job (`send_due_digests`, from
`forum outbox drain`) only queues "sum up member N's notifications from A to B", and
the summary is built from the member's scope when it is sent.

Subjects never hold a word written by a member, nor a group's, topic's or meeting's
name ("Someone mentioned you"): mail is often read on a shared screen, and a subject is
shown in every list of mail. Bodies carry only a neutral sentence and a link unless the
member asks for a short excerpt (plain text cut from the sanitised post, never HTML).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import current_app
from itsdangerous import BadSignature
from itsdangerous import SignatureExpired
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import select

from forum import mail
from forum import outbox
from forum import policy
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.email import DigestFrequency
from forum.models.email import EmailSettings
from forum.models.email import MailThrottle
from forum.models.notifications import EmailChoice
from forum.models.notifications import Notification
from forum.models.notifications import NotificationPreference
from forum.models.posts import Post
from forum.models.users import User
from forum.policy import Actor
from forum.rendering import excerpt
from forum.services import notifications

log = logging.getLogger(__name__)

MAIL_KIND = notifications.MAIL_KIND
DIGEST_KIND = "digest_mail"
# At most one immediate mail per member per topic (or conversation) in this time: a busy
# topic sends one mail, and the notifications page has the rest (Discourse batches too).
THROTTLE = timedelta(minutes=15)
# Unsubscribe links keep working this long: mail is kept in inboxes for months.
UNSUBSCRIBE_MAX_AGE = 365 * 24 * 3600
EXCERPT_CHARS = 200
DIGEST_MAX = 50
DIGEST_DUE_BATCH = 500
DIGEST_FREQUENCIES = tuple(choice.value for choice in DigestFrequency)
ALL = "all"
DIGEST = "digest"

# Subjects: fixed words, no name, no title, no text (see the module docstring).
SUBJECTS: dict[str, str] = {
    "mention": "Someone mentioned you",
    "quote": "Someone quoted your post",
    "reply": "New reply to your post",
    "topic_reply": "New reply in your topic",
    "watched_post": "New post in a topic you watch",
    "new_topic": "New topic where you watch",
    "like": "Someone liked your post",
    "join_request": "A member asks to join a group you run",
    "join_accepted": "Your request to join a group was decided",
    "join_declined": "Your request to join a group was decided",
    "message": "New private message",
    "meeting_reminder": "Reminder: a meeting soon",
    "reminder": "Your reminder",
}
SUBJECT = "New notification"
DIGEST_SUBJECTS = {"daily": "Your daily summary", "weekly": "Your weekly summary"}


def subject_for(kind: str) -> str:
    """The subject of an immediate mail about a notification of `kind` (fixed words)."""
    return SUBJECTS.get(kind, SUBJECT)


# --- settings -----------------------------------------------------------------------


def _settings(user_id: int) -> EmailSettings | None:
    return db.session.get(EmailSettings, user_id)


def email_settings(actor: Actor) -> dict[str, Any]:
    """The member's mail settings: digest frequency, only-a-link bodies, and whether a
    confirmed address is on file (without one nothing is mailed)."""
    user_id = policy.require_member(actor)
    row = _settings(user_id)
    address = db.session.scalar(select(User.email).where(User.id == user_id))
    return {
        "digest": row.digest if row is not None else DigestFrequency.DAILY.value,
        "link_only": row.link_only if row is not None else True,
        "address": address is not None,
    }


def set_email_settings(actor: Actor, changes: Any) -> dict[str, Any]:
    """Change the member's digest frequency (off, daily, weekly) and/or `link_only`; a
    wrong value is `Invalid` and changes nothing."""
    user_id = policy.require_member(actor)
    if not isinstance(changes, dict) or set(changes) - {"digest", "link_only"}:
        raise Invalid("email", "Give digest and/or link_only.")
    digest = changes.get("digest")
    link_only = changes.get("link_only")
    if digest is not None and digest not in DIGEST_FREQUENCIES:
        raise Invalid("digest", f"digest is one of {', '.join(DIGEST_FREQUENCIES)}.")
    if link_only is not None and not isinstance(link_only, bool):
        raise Invalid("link_only", "link_only is true or false.")
    row = _ensure_settings(user_id)
    if link_only is not None:
        row.link_only = link_only
    if digest is not None and digest != row.digest:
        _set_digest(row, digest)
    db.session.flush()
    return email_settings(actor)


def _ensure_settings(user_id: int) -> EmailSettings:
    row = _settings(user_id)
    if row is None:
        row = EmailSettings(user_id=user_id, digest=DigestFrequency.DAILY.value, link_only=True)
        db.session.add(row)
    return row


def _set_digest(row: EmailSettings, digest: str) -> None:
    row.digest = digest
    if digest == DigestFrequency.OFF:
        row.next_digest_at = None
    else:
        row.next_digest_at = utcnow() + timedelta(days=notifications.DIGEST_PERIODS[digest])


# --- unsubscribe links ----------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    # A salt of its own: a confirmation or reset token is never an unsubscribe token.
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="forum.unsubscribe")


def _address_tag(address: str) -> str:
    # A keyed hash of the address (tokens are signed, not secret): the link dies when the
    # address changes or the account is deleted, and shows nothing of the address.
    return mail.recipient_digest(current_app, address)[-12:]


def unsubscribe_token(user: User, scope: str) -> str:
    """A signed token that turns off one kind's mail (`scope`: a kind, "digest" or "all")
    for this member, with no login, while their address stays the same."""
    return str(_serializer().dumps({"u": user.id, "s": scope, "a": _address_tag(user.email or "")}))


def _base_url() -> str:
    return str(current_app.config["FORUM_BASE_URL"]).rstrip("/")


def unsubscribe_url(user: User, scope: str) -> str:
    """The absolute unsubscribe link for `scope` (see `unsubscribe_token`)."""
    return f"{_base_url()}/email/unsubscribe/{unsubscribe_token(user, scope)}"


@dataclass(frozen=True)
class Unsubscribe:
    """Whose mail a valid unsubscribe link turns off, and which."""

    user: User
    scope: str

    @property
    def what(self) -> str:
        """The mail it stops, in words."""
        if self.scope == DIGEST:
            return "your e-mailed summaries (digests)"
        if self.scope == ALL:
            return "every notification e-mail"
        return f"e-mails like this one ({subject_for(self.scope).lower()})"


BAD_LINK = (
    "This unsubscribe link is damaged or too old. Nothing was changed. You can change your "
    "e-mail choices on your account page."
)
GONE_LINK = (
    "This unsubscribe link no longer works: the account's e-mail address changed or the "
    "account was deleted. Nothing was changed."
)


def read_unsubscribe_token(token: Any) -> Unsubscribe:
    """What a link's token stops: `Invalid` if it is malformed, tampered with or expired,
    `NotFound` if its account is deleted or its address changed. Nothing is changed."""
    try:
        data = _serializer().loads(str(token), max_age=UNSUBSCRIBE_MAX_AGE)
    except SignatureExpired as exc:
        raise Invalid("token", BAD_LINK) from exc
    except BadSignature as exc:
        raise Invalid("token", BAD_LINK) from exc
    if not isinstance(data, dict):
        raise Invalid("token", BAD_LINK)
    scope = data.get("s")
    if scope not in (*notifications.PREFERENCE_KINDS, DIGEST, ALL):
        raise Invalid("token", BAD_LINK)
    user_id = data.get("u")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if (
        user is None
        or user.is_deleted
        or not user.email
        or _address_tag(user.email) != data.get("a")
    ):
        raise NotFound(GONE_LINK)
    return Unsubscribe(user, str(scope))


def unsubscribe(token: Any, *, everything: bool = False) -> Unsubscribe:
    """Follow an unsubscribe link: turn off its kind's mail (or all notification mail);
    the same link used twice changes nothing more."""
    found = read_unsubscribe_token(token)
    scope = ALL if everything else found.scope
    user_id = found.user.id
    if scope in (DIGEST, ALL):
        row = _settings(user_id)
        if row is not None:
            _set_digest(row, DigestFrequency.OFF.value)
        elif scope == DIGEST:
            _ensure_settings(user_id).digest = DigestFrequency.OFF.value
    if scope == ALL:
        kinds = list(notifications.PREFERENCE_KINDS)
    elif scope == DIGEST:
        kinds = []
    else:
        kinds = [scope]
    for kind in kinds:
        row_pref = db.session.scalar(
            select(NotificationPreference).where(
                NotificationPreference.user_id == user_id, NotificationPreference.kind == kind
            )
        )
        if row_pref is not None:
            row_pref.email = EmailChoice.NEVER.value
        # No row: the default, never mailed.
    db.session.flush()
    return Unsubscribe(found.user, scope)


# --- building mail at send time ---------------------------------------------------------


def _recipient(user_id: int) -> tuple[User, Actor] | None:
    """The member and their permissions now, if mail may go to them at all."""
    user = db.session.get(User, user_id)
    if user is None or user.is_deleted or not user.email or user.is_suspended():
        return None
    return user, policy.actor_for(user, guests_read=False)


def _choice(user_id: int, kind: str) -> str:
    found = db.session.scalar(
        select(NotificationPreference.email).where(
            NotificationPreference.user_id == user_id, NotificationPreference.kind == kind
        )
    )
    return found or EmailChoice.NEVER.value


def _readable_posts(actor: Actor, post_ids: Sequence[int]) -> dict[int, Post]:
    """The posts, by id, whose body the member may read now (a hidden or deleted post,
    or one in a group they left, is missing)."""
    if not post_ids:
        return {}
    found: dict[int, Post] = {}
    for post in db.session.scalars(
        policy.visible_posts(actor).where(Post.id.in_(sorted(set(post_ids))))
    ):
        if post.deleted_at is None and policy.can_see_post_body(actor, post):
            found[post.id] = post
    return found


def _visible(actor: Actor, items: Sequence[Notification]) -> list[Notification]:
    """The notifications the member may see now, whose post (if any) they may read."""
    posts = _readable_posts(actor, [n.post_id for n in items if n.post_id is not None])
    return [n for n in items if n.post_id is None or n.post_id in posts]


def _throttle_key(notification: Notification, post: Post | None) -> str:
    if post is not None:
        return f"topic:{post.topic_id}"
    # A conversation (issue 14) when the notification names one; else one per kind.
    conversation = getattr(notification, "conversation_id", None)
    if conversation is not None:
        return f"conversation:{conversation}"
    return f"kind:{notification.kind}"[:40]


def _throttled(user_id: int, key: str, now: datetime) -> bool:
    last = db.session.scalar(
        select(MailThrottle.sent_at).where(MailThrottle.user_id == user_id, MailThrottle.key == key)
    )
    return last is not None and last > now - THROTTLE


def _record_sent(user_id: int, key: str, now: datetime) -> None:
    row = db.session.scalar(
        select(MailThrottle).where(MailThrottle.user_id == user_id, MailThrottle.key == key)
    )
    if row is None:
        db.session.add(MailThrottle(user_id=user_id, key=key, sent_at=now))
    else:
        row.sent_at = now
    db.session.flush()


def _lines_for(
    actor: Actor, items: Sequence[Notification], *, link_only: bool, neutral: str | None = None
) -> list[str]:
    """One paragraph per notification: what happened and the link to it."""
    shown = notifications.shown(actor, items)
    posts = _readable_posts(actor, [n.post_id for n in items if n.post_id is not None])
    base = _base_url()
    paragraphs = []
    for n in items:
        url = base + (shown[n.id].url or "/notifications")
        if link_only:
            paragraphs.append(f"{neutral or notifications.neutral_text(n)}\n{url}")
            continue
        text = shown[n.id].text
        post = posts.get(n.post_id or 0)
        quoted = excerpt(post.html, EXCERPT_CHARS) if post is not None else ""
        paragraphs.append(f"{text}\n" + (f'  "{quoted}"\n' if quoted else "") + url)
    return paragraphs


def _footer(user: User, scope: str, why: str) -> tuple[str, dict[str, str]]:
    link = unsubscribe_url(user, scope)
    footer = (
        "\n-- \n"
        f"You get this e-mail because {why}.\n"
        f"Stop these e-mails (one click, no login needed):\n{link}\n"
        f"All your e-mail choices: {_base_url()}/account#email-h\n"
    )
    # RFC 2369 and RFC 8058: mail programs show their own "Unsubscribe" button, which
    # POSTs "List-Unsubscribe=One-Click" to the link.
    headers = {
        "List-Unsubscribe": f"<{link}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return footer, headers


def notification_mail(
    user: User, actor: Actor, notification: Notification, *, neutral: str | None = None
) -> mail.Mail:
    """The immediate mail about one notification, as the member may see it now
    (`neutral`: the "only a link" sentence, if not `notifications.neutral_text`)."""
    row = _settings(user.id)
    link_only = row.link_only if row is not None else True
    [paragraph] = _lines_for(actor, [notification], link_only=link_only, neutral=neutral)
    footer, headers = _footer(
        user, notification.kind, "you chose to be e-mailed at once about this kind of notification"
    )
    body = f"Hello,\n\n{paragraph}\n{footer}"
    return mail.Mail(
        to=user.email or "", subject=subject_for(notification.kind), body=body, headers=headers
    )


def _smtp_configured(app: Flask) -> bool:
    return bool(app.config.get("FORUM_MAIL_URL"))


@outbox.handler(MAIL_KIND, deferred=_smtp_configured)
def deliver_notification(app: Flask, payload: dict[str, Any]) -> None:
    """Mail one notification now, if the member still wants it and may still see it;
    otherwise send nothing (the row is done either way)."""
    mail_notification(app, int(payload.get("notification_id", 0)))


def mail_notification(
    app: Flask, notification_id: int, *, neutral: str | None = None, throttle: bool = True
) -> bool:
    """Mail one notification now if the member still wants it at once and may still see
    it (True if a mail went out). `neutral`: the "only a link" sentence, if the caller
    has a better one than `notifications.neutral_text` (reminders). `throttle`: at most
    one mail per topic every 15 minutes (reminders were each asked for: not throttled).
    Raises if the mail could not be handed over (the outbox retries)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.read_at is not None:
        return False  # gone (the post or account was deleted), or read on the site already
    found = _recipient(notification.user_id)
    if found is None:
        return False
    user, actor = found
    if _choice(user.id, notification.kind) != EmailChoice.IMMEDIATELY:
        return False  # they changed their mind (or unsubscribed) since
    visible = db.session.scalar(
        policy.visible_notifications(actor).where(Notification.id == notification.id)
    )
    if visible is None:
        return False
    post = None
    if notification.post_id is not None:
        post = _readable_posts(actor, [notification.post_id]).get(notification.post_id)
        if post is None:
            return False
    now = utcnow()
    key = _throttle_key(notification, post)
    if throttle and _throttled(user.id, key, now):
        return False
    mail.deliver_now(app, notification_mail(user, actor, notification, neutral=neutral))
    # Recorded only once the mail was handed over: a failed send is retried unthrottled.
    if throttle:
        _record_sent(user.id, key, now)
    return True


# --- digests --------------------------------------------------------------------------


def _digest_kinds(user_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(NotificationPreference.kind).where(
                NotificationPreference.user_id == user_id,
                NotificationPreference.email == EmailChoice.DIGEST.value,
            )
        )
    )


def digest_items(user: User, actor: Actor, since: datetime, until: datetime) -> list[Notification]:
    """The member's unread "digest" notifications made in (since, until] that they may
    see now, oldest first (at most `DIGEST_MAX`)."""
    kinds = _digest_kinds(user.id)
    if not kinds:
        return []
    items = list(
        db.session.scalars(
            policy.visible_notifications(actor)
            .where(
                Notification.kind.in_(kinds),
                Notification.read_at.is_(None),
                Notification.created_at > since,
                Notification.created_at <= until,
            )
            .order_by(Notification.created_at, Notification.id)
            .limit(DIGEST_MAX)
        )
    )
    return _visible(actor, items)


def digest_mail(
    user: User, actor: Actor, since: datetime, until: datetime, frequency: str
) -> mail.Mail | None:
    """The member's summary, built through their permissions now; None if it is empty."""
    items = digest_items(user, actor, since, until)
    if not items:
        return None
    row = _settings(user.id)
    link_only = row.link_only if row is not None else True
    paragraphs = _lines_for(actor, items, link_only=link_only)
    count = len(items)
    more = " (the first 50)" if count >= DIGEST_MAX else ""
    intro = f"Hello,\n\n{count} new notification{'' if count == 1 else 's'}{more} on the forum:"
    footer, headers = _footer(user, DIGEST, f"you chose a {frequency} summary")
    body = intro + "\n\n" + "\n\n".join(paragraphs) + "\n" + footer
    subject = DIGEST_SUBJECTS.get(frequency, DIGEST_SUBJECTS["daily"])
    return mail.Mail(to=user.email or "", subject=subject, body=body, headers=headers)


@outbox.handler(DIGEST_KIND, deferred=_smtp_configured)
def deliver_digest(app: Flask, payload: dict[str, Any]) -> None:
    """Mail one member's summary now, built from what they may see now (nothing if it
    is empty, or they turned digests off since)."""
    found = _recipient(int(payload.get("user_id", 0)))
    if found is None:
        return
    user, actor = found
    row = _settings(user.id)
    if row is None or row.digest == DigestFrequency.OFF:
        return
    since = datetime.fromisoformat(str(payload["since"]))
    until = datetime.fromisoformat(str(payload["until"]))
    built = digest_mail(user, actor, since, until, row.digest)
    if built is not None:
        mail.deliver_now(app, built)


def send_due_digests(now: datetime | None = None, *, limit: int = DIGEST_DUE_BATCH) -> int:
    """Queue the digests that are due (one outbox row each, built when sent) and move
    each member's schedule on; the number queued. Cheap when none is due: one indexed
    look at `email_settings.next_digest_at`. The caller commits."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            select(EmailSettings)
            .where(EmailSettings.next_digest_at <= now)
            .order_by(EmailSettings.next_digest_at)
            .limit(limit)
        )
    )
    queued = 0
    if due:
        wanted = set(
            db.session.scalars(
                select(User.id).where(
                    User.id.in_([row.user_id for row in due]),
                    User.email.is_not(None),
                    User.deleted_at.is_(None),
                    exists().where(
                        NotificationPreference.user_id == User.id,
                        NotificationPreference.email == EmailChoice.DIGEST.value,
                    ),
                )
            )
        )
        deleted = set(
            db.session.scalars(
                select(User.id).where(
                    User.id.in_([row.user_id for row in due]), User.deleted_at.is_not(None)
                )
            )
        )
        for row in due:
            if row.digest == DigestFrequency.OFF or row.user_id in deleted:
                row.next_digest_at = None
                continue
            period = timedelta(days=notifications.DIGEST_PERIODS[row.digest])
            # The first one covers the time since the member chose a digest.
            scheduled = row.next_digest_at or now
            since = row.last_digest_at or (scheduled - period)
            if row.user_id in wanted:
                outbox.enqueue(
                    DIGEST_KIND,
                    {"user_id": row.user_id, "since": since.isoformat(), "until": now.isoformat()},
                )
                queued += 1
            row.last_digest_at = now
            row.next_digest_at = now + period
    # Throttle rows older than the window decide nothing any more.
    db.session.execute(
        delete(MailThrottle)
        .where(MailThrottle.sent_at < now - THROTTLE)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return queued
