"""What a new admin and new members hit first, in a real browser (issue 10)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from werkzeug.serving import make_server

from forum.extensions import db
from forum.models.topics import Topic
from forum.models.users import User
from forum.services import groups
from forum.services import notifications
from tests import factories
from tests.conftest import make_test_app

pytestmark = pytest.mark.browser

LONG_NAME = "sam_admin_with_a_lo"  # 19 of the 20 characters a username may have


def _log_in(page: Any, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("button", name="Log out").wait_for()


@pytest.fixture
def long_named_admin(app: Any) -> str:
    """An admin with a long name and something unread: the fullest header there is."""
    factories.set_settings(site_name="Harbour Recovery Community Forum")
    admin = factories.make_admin(LONG_NAME)
    factories.make_topic(factories.make_board("Staying well"), admin)
    notifications.notify(admin.id, "test", "Something happened.")
    db.session.commit()
    return LONG_NAME


def test_header_search_button_stays_on_one_line(long_named_admin, browser_page):
    """It wrapped to "Searc / h" on every logged-in page, phone and desktop."""
    page = browser_page
    _log_in(page, long_named_admin)
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 740})
        page.goto("/")
        button = page.locator("header form.site-search button")
        box = button.bounding_box()
        line = page.evaluate(
            "b => parseFloat(getComputedStyle(b).lineHeight)", button.element_handle()
        )
        assert box is not None and box["height"] < 2 * line, (width, box, line)
        assert button.inner_text() == "Search"
        # The box and its button share one row, inside the page.
        field = page.locator("header form.site-search input").bounding_box()
        assert field is not None and abs(field["y"] - box["y"]) < line
        assert box["x"] + box["width"] <= width


@pytest.fixture
def circle(app: Any) -> dict[str, Any]:
    """A secret group with a member, a topic inside, and a notification for the member."""
    member = factories.make_user("quiet_river")
    group = factories.make_group("Thursday circle", secret=True, members=(member,))
    board = factories.make_board("Circle room", group=group)
    topic = factories.make_topic(board, member, title="What helped this week")
    factories.make_post(topic, factories.owner_of(group), body="A walk by the canal.")
    notifications.notify(member.id, "test", "Someone answered you in the circle.")
    db.session.commit()
    return {"topic": topic.id, "member": member.username}


def test_saved_link_invites_to_log_in_and_lands_on_the_page(circle, browser_page, live_server):
    """Logged out, a saved link said "Not found... the page may have moved"."""
    page = browser_page
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(f"/t/{circle['topic']}")
    expect(page.get_by_text("log in to read this forum")).to_be_visible()
    assert page.get_by_text("Not found").count() == 0
    page.get_by_label("Username").fill(circle["member"])
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert page.url == f"{live_server}/t/{circle['topic']}"
    expect(page.get_by_role("heading", name="What helped this week")).to_be_visible()
    # The header's icon came from the forum: no 404 anywhere on the way (it was one).
    assert missing == []


def test_opening_notifications_clears_the_badge_and_marks_what_was_new(circle, browser_page):
    page = browser_page
    _log_in(page, circle["member"])
    page.goto("/")
    # Two: the owner's reply in the member's topic told them too (issue 13).
    page.get_by_role("link", name="Notifications (2)").click()
    item = page.locator("li", has_text="Someone answered you in the circle.")
    expect(item.get_by_text("New")).to_be_visible()
    assert page.get_by_role("link", name=re.compile(r"^Notifications \(")).count() == 0
    page.goto("/")
    assert page.get_by_role("link", name=re.compile(r"^Notifications \(")).count() == 0
    page.goto("/notifications")
    assert page.locator("li", has_text="Someone answered you").get_by_text("New").count() == 0


@pytest.fixture
def second_worker(app: Flask, tmp_path: Path) -> Iterator[str]:
    """Another app object on the same database, served on its own port: gunicorn's second
    worker. Cookies are per host, not per port, so the browser's session works on both."""
    other = make_test_app(app.config["FORUM_DATABASE_URL"], tmp_path / "worker2")
    server = make_server("127.0.0.1", 0, other, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_admin_saves_a_site_name_and_every_worker_shows_it_at_once(
    long_named_admin, browser_page, second_worker
):
    """The other worker kept the old name for up to 5 s (a per-worker cache)."""
    page = browser_page
    _log_in(page, long_named_admin)
    page.goto(f"{second_worker}/help")
    assert page.locator("header .brand").inner_text() == "Harbour Recovery Community Forum"
    page.goto("/admin")
    page.get_by_label("Site name").fill("Lighthouse")
    page.get_by_role("button", name="Save settings").click()
    assert page.locator("header .brand").inner_text() == "Lighthouse"
    assert page.get_by_label("Site name").input_value() == "Lighthouse"
    page.goto(f"{second_worker}/admin")
    assert page.locator("header .brand").inner_text() == "Lighthouse"
    assert page.get_by_label("Site name").input_value() == "Lighthouse"


def test_profile_names_each_topic_once_and_the_log_reads_as_sentences(circle, browser_page):
    """The profile repeated a topic's title for every post; the group's log read
    "circle_owner set role quiet_river" and "Reason: moderator"."""
    page = browser_page
    owner = db.session.scalar(
        db.select(User).where(User.username != circle["member"]).order_by(User.id)
    )
    topic = db.session.get(Topic, circle["topic"])
    for n in range(3):
        factories.make_post(topic, owner, body=f"Another thought, number {n}.")
    group = topic.board.group
    groups.set_member_role(factories.actor(owner), group, circle["member"], role="moderator")
    slug, owner_name = group.slug, owner.username
    # Outside a request the session writes (BEGIN IMMEDIATE): end it before the browser.
    db.session.commit()
    _log_in(page, owner_name)
    page.goto(f"/u/{owner_name}")
    recent = page.locator("ul.recent > li")
    assert recent.count() == 1
    assert recent.first.get_by_text("What helped this week").count() == 1
    assert "4 posts:" in recent.first.inner_text()
    page.goto(f"/g/{slug}/log")
    line = page.locator("ol.log > li").first.inner_text()
    assert line.startswith(f"{owner_name} made {circle['member']} a moderator.")
    assert "Reason" not in line


def test_admin_finds_a_member_who_never_posted(long_named_admin, browser_page):
    """There was no member list: a member who never posted could not be found."""
    factories.make_user("silent_sam")
    loud = factories.make_user("loud_voice", trust_level=2)
    factories.make_post(factories.make_topic(), loud)
    db.session.commit()
    page = browser_page
    _log_in(page, long_named_admin)
    page.get_by_role("link", name="Admin", exact=True).click()
    page.get_by_role("link", name="Members", exact=True).click()
    page.get_by_label("Name contains").fill("silent")
    page.get_by_role("button", name="Show members").click()
    rows = page.locator("ul.directory > li")
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("link", name="silent_sam")).to_be_visible()
    assert "0 posts you can read" in rows.first.inner_text()
    page.get_by_label("Name contains").fill("")
    page.get_by_text("More filters").click()
    page.get_by_label("Trust level").select_option("2")
    page.get_by_role("button", name="Show members").click()
    assert page.locator("ul.directory > li").all_inner_texts()[0].startswith("loud_voice")
    expect(page.get_by_text("1 member", exact=True)).to_be_visible()
