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
