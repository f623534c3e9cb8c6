"""Nothing is lost when a worker is killed between the commit and the send: a real
gunicorn, a password reset, SIGKILL while the worker is talking to the mail server,
then `forum outbox drain` delivers the mail.

SQLite only: what is tested is the order "commit the row, answer, then send", which
does not depend on the database; the claim's PostgreSQL path (SKIP LOCKED) is tested
with both backends in tests/test_outbox.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from gunicorn.config import KNOWN_SETTINGS
from sqlalchemy import create_engine
from sqlalchemy import text

from forum import create_app
from forum.cli import main
from forum.extensions import db
from tests.factories import make_user
from tests.smtp_sink import SmtpServer
from tests.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent
# Gunicorn 24+ opens a control socket in ~/.gunicorn by default; tests running side by
# side would share it.
_NO_CONTROL_SOCKET = (
    ["--no-control-socket"]
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS)
    else []
)


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("gunicorn did not start")


def _outbox_rows(url: str) -> list[tuple[str, int, str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                (row.kind, row.attempts, row.payload)
                for row in conn.execute(text("SELECT kind, attempts, payload FROM outbox"))
            ]
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_killed_worker_loses_no_mail(backend, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'forum.db'}"
    env = {
        "FORUM_DATABASE_URL": url,
        "FORUM_INSTANCE_PATH": str(tmp_path / "instance"),
        "FORUM_SECRET_KEY": "a test secret key that is long enough",
        "FORUM_RATELIMITS": "off",
        "FORUM_BASE_URL": "http://forum.example",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    setup = create_app()
    with setup.app_context():
        db.create_all()
        make_user("alice", email="alice@example.org")
        db.session.remove()
        db.engine.dispose()

    port = free_port()
    log = tmp_path / "gunicorn.log"
    with SmtpServer(stall=True) as hung, log.open("wb") as log_file:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                "1",
                *_NO_CONTROL_SOCKET,
                "--bind",
                f"127.0.0.1:{port}",
                "wsgi:app",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                **env,
                "FORUM_MAIL_URL": f"smtp://127.0.0.1:{hung.port}",
                "PYTHONPATH": str(ROOT),
            },
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            start_new_session=True,
        )
        try:
            _wait_for_port(port, time.monotonic() + 15)
            request = urllib.request.Request(  # noqa: S310 - a loopback http URL
                f"http://127.0.0.1:{port}/api/v1/auth/reset-request",
                data=json.dumps({"email": "alice@example.org"}).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                assert answer.status == 202
            # The member has their answer; the worker is now talking to the mail server,
            # which never replies. Kill everything, as the OOM killer or a power cut would.
            assert hung.sink.connected.wait(10), log.read_text()
        finally:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    assert hung.sink.messages == []

    # The mail is still there, its attempt counted (it is retried after the backoff).
    ((kind, attempts, payload),) = _outbox_rows(url)
    assert (kind, attempts) == ("mail", 1)
    assert json.loads(payload)["to"] == "alice@example.org"

    with SmtpServer() as sink:
        monkeypatch.setenv("FORUM_MAIL_URL", f"smtp://127.0.0.1:{sink.port}")
        runner = CliRunner()
        status = runner.invoke(main, ["outbox", "status"], catch_exceptions=False)
        assert "mail: 0 due, 1 waiting for a retry, 0 failed" in status.output
        drained = runner.invoke(main, ["outbox", "drain", "--retry"], catch_exceptions=False)
        assert drained.exit_code == 0, drained.output
        assert "delivered 1, failed 0" in drained.output
    (message,) = sink.sink.messages
    assert b"To: alice@example.org" in message and b"http://forum.example/reset/" in message
    assert _outbox_rows(url) == []
