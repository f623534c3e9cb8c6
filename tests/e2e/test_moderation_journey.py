"""Peer moderation in a real browser on a phone: a member reports, a group moderator hides."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forum.extensions import db
from forum.models.posts import Post
from tests import factories
from tests.e2e.phone import fits

pytestmark = pytest.mark.browser

SPAM = "Cheap watches at a site I will not name"
# Set FORUM_E2E_SHOTS to a folder to keep screenshots of the phone-sized pages.
_SHOTS = os.environ.get("FORUM_E2E_SHOTS", "")


@pytest.fixture
def allotment(app: Any) -> dict[str, int]:
    """A public group with a peer moderator, a member and a spammer; one spam reply."""
    reporter = factories.make_user("green_thumb", trust_level=1)
    spammer = factories.make_user("watch_seller")
    moderator = factories.make_user("peer_mod", trust_level=2)
    group = factories.make_group(
        "Allotment club", slug="allotments", members=(reporter, spammer), moderators=(moderator,)
    )
    board = factories.make_board("Seeds and swaps", group=group)
    topic = factories.make_topic(board, reporter, title="Tomato seeds to swap")
    post = factories.make_post(topic, spammer, body=SPAM)
    return {"topic": topic.id, "post": post.id}


def _log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_member_reports_and_peer_moderator_hides_from_the_queue(
    allotment: dict[str, int], browser_page: Any, live_server: str
) -> None:
    page = browser_page
    page.set_viewport_size({"width": 360, "height": 640})
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(live_server) else outside.append(request.url)
        ),
    )

    # A member reports the spam reply, with a reason and a note.
    _log_in(page, "green_thumb")
    page.goto(f"/t/{allotment['topic']}")
    spam = page.locator("article", has_text=SPAM)
    spam.get_by_role("link", name="Report").click()
    expect(page.get_by_role("heading", name="Report post #2 by watch_seller")).to_be_visible()
    assert fits(page)
    page.get_by_label("Spam", exact=False).check()
    page.get_by_label("Note for the moderators").fill("Posted in three topics today.")
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("your report is with the moderators")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    # A peer moderator (a member of the group, not staff) opens the queue on their phone.
    _log_in(page, "peer_mod")
    page.get_by_role("link", name="Moderation").click()
    expect(page.get_by_role("heading", name="Moderation")).to_be_visible()
    item = page.locator(".queue-item", has_text=SPAM)
    expect(item.get_by_text("Posted in three topics today.")).to_be_visible()
    assert fits(page)
    if _SHOTS:
        page.screenshot(path=f"{_SHOTS}/queue.png", full_page=True)
    item.get_by_role("link", name="Decide").click()
    expect(page.get_by_role("heading", name="Report about post #2")).to_be_visible()
    assert fits(page)
    if _SHOTS:
        page.screenshot(path=f"{_SHOTS}/report.png", full_page=True)
    page.get_by_label("Hide the post").check()
    page.get_by_label("Reason").fill("Advertising")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Nothing is waiting")).to_be_visible()

    # The moderator still reads it, marked; everyone else sees only a placeholder.
    page.goto(f"/t/{allotment['topic']}")
    hidden = page.locator("article", has_text=SPAM)
    expect(hidden.get_by_text("Reason: Advertising")).to_be_visible()
    page.get_by_role("link", name="Moderate topic").click()
    expect(page.get_by_role("heading", name="Moderate this topic")).to_be_visible()
    assert fits(page)
    if _SHOTS:
        page.screenshot(path=f"{_SHOTS}/topic-moderation.png", full_page=True)
    page.get_by_role("button", name="Log out").click()
    _log_in(page, "green_thumb")
    page.goto(f"/t/{allotment['topic']}")
    expect(page.get_by_text("Hidden by moderators.")).to_be_visible()
    assert page.get_by_text(SPAM).count() == 0
    # Two: the spam reply itself told the topic's author (the reporter) before it was
    # hidden, and the report was handled.
    expect(page.get_by_role("link", name="Notifications (2)")).to_be_visible()

    db.session.rollback()
    post = db.session.scalar(select(Post).where(Post.id == allotment["post"]))
    assert post is not None and post.is_hidden and post.hidden_reason == "Advertising"
    # Nothing was ever fetched from anywhere but the forum itself.
    assert outside == []
