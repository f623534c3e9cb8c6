"""A group's owner arranges a weekly meeting; a member answers "going" from the meeting
page; both on a 360 px phone, without JavaScript doing any of it (issue 14)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from forum.extensions import db
from forum.models.base import utcnow
from tests import factories
from tests.e2e.phone import fits

pytestmark = pytest.mark.browser


def _log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def _log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out").click()


def test_owner_arranges_a_meeting_and_a_member_answers(
    app: Any, browser_page: Any, live_server: str
) -> None:
    owner = factories.make_user("circle_owner", trust_level=1)
    member = factories.make_user("quiet_member", trust_level=1)
    factories.make_group(
        "Tuesday circle", slug="tuesday", secret=True, owner=owner, members=(member,)
    )
    day = (utcnow() + timedelta(days=9)).strftime("%Y-%m-%dT19:00")
    db.session.remove()

    page = browser_page
    _log_in(page, "circle_owner")
    page.goto("/g/tuesday")
    page.get_by_role("link", name="Arrange a meeting").click()
    page.get_by_label("Title").fill("Evening check-in")
    page.get_by_label("Starts (local time)").fill(day)
    page.get_by_label("Time zone").fill("Europe/London")
    page.get_by_label("Repeats").select_option("weekly")
    page.get_by_label("Where (optional)").fill("online")
    page.get_by_label("Link to join online (optional)").fill("https://meet.example/checkin")
    assert fits(page)
    page.get_by_role("button", name="Arrange meeting").click()
    expect(page.get_by_role("heading", name="Evening check-in")).to_be_visible()
    expect(page.get_by_text("Every week from")).to_be_visible()
    assert fits(page)
    meeting_url = page.url
    _log_out(page)

    _log_in(page, "quiet_member")
    page.goto("/g/tuesday")
    page.get_by_role("link", name="Evening check-in").click()
    assert page.url == meeting_url
    expect(page.get_by_role("link", name="Join online")).to_be_visible()
    page.get_by_role("button", name="Going", exact=True).click()
    expect(page.get_by_text("Your answer is saved.")).to_be_visible()
    expect(page.get_by_text("Going: quiet_member")).to_be_visible()
    going = page.get_by_role("button", name="Going", exact=True)
    expect(going).to_have_attribute("aria-pressed", "true")
    assert fits(page)
