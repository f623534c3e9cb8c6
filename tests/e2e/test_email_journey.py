"""E-mail a member chose reaches them, and one click stops it (issue 13): ann chooses
mail for mentions on her account page, bob mentions her, the mail's subject names
nothing, and its link - opened logged out on a 360 px phone - stops that mail."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from forum.extensions import db
from forum.services import notifications
from tests import factories
from tests.e2e.phone import fits

pytestmark = pytest.mark.browser


def _log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out", exact=True)).to_be_visible()


def test_a_mention_is_mailed_and_the_mails_link_stops_it(
    app: Any, browser_page: Any, live_server: str
) -> None:
    ann = factories.make_user("ann_reads", email="ann@example.org", trust_level=1)
    factories.make_user("bob_writes", trust_level=1)
    topic = factories.make_topic(author=ann, title="Mornings with the dog")
    topic_id, ann_id = topic.id, ann.id
    db.session.remove()

    page = browser_page
    _log_in(page, "ann_reads")
    page.goto("/account#email-h")
    page.locator("#mention-email").select_option("immediately")
    page.get_by_role("button", name="Save notification choices").click()
    expect(page.get_by_text("Your notification choices are saved.")).to_be_visible()
    page.get_by_label("Summary of the kinds set to").select_option("weekly")
    page.get_by_role("button", name="Save e-mail choices").click()
    expect(page.get_by_text("Your e-mail choices are saved.")).to_be_visible()
    assert fits(page)
    page.get_by_role("button", name="Log out", exact=True).click()

    _log_in(page, "bob_writes")
    page.goto(f"/t/{topic_id}")
    page.locator("article").first.get_by_role("link", name="Reply").click()
    page.get_by_label("Your post").fill("@ann_reads the park was quiet today.")
    page.get_by_role("button", name="Post reply").click()
    expect(page.locator("article", has_text="the park was quiet")).to_be_visible()
    page.get_by_role("button", name="Log out", exact=True).click()

    [sent] = app.extensions["forum_outbox"]
    assert sent.to == "ann@example.org" and sent.subject == "Someone mentioned you"
    assert "park" not in sent.body and "bob_writes" not in sent.body
    link = sent.headers["List-Unsubscribe"].strip("<>")
    page.goto("/" + link.split("://", 1)[1].split("/", 1)[1])
    expect(page.get_by_role("heading", name="Stop e-mails")).to_be_visible()
    assert fits(page)
    page.get_by_role("button", name="Stop these e-mails").click()
    expect(page.get_by_role("heading", name="Unsubscribed")).to_be_visible()
    assert fits(page)
    with app.app_context():
        user = db.session.get(type(ann), ann_id)
        choices = notifications.preferences(factories.actor(user))
        assert choices["mention"]["email"] == "never"
        db.session.remove()
