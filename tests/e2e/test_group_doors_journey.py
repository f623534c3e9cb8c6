"""Group doors in a real browser on a phone (issue 10): a removal sticks, the owner lets
the member back, and a member accepts an invitation by name from their own page."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forum.extensions import db
from forum.models.groups import Membership
from forum.models.users import User
from forum.services import invitations
from tests import factories
from tests.e2e.phone import fits

pytestmark = pytest.mark.browser

# Set FORUM_E2E_SHOTS to a folder to keep screenshots of the phone-sized pages.
_SHOTS = os.environ.get("FORUM_E2E_SHOTS", "")


@pytest.fixture
def circle(app: Any) -> dict[str, Any]:
    """A secret group: rosa owns it, ben is in it; a meeting link ben also knows is still
    open; kim has posted on the site, so rosa can find her by name."""
    rosa, ben = factories.make_user("rosa"), factories.make_user("ben")
    group = factories.make_group("Thursday circle", slug="thursday", secret=True, owner=rosa)
    group.description = "A small online meeting, Thursday evenings."
    db.session.commit()
    invitations.accept_invitation(factories.actor(ben), factories.make_invitation(group))
    db.session.commit()
    meeting = factories.make_invitation(group, by=rosa, max_uses=10)
    kim = factories.make_user("kim")
    factories.make_topic(author=kim, title="Hello from kim")
    return {"group": group.id, "meeting": meeting}


def _log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def _log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()


def _shot(page: Any, name: str) -> None:
    assert fits(page), name
    if _SHOTS:
        page.screenshot(path=f"{_SHOTS}/{name}.png", full_page=True)


def _member(group_id: int, username: str) -> bool:
    db.session.rollback()
    user = db.session.scalar(select(User).where(User.username == username))
    found = db.session.scalar(
        select(Membership.id).where(Membership.group_id == group_id, Membership.user_id == user.id)
    )
    db.session.rollback()
    return found is not None


def test_removal_sticks_until_allowed_back_and_invitations_by_name_need_a_yes(
    circle: dict[str, Any], browser_page: Any, live_server: str
) -> None:
    page = browser_page
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(live_server) else outside.append(request.url)
        ),
    )
    link = f"/invite/{circle['meeting']}"

    # The owner removes ben from the members page.
    _log_in(page, "rosa")
    page.goto("/g/thursday/members")
    page.get_by_role("link", name="Remove ben").click()
    page.get_by_role("button", name="Remove ben").click()
    expect(page.get_by_text("ben is no longer in the group.")).to_be_visible()
    expect(page.get_by_role("heading", name="Kept out")).to_be_visible()
    _shot(page, "members-kept-out")
    _log_out(page)

    # The meeting link still works for others, but leads ben nowhere.
    _log_in(page, "ben")
    page.goto(link)
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert page.get_by_text("Thursday circle").count() == 0
    _shot(page, "old-link-removed")
    _log_out(page)
    assert not _member(circle["group"], "ben")

    # The owner allows him back, and invites kim by name.
    _log_in(page, "rosa")
    page.goto("/g/thursday/members")
    page.get_by_role("button", name="Allow back ben").click()
    expect(page.get_by_text("ben may come back")).to_be_visible()
    page.get_by_label("Username").fill("kim")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("kim is invited to join as a member.")).to_be_visible()
    _shot(page, "members-invited")
    _log_out(page)

    # Ben comes back by the same link.
    _log_in(page, "ben")
    page.goto(link)
    page.get_by_role("button", name="Join Thursday circle").click()
    expect(page.get_by_role("heading", name="Thursday circle")).to_be_visible()
    expect(page.get_by_text("Welcome to Thursday circle.")).to_be_visible()
    _log_out(page)
    assert _member(circle["group"], "ben")

    # Kim is told, sees the group's name and description on her invitations page only,
    # and accepts.
    _log_in(page, "kim")
    page.goto("/g/thursday")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert not _member(circle["group"], "kim")
    page.get_by_role("link", name="Notifications (1)").click()
    page.get_by_role("link", name="Your invitations").click()
    expect(page.get_by_role("heading", name="Thursday circle")).to_be_visible()
    expect(page.get_by_text("A small online meeting, Thursday evenings.")).to_be_visible()
    expect(page.get_by_text("rosa invited you")).to_be_visible()
    _shot(page, "my-invitations")
    page.get_by_role("button", name="Accept the invitation to Thursday circle").click()
    expect(page.get_by_role("heading", name="Thursday circle")).to_be_visible()
    expect(page.get_by_text("Welcome to Thursday circle.")).to_be_visible()
    _shot(page, "accepted")
    assert _member(circle["group"], "kim")
    # Nothing was ever fetched from anywhere but the forum itself.
    assert outside == []
