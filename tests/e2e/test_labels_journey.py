"""A role label on a phone (issue 14): an admin gives a member a long label from their
profile; on the topic page the badge sits beside the name, reads "role: ..." to screen
readers, and the post header still fits 360 px."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from forum.extensions import db
from tests import factories
from tests.e2e.phone import fits

pytestmark = pytest.mark.browser

LABEL = "Drug and alcohol worker at Riverside Recovery"


def test_an_admin_labels_a_helper_and_the_post_header_still_fits(
    app: Any, browser_page: Any, live_server: str
) -> None:
    helper = factories.make_user("river_helper_long", trust_level=1)
    factories.make_admin("site_boss")
    topic = factories.make_topic(
        factories.make_board("Staying well"), helper, title="Ask me about detox services"
    )
    topic_id = topic.id
    db.session.remove()

    page = browser_page
    page.goto("/login")
    page.get_by_label("Username").fill("site_boss")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.goto("/u/river_helper_long")
    page.get_by_label("Site label (shown everywhere)").fill(LABEL)
    page.get_by_role("button", name="Save label").click()
    expect(page.get_by_text("Label saved.")).to_be_visible()
    expect(page.locator("h1 .role")).to_have_text(f"role: {LABEL}")
    assert fits(page)

    page.goto(f"/t/{topic_id}")
    header = page.locator("article").first.locator("header")
    badge = header.locator(".role")
    expect(badge).to_have_text(f"role: {LABEL}")
    expect(header.get_by_role("link", name="river_helper_long")).to_be_visible()
    assert fits(page)
    box, bounds = badge.bounding_box(), header.bounding_box()
    assert box is not None and bounds is not None
    assert box["x"] >= bounds["x"] and box["x"] + box["width"] <= bounds["x"] + bounds["width"]
