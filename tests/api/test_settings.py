"""Site settings: admins only."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from tests import factories


def test_defaults_are_safe(client: FlaskClient, bearer: Callable) -> None:
    body = client.get("/api/v1/settings", headers=bearer(factories.make_admin())).get_json()
    assert body["registration"] == "invite_only"
    assert body["guest_access"] == "none"


def test_admin_changes_settings(client: FlaskClient, bearer: Callable) -> None:
    headers = bearer(factories.make_admin())
    response = client.patch(
        "/api/v1/settings",
        json={"registration": "open", "guest_access": "public_boards"},
        headers=headers,
    )
    assert response.status_code == 200
    assert response.get_json()["registration"] == "open"
    assert client.get("/api/v1/settings", headers=headers).get_json()["guest_access"] == (
        "public_boards"
    )


def test_bad_setting_values_change_nothing(client: FlaskClient, bearer: Callable) -> None:
    headers = bearer(factories.make_admin())
    response = client.patch(
        "/api/v1/settings",
        json={"registration": "open", "guest_access": "everyone"},
        headers=headers,
    )
    assert response.status_code == 400
    assert "guest_access" in response.get_json()["error"]["fields"]
    assert client.get("/api/v1/settings", headers=headers).get_json()["registration"] == (
        "invite_only"
    )


def test_unknown_setting_is_refused(client: FlaskClient, bearer: Callable) -> None:
    response = client.patch(
        "/api/v1/settings", json={"theme": "dark"}, headers=bearer(factories.make_admin())
    )
    assert response.status_code == 400
    assert "theme" in response.get_json()["error"]["fields"]


def test_members_are_forbidden_and_guests_unauthorized(
    client: FlaskClient, bearer: Callable
) -> None:
    member = bearer(factories.make_user())
    assert client.get("/api/v1/settings", headers=member).status_code == 403
    patch = client.patch("/api/v1/settings", json={"registration": "open"}, headers=member)
    assert patch.status_code == 403
    assert client.get("/api/v1/settings").status_code == 401
    assert client.patch("/api/v1/settings", json={"registration": "open"}).status_code == 401


def test_anyone_reads_the_privacy_page_and_admins_change_it(
    client: FlaskClient, bearer: Callable
) -> None:
    default = client.get("/api/v1/privacy")
    assert default.status_code == 200
    body = default.get_json()
    assert body["default"] is True
    assert "never stored in readable form" in body["markdown"]
    assert "<h2>" in body["html"]

    admin = bearer(factories.make_admin())
    changed = client.patch(
        "/api/v1/settings",
        json={"privacy_policy": "Run by Hope Lane. <img src=x onerror=alert(1)>"},
        headers=admin,
    )
    assert changed.status_code == 200
    body = client.get("/api/v1/privacy").get_json()
    assert body["default"] is False
    assert body["markdown"].startswith("Run by Hope Lane.")
    assert "<img" not in body["html"]  # escaped as text by the sanitiser


def test_a_privacy_page_over_the_limit_is_refused(client: FlaskClient, bearer: Callable) -> None:
    admin = bearer(factories.make_admin())
    response = client.patch(
        "/api/v1/settings", json={"privacy_policy": "x" * 20_001}, headers=admin
    )
    assert response.status_code == 400
    assert "privacy_policy" in response.get_json()["error"]["fields"]
    assert client.get("/api/v1/privacy").get_json()["default"] is True
