"""Headers, CSRF, bad bytes, and what the templates may never contain."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from forum import THEMES_PATH
from forum.extensions import db
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.services import accounts
from tests import factories
from tests.blueprints.conftest import log_in
from tests.conftest import PageClient
from tests.conftest import make_test_app
from tests.conftest import throttle_clock

TEMPLATES = THEMES_PATH / "default" / "templates"


def test_every_page_sends_the_security_headers(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    guest = client.get("/help")
    csp = guest.headers["Content-Security-Policy"]
    for directive in (
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "img-src 'self'",
    ):
        assert directive in csp
    assert guest.headers["X-Content-Type-Options"] == "nosniff"
    assert guest.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" not in guest.headers.get("Cache-Control", "")
    login_as(factories.make_user())
    member = client.get("/")
    assert member.headers["Cache-Control"] == "private, no-store"
    assert member.headers["Referrer-Policy"] == "same-origin"


def test_hsts_is_sent_when_the_base_url_is_https(sqlite_template: Path, tmp_path: Path) -> None:
    for base, expected in (
        ("https://forum.example.org", "max-age=31536000"),
        ("http://127.0.0.1:8000", None),
    ):
        shutil.copy(sqlite_template, tmp_path / "hsts.db")
        app = make_test_app(
            f"sqlite:///{tmp_path / 'hsts.db'}", tmp_path / "instance", FORUM_BASE_URL=base
        )
        app.test_client_class = PageClient
        with app.app_context():
            try:
                client = app.test_client()
                for path in ("/help", "/api/v1/boards", "/static/forum.css"):
                    with client.get(path) as response:
                        assert response.headers.get("Strict-Transport-Security") == expected
            finally:
                db.session.remove()
                db.engine.dispose()


def test_pages_whose_address_is_a_token_are_never_stored(client: FlaskClient) -> None:
    from forum.services import setup

    factories.make_user("alice", email="alice@example.org")
    mail = accounts.request_password_reset("alice@example.org")
    assert mail is not None
    reset = re.search(r"/reset/\S+", mail.body)
    invitation = factories.make_invitation(factories.make_group())
    setup_token = setup.create_setup_token()
    db.session.commit()
    assert reset is not None
    for path in (
        reset.group(0),
        "/reset/not-a-token",
        f"/invite/{invitation}",
        "/invite/not-a-token",
        "/account/confirm/not-a-token",
        f"/setup/{setup_token}",
    ):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
    assert client.get("/help").headers["Cache-Control"] == "no-cache"


def test_the_stylesheet_is_served_from_the_site(client: FlaskClient) -> None:
    page = client.get("/help")
    assert '<link rel="stylesheet" href="/static/forum.css">' in page.text
    with client.get("/static/forum.css") as css:
        assert css.status_code == 200 and css.mimetype == "text/css"
        assert "url(" not in css.text and "@import" not in css.text


def test_the_icon_is_served_from_the_site_and_cached(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    """Browsers ask for /favicon.ico on every new session: it was a 404."""
    page = client.get("/help")
    assert '<link rel="icon" href="/favicon.ico"' in page.text
    login_as(factories.make_user())
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200
        assert icon.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
        assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
        # A member's pages are never stored; the icon says nothing about anyone.
        assert icon.headers["Cache-Control"] == "public, max-age=604800"


def test_invalid_utf8_in_a_form_is_refused_and_changes_nothing(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    board = factories.make_board()
    topic = factories.make_topic(board)
    login_as(factories.make_user())
    url_new, url_reply = f"/b/{board.id}/new", f"/t/{topic.id}/reply"
    form = "application/x-www-form-urlencoded"
    for url, data in [
        (url_new, b"title=Hello+there&body=%ff%fe+broken"),
        (url_new, b"title=Hello+there&body=raw \xff bytes"),
        (url_reply, b"body=%c3%28"),
    ]:
        response = client.post(url, data=data, content_type=form)
        assert response.status_code == 400, data
        assert "not valid UTF-8" in response.text
    assert db.session.scalar(select(func.count()).select_from(Topic)) == 1
    assert db.session.scalar(select(func.count()).select_from(Post)) == 1


def test_posts_without_a_csrf_token_are_refused(sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "csrf.db")
    app = make_test_app(
        f"sqlite:///{tmp_path / 'csrf.db'}", tmp_path / "instance", WTF_CSRF_ENABLED=True
    )
    app.test_client_class = PageClient
    with app.app_context():
        try:
            factories.make_user("alice")
            client = app.test_client()
            refused = log_in(client, "alice")
            assert refused.status_code == 400
            assert "The form expired" in refused.text
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
            assert token
            assert log_in(client, "alice", csrf_token=token.group(1)).status_code == 302
            assert client.post("/logout").status_code == 400  # still logged in
            assert client.get("/account").status_code == 200
        finally:
            db.session.remove()
            db.engine.dispose()


def test_too_many_failed_logins_get_a_429_page(sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "limits.db")
    app = make_test_app(
        f"sqlite:///{tmp_path / 'limits.db'}", tmp_path / "instance", FORUM_RATELIMITS="on"
    )
    app.test_client_class = PageClient
    clock = throttle_clock(app)
    with app.app_context():
        try:
            factories.make_user("alice")
            client = app.test_client()
            failures = 0
            while failures < 10:
                response = log_in(client, "alice", "wrong password!")
                if response.status_code == 429:
                    # The page says how long to wait, and so does Retry-After.
                    wait = int(response.headers["Retry-After"])
                    assert f"wait {wait} seconds" in response.text or "minutes" in response.text
                    clock.advance(wait)
                    continue
                assert response.status_code == 401
                failures += 1
            limited = log_in(client, "alice")  # even the right password waits now
            assert limited.status_code == 429
            assert int(limited.headers["Retry-After"]) > 0
            assert "Too many attempts" in limited.text
        finally:
            db.session.remove()
            db.engine.dispose()


MENTIONS_SCRIPT = (
    """<script src="{{ url_for('static', filename='mentions.js') }}" defer></script>"""
)
# Issue 14: live topics and chat rooms poll with one self-hosted script.
LIVE_SCRIPT = """<script src="{{ url_for('static', filename='live.js') }}" defer></script>"""
# Forms that post to a view authorised by a signed token in its address, not by the
# session: an e-mail's unsubscribe link works logged out and from mail programs' one-click
# POST (RFC 8058), which carry no CSRF token; forging one needs the signed token.
TOKEN_FORMS = {"notifications/unsubscribe.html": "notifications.unsubscribe"}
# Sanitised HTML (forum.rendering) that templates may mark safe: posts and revisions,
# private and chat messages, meeting notes.
SAFE_HTML = re.compile(
    r"\{\{ (?:(?:p|post|target|rev|m|message)\.html|meeting\.notes_html)\|safe \}\}"
)


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_code_or_outside_assets(path: Path) -> None:
    source = path.read_text()
    # The one script (issue 13: mention suggestions, progressive enhancement) is a
    # self-hosted file, empty-bodied; any other script tag, inline code above all, fails.
    source = source.replace(MENTIONS_SCRIPT, "").replace(LIVE_SCRIPT, "")
    assert "<script" not in source
    assert "<style" not in source and " style=" not in source
    assert not re.search(r"\son[a-z]+=", source)  # no inline event handlers
    assert not re.search(r'(src|href)="(https?:)?//', source)


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_post_form_carries_a_csrf_token(path: Path) -> None:
    source = path.read_text()
    endpoint = TOKEN_FORMS.get(str(path.relative_to(TEMPLATES)))
    for form in re.findall(r'<form method="post".*?</form>', source, flags=re.S):
        if endpoint is not None:
            assert f"url_for('{endpoint}', token=token)" in form, form[:120]
            continue
        assert "csrf()" in form or "csrf_token()" in form, form[:120]
    assert source.count('method="post"') == len(re.findall(r'<form method="post"', source)), (
        'every POST form starts with <form method="post"'
    )


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_safe_is_used_only_on_sanitised_post_html(path: Path) -> None:
    for use in re.findall(r"\{\{[^}]*\|\s*safe[^}]*\}\}", path.read_text()):
        assert SAFE_HTML.fullmatch(use), use
