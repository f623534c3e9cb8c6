"""The API's data rights: `GET /me/export`."""

from __future__ import annotations

import io
import zipfile

from flask.testing import FlaskClient

from tests import factories


def _names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sorted(archive.namelist())


def test_api_export_answers_a_zip(db, client: FlaskClient, bearer) -> None:  # noqa: ANN001
    me = factories.make_user("apiexporter")
    topic = factories.make_topic(author=me)
    answer = client.get("/api/v1/me/export", headers=bearer(me))
    assert answer.status_code == 200
    assert answer.mimetype == "application/zip"
    assert _names(answer.data) == ["account.json", f"posts/{topic.id}-1.md"]


def test_api_export_needs_a_member(db, client: FlaskClient) -> None:  # noqa: ANN001
    answer = client.get("/api/v1/me/export")
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "not_logged_in"


def test_api_delete_me_answers_204_and_the_token_dies(db, client: FlaskClient, bearer) -> None:  # noqa: ANN001
    me = factories.make_user("apileaver")
    reader = factories.make_user("apireader", trust_level=1)
    topic = factories.make_topic(author=me, body="Words by the API leaver.")
    headers = bearer(me)
    answer = client.delete(
        "/api/v1/me", json={"password": factories.PASSWORD, "posts": "keep"}, headers=headers
    )
    assert answer.status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    seen_by = bearer(reader)
    assert client.get("/api/v1/users/apileaver", headers=seen_by).status_code == 404
    assert client.get(f"/api/v1/users/deleted-{me.id}", headers=seen_by).status_code == 404
    shown = client.get(f"/api/v1/topics/{topic.id}", headers=seen_by).get_data(True)
    assert "apileaver" not in shown
    token = client.post(
        "/api/v1/auth/token", json={"username": "apileaver", "password": factories.PASSWORD}
    )
    assert token.status_code == 401


def test_api_delete_me_checks_password_and_choice(db, client: FlaskClient, bearer) -> None:  # noqa: ANN001
    me = factories.make_user("apistayer")
    headers = bearer(me)
    wrong = client.delete(
        "/api/v1/me", json={"password": "not the right one", "posts": "keep"}, headers=headers
    )
    assert wrong.status_code == 400
    assert wrong.get_json()["error"]["fields"].keys() == {"password"}
    bad = client.delete(
        "/api/v1/me", json={"password": factories.PASSWORD, "posts": "maybe"}, headers=headers
    )
    assert bad.status_code == 400
    assert client.get("/api/v1/me", headers=headers).get_json()["username"] == "apistayer"


def test_api_delete_me_refuses_a_sole_owner(db, client: FlaskClient, bearer) -> None:  # noqa: ANN001
    owner = factories.make_user("apiowner")
    factories.make_group(owner=owner)
    answer = client.delete(
        "/api/v1/me",
        json={"password": factories.PASSWORD, "posts": "remove"},
        headers=bearer(owner),
    )
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "sole_owner"
