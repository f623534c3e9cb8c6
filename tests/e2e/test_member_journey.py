"""A member's first visit, in a real browser on a phone-sized screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def open_forum(app):
    """Open registration and one board, made through the services."""
    factories.set_settings(registration="open")
    board = factories.make_board("Staying well", description="Day-to-day recovery.")
    return board.id


def test_register_log_in_start_topic_reply_and_edit(open_forum, browser_page, live_server):
    page = browser_page
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(live_server) else outside.append(request.url)
        ),
    )

    # Register with a pseudonym and no e-mail: recovery codes are shown once.
    page.goto("/register")
    page.get_by_label("Username").fill("quiet_river")
    page.get_by_label("Password").fill("a long walk by the canal")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text(re.compile("recovery code", re.I)).first).to_be_visible()
    codes = page.locator("code").all_inner_texts()
    assert len(codes) >= 8

    # Log out, then log in again through the form.
    page.get_by_role("button", name="Log out").click()
    page.goto("/login")
    page.get_by_label("Username").fill("quiet_river")
    page.get_by_label("Password").fill("a long walk by the canal")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    # Start a topic on the board.
    page.goto(f"/b/{open_forum}")
    page.get_by_role("link", name="New topic").click()
    page.get_by_label("Title").fill("Evenings are the hardest part")
    page.get_by_label("Your post").fill("What do you all do around **8pm**?")
    page.get_by_role("button", name="Start topic").click()
    expect(page.get_by_role("heading", name="Evenings are the hardest part")).to_be_visible()
    expect(page.locator("article strong", has_text="8pm")).to_be_visible()

    # Reply to that post (Discourse style: a reply link, then a flat topic).
    page.locator("article").first.get_by_role("link", name="Reply").click()
    page.get_by_label("Your post").fill("Walking helps me, even ten minutes.")
    page.get_by_role("button", name="Post reply").click()
    reply = page.locator("article", has_text="Walking helps me")
    expect(reply).to_be_visible()
    expect(
        reply.get_by_role("link", name=re.compile(r"in reply to @quiet_river #1"))
    ).to_be_visible()

    # Edit the reply: the new text shows, marked as edited, with the history kept.
    reply.get_by_role("link", name="Edit").click()
    page.get_by_label("Your post").fill("Walking helps me, even five minutes.")
    page.get_by_role("button", name="Save changes").click()
    edited = page.locator("article", has_text="even five minutes")
    expect(edited).to_be_visible()
    edited.get_by_role("link", name="edited").click()
    expect(page.get_by_text("even ten minutes")).to_be_visible()

    # Nothing was ever fetched from anywhere but the forum itself.
    assert outside == []
