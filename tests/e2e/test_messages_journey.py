"""A private message reaches its member: A messages B from B's profile, B's header
shows 1, B opens the notification, lands on the message and replies; A sees the reply
(issue 14), two phones at 360 px."""

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


def test_a_message_and_its_answer(app: Any, browser_page: Any, live_server: str) -> None:
    ash = factories.make_user("ash_tree", trust_level=1)
    bee = factories.make_user("bee_walks", trust_level=1)
    factories.make_group("Walkers", members=(ash, bee))
    # The test's session must hold no (SQLite read) lock while the server writes.
    db.session.remove()

    ash_page = browser_page
    browser = ash_page.context.browser
    bee_context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server)
    try:
        bee_page = bee_context.new_page()
        bee_page.set_default_timeout(10_000)
        _log_in(bee_page, "bee_walks")

        # A starts a conversation from B's profile.
        _log_in(ash_page, "ash_tree")
        ash_page.goto("/u/bee_walks")
        ash_page.get_by_role("link", name="Message bee_walks").click()
        expect(ash_page.get_by_label("To")).to_have_value("bee_walks")
        ash_page.get_by_label("Subject").fill("Walk on Sunday?")
        ash_page.get_by_label("Message").fill("Shall we walk by the river on Sunday?")
        ash_page.get_by_role("button", name="Send").click()
        expect(ash_page.locator("li.post", has_text="by the river")).to_be_visible()
        expect(ash_page.get_by_text("moderators will see it and the two before it")).to_be_visible()
        assert fits(ash_page)

        # B's badge shows 1; the notification says nothing of the words and leads there.
        bee_page.goto("/")
        # The header counts the unread conversation too.
        expect(bee_page.get_by_role("link", name="Messages 1 unread")).to_be_visible()
        badge = bee_page.get_by_role("link", name="Notifications (1)")
        expect(badge).to_be_visible()
        badge.click()
        note = bee_page.get_by_role("link", name="ash_tree sent you a private message.")
        expect(note).to_be_visible()
        assert fits(bee_page)
        note.click()
        bee_page.wait_for_load_state("load")
        assert re.search(r"/messages/\d+\?page=1#m\d+$", bee_page.url), bee_page.url
        expect(bee_page.locator("li.post", has_text="by the river")).to_be_visible()
        assert fits(bee_page)

        # B replies; A sees it.
        bee_page.get_by_label("Your message").fill("Yes, ten o'clock at the bridge.")
        bee_page.get_by_role("button", name="Send").click()
        expect(bee_page.locator("li.post", has_text="ten o'clock")).to_be_visible()
        ash_page.goto("/messages")
        ash_page.get_by_role("link", name="Walk on Sunday?").click()
        expect(ash_page.locator("li.post", has_text="ten o'clock")).to_be_visible()
        assert fits(ash_page)

        # A deletes their first message: B reads a placeholder instead of the words.
        first = ash_page.locator("li.post", has_text="by the river")
        first.locator("summary", has_text="Delete").click()
        first.get_by_role("button", name="Delete this message").click()
        expect(ash_page.get_by_text("This message was deleted.")).to_be_visible()
        assert fits(ash_page)
        bee_page.reload()
        expect(bee_page.get_by_text("This message was deleted.")).to_be_visible()
        assert bee_page.locator("li.post", has_text="by the river").count() == 0
    finally:
        bee_context.close()
