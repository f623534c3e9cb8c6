"""Registering, logging in and out, recovery codes, resets, the account page, set-up."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.users import RecoveryCode
from forum.models.users import User
from forum.services import accounts
from forum.services import setup
from forum.services.settings import get_settings
from tests import factories
from tests.blueprints.conftest import flat
from tests.blueprints.conftest import log_in
from tests.blueprints.conftest import without_csrf

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
    # No new one without the box ticked; the old one is deleted, so that it cannot
    # outlive this login's logout.
    again = [c for c in other.headers.getlist("Set-Cookie") if "remember_token=" in c]
    assert all("Max-Age=0" in c for c in again)


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
    assert without_csrf(known.text) == without_csrf(unknown.text)
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


def test_silenced_member_is_told_why_their_bio_is_not_saved(client: FlaskClient) -> None:
    user = factories.make_user("alice")
    user.bio = "Before the silence."
    user.silenced_until = utcnow() + timedelta(days=2)
    db.session.commit()
    log_in(client, "alice")
    refused = client.post("/account/profile", data={"bio": "Abuse in my bio", "email": ""})
    assert refused.status_code == 403
    text = flat(refused.text)
    assert "You are silenced and cannot change the text about you for now." in text
    assert 'href="/account/standing"' in refused.text
    # The text they typed is kept in the form, and nothing was saved.
    assert "Abuse in my bio" in refused.text
    db.session.expire_all()
    assert db.session.get(User, user.id).bio == "Before the silence."


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


# --- sessions: logging out ends them (issue 10) ---------------------------------------


FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def _cookie(client: FlaskClient, name: str) -> str:
    found = client.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return found.value


def _is_guest(client: FlaskClient) -> bool:
    response = client.get("/account")
    return response.status_code == 302 and "/login" in response.headers["Location"]


def _browser(client: FlaskClient, user_agent: str) -> FlaskClient:
    """The client, sending this User-Agent from now on."""
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


def _replay(new_client: Callable[[], FlaskClient], **cookies: str) -> FlaskClient:
    """A browser that never logged in, holding copies of someone's cookies."""
    thief = new_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief


def test_replayed_session_cookie_after_logout_is_a_guest(
    client: FlaskClient, new_client: Callable[[], FlaskClient]
) -> None:
    factories.make_user("alice")
    log_in(client, "alice")
    copied = _cookie(client, "session")
    assert not _is_guest(_replay(new_client, session=copied))  # the copy works while logged in
    assert client.post("/logout").status_code == 302
    assert _is_guest(client)
    assert _is_guest(_replay(new_client, session=copied))


def test_replayed_remember_cookie_after_logout_is_a_guest(
    client: FlaskClient, new_client: Callable[[], FlaskClient]
) -> None:
    factories.make_user("alice")
    log_in(client, "alice", remember="1")
    remembered = _cookie(client, "remember_token")
    assert not _is_guest(_replay(new_client, remember_token=remembered))
    response = client.post("/logout")
    # The browser is told to drop it, too.
    assert any(
        c.startswith("remember_token=;") and "Max-Age=0" in c
        for c in response.headers.getlist("Set-Cookie")
    )
    assert _is_guest(_replay(new_client, remember_token=remembered))


def test_logging_out_a_session_from_another_device_ends_both_its_cookies(
    client: FlaskClient, new_client: Callable[[], FlaskClient]
) -> None:
    factories.make_user("alice")
    phone = _browser(new_client(), FIREFOX_ANDROID)
    log_in(phone, "alice", remember="1")
    copies = {
        "session": _cookie(phone, "session"),
        "remember_token": _cookie(phone, "remember_token"),
    }
    log_in(_browser(client, CHROME_WINDOWS), "alice")
    page = client.get("/account")
    text = flat(page.text)
    assert "Firefox on Android" in text and "Chrome on Windows This one" in text
    ids = re.findall(r'action="/account/sessions/(\d+)/logout"', page.text)
    phone_id = {s.device: s.id for s in _live_sessions("alice")}["Firefox on Android"]
    assert str(phone_id) in ids and len(ids) == 2
    response = client.post(f"/account/sessions/{phone_id}/logout")
    assert response.status_code == 302
    assert "That session is logged out." in flat(client.get("/account").text)
    assert _is_guest(phone)
    assert _is_guest(_replay(new_client, session=copies["session"]))
    assert _is_guest(_replay(new_client, remember_token=copies["remember_token"]))
    assert not _is_guest(client)


def _live_sessions(username: str) -> list:
    from forum.services import sessions

    db.session.rollback()
    user = accounts.find_user(username)
    assert user is not None
    return sessions.live_sessions(user)


def test_log_out_everywhere_else_keeps_this_one_and_revokes_api_tokens(
    client: FlaskClient, new_client: Callable[[], FlaskClient]
) -> None:
    user = factories.make_user("alice")
    token = accounts.issue_api_token(user)
    db.session.commit()
    phones = [new_client(), new_client()]
    for phone in phones:
        log_in(phone, "alice", remember="1")
    log_in(client, "alice")
    response = client.post("/account/sessions/logout-others")
    assert response.status_code == 302
    assert all(_is_guest(phone) for phone in phones)
    assert not _is_guest(client)
    assert len(_live_sessions("alice")) == 1
    bearer = {"Authorization": f"Bearer {token}"}
    assert new_client().get("/api/v1/me", headers=bearer).status_code == 401


def test_ending_someone_elses_session_is_not_found(
    client: FlaskClient, new_client: Callable[[], FlaskClient]
) -> None:
    factories.make_user("alice")
    factories.make_user("bob")
    bobs_phone = new_client()
    log_in(bobs_phone, "bob")
    log_in(client, "alice")
    (bobs,) = _live_sessions("bob")
    refused = client.post(f"/account/sessions/{bobs.id}/logout")
    missing = client.post("/account/sessions/999999/logout")
    assert refused.status_code == missing.status_code == 404
    assert without_csrf(refused.text) == without_csrf(missing.text)
    assert not _is_guest(bobs_phone)


def test_logging_out_this_session_from_the_list_logs_out(client: FlaskClient) -> None:
    factories.make_user("alice")
    log_in(client, "alice", remember="1")
    (mine,) = _live_sessions("alice")
    assert client.post(f"/account/sessions/{mine.id}/logout").status_code == 302
    assert _is_guest(client)
    assert _live_sessions("alice") == []


def test_a_new_login_ends_the_browser_s_previous_session(client: FlaskClient) -> None:
    factories.make_user("alice")
    factories.make_user("bob")
    log_in(client, "alice")
    log_in(client, "bob")
    assert _live_sessions("alice") == []
    assert len(_live_sessions("bob")) == 1


def test_remember_me_lasts_thirty_days_not_a_year(app: Flask, client: FlaskClient) -> None:
    from datetime import datetime
    from datetime import timedelta
    from email.utils import parsedate_to_datetime

    factories.make_user("alice")
    response = log_in(client, "alice", remember="1")
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if "remember_token=" in c]
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", cookie).group(1))  # type: ignore[union-attr]
    now = datetime.now(expires.tzinfo)
    assert timedelta(days=29) < expires - now <= timedelta(days=30, minutes=1)


def _remember_cookie_from(app: Flask, days_ago: int) -> str:
    """The remember-me cookie of a login made `days_ago` days ago, as the browser kept it."""
    from datetime import timedelta

    from flask_login.utils import encode_cookie

    from forum.models.base import utcnow
    from forum.services import sessions

    user = accounts.find_user("alice")
    assert user is not None
    sessions.start_session(user, remember=True, now=utcnow() - timedelta(days=days_ago))
    key = user.session_key
    db.session.commit()
    with app.test_request_context():
        return encode_cookie(str(key))


def test_a_remember_cookie_on_its_thirty_first_day_is_a_guest(
    app: Flask, new_client: Callable[[], FlaskClient]
) -> None:
    factories.make_user("alice")
    day_29 = _replay(new_client, remember_token=_remember_cookie_from(app, 29))
    day_31 = _replay(new_client, remember_token=_remember_cookie_from(app, 31))
    assert not _is_guest(day_29)
    assert _is_guest(day_31)


def test_account_page_lists_where_the_member_is_logged_in(
    client: FlaskClient, new_client: Callable[[], FlaskClient]
) -> None:
    factories.make_user("alice")
    log_in(_browser(new_client(), FIREFOX_ANDROID), "alice")
    log_in(_browser(client, CHROME_WINDOWS), "alice")
    text = flat(client.get("/account").text)
    assert "Where you are logged in" in text
    assert "Firefox on Android Logged in" in text
    assert "Chrome on Windows This one" in text
    assert text.count("Log out Firefox on Android") + text.count("Log out Chrome") == 2
    assert "Log out everywhere else" in text


def test_last_seen_is_written_at_most_every_few_minutes(
    client: FlaskClient, count_statements
) -> None:
    from datetime import timedelta

    from forum.models.sessions import UserSession

    factories.make_user("alice")
    log_in(client, "alice")
    count_statements.statements.clear()
    client.get("/help")
    client.get("/account")
    assert not [s for s in count_statements.queries if s.startswith("UPDATE user_sessions")]
    (mine,) = _live_sessions("alice")
    mine.last_seen_at -= timedelta(minutes=6)
    before = mine.last_seen_at
    db.session.commit()
    count_statements.statements.clear()
    client.get("/help")
    updates = [s for s in count_statements.queries if s.startswith("UPDATE user_sessions")]
    assert len(updates) == 1
    assert db.session.get(UserSession, mine.id).last_seen_at > before


def test_a_logged_in_page_costs_one_lookup_for_the_session(
    client: FlaskClient, count_statements
) -> None:
    factories.make_user("alice")
    log_in(client, "alice")
    count_statements.statements.clear()
    client.get("/help")
    session_reads = [s for s in count_statements.queries if "user_sessions" in s]
    assert len(session_reads) == 1
    assert "JOIN user_sessions" in session_reads[0]


def test_registration_codes_page_does_not_speak_of_earlier_codes(client: FlaskClient) -> None:
    factories.set_settings(registration="open")
    response = client.post("/register", data={"username": "alice", "password": NEW_PASSWORD})
    assert len(CODE.findall(response.text)) == accounts.RECOVERY_CODES
    assert "earlier codes" not in response.text
    again = client.post("/account/recovery-codes", data={"codes_password": NEW_PASSWORD})
    assert "Any earlier codes no longer work." in flat(again.text)


def test_a_browser_whose_session_ended_elsewhere_drops_its_cookies(
    client: FlaskClient, new_client: Callable[[], FlaskClient]
) -> None:
    factories.make_user("alice")
    phone = new_client()
    log_in(phone, "alice", remember="1")
    log_in(client, "alice")
    client.post("/account/sessions/logout-others")
    response = phone.get("/")
    assert any(
        c.startswith("remember_token=;") and "Max-Age=0" in c
        for c in response.headers.getlist("Set-Cookie")
    )
    with phone.session_transaction() as session:
        assert "_user_id" not in session
    assert phone.get_cookie("remember_token") is None


def test_account_page_warns_a_member_who_has_no_recovery_codes(
    client: FlaskClient, login_as: Callable
) -> None:
    # `forum create-user` makes accounts without codes: "0 unused recovery codes" read as
    # if all were well.
    member = factories.make_user()
    login_as(member)
    page = flat(client.get("/account").get_data(as_text=True))
    assert "You have no recovery codes." in page and "0 unused" not in page
    accounts.issue_recovery_codes(member)
    db.session.commit()
    page = flat(client.get("/account").get_data(as_text=True))
    assert "You have 8 unused recovery codes." in page
