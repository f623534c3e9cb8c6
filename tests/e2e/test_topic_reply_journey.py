"""A reply in my topic says which topic (issue 13's gap): A replies at the foot of B's
topic, B's notification names A and the topic by its title, and leads to A's post;
two phones at 360 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from forum.extensions import db
from tests import factories
from tests.e2e.phone import fits
from tests.e2e.test_notifications_journey import _log_in

pytestmark = pytest.mark.browser

TITLE = "Evenings are the hardest part of the week for me, and weekends too"


def test_a_reply_in_my_topic_names_the_topic(app: Any, browser_page: Any, live_server: str) -> None:
    board = factories.make_board("Staying well")
    bee = factories.make_user("bee_walks", trust_level=1)
    factories.make_user("ash_tree", trust_level=1)
    topic_id = factories.make_topic(board, bee, title=TITLE).id
    db.session.remove()

    ash = browser_page
    bee_context = ash.context.browser.new_context(
        viewport={"width": 360, "height": 740}, base_url=live_server
    )
    try:
        _log_in(ash, "ash_tree")
        ash.goto(f"/t/{topic_id}")
        ash.get_by_label("Your post").fill("Same here: a walk after tea helps a little.")
        ash.get_by_role("button", name="Post reply").click()
        expect(ash.locator("article", has_text="a walk after tea")).to_be_visible()

        bee = bee_context.new_page()
        bee.set_default_timeout(10_000)
        _log_in(bee, "bee_walks")
        bee.get_by_role("link", name="Notifications (1)").click()
        note = bee.get_by_role("link", name=f"ash_tree replied in your topic \u201c{TITLE}\u201d.")
        expect(note).to_be_visible()
        assert fits(bee)
        note.click()
        bee.wait_for_load_state("load")
        assert re.search(rf"/t/{topic_id}(\?page=1)?#p\d+$", bee.url), bee.url
        anchor = bee.url.rsplit("#", 1)[1]
        expect(bee.locator(f"#{anchor}")).to_contain_text("a walk after tea")
        assert fits(bee)
    finally:
        bee_context.close()
