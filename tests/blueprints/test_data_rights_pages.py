"""The account page's "Download my data" button and the API's export."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from flask.testing import FlaskClient

from forum.models.users import User
from tests import factories


def _names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sorted(archive.namelist())


def test_account_page_offers_the_download(db, login_as: Callable[[User], FlaskClient]) -> None:  # noqa: ANN001
    me = factories.make_user("pagemember")
    page = login_as(me).get("/account")
    assert b"Download my data" in page.data


def test_download_my_data_answers_a_zip(db, login_as: Callable[[User], FlaskClient]) -> None:  # noqa: ANN001
    me = factories.make_user("downloader")
    topic = factories.make_topic(author=me)
    answer = login_as(me).post("/account/export")
    assert answer.status_code == 200
    assert answer.mimetype == "application/zip"
    assert "no-store" in answer.headers["Cache-Control"]
    assert "attachment" in answer.headers["Content-Disposition"]
    assert _names(answer.data) == ["account.json", f"posts/{topic.id}-1.md"]


def test_download_needs_a_login(db, client: FlaskClient) -> None:  # noqa: ANN001
    answer = client.post("/account/export")
    assert answer.status_code in (302, 401)
    assert answer.mimetype != "application/zip"
