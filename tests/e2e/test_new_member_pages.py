"""What a new admin and new members hit first, in a real browser (issue 10)."""

from __future__ import annotations

from typing import Any

import pytest

from forum.extensions import db
from forum.services import notifications
from tests import factories

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
