"""The guards' statements are built once per view of the boards (`scope_statement`): that
is only safe while the board condition depends on nothing else of the actor."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.dialects import sqlite

from forum import policy
from forum.policy import Actor
from forum.policy.content import _board_readable


def _sql(actor: Actor) -> str:
    condition = _board_readable(actor)
    return str(condition.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


BASE = Actor(user_id=7, reads_public=True, group_ids=frozenset({3}))


@pytest.mark.parametrize(
    "other",
    [
        replace(BASE, user_id=8),
        replace(BASE, is_admin=True),
        replace(BASE, is_site_moderator=True),
        replace(BASE, silenced=True, trust_level=3),
        replace(BASE, moderated_group_ids=frozenset({3}), owned_group_ids=frozenset({3})),
        replace(BASE, silenced_group_ids=frozenset({3}), suspended_group_ids=frozenset({9})),
        replace(BASE, group_trust_levels=frozenset({(3, 2)})),
    ],
)
def test_board_condition_depends_only_on_the_cache_key(other: Actor) -> None:
    assert (other.reads_public, other.readable_group_ids) == (
        BASE.reads_public,
        BASE.readable_group_ids,
    )
    assert _sql(other) == _sql(BASE)


@pytest.mark.parametrize(
    "other",
    [
        replace(BASE, reads_public=False),
        replace(BASE, group_ids=frozenset({3, 4})),
        replace(BASE, glass_group_ids=frozenset({5})),
    ],
)
def test_another_view_of_the_boards_gets_its_own_statement(other: Actor) -> None:
    def built() -> object:
        return object()

    first = policy.scope_statement("test-view", BASE, built)  # type: ignore[arg-type]
    assert policy.scope_statement("test-view", BASE, built) is first  # type: ignore[arg-type]
    assert policy.scope_statement("test-view", other, built) is not first  # type: ignore[arg-type]
    assert _sql(other) != _sql(BASE)
