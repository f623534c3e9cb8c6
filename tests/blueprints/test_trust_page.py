"""The trust levels page, its link from help, and the thresholds on the admin settings page."""

from __future__ import annotations

from forum.services.settings import get_settings
from tests import factories
from tests.blueprints.conftest import flat


def test_trust_page_explains_levels_with_the_current_thresholds(client):
    factories.set_settings(tl1_posts_read=42, tl0_topics_per_day=2)
    page = client.get("/trust")
    assert page.status_code == 200
    text = flat(page.text)
    assert "Level 0: new member" in text and "Level 4: leader" in text
    assert "at most 2 new topics and 20 posts a day" in text
    assert "Posts read: 42" in text
    assert "Days visited in the last 100 days: 50" in text
    assert "Posts read in the last 100 days (25% of the posts written then" in text
    assert "Suspensions in the last 100 days: none" in text
    assert "Your level" not in text


def test_members_see_their_own_progress(client, login_as):
    member = factories.make_user()
    factories.make_reading(member, topics_entered=2)
    login_as(member)
    text = flat(client.get("/trust").text)
    assert "You are at trust level 0 (new member)" in text
    assert "Topics entered (opened to read): you have 2, needed 5 not yet" in text


def test_help_links_to_the_trust_page(client):
    assert 'href="/trust"' in client.get("/help").text


def test_admin_changes_a_threshold_on_the_settings_page(client, login_as):
    login_as(factories.make_admin())
    page = client.get("/admin")
    assert "Trust levels and limits" in page.text
    assert 'name="tl2_days_visited" value="15"' in page.text
    saved = client.post("/admin", data={**_settings_form(), "tl2_days_visited": "12"})
    assert saved.status_code == 302
    assert get_settings()["tl2_days_visited"] == 12
    refused = client.post("/admin", data={**_settings_form(), "tl2_days_visited": "-3"})
    assert refused.status_code == 400
    assert "Days visited must be a whole number from 0 to 100,000." in refused.text
    assert get_settings()["tl2_days_visited"] == 12


def _settings_form() -> dict[str, str]:
    return {
        "site_name": "Harbour",
        "site_description": "",
        "registration": "invite_only",
        "guest_access": "none",
    }
