"""The account page's "Download my data" button and the API's export."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from forum.models.users import User
from forum.search import service as search_service
from tests import factories
from tests.blueprints.conftest import flat
from tests.blueprints.conftest import log_in


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


# --- deleting an account ------------------------------------------------------------

SECRET_TEXT = "MARMOSETPHRASE-SECRET-GROUP"


def _world():  # noqa: ANN202
    me = factories.make_user("goingaway", email="going@example.org", trust_level=1)
    other = factories.make_user("staying", trust_level=1)
    outsider = factories.make_user("outsider", trust_level=1)
    public = factories.make_topic(author=me, title="A topic by the leaver", body="LEAVERWORDS")
    factories.make_post(public, other, body="A reply by someone staying.")
    group = factories.make_group(secret=True, members=(me, other))
    secret = factories.make_topic(factories.make_board(group=group), other, body="Group talk.")
    factories.make_post(secret, me, body=SECRET_TEXT)
    return me, other, outsider, public, secret


def _delete(client: FlaskClient, posts: str, password: str = factories.PASSWORD):  # noqa: ANN202
    return client.post("/account/delete", data={"posts": posts, "delete_password": password})


def test_account_page_offers_deletion(db, login_as: Callable[[User], FlaskClient]) -> None:  # noqa: ANN001
    page = flat(login_as(factories.make_user("pagedeleter")).get("/account").get_data(True))
    assert "Delete my account" in page
    assert "Keep my posts" in page and "Remove my posts" in page


def test_wrong_password_deletes_nothing(db, login_as: Callable[[User], FlaskClient]) -> None:  # noqa: ANN001
    me, *_ = _world()
    client = login_as(me)
    answer = _delete(client, "keep", password="not the password at all")
    assert answer.status_code == 400
    assert "not right" in answer.get_data(True)
    assert client.get("/u/goingaway").status_code == 200


def test_no_choice_deletes_nothing(db, login_as: Callable[[User], FlaskClient]) -> None:  # noqa: ANN001
    me, *_ = _world()
    client = login_as(me)
    assert _delete(client, "").status_code == 400
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize("posts", ["keep", "remove"])
def test_after_deletion_the_old_name_finds_nothing(
    db,  # noqa: ANN001
    app,  # noqa: ANN001
    login_as: Callable[[User], FlaskClient],
    new_client: Callable[[], FlaskClient],
    posts: str,
) -> None:
    me, other, outsider, public, secret = _world()
    tombstone = f"deleted-{me.id}"
    client = login_as(me)
    answer = _delete(client, posts)
    assert answer.status_code == 302
    # This browser is logged out; the account page asks for a login.
    assert client.get("/account").status_code in (302, 401)
    assert log_in(new_client(), "goingaway").status_code != 302
    assert log_in(new_client(), tombstone).status_code != 302
    search_service.drain_all(app)
    reader = login_as(other)
    assert reader.get("/u/goingaway").status_code == 404
    assert reader.get(f"/u/{tombstone}").status_code == 404
    assert "goingaway" not in reader.get(f"/t/{public.id}").get_data(True)
    by_old_name = flat(reader.get("/search?q=LEAVERWORDS&author=goingaway").get_data(True))
    assert "0 results" in by_old_name
    # Whatever the index still holds is found under the placeholder only.
    found = flat(reader.get("/search?q=LEAVERWORDS").get_data(True))
    assert ("1 result" if posts == "keep" else "0 results") in found
    admin = factories.make_admin()
    assert "0 members" in flat(login_as(admin).get("/admin/members?q=goingaway").get_data(True))
    assert "0 members" in flat(login_as(admin).get("/admin/members?q=deleted-").get_data(True))
    topic_page = login_as(other).get(f"/t/{public.id}").get_data(True)
    secret_page = login_as(other).get(f"/t/{secret.id}").get_data(True)
    if posts == "keep":
        assert "LEAVERWORDS" in topic_page and tombstone not in topic_page
        # Kept posts say "deleted member", with no link to a profile that is gone.
        assert '<span class="author">deleted member</span>' in topic_page
        assert SECRET_TEXT in secret_page
    else:
        assert "LEAVERWORDS" not in topic_page and "A reply by someone staying." in topic_page
        assert SECRET_TEXT not in secret_page
    # The secret group's post never reaches anyone outside it, whichever the choice.
    nosy = login_as(outsider)
    assert nosy.get(f"/t/{secret.id}").status_code == 404
    assert SECRET_TEXT not in nosy.get("/search?q=MARMOSETPHRASE").get_data(True)


def test_admin_deletes_an_account_on_request(db, login_as: Callable[[User], FlaskClient]) -> None:  # noqa: ANN001
    _world()
    admin = factories.make_admin()
    client = login_as(admin)
    answer = client.post(
        "/admin/members/delete",
        data={"username": "goingaway", "posts": "remove", "reason": "Asked by e-mail"},
    )
    assert answer.status_code == 302
    assert client.get("/u/goingaway").status_code == 404
    log = flat(client.get("/mod/log").get_data(True))
    assert "deleted the account of a member on request, removing their posts" in log
    assert "goingaway" not in log


def test_admin_deletion_needs_a_reason_and_a_real_member(
    db,  # noqa: ANN001
    login_as: Callable[[User], FlaskClient],
) -> None:
    _world()
    client = login_as(factories.make_admin())
    no_reason = client.post(
        "/admin/members/delete", data={"username": "goingaway", "posts": "keep"}
    )
    assert no_reason.status_code == 400
    nobody = client.post(
        "/admin/members/delete", data={"username": "nobodyhere", "posts": "keep", "reason": "x"}
    )
    assert nobody.status_code == 400
    assert client.get("/u/goingaway").status_code == 200


def test_members_cannot_use_the_admin_deletion(db, login_as: Callable[[User], FlaskClient]) -> None:  # noqa: ANN001
    _me, other, *_ = _world()
    answer = login_as(other).post(
        "/admin/members/delete", data={"username": "goingaway", "posts": "keep", "reason": "x"}
    )
    assert answer.status_code in (403, 404)
