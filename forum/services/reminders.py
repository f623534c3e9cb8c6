"""Personal reminders: "remind me" on a topic (its first post) or a post.

A notification (kind `reminder`) at the chosen time, sent by the periodic job
(`send_due_reminders`, run by `forum outbox drain`), and only while the member may still
see the post: a reminder on a post of a group they left, or a post since hidden, sends
nothing. The presets are read in the member's own time zone (their calendar setting).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy import select

from forum import policy
from forum import validation
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.meetings import PersonalReminder
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor
from forum.services import meetings
from forum.services import notifications

KIND = "reminder"
# Presets, in the order the form offers them.
PRESETS = {
    "1h": "In an hour",
    "later": "Later today (6 pm, or in 3 hours)",
    "tomorrow": "Tomorrow at 9 am",
    "week": "In a week, at 9 am",
}
# Pending reminders a member may have at once.
PENDING_MAX = 100
TEXT = "Reminder: you asked to be reminded of this post."


def remind_at(preset: str, timezone: str, now: datetime) -> datetime:
    """When a preset falls (UTC), read in the member's time zone."""
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    if preset == "1h":
        return now + timedelta(hours=1)
    if preset == "later":
        evening = datetime.combine(local.date(), time(18, 0), tzinfo=tz)
        if evening - local >= timedelta(hours=1):
            return evening.astimezone(now.tzinfo)
        return now + timedelta(hours=3)
    days = 1 if preset == "tomorrow" else 7
    day = local.date() + timedelta(days=days)
    return datetime.combine(day, time(9, 0), tzinfo=tz).astimezone(now.tzinfo)


def remind_me(
    actor: Actor, post: Post, *, preset: object, now: datetime | None = None
) -> PersonalReminder:
    """Set a reminder on a post the member can see (the caller loaded it through
    `policy.require_post`)."""
    user_id = policy.require_member(actor)
    preset = validation.choice(preset, "preset", tuple(PRESETS))
    if not policy.can_see_post(actor, post):
        raise NotFound()
    pending = db.session.scalar(
        select(func.count(PersonalReminder.id)).where(
            PersonalReminder.user_id == user_id, PersonalReminder.sent_at.is_(None)
        )
    )
    if int(pending or 0) >= PENDING_MAX:
        raise Invalid("preset", f"You have {PENDING_MAX} reminders waiting: cancel some first.")
    now = now or utcnow()
    settings = meetings.calendar_settings(actor)
    reminder = PersonalReminder(
        user_id=user_id,
        post_id=post.id,
        remind_at=remind_at(preset, settings.timezone, now),
        created_at=now,
    )
    db.session.add(reminder)
    db.session.flush()
    return reminder


def opening_post(actor: Actor, topic: Topic) -> Post:
    """The first post of a topic the actor can see: a reminder on a topic is on it."""
    found: Post | None = db.session.scalar(
        policy.visible_posts(actor).where(Post.topic_id == topic.id, Post.number == 1)
    )
    if found is None:
        raise NotFound()
    return found


@dataclass(frozen=True)
class Pending:
    reminder: PersonalReminder
    post: Post


def my_reminders(actor: Actor) -> list[Pending]:
    """The member's reminders still to come, soonest first (on posts they still see)."""
    user_id = policy.require_member(actor)
    visible = policy.visible_posts(actor).subquery()
    rows = db.session.execute(
        select(PersonalReminder, Post)
        .join(visible, visible.c.id == PersonalReminder.post_id)
        .join(Post, Post.id == PersonalReminder.post_id)
        .where(PersonalReminder.user_id == user_id, PersonalReminder.sent_at.is_(None))
        .order_by(PersonalReminder.remind_at, PersonalReminder.id)
    )
    return [Pending(reminder, post) for reminder, post in rows]


def cancel_reminder(actor: Actor, reminder_id: int) -> None:
    """Cancel one of the member's reminders; anyone else's is `NotFound`."""
    user_id = policy.require_member(actor)
    found = db.session.scalar(
        select(PersonalReminder).where(
            PersonalReminder.id == reminder_id,
            PersonalReminder.user_id == user_id,
            PersonalReminder.sent_at.is_(None),
        )
    )
    if found is None:
        raise NotFound()
    db.session.delete(found)
    db.session.flush()


def send_due_reminders(now: datetime | None = None, *, batch: int = 500) -> int:
    """Send the personal reminders that are due, each once, and only to members who may
    still see the post. Returns how many notifications were made."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            select(PersonalReminder)
            .where(PersonalReminder.sent_at.is_(None), PersonalReminder.remind_at <= now)
            .order_by(PersonalReminder.remind_at)
            .limit(batch)
        )
    )
    count = 0
    for reminder in due:
        reminder.sent_at = now
        user = db.session.get(User, reminder.user_id)
        post = db.session.get(Post, reminder.post_id)
        if user is None or user.is_deleted or post is None:
            continue
        actor = policy.actor_for(user, guests_read=False)
        if not policy.can_see_post_body(actor, post):
            continue
        notifications.notify_notice(user.id, KIND, TEXT, post_id=post.id)
        count += 1
    db.session.flush()
    return count


def send_all_due(now: datetime | None = None) -> tuple[int, int]:
    """The periodic job's part: meeting reminders and personal reminders that are due."""
    now = now or utcnow()
    return meetings.send_due_reminders(now), send_due_reminders(now)
