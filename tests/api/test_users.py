"""Registering through the API, and member profiles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime

from flask.testing import FlaskClient

from forum.extensions import db
from tests import factories

NEW = {"username": "newcomer", "password": "a fresh long passphrase"}


def test_register_when_open_hands_out_recovery_codes(client: FlaskClient) -> None:
    factories.set_settings(registration="open")
    response = client.post("/api/v1/users", json=NEW)
    assert response.status_code == 201
    body = response.get_json()
    assert body["username"] == "newcomer"
    assert body["url"] == "/u/newcomer"
    assert len(body["recovery_codes"]) == 8
    login = client.post("/api/v1/auth/token", json=NEW)
    assert login.status_code == 201


def test_register_refused_while_invite_only(client: FlaskClient) -> None:
    response = client.post("/api/v1/users", json=NEW)  # the default is invite_only
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "invite_required"


def test_register_with_unknown_invite_is_not_found(client: FlaskClient) -> None:
    response = client.post("/api/v1/users", json={**NEW, "invite": "made-up"})
    assert response.status_code == 404


def test_register_taken_name_any_case_conflicts(client: FlaskClient) -> None:
    factories.set_settings(registration="open")
    factories.make_user("Newcomer")
    response = client.post("/api/v1/users", json=NEW)
    assert response.status_code == 409


def test_register_validates_every_field(client: FlaskClient) -> None:
    factories.set_settings(registration="open")
    response = client.post(
        "/api/v1/users", json={"username": "x", "password": "short", "email": "nope"}
    )
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) == {"username", "password", "email"}


def test_register_refuses_common_password(client: FlaskClient) -> None:
    factories.set_settings(registration="open")
    response = client.post("/api/v1/users", json={"username": "newcomer", "password": "x" * 12})
    assert response.status_code == 400
    assert "password" in response.get_json()["error"]["fields"]


def test_profile_hidden_from_guests_like_a_missing_one(client: FlaskClient) -> None:
    factories.set_settings(guest_access="public_boards")
    factories.make_user("alice")
    existing = client.get("/api/v1/users/alice")
    missing = client.get("/api/v1/users/nobody")
    assert existing.status_code == missing.status_code == 404
    assert existing.get_data() == missing.get_data()


def test_profile_shows_join_month_only(client: FlaskClient, bearer: Callable) -> None:
    alice = factories.make_user("alice")
    factories.make_topic(author=alice)  # members know the authors of what they read
    alice.created_at = datetime(2026, 11, 25, 20, 4, 53, tzinfo=UTC)
    db.session.commit()
    response = client.get("/api/v1/users/ALICE", headers=bearer(factories.make_user()))
    assert response.status_code == 200
    body = response.get_json()
    assert body["created_at"] == "2026-11-01T00:00:00Z"
    assert body["username"] == "alice"
    assert body["roles"] == []
    assert body["url"] == "/u/alice"
    assert "email" not in body
    alice.show_join_date = True
    db.session.commit()
    body = client.get("/api/v1/users/alice", headers=bearer(alice)).get_json()
    assert body["created_at"] == "2026-11-25T20:04:53Z"


def test_profile_counts_only_what_the_viewer_sees(client: FlaskClient, bearer: Callable) -> None:
    alice = factories.make_user("alice")
    secret = factories.make_group(secret=True, members=(alice,))
    shown, hidden = factories.make_board(), factories.make_board(group=secret)
    factories.make_topic(shown, alice)
    factories.make_post(factories.make_topic(hidden, alice), alice)
    outsiders = [factories.make_user(), factories.make_user(moderator=True), factories.make_admin()]
    for outsider in outsiders:
        body = client.get("/api/v1/users/alice", headers=bearer(outsider)).get_json()
        assert (body["topics_count"], body["posts_count"]) == (1, 1), outsider.username
    inside = client.get("/api/v1/users/alice", headers=bearer(alice)).get_json()
    assert (inside["topics_count"], inside["posts_count"]) == (2, 3)


def test_profile_roles(client: FlaskClient, bearer: Callable) -> None:
    admin = factories.make_admin("boss")
    body = client.get("/api/v1/users/boss", headers=bearer(admin)).get_json()
    assert body["roles"] == ["admin"]


def test_profile_unusable_names_are_not_found(client: FlaskClient, bearer: Callable) -> None:
    headers = bearer(factories.make_user())
    for name in ("%00", "a%20b", "x" * 300, "%C3%A9t%C3%A9"):
        response = client.get(f"/api/v1/users/{name}", headers=headers)
        assert response.status_code == 404, name
