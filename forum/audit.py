"""The audit layer: the one writer of moderation log rows, and what every row may say.

Below services and moderation, above models: it imports models, extensions and the
foundation (`errors`, `validation`) only, so anything that changes the forum can log
without importing the modules that list or undo the log. `record` writes a row in the
caller's transaction with the actor's rank (the caller gives it: ranks are policy's
arithmetic, and policy sits above this layer); `Action` lists every action a row can
hold; `clean_reason` is the one rule for a moderator's reason. Undo lives above the
actions (`forum.moderation.undo`), listing and sentences above that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from typing import Protocol

from forum import validation
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.modlog import Action
from forum.models.modlog import ModerationLog

__all__ = [
    "REASON_MAX",
    "Action",
    "Author",
    "clean_reason",
    "entry_data",
    "group_of",
    "record",
]

REASON_MAX = validation.REASON_MAX


class Author(Protocol):
    """Whoever acted: a `forum.policy.Actor` (the system's and the command line's have
    no user id)."""

    @property
    def user_id(self) -> int | None: ...


def clean_reason(reason: Any, *, required: bool = True) -> str:
    """A moderator's reason: 1..500 characters (or empty, when not required)."""
    return validation.text(
        reason, "reason", min_len=1 if required else 0, max_len=REASON_MAX, label="Reason"
    )


def group_of(group_id: int | None) -> Group | None:
    """The group of a scope id (None: the site)."""
    return db.session.get(Group, group_id) if group_id is not None else None


def record(
    actor: Author,
    action: Action,
    *,
    rank: int,
    target_type: str,
    target_id: int,
    group: Group | None,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> ModerationLog:
    """Write one log row in the caller's transaction (data: JSON, never reporter names).

    `rank` is the actor's `policy.moderation_rank` in the row's scope when they acted:
    only a moderator of the same or a higher rank may undo the action.
    """
    entry = ModerationLog(
        # The system (auto-hide) and the command-line operator are no member account.
        actor_id=actor.user_id or None,
        action=Action(action),
        target_type=target_type,
        target_id=target_id,
        group_id=group.id if group is not None else None,
        reason=reason,
        created_at=utcnow(),
        data=json.dumps(dict(data or {}), sort_keys=True),
        actor_rank=rank,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def entry_data(entry: ModerationLog) -> dict[str, Any]:
    """The entry's data as a dict (empty if unreadable)."""
    try:
        found = json.loads(entry.data or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
