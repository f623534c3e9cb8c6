"""The check machinery: each rule is written once, as a check that raises with its reason.

A `check_*` function raises `NotLoggedIn`, `NotFound` (the actor cannot see the thing:
nothing more may be said), or `Denied`/`Conflict` with the reason a person can act on
(`silenced`, `locked`...). The `can_*` predicates are derived from them with `passes`, so
that the buttons shown, the HTML pages and the JSON API always give the same answer and
no caller has to work out why after a predicate said no.
"""

from __future__ import annotations

from collections.abc import Callable

from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import NotFound
from forum.errors import NotLoggedIn
from forum.policy.actors import Actor

# A check: raises with its reason, or returns None when the actor may go ahead.
WriteCheck = Callable[..., None]

# What a check raises for a refusal (any other exception is a bug, and propagates).
REFUSALS = (NotLoggedIn, NotFound, Denied, Conflict)


def passes(check: WriteCheck, *args: object) -> bool:
    """True if `check(*args)` lets the actor go ahead: the predicate form of a check."""
    try:
        check(*args)
    except REFUSALS:
        return False
    return True


def require_member(actor: Actor) -> int:
    """The actor's user id, or `NotLoggedIn`."""
    if actor.user_id is None:
        raise NotLoggedIn()
    return actor.user_id


def _require_writer(actor: Actor) -> None:
    """Raise `NotLoggedIn` for a guest: every write is a member's."""
    if not actor.is_member:
        raise NotLoggedIn()


def silenced_in(actor: Actor, group_id: int | None) -> bool:
    """True if a silence stops the actor writing in a scope: a site-wide silence (or
    suspension), or a silence inside that group."""
    return actor.silenced or (group_id is not None and group_id in actor.silenced_group_ids)


def _deny_silenced(actor: Actor, group_id: int | None, doing: str) -> None:
    """Raise `Denied` (code `silenced`) if a silence stops the actor writing in the scope.

    The one place the reason is worded: pages show it with a link to the member's
    standing (`/account/standing`: why, for how long, and how to appeal).
    """
    if actor.silenced:
        raise Denied(f"You are silenced and cannot {doing} for now.", code="silenced")
    if group_id is not None and group_id in actor.silenced_group_ids:
        raise Denied(
            f"You are silenced in this group and cannot {doing} here for now.", code="silenced"
        )
