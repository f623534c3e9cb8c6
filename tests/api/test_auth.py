"""Tokens, CSRF for cookie sessions, passwords and getting back into an account."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask import session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.users import User
from forum.services import accounts
from tests import factories
from tests.conftest import ThrottleClock
from tests.conftest import throttle_clock

PASSWORD = factories.PASSWORD
NEW_PASSWORD = "another long passphrase here"


def _login(  # noqa: ANN202
    client: FlaskClient, username: str, password: str = PASSWORD, *, ip: str = "127.0.0.1"
):
    return client.post(
        "/api/v1/auth/token",
        json={"username": username, "password": password},
        environ_overrides={"REMOTE_ADDR": ip},
    )


def _fail_waiting(
    client: FlaskClient, clock: ThrottleClock, username: str, *, ip: str, failures: int
) -> None:
    """Fail this many logins from one address, waiting out each backoff (by the clock)."""
    done = 0
    while done < failures:
        response = _login(client, username, "wrong password!", ip=ip)
        if response.status_code == 429:
            clock.advance(int(response.headers["Retry-After"]))
            continue
        assert response.status_code == 401
        done += 1


def test_token_issued_for_right_password(client: FlaskClient) -> None:
    user = factories.make_user("alice")
    response = _login(client, "ALICE")
    assert response.status_code == 201
    body = response.get_json()
    assert body["user"]["username"] == "alice"
    assert body["user"]["id"] == user.id
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["username"] == "alice"


def test_bearer_requests_set_no_cookie(client: FlaskClient, bearer: Callable) -> None:
    response = client.get("/api/v1/me", headers=bearer(factories.make_user()))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "private, no-store"


def test_wrong_password_and_unknown_user_answer_alike(client: FlaskClient) -> None:
    factories.make_user("alice")
    wrong = _login(client, "alice", "not the right password")
    unknown = _login(client, "nobody-here", "not the right password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"


def test_login_refused_for_suspended_member(client: FlaskClient) -> None:
    from datetime import timedelta

    from forum.models.base import utcnow

    user = factories.make_user("alice")
    user.suspended_until = utcnow() + timedelta(days=1)
    db.session.commit()
    response = _login(client, "alice")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "suspended"


def test_revoked_token_stops_working(client: FlaskClient, bearer: Callable) -> None:
    headers = bearer(factories.make_user())
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_revoke_without_bearer_is_unauthorized(client: FlaskClient) -> None:
    response = client.delete("/api/v1/auth/token")
    assert response.status_code == 401


def test_bad_token_is_unauthorized_even_on_public_reads(client: FlaskClient) -> None:
    factories.set_settings(guest_access="public_boards")
    for value in ("Bearer nonsense", "Bearer ", "bearer x\u00e9"):
        response = client.get("/api/v1/boards", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.get_json()["error"]["code"] == "invalid_token"


def test_other_authorization_schemes_are_ignored(client: FlaskClient) -> None:
    factories.set_settings(guest_access="public_boards")
    response = client.get("/api/v1/boards", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 200


def test_failed_logins_back_off_then_stop_for_that_account_at_that_address(
    sqlite_app: Callable[..., Flask],
) -> None:
    app = sqlite_app(FORUM_RATELIMITS="on")
    clock = throttle_clock(app)
    client = app.test_client()
    with app.app_context():
        factories.make_user("alice")
        factories.make_user("bob")
    here, elsewhere = "198.51.100.7", "203.0.113.20"
    for _ in range(3):
        assert _login(client, "alice", "wrong password!", ip=here).status_code == 401
    # From the fourth, a growing wait that Retry-After states.
    waiting = _login(client, "alice", "wrong password!", ip=here)
    assert waiting.status_code == 429
    assert waiting.get_json()["error"]["code"] == "rate_limited"
    assert waiting.headers["Retry-After"] == "5"
    assert "wait 5 seconds" in waiting.get_json()["error"]["message"]
    clock.advance(5)
    assert _login(client, "alice", "wrong password!", ip=here).status_code == 401
    _fail_waiting(client, clock, "alice", ip=here, failures=6)  # ten in all
    limited = _login(client, "alice", ip=here)  # even the right password waits now
    assert limited.status_code == 429
    assert 60 < int(limited.headers["Retry-After"]) <= 15 * 60
    # Only that pair stops: the owner elsewhere, and another member here, log in.
    assert _login(client, "alice", ip=elsewhere).status_code == 201
    assert _login(client, "bob", ip=here).status_code == 201


def test_password_change_ends_old_tokens_and_hands_out_a_new_one(
    client: FlaskClient, bearer: Callable
) -> None:
    user = factories.make_user("alice")
    old, other = bearer(user), bearer(user)
    response = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=old,
    )
    assert response.status_code == 200
    new = {"Authorization": f"Bearer {response.get_json()['token']}"}
    assert client.get("/api/v1/me", headers=old).status_code == 401
    assert client.get("/api/v1/me", headers=other).status_code == 401
    assert client.get("/api/v1/me", headers=new).status_code == 200
    assert _login(client, "alice", NEW_PASSWORD).status_code == 201


def test_password_change_needs_current_password(client: FlaskClient, bearer: Callable) -> None:
    headers = bearer(factories.make_user())
    response = client.post(
        "/api/v1/me/password",
        json={"current_password": "wrong wrong wrong", "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert response.status_code == 400
    assert "current_password" in response.get_json()["error"]["fields"]
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_me_shows_whether_an_email_is_set_not_the_address(
    client: FlaskClient, bearer: Callable
) -> None:
    user = factories.make_user(email="alice@example.org")
    body = client.get("/api/v1/me", headers=bearer(user)).get_json()
    assert body["has_email"] is True
    assert "alice@example.org" not in str(body)


def test_me_is_for_members_only(client: FlaskClient) -> None:
    assert client.get("/api/v1/me").status_code == 401


def test_profile_change(client: FlaskClient, bearer: Callable) -> None:
    headers = bearer(factories.make_user())
    response = client.patch(
        "/api/v1/me", json={"bio": "Sober since spring.", "show_join_date": True}, headers=headers
    )
    assert response.status_code == 200
    assert response.get_json()["bio"] == "Sober since spring."
    assert response.get_json()["show_join_date"] is True


def test_silenced_member_cannot_change_their_bio(client: FlaskClient, bearer: Callable) -> None:
    user = factories.make_user()
    user.bio = "Before the silence."
    user.silenced_until = utcnow() + timedelta(days=2)
    db.session.commit()
    headers = bearer(user)
    refused = client.patch("/api/v1/me", json={"bio": "Abuse in my bio"}, headers=headers)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "silenced"
    db.session.expire_all()
    assert db.session.get(User, user.id).bio == "Before the silence."
    # What is not public writing still changes; the bio sent unchanged is no change.
    kept = client.patch(
        "/api/v1/me", json={"bio": "Before the silence.", "show_join_date": True}, headers=headers
    )
    assert kept.status_code == 200 and kept.get_json()["show_join_date"] is True


def test_email_change_needs_password(client: FlaskClient, bearer: Callable) -> None:
    user = factories.make_user()
    headers = bearer(user)
    refused = client.patch("/api/v1/me", json={"email": "new@example.org"}, headers=headers)
    assert refused.status_code == 400
    assert "password" in refused.get_json()["error"]["fields"]
    accepted = client.patch(
        "/api/v1/me", json={"email": "new@example.org", "password": PASSWORD}, headers=headers
    )
    assert accepted.status_code == 200
    assert accepted.get_json()["email_pending"] is True
    assert accepted.get_json()["has_email"] is False


def test_recovery_codes_need_password_and_work_once(client: FlaskClient, bearer: Callable) -> None:
    user = factories.make_user("alice")
    headers = bearer(user)
    refused = client.post("/api/v1/me/recovery-codes", json={"password": "x"}, headers=headers)
    assert refused.status_code == 400
    response = client.post(
        "/api/v1/me/recovery-codes", json={"password": PASSWORD}, headers=headers
    )
    assert response.status_code == 201
    codes = response.get_json()["codes"]
    assert len(codes) == accounts.RECOVERY_CODES
    recover = {"username": "alice", "code": codes[0], "new_password": NEW_PASSWORD}
    first = client.post("/api/v1/auth/recover", json=recover)
    assert first.status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401  # old token ended
    new = {"Authorization": f"Bearer {first.get_json()['token']}"}
    assert client.get("/api/v1/me", headers=new).get_json()["recovery_codes_left"] == 7
    again = client.post("/api/v1/auth/recover", json=recover)
    assert again.status_code == 400
    assert "code" in again.get_json()["error"]["fields"]


def test_reset_request_answers_alike_for_known_and_unknown_addresses(
    client: FlaskClient,
) -> None:
    factories.make_user(email="alice@example.org")
    known = client.post("/api/v1/auth/reset-request", json={"email": "alice@example.org"})
    unknown = client.post("/api/v1/auth/reset-request", json={"email": "who@example.org"})
    broken = client.post("/api/v1/auth/reset-request", json={"email": 5})
    assert known.status_code == unknown.status_code == broken.status_code == 202
    assert known.get_json() == unknown.get_json() == broken.get_json()


def test_reset_with_mailed_token(client: FlaskClient) -> None:
    factories.make_user("alice", email="alice@example.org")
    mail = accounts.request_password_reset("alice@example.org")
    assert mail is not None
    token = re.search(r"/reset/(\S+)", mail.body).group(1)  # type: ignore[union-attr]
    db.session.rollback()
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert client.post("/api/v1/auth/reset", json=body).status_code == 200
    assert _login(client, "alice", NEW_PASSWORD).status_code == 201
    used = client.post("/api/v1/auth/reset", json=body)
    assert used.status_code == 404


# --- CSRF ---------------------------------------------------------------------


def _session_login(app: Flask, client: FlaskClient, user: User) -> None:
    key = factories.make_session(user)
    with client.session_transaction() as sess:
        sess["_user_id"] = key
        sess["_fresh"] = True


def test_cookie_session_write_needs_csrf_token_but_bearer_does_not(
    sqlite_app: Callable[..., Flask],
) -> None:
    app = sqlite_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        user = factories.make_user()
        board = factories.make_board()
        token = accounts.issue_api_token(user)
        db.session.commit()
        board_id = board.id
        _session_login(app, client, user)
    topic = {"title": "A topic title", "body": "Hello there."}
    path = f"/api/v1/boards/{board_id}/topics"

    assert client.get("/api/v1/me").status_code == 200  # the session works for reads
    refused = client.post(path, json=topic)
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf_failed"

    with app.test_request_context():
        signed = generate_csrf()
        raw = session["csrf_token"]
    with client.session_transaction() as sess:
        sess["csrf_token"] = raw
    assert client.post(path, json=topic, headers={"X-CSRFToken": signed}).status_code == 201

    fresh = app.test_client()  # no cookie at all
    assert (
        fresh.post(path, json=topic, headers={"Authorization": f"Bearer {token}"}).status_code
        == 201
    )


def test_login_and_registration_need_no_csrf_token(sqlite_app: Callable[..., Flask]) -> None:
    app = sqlite_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        factories.make_user("alice")
        factories.set_settings(registration="open")
    assert _login(client, "alice").status_code == 201
    response = client.post("/api/v1/users", json={"username": "bob", "password": NEW_PASSWORD})
    assert response.status_code == 201


# --- sessions (issue 10) -------------------------------------------------------------


def _session_client(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    _session_login(app, client, user)
    return client


def test_me_sessions_lists_live_sessions_and_marks_this_one(
    app: Flask, client: FlaskClient, bearer: Callable
) -> None:
    user = factories.make_user("alice")
    other = factories.make_session(user, remember=True, user_agent="Firefox/128.0 (Android)")
    browser = _session_client(app, user)
    answer = browser.get("/api/v1/me/sessions")
    assert answer.status_code == 200
    listed = answer.get_json()["sessions"]
    assert len(listed) == 2
    assert [s["current"] for s in listed].count(True) == 1
    assert {s["device"] for s in listed} == {"Firefox on Android", "An unknown browser"}
    assert other not in answer.text  # keys never leave the server
    assert all(s["created_at"].endswith("Z") and s["expires_at"] for s in listed)
    # A bearer token is no browser session: nothing is "this one".
    by_token = client.get("/api/v1/me/sessions", headers=bearer(user)).get_json()["sessions"]
    assert [s["current"] for s in by_token] == [False, False]
    assert client.get("/api/v1/me/sessions").status_code == 401


def test_deleting_a_session_ends_its_cookie(
    app: Flask, client: FlaskClient, bearer: Callable
) -> None:
    user = factories.make_user("alice")
    phone = _session_client(app, user)
    assert phone.get("/api/v1/me").status_code == 200
    (listed,) = client.get("/api/v1/me/sessions", headers=bearer(user)).get_json()["sessions"]
    headers = bearer(user)
    assert client.delete(f"/api/v1/me/sessions/{listed['id']}", headers=headers).status_code == 204
    assert phone.get("/api/v1/me").status_code == 401
    again = client.delete(f"/api/v1/me/sessions/{listed['id']}", headers=headers)
    assert again.status_code == 404


def test_someone_elses_session_answers_like_a_missing_one(
    app: Flask, client: FlaskClient, bearer: Callable
) -> None:
    alice, bob = factories.make_user("alice"), factories.make_user("bob")
    bobs_phone = _session_client(app, bob)
    (bobs,) = client.get("/api/v1/me/sessions", headers=bearer(bob)).get_json()["sessions"]
    headers = bearer(alice)
    theirs = client.delete(f"/api/v1/me/sessions/{bobs['id']}", headers=headers)
    missing = client.delete("/api/v1/me/sessions/999999", headers=headers)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == missing.get_json()
    assert bobs_phone.get("/api/v1/me").status_code == 200


# --- API tokens expire when idle (issue 10) -------------------------------------------


def _age_token(token: str, **values: object) -> None:
    from sqlalchemy import update

    from forum.models.users import ApiToken

    db.session.execute(
        update(ApiToken).where(ApiToken.token_hash == accounts._token_digest(token)).values(values)
    )
    db.session.commit()


def test_an_unused_token_stops_working_with_a_clear_message(client: FlaskClient) -> None:
    from datetime import timedelta

    from forum.models.base import utcnow

    user = factories.make_user()
    token = accounts.issue_api_token(user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    _age_token(token, created_at=utcnow() - timedelta(days=120), last_used_at=None)
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "token_expired"
    assert "not used for more than 90 days" in error["message"]


def test_a_token_used_within_the_idle_limit_keeps_working(client: FlaskClient) -> None:
    from datetime import timedelta

    from forum.models.base import utcnow
    from forum.models.users import ApiToken

    user = factories.make_user()
    token = accounts.issue_api_token(user)
    db.session.commit()
    _age_token(
        token, created_at=utcnow() - timedelta(days=400), last_used_at=utcnow() - timedelta(days=89)
    )
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    used = db.session.scalar(select(ApiToken.last_used_at))
    assert utcnow() - used < timedelta(minutes=1)
    # The limit is a site setting.
    factories.set_settings(api_token_idle_days=30)
    _age_token(token, last_used_at=utcnow() - timedelta(days=31))
    assert client.get("/api/v1/me", headers=headers).get_json()["error"]["code"] == (
        "token_expired"
    )


def test_last_used_is_written_at_most_hourly(client: FlaskClient, bearer: Callable) -> None:
    from sqlalchemy import event

    headers = bearer(factories.make_user())
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # first use: written
    writes: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if statement.startswith("UPDATE api_tokens"):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        for _ in range(3):
            assert client.get("/api/v1/me", headers=headers).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert writes == []


# --- the contract: writes without any credentials (issue 10) ----------------------------


def test_a_write_with_neither_token_nor_session_is_not_logged_in(
    sqlite_app: Callable[..., Flask],
) -> None:
    app = sqlite_app(WTF_CSRF_ENABLED=True)
    with_cookie = app.test_client()
    with app.app_context():
        board_id = factories.make_board().id
        _session_login(app, with_cookie, factories.make_user())
    topic = {"title": "A topic title", "body": "Hello there."}
    response = app.test_client().post(f"/api/v1/boards/{board_id}/topics", json=topic)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_logged_in"
    # A cookie that could log someone in still needs the CSRF token, remember-me too.
    refused = with_cookie.post(f"/api/v1/boards/{board_id}/topics", json=topic)
    assert refused.get_json()["error"]["code"] == "csrf_failed"
    remembered = app.test_client()
    remembered.set_cookie("remember_token", "anything")
    refused = remembered.post(f"/api/v1/boards/{board_id}/topics", json=topic)
    assert refused.get_json()["error"]["code"] == "csrf_failed"
