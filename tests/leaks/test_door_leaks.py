"""Leak rows for the doors into a group that only some people stand at (issue 10).

The matrix (tests/leaks/test_leak_matrix.py) asks every kind of outsider the same
questions. These rows concern one kind each, with the matrix's own checks:

* the removed member, at an open link into the group that removed them: exactly a dead
  link (page and API), and nothing changes;
* the member invited by name who has not answered: the group itself, its boards and
  topics answer them exactly like things that do not exist; their invitations page is
  their only view of it; and an invitation the owner withdrew answers like an id never
  used.
"""

from __future__ import annotations

import pytest

from tests.leaks.conftest import FORGED_TOKEN
from tests.leaks.conftest import GROUP_NAME
from tests.leaks.conftest import INVITEE
from tests.leaks.conftest import REMOVED_MEMBER
from tests.leaks.conftest import Planted
from tests.leaks.test_leak_matrix import SURFACES
from tests.leaks.test_leak_matrix import Surface
from tests.leaks.test_leak_matrix import _id
from tests.leaks.test_leak_matrix import _token
from tests.leaks.test_leak_matrix import check_outsider

REMOVED_ROWS = (
    Surface(
        "open invitation link, as the member the group removed",
        _token("secret_invite_token", "/invite/{}"),
    ),
    Surface(
        "accept an open invitation link (form), as the member the group removed",
        _token("secret_invite_token", "/invite/{}"),
        method="POST",
        writes=True,
    ),
    Surface(
        "API accept an open invitation link, as the member the group removed",
        _token("secret_invite_token", "/api/v1/invitations/{}/accept"),
        api=True,
        method="POST",
        writes=True,
    ),
)

WITHDRAWN_ROWS = tuple(
    Surface(
        f"{'API ' if api else ''}{verb} a withdrawn invitation by name, as its invitee",
        _id(
            "withdrawn_member_invitation_id",
            ("/api/v1/me/invitations/{}/" if api else "/account/invitations/{}/") + verb,
        ),
        api=api,
        method="POST",
        writes=True,
    )
    for api in (False, True)
    for verb in ("accept", "decline")
)

# The matrix's rows about the secret group itself (not the invitations page, where the
# invitee does see the group's name): the invitee is an outsider there like any other.
GROUP_ROWS = tuple(
    s
    for s in SURFACES
    if not s.writes
    and "invitation" not in s.name
    and s.name
    in {
        "board page",
        "topic page",
        "post permalink",
        "group page",
        "group members",
        "leave group form",
        "API board",
        "API topic",
        "API group",
        "API group members",
        "API groups",
        "API my groups",
        "groups list",
    }
)


def _names(rows: tuple[Surface, ...]) -> list[str]:
    return [row.name for row in rows]


def test_the_group_rows_are_all_there() -> None:
    """A renamed matrix row must not silently drop out of the invitee's checks."""
    assert len(GROUP_ROWS) == 13


@pytest.mark.parametrize("surface", REMOVED_ROWS, ids=_names(REMOVED_ROWS))
def test_removed_member_meets_an_open_link_as_a_dead_one(
    planted: Planted, surface: Surface
) -> None:
    check_outsider(planted, surface, REMOVED_MEMBER)


@pytest.mark.parametrize("surface", WITHDRAWN_ROWS, ids=_names(WITHDRAWN_ROWS))
def test_withdrawn_invitation_answers_its_invitee_like_a_missing_one(
    planted: Planted, surface: Surface
) -> None:
    check_outsider(planted, surface, INVITEE)


@pytest.mark.parametrize("surface", GROUP_ROWS, ids=_names(GROUP_ROWS))
def test_invitee_is_an_outsider_until_they_accept(planted: Planted, surface: Surface) -> None:
    check_outsider(planted, surface, INVITEE)


def test_invitee_sees_the_group_only_on_their_invitations(planted: Planted) -> None:
    """The positive control: the forged-token twin of the removed member's rows, and the
    invitee's own page, are not vacuous."""
    page = planted.client(INVITEE).get("/account/invitations")
    assert page.status_code == 200 and GROUP_NAME in page.text
    link = planted.client("non_member").get(f"/invite/{planted.secret_invite_token}")
    assert link.status_code == 200 and GROUP_NAME.split()[0] in link.text
    dead = planted.client(REMOVED_MEMBER).get(f"/invite/{FORGED_TOKEN}")
    assert dead.status_code == 404
