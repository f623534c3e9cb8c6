"""Sending reminders out of the forum: the `reminder_send` outbox kind and the e-mail sender.

A reminder (a `meeting_reminder` or `reminder` notification) is queued once per
configured sender (forum.senders.queue, from `notifications.notify_notice`). When the
outbox delivers a row, the message is built then, through the member's permissions of
that moment: a member who left the meeting's group, a post hidden or no longer readable,
an account deleted or suspended, a notification already read on the site, a meeting
deleted or already begun - nothing is sent, by any sender. The message is neutral
("Reminder: a meeting of yours starts Thu 10 Dec at 19:00 (Europe/London).", "Reminder:
you asked to be reminded of a post.") and a link: an SMS, like a mail subject, is read
on a locked phone's screen.

The e-mail sender is the notification mail (forum.services.notification_mail): the
member's e-mail choice for the kind, their "only a link" setting, the unsubscribe link.
It is the only way a reminder is mailed at once, so a reminder is never mailed twice.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from forum import mail
from forum import outbox
from forum import policy
from forum import senders
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.meetings import Meeting
from forum.models.meetings import MemberCalendar
from forum.models.notifications import Notification
from forum.models.posts import Post
from forum.models.users import User
from forum.policy import Actor
from forum.services import meetings
from forum.services import notification_mail

log = logging.getLogger(__name__)

MEETING_TEXT = "Reminder: a meeting of yours starts {when:%a %d %b at %H:%M} ({zone})."
MEETING_SOON = "Reminder: a meeting of yours starts soon."
POST_TEXT = "Reminder: you asked to be reminded of a post."


@senders.register(senders.EMAIL)
class EmailSender:
    """Mails the reminder as the notification mail, if the member chose immediate mail for
    its kind (checked again now) and has a confirmed address."""

    name = senders.EMAIL

    def deliver(self, app: Flask, recipient: senders.Recipient, message: senders.Message) -> None:
        """Mail it now (raises if the mail server would not take it: retried)."""
        # Reminders were each asked for: not held back by the 15-minute topic throttle.
        notification_mail.mail_notification(
            app, message.notification_id, neutral=message.text, throttle=False
        )


def _recipient(app: Flask, user: User) -> senders.Recipient:
    zone = db.session.scalar(
        select(MemberCalendar.timezone).where(MemberCalendar.user_id == user.id)
    )
    # The same keyed hash as the member's mail in the log, when they have an address.
    who = user.email or f"member:{user.id}"
    return senders.Recipient(
        user_id=user.id, digest=mail.recipient_digest(app, who), timezone=zone or "UTC"
    )


def _meeting_text(actor: Actor, payload: dict[str, Any]) -> tuple[str, str] | None:
    meeting_id = payload.get("meeting_id")
    if not isinstance(meeting_id, int):
        # Queued without the meeting (not by the meetings job): say only that one is soon.
        return MEETING_SOON, "/meetings"
    meeting = db.session.get(Meeting, meeting_id)
    # Membership now: whoever left the group hears nothing more of its meetings.
    if meeting is None or not policy.is_meeting_member(actor, meeting):
        return None
    when = datetime.fromisoformat(str(payload.get("at")))
    if when <= utcnow():
        return None  # begun already: no reminder after the fact (a retry that came late)
    local = meetings.local_time(when, meeting.timezone)
    return MEETING_TEXT.format(when=local, zone=meeting.timezone), f"/meetings/{meeting.id}"


def _post_text(actor: Actor, post_id: int) -> tuple[str, str] | None:
    post = db.session.scalar(policy.visible_posts(actor).where(Post.id == post_id))
    if post is None or post.deleted_at is not None or not policy.can_see_post_body(actor, post):
        return None
    return POST_TEXT, f"/p/{post.id}"


def build(
    app: Flask, notification_id: int, payload: dict[str, Any]
) -> tuple[senders.Recipient, senders.Message] | None:
    """The reminder as a sender gets it, built now through the member's permissions; None
    if nothing may be sent."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.read_at is not None:
        return None  # deleted with its post, meeting or account; or read on the site
    user = db.session.get(User, notification.user_id)
    if user is None or user.is_deleted or user.is_suspended():
        return None
    actor = policy.actor_for(user, guests_read=False)
    visible = db.session.scalar(
        policy.visible_notifications(actor).where(Notification.id == notification.id)
    )
    if visible is None:
        return None
    if notification.kind == meetings.REMINDER_KIND:
        found = _meeting_text(actor, payload)
    elif notification.post_id is not None:
        found = _post_text(actor, notification.post_id)
    else:
        found = None
    if found is None:
        return None
    text, path = found
    base = str(app.config["FORUM_BASE_URL"]).rstrip("/")
    message = senders.Message(
        kind=notification.kind, text=text, url=base + path, notification_id=notification.id
    )
    return _recipient(app, user), message


def _deferred(app: Flask) -> bool:
    # A provider's sender goes over the network: never while a member waits.
    return True


@outbox.handler(senders.KIND, deferred=_deferred)
def deliver(app: Flask, payload: dict[str, Any]) -> None:
    """Hand one reminder to one sender (raises if the sender did: retried)."""
    name = str(payload.get("sender", ""))
    sender = senders.configured(app).get(name)
    if sender is None:
        # FORUM_REMINDER_SENDERS changed since it was queued: that sender is gone.
        log.warning("reminder for the sender %r, which is no longer configured: dropped", name)
        return
    built = build(app, int(payload.get("notification_id", 0)), payload)
    if built is None:
        return
    recipient, message = built
    sender.deliver(app, recipient, message)
