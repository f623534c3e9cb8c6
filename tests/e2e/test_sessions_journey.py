"""Logging out ends a session for good: a lost phone, logged out from the laptop (issue 10)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests import factories
from tests.e2e.phone import fits

pytestmark = pytest.mark.browser

# Set FORUM_E2E_SHOTS to a folder to keep screenshots of the phone-sized pages.
_SHOTS = os.environ.get("FORUM_E2E_SHOTS", "")
PHONE_AGENT = (
    "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"  # the lost phone
)


def _log_in(page: Any, *, remember: bool) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill("quiet_river")
    page.get_by_label("Password").fill(factories.PASSWORD)
    if remember:
        page.get_by_label("Keep me logged in on this device").check()
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def _is_guest(page: Any) -> bool:
    page.goto("/account")
    return "/login" in page.url


def test_a_lost_phone_is_logged_out_from_another_device(
    app: Any, browser_page: Any, live_server: str
) -> None:
    factories.make_user("quiet_river")
    laptop = browser_page
    browser = laptop.context.browser
    phone_context = browser.new_context(
        viewport={"width": 360, "height": 740}, base_url=live_server, user_agent=PHONE_AGENT
    )
    try:
        phone = phone_context.new_page()
        phone.set_default_timeout(10_000)
        _log_in(phone, remember=True)
        # What a thief would copy off the phone: both cookies.
        stolen = phone_context.cookies()
        assert {c["name"] for c in stolen} >= {"session", "remember_token"}

        _log_in(laptop, remember=False)
        laptop.goto("/account")
        sessions = laptop.get_by_role("region", name="Where you are logged in")
        expect(sessions.get_by_text("Firefox on Android", exact=True)).to_be_visible()
        expect(sessions.get_by_text("This one", exact=True)).to_be_visible()
        assert fits(laptop)
        if _SHOTS:
            Path(_SHOTS).mkdir(parents=True, exist_ok=True)
            laptop.screenshot(path=f"{_SHOTS}/account-sessions.png", full_page=True)

        phone_row = sessions.get_by_role("listitem").filter(has_text="Firefox on Android")
        phone_row.get_by_role("button", name="Log out").click()
        expect(laptop.get_by_text("That session is logged out.")).to_be_visible()
        assert laptop.get_by_text("Firefox on Android", exact=True).count() == 0

        # The phone, and a browser holding copies of its cookies, are guests now.
        assert _is_guest(phone)
        thief_context = browser.new_context(base_url=live_server)
        try:
            thief_context.add_cookies(stolen)
            assert _is_guest(thief_context.new_page())
        finally:
            thief_context.close()
        assert not _is_guest(laptop)
    finally:
        phone_context.close()
