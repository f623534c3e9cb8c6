"""Issue 13's "Done when": a mention, a quote and a like each reach their member's header
count (one more after each) and land on the right post, in a real browser at 360 px
(two phones)."""

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


def _badge(page: Any, count: int) -> None:
    """The member's header shows `count` unread notifications."""
    page.goto("/")
    expect(page.get_by_role("link", name=f"Notifications ({count})")).to_be_visible()
    assert fits(page)


def _follow(page: Any, sentence: str, expected: str) -> None:
    """From the notifications page, the notification's link lands on its post."""
    page.goto("/notifications")
    note = page.get_by_role("link", name=sentence)
    expect(note).to_be_visible()
    assert fits(page)
    note.click()
    page.wait_for_load_state("load")
    assert "#p" in page.url, page.url
    anchor = page.url.rsplit("#", 1)[1]
    expect(page.locator(f"#{anchor}")).to_contain_text(expected)
    assert fits(page)


def test_a_mention_a_quote_and_a_like_each_reach_the_member(
    app: Any, browser_page: Any, live_server: str
) -> None:
    board = factories.make_board("Staying well")
    cat = factories.make_user("cat_naps", trust_level=1)
    bee = factories.make_user("bee_walks", trust_level=1)
    factories.make_user("ash_tree", trust_level=1)
    # Three topics: opening a post's page marks read the notifications about every post
    # it shows, so each notification is followed on a page of its own.
    mention_topic = factories.make_topic(board, cat, title="Evenings are the hardest part")
    quote_topic = factories.make_topic(board, cat, title="What helps on a bad morning")
    factories.make_post(quote_topic, bee, body="My tip: a short walk after tea.")
    like_topic = factories.make_topic(
        board, bee, title="Walking at dusk", body="I walk at dusk, the streets are quiet."
    )
    ids = (mention_topic.id, quote_topic.id, like_topic.id)
    # The test's session must hold no (SQLite read) lock while the server writes.
    db.session.remove()

    ash = browser_page
    browser = ash.context.browser
    bee_context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server)
    try:
        bee_page = bee_context.new_page()
        bee_page.set_default_timeout(10_000)
        _log_in(bee_page, "bee_walks")
        assert bee_page.get_by_role("link", name=re.compile("^Notifications")).count() == 0

        _log_in(ash, "ash_tree")
        # A mention, in a reply to someone else's post.
        ash.goto(f"/t/{ids[0]}")
        ash.locator("article").first.get_by_role("link", name="Reply").click()
        ash.get_by_label("Your post").fill("Ask @bee_walks, she knows the good paths.")
        ash.get_by_role("button", name="Post reply").click()
        expect(ash.locator("article", has_text="she knows the good paths")).to_be_visible()
        _badge(bee_page, 1)
        # A quote of B's post.
        ash.goto(f"/t/{ids[1]}")
        tip = ash.locator("article", has_text="My tip: a short walk")
        tip.get_by_role("link", name="Quote").click()
        box = ash.get_by_label("Your post")
        box.fill(box.input_value() + "\n\nThis works for me too.")
        ash.get_by_role("button", name="Post reply").click()
        expect(ash.locator("article", has_text="This works for me too.")).to_be_visible()
        _badge(bee_page, 2)
        # A like of B's opening post.
        ash.goto(f"/t/{ids[2]}")
        dusk = ash.locator("article").first
        dusk.get_by_role("button", name=re.compile("^Like")).click()
        expect(ash.locator("article").first.locator(".likes")).to_have_text("1 like")
        assert fits(ash)

        _badge(bee_page, 3)

        # B follows each notification to the right post; opening the list read them all.
        _follow(bee_page, "ash_tree mentioned you.", "she knows the good paths")
        _follow(bee_page, "ash_tree quoted your post.", "This works for me too.")
        _follow(bee_page, "ash_tree liked your post.", "I walk at dusk")
        bee_page.goto("/")
        assert bee_page.get_by_role("link", name=re.compile("^Notifications")).count() == 0
    finally:
        bee_context.close()
