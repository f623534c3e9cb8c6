"""Undo: reversing a logged action, through a registry of reversers.

The modules that act register how to take each of their actions back, next to the
changes they reuse (`@reverser(Action.TOPIC_LOCKED)` in `forum.moderation.actions`,
`@reverser(Action.MEMBER_SILENCED, ...)` in `forum.moderation.sanctions`); `undo` checks
who may undo a row, runs its reverser and logs the undo. So this module needs neither of
them, and they need only the registry: no import runs both ways. Reversers register when
their module is imported, which the app does at start-up (its blueprints import both);
`tests/moderation/test_undo.py` checks the registry is complete in a fresh interpreter.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import KeysView
from typing import Any

from forum import policy
from forum.audit import Action
from forum.audit import clean_reason
from forum.audit import entry_data
from forum.audit import group_of
from forum.audit import record
from forum.errors import Conflict
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.modlog import ModerationLog
from forum.policy import Actor

# A reverser puts back what the entry's action changed, after checking the actor may act
# on its target; it raises `Conflict` (`stale()`) if the target changed since.
Reverser = Callable[[Actor, ModerationLog, dict[str, Any], str], None]

_REVERSERS: dict[Action, Reverser] = {}

# The actions that can be undone: those with a reverser (a live view of the registry).
UNDOABLE: KeysView[Action] = _REVERSERS.keys()


def reverser(*actions: Action) -> Callable[[Reverser], Reverser]:
    """Register the decorated function as the way to undo the actions."""

    def register(function: Reverser) -> Reverser:
        for action in actions:
            if action in _REVERSERS:
                raise RuntimeError(f"{action} has a reverser already")
            _REVERSERS[action] = function
        return function

    return register


def stale() -> Conflict:
    """The answer when the target changed since the action: nothing left to undo."""
    return Conflict("That has changed since; there is nothing to undo.")


def undo(actor: Actor, entry: ModerationLog, *, reason: Any) -> bool:
    """Reverse a logged action (moderators of the same or a higher rank in its scope)."""
    group = group_of(entry.group_id)
    policy.check_undo_log_entry(actor, entry, group)
    rank = policy.moderation_rank(actor, group)
    clean = clean_reason(reason)
    reverse = _REVERSERS.get(entry.action)  # type: ignore[call-overload]
    if reverse is None:
        raise Conflict("That action cannot be undone.")
    data = entry_data(entry)
    reverse(actor, entry, data, clean)
    db.session.flush()
    now = utcnow()
    for undone in _with_partner(entry, data):
        undone.undone_at = now
        undone.undone_by_id = actor.user_id
    record(
        actor,
        Action.UNDO,
        rank=rank,
        target_type=entry.target_type,
        target_id=entry.target_id,
        group=group,
        reason=clean,
        data={"entry": entry.id, "action": entry.action},
    )
    return True


def _with_partner(entry: ModerationLog, data: dict[str, Any]) -> list[ModerationLog]:
    """The entry, and the other scope's row of the same move (undone together)."""
    found = [entry]
    pair = data.get("pair")
    if isinstance(pair, int):
        partner = db.session.get(ModerationLog, pair)
        if partner is not None and partner.undone_at is None:
            found.append(partner)
    return found
