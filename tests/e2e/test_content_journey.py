"""Issue 10 in a real browser on a phone-sized screen: a long pasted post is never cut,
and an author removes a real name from their post's edit history."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from forum.extensions import db
from forum.services import posts
from tests import factories

pytestmark = pytest.mark.browser

PASSWORD = "a long walk by the canal"


def _log_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_pasted_post_over_the_limit_is_kept_whole_and_the_form_says_so(app, browser_page):
    board_id = factories.make_board("Staying well").id
    factories.make_user("long_writer", password=PASSWORD)
    # The test's session must hold no lock while the server writes.
    db.session.remove()
    page = browser_page
    _log_in(page, "long_writer")
    page.goto(f"/b/{board_id}/new")
    expect(page.get_by_text("Up to 50,000 characters.")).to_be_visible()
    page.get_by_label("Title").fill("My story, all of it")
    text = "It started when I was young. " * 1725  # 50,025 characters
    field = page.get_by_label("Your post")
    # As a paste: the browser would have cut it at a maxlength, silently.
    field.focus()
    page.keyboard.insert_text(text)
    assert len(field.input_value()) == len(text)
    page.get_by_role("button", name="Start topic").click()
    expect(
        page.get_by_text("Your post is 50,024 characters long; a post can have at most 50,000.")
    ).to_be_visible()
    assert len(page.get_by_label("Your post").input_value()) == len(text)


def test_author_removes_a_real_name_from_the_edit_history(app, browser_page):
    author = factories.make_user("jr_north", password=PASSWORD)
    post = factories.make_post(author=author, body="Hello, I am Jane Realname from Leeds.")
    posts.edit_post(factories.actor(author), post, body="Hello, I am jr from the north.")
    db.session.commit()
    post_id = post.id
    db.session.remove()
    page = browser_page
    _log_in(page, "jr_north")
    page.goto(f"/p/{post_id}/revisions")
    expect(page.get_by_text("Jane Realname")).to_be_visible()
    page.get_by_text("Remove this version").click()
    page.get_by_role("button", name="Remove the text of version 1").click()
    expect(page.get_by_text("The text of version 1 is removed from the history.")).to_be_visible()
    expect(page.get_by_text("Removed by the author on")).to_be_visible()
    assert page.get_by_text("Jane Realname").count() == 0
