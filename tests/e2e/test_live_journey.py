"""Talking now (issue 14), two phones at 360 px: A writes in a secret group's chat room
and replies in a topic; B's open pages show both within 5 seconds, without a reload."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from forum.extensions import db
from forum.services import chat
from tests import factories
from tests.e2e.phone import fits

pytestmark = pytest.mark.browser

LIVE_MS = 5_000


def _log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_chat_message_and_a_reply_appear_on_the_open_pages_of_another_member(
    app: Any, browser_page: Any, live_server: str
) -> None:
    ash = factories.make_user("ash_tree", trust_level=1)
    bee = factories.make_user("bee_walks", trust_level=1)
    group = factories.make_group("Night owls", slug="night-owls", secret=True, members=(ash, bee))
    room = chat.open_chat_room(factories.actor(factories.owner_of(group)), group, name="Tonight")
    board = factories.make_board("Owls talk", group=group)
    topic = factories.make_topic(board, bee, title="Who else is up?")
    db.session.commit()
    room_id, topic_id = room.id, topic.id
    # The test's session must hold no (SQLite read) lock while the server writes.
    db.session.remove()

    ash_page = browser_page
    bee_context = ash_page.context.browser.new_context(
        viewport={"width": 360, "height": 740}, base_url=live_server
    )
    try:
        bee_page = bee_context.new_page()
        bee_page.set_default_timeout(10_000)
        _log_in(bee_page, "bee_walks")
        bee_page.goto(f"/rooms/{room_id}")
        expect(bee_page.get_by_text("No messages yet.")).to_be_visible()
        assert fits(bee_page)

        _log_in(ash_page, "ash_tree")
        ash_page.goto(f"/rooms/{room_id}")
        ash_page.get_by_label("Message").fill("Anyone awake? **Tea** helps me.")
        ash_page.get_by_role("button", name="Send").click()
        expect(ash_page.locator(".chat li", has_text="Tea helps me")).to_be_visible()
        assert fits(ash_page)

        # B never reloads: the message arrives through the poll.
        expect(bee_page.locator(".chat li", has_text="Tea helps me")).to_be_visible(timeout=LIVE_MS)
        expect(bee_page.locator(".chat li strong", has_text="Tea")).to_be_visible()
        assert fits(bee_page)

        # The same for a topic's last page.
        bee_page.goto(f"/t/{topic_id}")
        ash_page.goto(f"/t/{topic_id}")
        ash_page.get_by_label("Your post").fill("Me too, reading by the window.")
        ash_page.get_by_role("button", name="Post reply").click()
        expect(ash_page.locator("article", has_text="reading by the window")).to_be_visible()
        expect(bee_page.locator("article", has_text="reading by the window")).to_be_visible(
            timeout=LIVE_MS
        )
        assert fits(bee_page)
    finally:
        bee_context.close()
