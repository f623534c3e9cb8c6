"""A reply reaches its member: A replies to B, B's header shows 1, B opens the
notification and lands on A's post (issue 13), two phones at 360 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from forum.extensions import db
from tests import factories
from tests.e2e.phone import fits

pytestmark = pytest.mark.browser


def _log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_reply_is_a_notification_that_leads_to_the_post(
    app: Any, browser_page: Any, live_server: str
) -> None:
    board = factories.make_board("Staying well")
    bee = factories.make_user("bee_walks", trust_level=1)
    factories.make_user("ash_tree", trust_level=1)
    topic = factories.make_topic(board, bee, title="Evenings are the hardest part")
    topic_id = topic.id
    # The test's session must hold no (SQLite read) lock while the server writes.
    db.session.remove()

    ash = browser_page
    browser = ash.context.browser
    bee_context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server)
    try:
        bee_page = bee_context.new_page()
        bee_page.set_default_timeout(10_000)
        _log_in(bee_page, "bee_walks")
        bee_page.goto(f"/t/{topic_id}")
        assert bee_page.get_by_role("link", name=re.compile("^Notifications")).count() == 0

        # A replies to B's opening post.
        _log_in(ash, "ash_tree")
        ash.goto(f"/t/{topic_id}")
        ash.locator("article").first.get_by_role("link", name="Reply").click()
        ash.get_by_label("Your post").fill("A short walk after tea helps me.")
        ash.get_by_role("button", name="Post reply").click()
        expect(ash.locator("article", has_text="A short walk after tea")).to_be_visible()
        assert fits(ash)

        # B's header badge shows 1; the notification names A and leads to A's post.
        bee_page.goto("/")
        badge = bee_page.get_by_role("link", name="Notifications (1)")
        expect(badge).to_be_visible()
        assert fits(bee_page)
        badge.click()
        note = bee_page.get_by_role("link", name="ash_tree replied to your post.")
        expect(note).to_be_visible()
        assert fits(bee_page)
        note.click()
        bee_page.wait_for_load_state("load")
        assert re.search(rf"/t/{topic_id}(\?page=1)?#p\d+$", bee_page.url), bee_page.url
        anchor = bee_page.url.rsplit("#", 1)[1]
        expect(bee_page.locator(f"#{anchor}")).to_contain_text("A short walk after tea")
        assert fits(bee_page)
        # Read now: the badge is gone.
        assert bee_page.get_by_role("link", name=re.compile("^Notifications")).count() == 0
    finally:
        bee_context.close()
