"""Issue 10 in a real browser on a phone: a silenced member finds their standing from the
"Not allowed" page; an admin appoints a member who never posted; an owner grants a trust
level that counts inside their group only."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forum.extensions import db
from forum.models.groups import Membership
from forum.models.users import User
from forum.moderation import sanctions
from tests import factories
from tests.e2e.phone import fits

pytestmark = pytest.mark.browser

# Set FORUM_E2E_SHOTS to a folder to keep screenshots of the phone-sized pages.
_SHOTS = os.environ.get("FORUM_E2E_SHOTS", "")


def _log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def _shot(page: Any, name: str) -> None:
    if _SHOTS:
        page.screenshot(path=f"{_SHOTS}/{name}.png", full_page=True)


@pytest.fixture
def circle(app: Any) -> dict[str, int]:
    """A group whose owner silenced one member there; a member who never posted."""
    owner = factories.make_user("circle_owner", trust_level=1)
    member = factories.make_user("heated_member", trust_level=1)
    factories.make_user("quiet_volunteer")
    group = factories.make_group("Tuesday circle", slug="tuesday", owner=owner, members=(member,))
    board = factories.make_board("Check-ins", group=group)
    factories.make_topic(board, owner, title="This week")
    sanctions.silence_member(
        factories.actor(owner), member, group=group, days=3, reason="Shouting at others."
    )
    db.session.commit()
    return {"board": board.id, "group": group.id, "member": member.id}


def test_silenced_member_finds_their_standing_from_not_allowed(
    circle: dict[str, int], browser_page: Any
) -> None:
    page = browser_page
    _log_in(page, "heated_member")
    page.goto(f"/b/{circle['board']}/new")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_text("You are silenced in this group")).to_be_visible()
    assert fits(page)
    _shot(page, "silenced-not-allowed")
    page.get_by_role("link", name="Your standing").first.click()
    assert page.url.endswith("/account/standing")
    expect(page.get_by_text("Shouting at others.")).to_be_visible()
    expect(page.get_by_text("Appeal").first).to_be_visible()
    assert fits(page)
    _shot(page, "silenced-standing")


def test_admin_appoints_a_member_who_never_posted(
    circle: dict[str, int], browser_page: Any
) -> None:
    page = browser_page
    factories.make_admin("site_boss")
    db.session.remove()
    _log_in(page, "site_boss")
    page.goto("/admin/moderators")
    page.get_by_label("Username").fill("quiet_volunteer")
    page.get_by_label("Reason").fill("Offered to help on weekday mornings.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("quiet_volunteer is now a site moderator.")).to_be_visible()
    page.get_by_role("link", name="quiet_volunteer").click()
    expect(page.get_by_role("heading", name="quiet_volunteer")).to_be_visible()
    assert fits(page)
    _shot(page, "admin-profile-of-quiet-member")


def test_owner_grants_a_trust_level_inside_their_group(
    circle: dict[str, int], browser_page: Any
) -> None:
    page = browser_page
    _log_in(page, "circle_owner")
    page.goto("/u/heated_member")
    expect(page.get_by_role("heading", name="Trust level inside Tuesday circle")).to_be_visible()
    assert page.get_by_role("heading", name="Site trust level").count() == 0
    assert fits(page)
    _shot(page, "owner-grants-trust")
    page.get_by_label("Trust level in Tuesday circle").select_option("2")
    page.get_by_role("button", name="Save trust level in Tuesday circle").click()
    expect(page.get_by_text("Trust level saved.")).to_be_visible()
    db.session.rollback()
    member = db.session.get(User, circle["member"])
    assert member is not None and (member.trust_level, member.trust_level_locked) == (1, False)
    granted = db.session.scalar(
        select(Membership.trust_level).where(
            Membership.group_id == circle["group"], Membership.user_id == circle["member"]
        )
    )
    assert granted == 2
