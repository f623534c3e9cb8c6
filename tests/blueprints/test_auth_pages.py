"""Registering, logging in and out, recovery codes, resets, the account page, set-up."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from forum.extensions import db
from forum.models.users import RecoveryCode
from forum.models.users import User
from forum.services import accounts
from forum.services import setup
from forum.services.settings import get_settings
from tests import factories
from tests.blueprints.conftest import flat
from tests.blueprints.conftest import log_in

CODE = re.compile(r"\b[0-9a-f]{5}-[0-9a-f]{5}\b")
NEW_PASSWORD = "a different long passphrase"


def _users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def _outbox(app: Flask) -> list[accounts.Mail]:
    return app.extensions.setdefault("forum_outbox", [])


def _link_token(mail: accounts.Mail, path: str) -> str:
    found = re.search(rf"{path}/(\S+)", mail.body)
    assert found, mail.body
    return found.group(1)


# --- registration -------------------------------------------------------------


def test_register_page_says_invitation_only_and_post_is_refused(client: FlaskClient) -> None:
    page = client.get("/register")
    assert page.status_code == 200
    assert "invitation only" in flat(page.text)
    assert 'name="password"' not in page.text
    response = client.post("/register", data={"username": "alice", "password": NEW_PASSWORD})
    assert response.status_code == 403
    assert "invitation only" in flat(response.text)
    assert _users() == 0


def test_register_logs_in_and_shows_recovery_codes_once(client: FlaskClient) -> None:
    factories.set_settings(registration="open")
    response = client.post("/register", data={"username": "alice", "password": NEW_PASSWORD})
    assert response.status_code == 200
    codes = CODE.findall(response.text)
    assert len(codes) == accounts.RECOVERY_CODES
    assert "Write these down" in response.text
    assert response.headers["Cache-Control"] == "private, no-store"
    # Stored hashed only, and never shown again.
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == len(codes) and not set(codes) & set(stored)
    account = client.get("/account")
    assert account.status_code == 200
    assert not CODE.search(account.text)
    assert client.get("/register").status_code == 302


def test_register_rejects_a_common_password_and_keeps_the_other_fields(
    client: FlaskClient,
) -> None:
    factories.set_settings(registration="open")
    response = client.post(
        "/register",
        data={"username": "alice", "password": "aaaaaaaaaaaa", "email": "a@example.org"},
    )
    assert response.status_code == 400
    assert "too common" in response.text
    assert 'value="alice"' in response.text
    assert 'value="a@example.org"' in response.text
    assert "aaaaaaaaaaaa" not in response.text  # passwords are never echoed
    assert _users() == 0


def test_register_rejects_a_short_password_and_a_bad_username(client: FlaskClient) -> None:
    factories.set_settings(registration="open")
    response = client.post("/register", data={"username": "a b", "password": "short"})
    assert response.status_code == 400
    text = flat(response.text)
    assert "at least 10 characters" in text
    assert "Username may use only" in text or "at least 3" in text
    assert _users() == 0


def test_register_refuses_a_taken_username_in_any_case(client: FlaskClient) -> None:
    factories.make_user("alice")
    factories.set_settings(registration="open")
    response = client.post("/register", data={"username": "ALICE", "password": NEW_PASSWORD})
    assert response.status_code == 400
    assert "taken" in response.text
    assert _users() == 1


def test_register_with_email_sends_a_link_that_only_a_post_confirms(
    app: Flask, client: FlaskClient
) -> None:
    factories.set_settings(registration="open")
    client.post(
        "/register",
        data={"username": "alice", "password": NEW_PASSWORD, "email": "Alice@Example.org"},
    )
    mail = _outbox(app)[-1]
    assert mail.to == "alice@example.org"
    token = _link_token(mail, "/account/confirm")
    page = client.get(f"/account/confirm/{token}")
    assert page.status_code == 200
    assert db.session.scalar(select(User.email)) is None  # a GET changes nothing
    assert client.post(f"/account/confirm/{token}").status_code == 302
    assert db.session.scalar(select(User.email)) == "alice@example.org"


# --- logging in and out -------------------------------------------------------


def test_wrong_password_and_unknown_user_get_the_same_answer(client: FlaskClient) -> None:
    factories.make_user("alice")
    wrong = log_in(client, "alice", "not the right password")
    unknown = log_in(client, "nobody", "not the right password")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong username or password." in wrong.text
    assert wrong.text.replace("alice", "NAME") == unknown.text.replace("nobody", "NAME")


def test_login_starts_a_new_session_and_logout_ends_it(client: FlaskClient) -> None:
    factories.make_user("alice")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    response = log_in(client, "alice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert "planted" not in session
    assert "alice" in client.get("/account").text
    assert client.get("/logout").status_code == 405  # a GET never logs out
    assert client.post("/logout").status_code == 302
    assert client.get("/account").status_code == 302


def test_login_goes_back_only_to_a_page_on_this_site(client: FlaskClient) -> None:
    factories.make_user("alice")
    for target, expected in [
        ("/b/3?page=2", "/b/3?page=2"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ]:
        response = log_in(client, "alice", next=target)
        assert response.headers["Location"] == expected, target
        client.post("/logout")


def test_a_page_for_members_sends_guests_to_login_and_back(client: FlaskClient) -> None:
    factories.make_user("alice")
    response = client.get("/account")
    assert response.status_code == 302
    login_page = client.get(response.headers["Location"])
    assert 'name="next" value="/account"' in login_page.text
    assert log_in(client, "alice", next="/account").headers["Location"] == "/account"


def test_a_saved_link_invites_a_logged_out_member_to_log_in_and_lands_there(
    client: FlaskClient, new_client: Callable[[], FlaskClient]
) -> None:
    """Guests read nothing here (the default): a saved link to a secret group's topic
    invites to log in, then opens the topic for a member and is the normal 404 for anyone
    else; the guest's answer is the one a missing topic gets."""
    member = factories.make_user("alice")
    factories.make_user("bob")
    group = factories.make_group(secret=True, members=(member,))
    topic = factories.make_topic(factories.make_board(group=group), member, title="Our circle")
    saved = f"/t/{topic.id}"
    invited = client.get(saved)
    assert invited.status_code == 302 and invited.headers["Location"] == f"/login?next={saved}"
    missing = client.get("/t/999999")
    assert missing.headers["Location"] == "/login?next=/t/999999"
    login_page = flat(client.get(invited.headers["Location"]).text)
    assert "log in to read this forum" in login_page
    assert "Not found" not in login_page and "Our circle" not in login_page
    landed = log_in(client, "alice", next=saved)
    assert landed.headers["Location"] == saved
    assert "Our circle" in client.get(saved).text
    other = new_client()
    assert log_in(other, "bob", next=saved).headers["Location"] == saved
    refused = other.get(saved)
    assert refused.status_code == 404 and "Our circle" not in refused.text


def test_pages_for_guests_stay_open_where_guests_read_nothing(client: FlaskClient) -> None:
    for path in ("/", "/login", "/register", "/help", "/trust", "/reset", "/favicon.ico"):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
    # A dead invitation link is still the ordinary 404, offering to log in.
    dead = client.get("/invite/nothing-like-a-token")
    assert dead.status_code == 404 and 'href="/login?next=/invite/' in dead.text
    # The JSON API keeps its contract.
    assert client.get("/api/v1/topics/1").status_code == 404
    assert client.get("/api/v1/notifications").status_code == 401


def test_remember_me_sets_a_long_lived_httponly_cookie(client: FlaskClient) -> None:
    factories.make_user("alice")
    response = log_in(client, "alice", remember="1")
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]
    other = log_in(client, "alice")
    assert not [c for c in other.headers.getlist("Set-Cookie") if "remember_token=" in c]


# --- getting back in --------------------------------------------------------------


def test_recovery_code_resets_the_password_once(client: FlaskClient) -> None:
    user = factories.make_user("alice")
    codes = accounts.issue_recovery_codes(user)
    db.session.commit()
    data = {"method": "code", "username": "alice", "code": codes[0], "new_password": NEW_PASSWORD}
    response = client.post("/reset", data=data)
    assert response.status_code == 302
    client.post("/logout")
    assert log_in(client, "alice", NEW_PASSWORD).status_code == 302
    client.post("/logout")
    again = client.post("/reset", data=data | {"new_password": "yet another passphrase"})
    assert again.status_code == 400
    assert "do not match" in again.text
    assert 'value="alice"' in again.text


def test_recovery_code_with_weak_new_password_keeps_the_code(client: FlaskClient) -> None:
    user = factories.make_user("alice")
    codes = accounts.issue_recovery_codes(user)
    db.session.commit()
    data = {"method": "code", "username": "alice", "code": codes[0], "new_password": "short"}
    assert client.post("/reset", data=data).status_code == 400
    data["new_password"] = NEW_PASSWORD
    assert client.post("/reset", data=data).status_code == 302


def test_reset_by_email_answers_the_same_whether_or_not_the_address_exists(
    app: Flask, client: FlaskClient
) -> None:
    factories.make_user("alice", email="alice@example.org")
    known = client.post("/reset", data={"method": "email", "email": "alice@example.org"})
    unknown = client.post("/reset", data={"method": "email", "email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert "If that address belongs to an account" in known.text
    assert [m.to for m in _outbox(app)] == ["alice@example.org"]


def test_reset_link_sets_a_new_password_and_then_stops_working(
    app: Flask, client: FlaskClient
) -> None:
    factories.make_user("alice", email="alice@example.org")
    client.post("/reset", data={"method": "email", "email": "alice@example.org"})
    token = _link_token(_outbox(app)[-1], "/reset")
    assert client.get(f"/reset/{token}").status_code == 200
    weak = client.post(f"/reset/{token}", data={"new_password": "short"})
    assert weak.status_code == 400 and "at least 10" in weak.text
    assert client.post(f"/reset/{token}", data={"new_password": NEW_PASSWORD}).status_code == 302
    assert client.get(f"/reset/{token}").status_code == 404
    assert client.get("/reset/not-a-token").status_code == 404


# --- the account page ----------------------------------------------------------------


def test_changing_password_logs_out_other_devices_but_not_this_one(
    client: FlaskClient, new_client: Callable[[], FlaskClient]
) -> None:
    factories.make_user("alice")
    phone = new_client()
    log_in(phone, "alice", remember="1")
    log_in(client, "alice")
    assert phone.get("/account").status_code == 200
    response = client.post(
        "/account/password",
        data={"current_password": factories.PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    # The other phone's session and its remember-me cookie are both dead.
    assert phone.get("/account").status_code == 302


def test_changing_password_needs_the_current_one(client: FlaskClient) -> None:
    factories.make_user("alice")
    log_in(client, "alice")
    response = client.post(
        "/account/password", data={"current_password": "wrong guess", "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 400
    assert "current password is not right" in response.text
    client.post("/logout")
    assert log_in(client, "alice").status_code == 302


def test_profile_form_saves_bio_and_join_date_choice(client: FlaskClient) -> None:
    factories.make_user("alice")
    log_in(client, "alice")
    response = client.post(
        "/account/profile", data={"bio": "Sober since spring.", "show_join_date": "1", "email": ""}
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert (user.bio, user.show_join_date) == ("Sober since spring.", True)
    too_long = client.post("/account/profile", data={"bio": "x" * 501, "email": ""})
    assert too_long.status_code == 400
    assert "at most 500" in too_long.text
    assert "x" * 501 in too_long.text


def test_new_recovery_codes_replace_the_old_ones(client: FlaskClient) -> None:
    user = factories.make_user("alice")
    old = accounts.issue_recovery_codes(user)
    db.session.commit()
    log_in(client, "alice")
    response = client.post("/account/recovery-codes", data={"codes_password": factories.PASSWORD})
    new = CODE.findall(response.text)
    assert len(new) == accounts.RECOVERY_CODES and not set(new) & set(old)
    client.post("/logout")
    stale = {"method": "code", "username": "alice", "code": old[0], "new_password": NEW_PASSWORD}
    assert client.post("/reset", data=stale).status_code == 400


# --- first-run set-up ---------------------------------------------------------------


def test_setup_link_creates_the_admin_with_safe_defaults(client: FlaskClient) -> None:
    token = setup.create_setup_token()
    db.session.commit()
    page = client.get(f"/setup/{token}")
    assert page.status_code == 200
    assert re.search(r'value="invite_only" checked', page.text)
    assert re.search(r'value="none" checked', page.text)
    response = client.post(
        f"/setup/{token}",
        data={
            "username": "boss",
            "password": NEW_PASSWORD,
            "registration": "invite_only",
            "guest_access": "none",
        },
    )
    assert response.status_code == 302
    assert client.get("/admin").status_code == 200
    assert get_settings()["registration"] == "invite_only"
    assert client.get(f"/setup/{token}").status_code == 404  # spent


def test_setup_keeps_the_username_when_the_password_is_weak(client: FlaskClient) -> None:
    token = setup.create_setup_token()
    db.session.commit()
    response = client.post(
        f"/setup/{token}",
        data={"username": "boss", "password": "short", "registration": "open"},
    )
    assert response.status_code == 400
    assert 'value="boss"' in response.text
    assert re.search(r'value="open" checked', response.text)
    assert _users() == 0


def test_setup_with_a_wrong_token_is_not_found(client: FlaskClient) -> None:
    setup.create_setup_token()
    db.session.commit()
    assert client.get("/setup/guess").status_code == 404


def test_new_recovery_codes_need_the_password(client: FlaskClient) -> None:
    user = factories.make_user("alice")
    old = accounts.issue_recovery_codes(user)
    db.session.commit()
    log_in(client, "alice")
    response = client.post("/account/recovery-codes", data={"codes_password": "wrong guess"})
    assert response.status_code == 400 and "password is not right" in response.text
    assert not CODE.findall(response.text)
    assert accounts.unused_recovery_codes(user) == len(old)


def test_changing_email_needs_the_password(client: FlaskClient) -> None:
    user = factories.make_user("alice")
    log_in(client, "alice")
    refused = client.post(
        "/account/profile", data={"bio": "", "email": "new@example.org", "password": "nope"}
    )
    assert refused.status_code == 400 and "password is not right" in refused.text
    db.session.refresh(user)
    assert user.pending_email is None
    accepted = client.post(
        "/account/profile",
        data={"bio": "", "email": "new@example.org", "password": factories.PASSWORD},
    )
    assert accepted.status_code == 302
    db.session.refresh(user)
    assert user.pending_email == "new@example.org"
