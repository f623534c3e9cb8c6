"""Profiles and the admin pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.extensions import db
from forum.models.boards import Board
from forum.models.users import User
from forum.services.settings import get_settings
from tests import factories
from tests.blueprints.conftest import flat
from tests.conftest import PageClient
from tests.conftest import make_test_app


def _board_names(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/b/\d+">([^<]+)</a></h2>', html)


# --- profiles -----------------------------------------------------------------


def test_profile_shows_the_join_month_only_unless_the_member_chooses(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    alice = factories.make_user("alice")
    alice.created_at = datetime(2025, 3, 4, 20, 4, 53, tzinfo=UTC)
    alice.bio = "Line one\n<b>not bold</b>"
    db.session.commit()
    factories.make_topic(author=alice, title="My first topic")
    login_as(factories.make_user())
    page = client.get("/u/ALICE")
    assert page.status_code == 200
    text = flat(page.text)
    assert "Joined March 2025" in text
    assert "4 Mar" not in text
    assert "1 topic · 1 post" in text
    assert "My first topic" in text
    assert "&lt;b&gt;not bold&lt;/b&gt;" in page.text
    alice = db.session.scalar(select(User).where(User.username == "alice"))
    alice.show_join_date = True
    db.session.commit()
    shown = client.get("/u/alice")
    assert '<time datetime="2025-03-04T20:04:53Z">4 Mar 2025</time>' in shown.text


def test_profile_is_not_found_for_guests_even_when_boards_are_public(
    client: FlaskClient,
) -> None:
    factories.make_user("alice")
    factories.set_settings(guest_access="public_boards")
    real, missing = client.get("/u/alice"), client.get("/u/nobody")
    assert real.status_code == missing.status_code == 404
    # Alike but for the address asked for, echoed in the offer to log in.
    assert real.text.replace("/u/alice", "<ASKED>") == missing.text.replace("/u/nobody", "<ASKED>")
    assert 'href="/login?next=/u/alice"' in real.text


def test_me_goes_to_the_own_profile(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    assert "/login" in client.get("/me").headers["Location"]
    login_as(factories.make_user("alice"))
    assert client.get("/me").headers["Location"] == "/u/alice"


def test_profile_leaves_out_deleted_posts(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    alice = factories.make_user("alice")
    topic = factories.make_topic(title="Kept topic")
    post = factories.make_post(topic, alice, body="Regretted.")
    # Another post of hers stays: she is still known (a deleted post alone is no shared
    # context, see tests/policy/test_user_visibility.py).
    factories.make_post(factories.make_topic(title="Other topic"), alice, body="Still here.")
    login_as(alice)
    client.post(f"/p/{post.id}/delete")
    login_as(factories.make_user())
    text = flat(client.get("/u/alice").text)
    assert "1 post" in text and "Kept topic" not in text and "Other topic" in text


def test_profile_recent_posts_name_each_topic_once(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    alice = factories.make_user("alice")
    busy = factories.make_topic(title="Evenings are hard")
    quiet = factories.make_topic(title="Walking helps")
    replies = [factories.make_post(busy, alice, body=f"Reply {n}.") for n in range(3)]
    factories.make_post(quiet, alice)
    login_as(factories.make_user())
    page = client.get("/u/alice").text
    assert page.count("Evenings are hard") == 1 and page.count("Walking helps") == 1
    text = flat(page)
    # Newest topic first; each of the three posts still has its own link.
    assert text.index("Walking helps") < text.index("Evenings are hard")
    assert "3 posts:" in text
    for reply in replies:
        assert f'href="/p/{reply.id}"' in page


# --- admin ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin"),
        ("post", "/admin"),
        ("get", "/admin/boards"),
        ("post", "/admin/boards"),
        ("post", "/admin/boards/1"),
        ("post", "/admin/boards/1/move"),
    ],
)
def test_admin_pages_refuse_members_and_send_guests_to_login(
    client: FlaskClient, login_as: Callable[[User], FlaskClient], method: str, path: str
) -> None:
    factories.make_board("Original")
    guest = getattr(client, method)(path, data={"name": "Hijacked", "direction": "up"})
    assert guest.status_code == 302 and "/login" in guest.headers["Location"]
    login_as(factories.make_user(moderator=True))
    member = getattr(client, method)(path, data={"name": "Hijacked", "direction": "up"})
    assert member.status_code == 403
    assert db.session.scalars(select(Board.name)).all() == ["Original"]


def test_admin_creates_renames_nests_and_reorders_boards(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    login_as(factories.make_admin())
    assert client.get("/admin/boards").status_code == 200
    for name in ("Welcome", "Job club", "Staying well"):
        response = client.post("/admin/boards", data={"name": name, "description": ""})
        assert response.status_code == 302
    assert _board_names(client.get("/").text) == ["Welcome", "Job club", "Staying well"]
    ids = {b.name: b.id for b in db.session.scalars(select(Board))}
    client.post(f"/admin/boards/{ids['Staying well']}/move", data={"direction": "up"})
    assert _board_names(client.get("/").text) == ["Welcome", "Staying well", "Job club"]
    client.post(f"/admin/boards/{ids['Welcome']}/move", data={"direction": "down"})
    assert _board_names(client.get("/").text) == ["Staying well", "Welcome", "Job club"]
    response = client.post(
        f"/admin/boards/{ids['Job club']}",
        data={"name": "Work club", "description": "CVs and interviews.", "parent_id": ""},
    )
    assert response.status_code == 302
    assert "CVs and interviews." in client.get("/").text
    client.post(
        f"/admin/boards/{ids['Welcome']}",
        data={"name": "Welcome", "description": "", "parent_id": str(ids["Staying well"])},
    )
    front = client.get("/")
    assert _board_names(front.text) == ["Staying well", "Work club"]
    assert "Sub-boards: Welcome" in flat(front.text)


def test_admin_board_form_errors_keep_the_input(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    login_as(factories.make_admin())
    response = client.post("/admin/boards", data={"name": "  ", "description": "Kept words"})
    assert response.status_code == 400
    assert "must not be empty" in response.text
    assert 'value="Kept words"' in response.text
    parent = factories.make_board("Parent")
    child = factories.make_board("Child", parent=parent)
    nested = client.post(
        f"/admin/boards/{parent.id}",
        data={"name": "Parent", "description": "", "parent_id": str(child.id)},
    )
    assert nested.status_code == 400
    assert "sub-boards" in nested.text


def test_admin_changes_site_settings(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    login_as(factories.make_admin())
    page = client.get("/admin")
    assert 'value="invite_only" checked' in page.text
    response = client.post(
        "/admin",
        data={
            "site_name": "Harbour",
            "site_description": "Peer support.",
            "registration": "open",
            "guest_access": "public_boards",
        },
    )
    assert response.status_code == 302
    assert get_settings()["registration"] == "open"
    assert 'class="brand" href="/">Harbour</a>' in client.get("/").text
    bad = client.post("/admin", data={"site_name": "", "registration": "everyone"})
    assert bad.status_code == 400
    assert "registration must be one of" in bad.text
    assert get_settings()["site_name"] == "Harbour"


def test_saved_settings_show_at_once_on_every_worker(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[[User], FlaskClient],
    tmp_path: Path,
) -> None:
    """Two app objects on one database are two gunicorn workers: a per-worker cache of a
    few seconds made the other one show the old site name after saving."""
    other = make_test_app(app.config["FORUM_DATABASE_URL"], tmp_path / "worker2")
    other.test_client_class = PageClient
    second = other.test_client()
    try:
        assert 'class="brand" href="/">Our forum</a>' in second.get("/login").text
        login_as(factories.make_admin())
        saved = client.post(
            "/admin",
            data={
                "site_name": "Harbour",
                "site_description": "Peer support.",
                "registration": "invite_only",
                "guest_access": "none",
            },
        )
        assert saved.status_code == 302
        saved = client.get(saved.headers["Location"])
        # The page after saving, and the other worker's very next page, show the new name.
        assert 'class="brand" href="/">Harbour</a>' in saved.text
        assert 'value="Harbour"' in saved.text
        assert 'class="brand" href="/">Harbour</a>' in second.get("/login").text
        # And a change the other way round reaches the first worker as well.
        with other.app_context():
            factories.set_settings(site_name="Lighthouse")
        assert 'class="brand" href="/">Lighthouse</a>' in client.get("/login").text
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_admin_link_shows_for_admins_only(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    login_as(factories.make_user())
    assert 'href="/admin"' not in client.get("/help").text
    login_as(factories.make_admin())
    assert 'href="/admin"' in client.get("/help").text


# --- the member directory ---------------------------------------------------------


def test_admin_finds_members_who_never_posted_in_the_directory(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    """No member list anywhere: an admin could not find (or appoint) a silent member."""
    factories.make_user("quiet_river")
    factories.make_user("loud_voice", trust_level=2)
    login_as(factories.make_admin("sam_admin"))
    page = client.get("/admin/members")
    assert page.status_code == 200
    text = flat(page.text)
    assert "3 members" in text
    assert 'href="/u/quiet_river"' in page.text and "0 posts you can read" in text
    assert 'href="/admin/members"' in client.get("/admin").text
    found = client.get("/admin/members?q=river&level=0")
    assert 'href="/u/quiet_river"' in found.text and "loud_voice" not in found.text
    assert "1 member" in flat(found.text)


def test_directory_pages_keep_their_filters_and_bad_ones_are_explained(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    for n in range(55):
        factories.make_user(f"walker{n:02d}")
    login_as(factories.make_admin("sam_admin"))
    first = client.get("/admin/members?q=walker&sort=name")
    assert 'href="/admin/members?page=2&amp;q=walker&amp;sort=name"' in first.text
    second = flat(client.get("/admin/members?q=walker&sort=name&page=2").text)
    assert "walker54" in second and "walker00" not in second
    bad = client.get("/admin/members?joined_after=31/12/2026&level=7")
    assert bad.status_code == 400
    assert "Joined on or after must be a date, YYYY-MM-DD." in bad.text
    assert "Trust level must be 0, 1, 2, 3 or 4." in bad.text
    assert 'value="31/12/2026"' in bad.text


def test_directory_refuses_members_and_sends_guests_to_log_in(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    assert client.get("/admin/members").headers["Location"] == "/login?next=/admin/members"
    login_as(factories.make_user(moderator=True))
    assert client.get("/admin/members").status_code == 403
