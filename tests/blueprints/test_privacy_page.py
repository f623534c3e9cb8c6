"""The privacy page: readable by anyone before joining, edited by admins, sanitised."""

from __future__ import annotations

from forum.services import privacy
from forum.services.settings import PRIVACY_POLICY_MAX
from forum.services.settings import get_settings
from tests import factories
from tests.blueprints.conftest import flat


def test_guests_read_the_default_text_where_they_may_read_nothing_else(client):
    assert get_settings()["guest_access"] == "none"
    assert client.get("/latest").status_code == 302  # the rest sends them to log in
    page = client.get("/privacy")
    assert page.status_code == 200
    text = flat(page.text)
    assert "Your IP address is never stored in readable form." in text
    assert "Download my data" in text and "deleted member" in text
    assert "Edit this page" not in text


def test_every_page_and_the_registration_form_link_to_it(client):
    factories.set_settings(registration="open")
    assert 'href="/privacy"' in client.get("/help").text
    assert 'href="/privacy"' in client.get("/register").text
    assert client.get("/login").text.count('href="/privacy"') == 1  # the footer


def test_admin_replaces_the_text_and_it_is_sanitised(client, login_as):
    login_as(factories.make_admin())
    form = client.get("/admin/privacy")
    assert form.status_code == 200
    assert "default text" in flat(form.text)
    saved = client.post(
        "/admin/privacy",
        data={"privacy_policy": "## Who we are\n\nRun by Hope Lane. <script>alert(1)</script>"},
    )
    assert saved.status_code == 302 and saved.location.endswith("/privacy")
    page = client.get("/privacy").text
    assert "<h2>Who we are</h2>" in page and "Run by Hope Lane." in page
    assert "<script>alert" not in page
    assert "never stored in readable form" not in page
    assert "Edit this page" in page


def test_use_the_default_text_brings_it_back(client, login_as):
    login_as(factories.make_admin())
    client.post("/admin/privacy", data={"privacy_policy": "Ours."})
    assert "Use the default text" in client.get("/admin/privacy").text
    client.post("/admin/privacy", data={"privacy_policy": "Ours.", "use_default": "1"})
    assert get_settings()["privacy_policy"] == ""
    assert "never stored in readable form" in client.get("/privacy").text


def test_saving_the_default_unchanged_keeps_following_the_default(client, login_as):
    login_as(factories.make_admin())
    client.post("/admin/privacy", data={"privacy_policy": privacy.default_text() + "\n"})
    assert get_settings()["privacy_policy"] == ""


def test_a_text_too_long_is_refused_kept_in_the_form_and_changes_nothing(client, login_as):
    login_as(factories.make_admin())
    client.post("/admin/privacy", data={"privacy_policy": "Ours."})
    too_long = "Long words. " * (PRIVACY_POLICY_MAX // 10)
    refused = client.post("/admin/privacy", data={"privacy_policy": too_long})
    assert refused.status_code == 400
    assert f"at most {PRIVACY_POLICY_MAX:,} characters" in flat(refused.text)
    assert too_long.strip()[:200] in refused.text
    assert get_settings()["privacy_policy"] == "Ours."


def test_members_and_moderators_cannot_edit_it(client, login_as):
    login_as(factories.make_user(moderator=True))
    assert client.get("/admin/privacy").status_code == 403
    assert client.post("/admin/privacy", data={"privacy_policy": "Mine."}).status_code == 403
    assert get_settings()["privacy_policy"] == ""
