"""Role labels for helpers and professionals ("Peer supporter", "Probation-approved mentor").

A label vouches for someone, so only others give it: site admins the site label (shown
everywhere), a group's owners a label shown inside their group only. The holder chooses
per group whether any label of theirs shows there. Every change is logged in the
moderation log of its scope (the site's, or the group's, which its owners read).

Topic pages are cached per topic revision (forum.fragments): a change bumps the revision
of every topic the member wrote in where the label shows, so no page keeps an old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy import update

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.errors import Denied
from forum.errors import Invalid
from forum.extensions import db
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor

LABEL_MAX = 60


def clean_label(value: Any) -> str:
    """A label: plain text on one line, at most 60 characters (empty: no label)."""
    found = validation.text(value, "label", max_len=LABEL_MAX, label="Label")
    if any(ch in found for ch in "\r\n\t") or not found.isprintable():
        raise Invalid("label", "Label must be plain text on one line.")
    return found


def refresh_pages(user_id: int, group_id: int | None) -> None:
    """Retire the cached topic pages that show the member's label: every topic they wrote
    in (`group_id` None: the site label shows everywhere), or only the group's topics."""
    written = select(Post.topic_id).where(Post.author_id == user_id).distinct()
    stmt = update(Topic).where(Topic.id.in_(written))
    if group_id is not None:
        stmt = stmt.where(Topic.board_id.in_(select(Board.id).where(Board.group_id == group_id)))
    db.session.execute(
        stmt.values(revision=Topic.revision + 1).execution_options(synchronize_session=False)
    )


def set_label(
    actor: Actor, user: User, *, label: Any, group: Group | None = None, reason: Any = ""
) -> bool:
    """Give, change or take away (empty label) a member's role label, logged; True if it
    changed. Without `group`: the site label (admins). With `group`: the label shown
    inside that group (its owners; admins where they manage the group)."""
    policy.check_set_label(actor, user, group)
    text = clean_label(label) or None
    why = validation.text(reason, "reason", max_len=validation.REASON_MAX, label="Reason")
    holder: User | Membership | None = user
    if group is not None:
        holder = db.session.scalar(
            select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)
        )
        if holder is None:  # pragma: no cover - check_set_label has just checked
            raise Denied("Only the group's owners give role labels inside it, to its members.")
        if text is not None:
            user.group_labels = True
    assert holder is not None  # noqa: S101 - narrowed above
    before = holder.label
    if before == text:
        return False
    holder.label = text
    db.session.flush()
    audit.record(
        actor,
        Action.LABEL_SET if text is not None else Action.LABEL_REMOVED,
        rank=policy.moderation_rank(actor, group),
        target_type="user",
        target_id=user.id,
        group=group,
        reason=why,
        data={"before": before, "after": text},
    )
    refresh_pages(user.id, group.id if group is not None else None)
    return True


def show_label(actor: Actor, group: Group, *, shown: Any) -> bool:
    """The member's choice whether their label (the group's or the site's) shows inside
    the group; True if it changed. Not logged: it is theirs alone, like a preference."""
    policy.check_hide_label(actor, group)
    wanted = validation.boolean(shown, "shown")
    found = db.session.scalar(
        select(Membership).where(
            Membership.group_id == group.id, Membership.user_id == actor.user_id
        )
    )
    if found is None or found.hide_label == (not wanted):
        return False
    found.hide_label = not wanted
    if found.hide_label:
        user = db.session.get(User, found.user_id)
        if user is not None:
            user.group_labels = True
    db.session.flush()
    refresh_pages(found.user_id, group.id)
    return True


@dataclass(frozen=True)
class MyLabel:
    """The actor's own label inside a group: the text that shows there (the group's, else
    the site's) and whether they let it show."""

    label: str | None
    shown: bool


def my_label(actor: Actor, group: Group) -> MyLabel | None:
    """The actor's label inside the group and their choice, for their toggle; None if they
    are not in the group."""
    if actor.user_id is None or group.id not in actor.group_ids:
        return None
    row = db.session.execute(
        select(Membership.label, Membership.hide_label, User.label)
        .join(User, User.id == Membership.user_id)
        .where(Membership.group_id == group.id, Membership.user_id == actor.user_id)
    ).first()
    if row is None:
        return None
    group_label, hidden, site_label = row
    return MyLabel(group_label or site_label or None, not hidden)


def group_label(user: User, group: Group) -> str | None:
    """The label the group's owners gave the member there (None: none)."""
    return db.session.scalar(
        select(Membership.label).where(
            Membership.group_id == group.id, Membership.user_id == user.id
        )
    )
