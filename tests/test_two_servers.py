"""Two app servers behave as one forum: two real gunicorn processes on their own ports
and instance folders (as on two machines), one PostgreSQL database, one Redis, search
in PostgreSQL. A browser and API clients are sent to either server, as a load balancer
would, and nothing tells the two apart.

Skipped, saying why, without a PostgreSQL server (FORUM_TEST_POSTGRES_URL) or a Redis
server (FORUM_TEST_REDIS_URL, default redis://127.0.0.1:6379/14; the test uses that
database number alone and deletes the forum's keys in it before and after).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from gunicorn.config import KNOWN_SETTINGS

from forum import create_app
from forum.cli import main
from forum.extensions import db
from forum.services import accounts
from tests.conftest import throwaway_postgres
from tests.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("FORUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
PASSWORD = "a long enough passphrase 1"  # noqa: S105 - test accounts only
_NO_CONTROL_SOCKET = (
    ["--no-control-socket"]
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS)
    else []
)


# --- the servers ----------------------------------------------------------------------


def _redis() -> Any:
    """A client on the test's Redis database, its forum keys deleted; skip if none."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not available at {REDIS_URL}: {exc}")
    _delete_forum_keys(client)
    return client


def _delete_forum_keys(client: Any) -> None:
    keys = list(client.scan_iter(match="forum:*", count=1000))
    if keys:
        client.delete(*keys)


def _wait_until_serving(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the server answers a request: gunicorn's master listens before its worker
    has loaded the app."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            finally:
                conn.close()
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"nothing answers on port {port}:\n{log.read_text()}")


def _start_server(env: dict[str, str], instance: Path, port: int) -> subprocess.Popen[bytes]:
    log = instance.parent / f"gunicorn-{port}.log"
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "1",
                *_NO_CONTROL_SOCKET,
                "--bind",
                f"127.0.0.1:{port}",
                # Which server answered what (test_caddy_...); the forum keeps no access log.
                "--access-logfile",
                str(instance.parent / f"access-{port}.log"),
                "wsgi:app",
            ],
            cwd=ROOT,
            env={**os.environ, **env, "FORUM_INSTANCE_PATH": str(instance)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    # Killed outright, both at once: nothing here needs a clean exit (the database is
    # dropped with FORCE), and a shutdown of each in turn cost seconds on a busy machine.
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    for process in processes:
        process.wait(timeout=10)


@dataclass
class Forum:
    """The two servers' ports, the Redis both use, and the folder of their logs."""

    a: int
    b: int
    redis: Any
    root: Path

    def requests_seen(self, port: int, request_line: str) -> int:
        """How many requests with this request line the server on `port` answered."""
        log = self.root / f"access-{port}.log"
        return log.read_text().count(f'"{request_line} HTTP/1.1"')


@pytest.fixture(scope="module")
def forum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forum]:
    redis_client = _redis()
    with throwaway_postgres("forum_two", schema=False) as url:
        root = tmp_path_factory.mktemp("two-servers")
        env = {
            "FORUM_DATABASE_URL": url,
            "FORUM_SEARCH_BACKEND": "postgres",
            "FORUM_REDIS_URL": REDIS_URL,
            # The same key on both servers: sessions, CSRF tokens and throttle keys.
            "FORUM_SECRET_KEY": secrets.token_urlsafe(32),
            "FORUM_BASE_URL": "http://forum.example",
            "FORUM_RATELIMITS": "on",
            "FORUM_TRUSTED_PROXIES": "127.0.0.1",
            "PYTHONPATH": str(ROOT),
            # The suite runs as root (CI); on a server `forum init` runs as `forum`.
            "FORUM_ALLOW_ROOT": "1",
        }
        # Set up as the README says: `forum init` on one server, then the accounts.
        _forum_command(env, root / "instance-a", "init")
        _forum_command(env, root / "instance-a", "create-user", "admin", "--admin")
        _make_members(env, root / "instance-a", "alice", "bob", "carol", "erin")
        ports = free_port(), free_port()
        servers = [
            _start_server(env, root / f"instance-{name}", port)
            for name, port in zip("ab", ports, strict=True)
        ]
        try:
            for server, port in zip(servers, ports, strict=True):
                _wait_until_serving(port, server, root / f"gunicorn-{port}.log")
            yield Forum(*ports, redis=redis_client, root=root)
        finally:
            _stop(*servers)
            _delete_forum_keys(redis_client)
            redis_client.close()


@contextlib.contextmanager
def _environment(env: dict[str, str], instance: Path) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**env, "FORUM_INSTANCE_PATH": str(instance)}.items():
            mp.setenv(key, value)
        yield


def _forum_command(env: dict[str, str], instance: Path, *args: str) -> None:
    with _environment(env, instance):
        extra = ["--password", PASSWORD] if args[0] == "create-user" else []
        result = CliRunner().invoke(main, [*args, *extra], catch_exceptions=False)
        assert result.exit_code == 0, result.output


def _make_members(env: dict[str, str], instance: Path, *names: str) -> None:
    """Members as `forum create-user` makes them, in one app (quicker than a command each)."""
    with _environment(env, instance):
        app = create_app()
        with app.app_context():
            for name in names:
                accounts.create_user(username=name, password=PASSWORD)
            db.session.commit()
            db.session.remove()
            db.engine.dispose()


# --- clients --------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Browser:
    """A client with a cookie jar that any server may answer, as behind one address."""

    cookies: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    host: str = "forum.example"

    def request(
        self,
        port: int,
        method: str,
        path: str,
        *,
        body: Any = None,
        form: dict[str, str] | None = None,
    ) -> Answer:
        headers = {"Host": self.host}
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    self._keep(value)
            return Answer(response.status, dict(response.getheaders()), text)
        finally:
            conn.close()

    def _keep(self, header: str) -> None:
        for name, morsel in SimpleCookie(header).items():
            expired = morsel["max-age"] == "0" or "1970" in morsel["expires"]
            if expired or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def api(self, port: int, method: str, path: str, body: Any = None) -> Answer:
        return self.request(port, method, f"/api/v1{path}", body=body)


def _csrf(page: Answer) -> str:
    found = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def _member(port: int, name: str) -> Browser:
    """An API client logged in (with a bearer token) on the server at `port`."""
    client = Browser()
    answer = client.api(port, "POST", "/auth/token", {"username": name, "password": PASSWORD})
    assert answer.status == 201, answer.text
    client.token = answer.json()["token"]
    return client


# --- the forum, served twice ----------------------------------------------------------


def test_a_session_started_on_one_server_works_and_ends_on_the_other(forum):
    browser = Browser()
    form = _csrf(browser.request(forum.a, "GET", "/login"))
    # The CSRF token from A's form is good on B: the session cookie carries it, signed
    # with the key both servers share.
    answer = browser.request(
        forum.b,
        "POST",
        "/login",
        form={"csrf_token": form, "username": "alice", "password": PASSWORD, "next": "/"},
    )
    assert answer.status == 302, answer.text
    on_a = browser.request(forum.a, "GET", "/account")
    on_b = browser.request(forum.b, "GET", "/account")
    assert on_a.status == on_b.status == 200
    assert "alice" in on_a.text and "alice" in on_b.text

    copy = Browser(cookies=dict(browser.cookies))
    token = _csrf(on_a)
    assert browser.request(forum.a, "POST", "/logout", form={"csrf_token": token}).status == 302
    # The session ended on the server side: a copy of the cookie opens nothing on B.
    replayed = copy.request(forum.b, "GET", "/account")
    assert replayed.status == 302 and "/login" in replayed.headers["Location"]


def test_failed_logins_on_one_server_count_on_the_other(forum):
    # Erin alone: after this test she must wait before logging in again.
    wrong = {"username": "erin", "password": "not erin's password"}
    client = Browser()
    # Three typos are free (one on A, one on B, one on A); the fourth must wait, on B.
    for port in (forum.a, forum.b, forum.a):
        assert client.api(port, "POST", "/auth/token", wrong).status == 401
    refused = client.api(forum.b, "POST", "/auth/token", wrong)
    assert refused.status == 429, refused.text
    assert int(refused.headers["Retry-After"]) > 0
    # Counted in Redis (FORUM_REDIS_URL), where both servers look.
    assert list(forum.redis.scan_iter(match="forum:throttle:pair:*"))


def test_an_admins_settings_change_on_one_server_shows_at_once_on_the_other(forum):
    admin = _member(forum.a, "admin")
    board = admin.api(forum.a, "POST", "/boards", {"name": "Open to guests"})
    assert board.status == 201, board.text
    guest = Browser()
    # B reads (and keeps) the settings first: guests see nothing.
    assert guest.api(forum.b, "GET", "/boards").json() == {"boards": []}
    assert admin.api(forum.b, "GET", "/settings").json()["guest_access"] == "none"

    changed = admin.api(forum.a, "PATCH", "/settings", {"guest_access": "public_boards"})
    assert changed.status == 200, changed.text

    listed = guest.api(forum.b, "GET", "/boards").json()["boards"]
    assert board.json()["id"] in [b["id"] for b in listed]
    assert admin.api(forum.b, "GET", "/settings").json()["guest_access"] == "public_boards"
    restored = admin.api(forum.b, "PATCH", "/settings", {"guest_access": "none"})
    assert restored.status == 200
    assert guest.api(forum.a, "GET", "/boards").json() == {"boards": []}


def test_a_post_made_on_one_server_is_found_and_shown_on_the_other(forum):
    admin = _member(forum.a, "admin")
    board = admin.api(forum.a, "POST", "/boards", {"name": "Mornings"}).json()
    bob_on_b = _member(forum.b, "bob")
    started = bob_on_b.api(
        forum.b, "POST", f"/boards/{board['id']}/topics", {"title": "Day one", "body": "Hello."}
    )
    assert started.status == 201, started.text
    topic = started.json()["topic"]

    # B renders (and caches) the topic page and the board's list before the reply.
    browser = Browser()
    login = _csrf(browser.request(forum.b, "GET", "/login"))
    browser.request(
        forum.b,
        "POST",
        "/login",
        form={"csrf_token": login, "username": "carol", "password": PASSWORD, "next": "/"},
    )
    before = browser.request(forum.b, "GET", f"/t/{topic['id']}")
    assert before.status == 200 and "Hello." in before.text

    alice = _member(forum.a, "alice")
    reply = alice.api(
        forum.a, "POST", f"/topics/{topic['id']}/posts", {"body": "Sunrise walks help."}
    )
    assert reply.status == 201, reply.text

    # The page itself: carol has read the topic, so /t/<id> alone sends her to the first
    # unread post, which must be the reply written on the other server.
    opened = browser.request(forum.b, "GET", f"/t/{topic['id']}")
    assert opened.status == 302 and opened.headers["Location"].endswith(f"#p{reply.json()['id']}")
    after = browser.request(forum.b, "GET", f"/t/{topic['id']}?page=1")
    assert "Sunrise walks help." in after.text
    found = bob_on_b.api(forum.b, "GET", "/search?q=sunrise").json()
    assert found["total"] == 1
    assert [r["post_id"] for r in found["results"]] == [reply.json()["id"]]
    page = browser.request(forum.b, "GET", "/search?q=sunrise").text
    assert f'href="/p/{reply.json()["id"]}"' in page or f"/t/{topic['id']}" in page, page


def test_an_api_token_made_on_one_server_works_and_is_revoked_on_the_other(forum):
    bob = _member(forum.a, "bob")
    me = bob.api(forum.b, "GET", "/me")
    assert me.status == 200 and me.json()["username"] == "bob"
    assert bob.api(forum.b, "DELETE", "/auth/token").status == 204
    assert bob.api(forum.a, "GET", "/me").status == 401


def test_the_api_flow_alternating_servers_behaves_as_one(forum):
    """A sample of the API tests' calls, each sent to the other server than the last."""
    a, b = forum.a, forum.b
    admin = _member(a, "admin")
    assert admin.api(b, "PATCH", "/settings", {"registration": "open"}).status == 200
    guest = Browser()
    made = guest.api(a, "POST", "/users", {"username": "dana", "password": PASSWORD})
    assert made.status == 201, made.text
    dana = _member(b, "dana")
    outsider = _member(a, "carol")

    # A secret group with its board; an invitation made on one server, accepted on the other.
    group = admin.api(
        a, "POST", "/groups", {"name": "Hidden harbour", "slug": "harbour", "visibility": "secret"}
    )
    assert group.status == 201, group.text
    board = admin.api(b, "POST", "/boards", {"name": "Harbour talk", "group": "harbour"})
    assert board.status == 201, board.text
    invitation = admin.api(a, "POST", "/groups/harbour/invitations", {})
    assert invitation.status == 201, invitation.text
    accepted = dana.api(b, "POST", f"/invitations/{invitation.json()['token']}/accept")
    assert accepted.status == 200, accepted.text
    # Again, on the other server: 200, and still one membership.
    assert dana.api(a, "POST", f"/invitations/{invitation.json()['token']}/accept").status == 200
    members = admin.api(b, "GET", "/groups/harbour/members").json()["members"]
    assert [m["username"] for m in members].count("dana") == 1

    board_id = board.json()["id"]
    started = dana.api(
        a,
        "POST",
        f"/boards/{board_id}/topics",
        {"title": "Safe here", "body": "Lighthouse keeper notes."},
    )
    assert started.status == 201, started.text
    topic_id, post_id = started.json()["topic"]["id"], started.json()["post"]["id"]
    # The secret group's content does not exist for an outsider, on either server.
    assert outsider.api(b, "GET", f"/topics/{topic_id}").status == 404
    assert outsider.api(a, "GET", "/search?q=lighthouse").json()["total"] == 0
    assert outsider.api(b, "GET", "/groups/harbour").status == 404
    assert dana.api(b, "GET", "/search?q=lighthouse").json()["total"] == 1

    edited = dana.api(b, "PATCH", f"/posts/{post_id}", {"body": "Lantern keeper notes."})
    assert edited.status == 200, edited.text
    shown = dana.api(a, "GET", f"/topics/{topic_id}").json()
    assert shown["posts"][0]["body"] == "Lantern keeper notes."
    assert dana.api(b, "GET", "/search?q=lighthouse").json()["total"] == 0
    assert dana.api(a, "GET", "/search?q=lantern").json()["total"] == 1

    # A report on one server, resolved by a moderator on the other, logged for both.
    public = admin.api(a, "POST", "/boards", {"name": "Open door"}).json()
    spam = outsider.api(
        b, "POST", f"/boards/{public['id']}/topics", {"title": "Buy now", "body": "Cheap watches."}
    )
    assert spam.status == 201, spam.text
    spam_post = spam.json()["post"]["id"]
    report = dana.api(a, "POST", f"/posts/{spam_post}/reports", {"reason": "spam"})
    assert report.status == 201, report.text
    open_reports = admin.api(b, "GET", "/reports?status=open").json()["reports"]
    assert [r["post_id"] for r in open_reports] == [spam_post]
    resolved = admin.api(
        a, "POST", f"/reports/{report.json()['id']}/resolve", {"action": "hide_post"}
    )
    assert resolved.status == 200, resolved.text
    assert admin.api(b, "GET", "/reports?status=open").json()["reports"] == []
    actions = [e["action"] for e in admin.api(b, "GET", "/moderation/log").json()["entries"]]
    assert "post_hidden" in actions
    seen = dana.api(a, "GET", f"/topics/{spam.json()['topic']['id']}")
    (shown_spam,) = seen.json()["posts"]
    assert shown_spam["hidden"] is True and shown_spam["body"] is None

    # Leaving the group on one server locks the door on the other at once.
    assert dana.api(a, "DELETE", "/groups/harbour/members/dana").status == 204
    assert dana.api(b, "GET", f"/topics/{topic_id}").status == 404
    assert dana.api(a, "GET", "/search?q=lantern").json()["total"] == 0


# --- behind the documented Caddy ------------------------------------------------------


def _caddyfile(proxy_port: int, a: int, b: int) -> str:
    """deploy/Caddyfile.two-servers on loopback: plain HTTP, no admin endpoint."""
    text = (ROOT / "deploy" / "Caddyfile.two-servers").read_text()
    adapted = (
        text.replace("{\n\tservers {", "{\n\tadmin off\n\tservers {", 1)
        .replace("forum.example.org {", f"http://127.0.0.1:{proxy_port} {{", 1)
        .replace(
            "reverse_proxy 10.0.0.11:8000 10.0.0.12:8000",
            f"reverse_proxy 127.0.0.1:{a} 127.0.0.1:{b}",
            1,
        )
    )
    assert str(a) in adapted and str(b) in adapted and "admin off" in adapted
    return adapted


def test_caddy_in_front_sends_one_members_requests_to_both_servers(forum, tmp_path):
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (Debian package `caddy`; .ci/run installs it)")
    port = free_port()
    config = tmp_path / "Caddyfile"
    config.write_text(_caddyfile(port, forum.a, forum.b))
    log = tmp_path / "caddy.log"
    with log.open("wb") as out:
        proxy = subprocess.Popen(  # noqa: S603 - the proxy found on PATH
            [caddy, "run", "--adapter", "caddyfile", "--config", str(config)],
            env={
                **os.environ,
                "HOME": str(tmp_path),
                "XDG_DATA_HOME": str(tmp_path / "data"),
                "XDG_CONFIG_HOME": str(tmp_path / "config"),
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_serving(port, proxy, log)
        browser = Browser(host=f"127.0.0.1:{port}")  # the site's address in the Caddyfile
        login = _csrf(browser.request(port, "GET", "/login"))
        answer = browser.request(
            port,
            "POST",
            "/login",
            form={"csrf_token": login, "username": "alice", "password": PASSWORD, "next": "/"},
        )
        assert answer.status == 302, answer.text
        before = [forum.requests_seen(p, "GET /account") for p in (forum.a, forum.b)]
        for _ in range(6):
            page = browser.request(port, "GET", "/account")
            assert page.status == 200 and "alice" in page.text
        # gunicorn writes its access log line after the answer has gone: wait for all six.
        deadline = time.monotonic() + 10
        while True:
            after = [forum.requests_seen(p, "GET /account") for p in (forum.a, forum.b)]
            served = [n - m for n, m in zip(after, before, strict=True)]
            if sum(served) >= 6 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        # Round robin (with Caddy's own health checks in between): both servers answered.
        assert sum(served) == 6 and min(served) >= 1, served
    finally:
        _stop(proxy)
