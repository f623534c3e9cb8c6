"""Notifications: short plain-text messages to one member."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from forum import policy
from forum.extensions import db
from forum.listings import Page
from forum.listings import _paged
from forum.models.base import utcnow
from forum.models.notifications import Notification
from forum.models.users import User
from forum.policy import Actor

TEXT_MAX = 500
KIND_MAX = 32


def notify(
    user_id: int,
    kind: str,
    text: str,
    *,
    post_id: int | None = None,
    group_id: int | None = None,
) -> Notification:
    """Add a notification for a member (plain text, cut to 500 characters)."""
    if len(text) > TEXT_MAX:
        text = text[: TEXT_MAX - 1] + "…"
    notification = Notification(
        user_id=user_id,
        kind=kind[:KIND_MAX],
        text=text,
        post_id=post_id,
        group_id=group_id,
        created_at=utcnow(),
    )
    db.session.add(notification)
    db.session.execute(update(User).where(User.id == user_id).values(has_unread_notifications=True))
    db.session.flush()
    return notification


def notifications(actor: Actor, *, page: int = 1, per_page: int = 30) -> Page[Notification]:
    """The actor's notifications, newest first (only those they may still see)."""
    policy.require_member(actor)
    scope = policy.visible_notifications(actor)
    total = int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)
    stmt = scope.order_by(Notification.created_at.desc(), Notification.id.desc())
    return _paged(stmt, total, page, per_page)


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
