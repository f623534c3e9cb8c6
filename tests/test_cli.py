"""The `forum` command line."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from click.testing import CliRunner
from whoosh import fields
from whoosh.filedb.filestore import FileStorage

from forum.cli import main


@pytest.fixture
def run_forum(empty_url, tmp_path, monkeypatch):
    """Run `forum ...` against an empty database; returns (exit code, output)."""
    monkeypatch.setenv("FORUM_DATABASE_URL", empty_url)
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("FORUM_SECRET_KEY", raising=False)

    def _run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
        return result.exit_code, result.output

    return _run


def test_init_creates_database_secret_and_setup_link(run_forum, tmp_path):
    code, out = run_forum("init")
    assert code == 0, out
    assert "/setup/" in out
    key = tmp_path / "instance" / "secret_key"
    assert key.is_file() and oct(key.stat().st_mode & 0o777) == "0o600"


def test_init_is_safe_to_run_again_and_quiet_once_admin_exists(run_forum):
    assert run_forum("init")[0] == 0
    code, out = run_forum("create-user", "boss", "--admin", "--password", "a long admin passphrase")
    assert code == 0 and "Created admin boss" in out
    code, out = run_forum("init")
    assert code == 0 and "/setup/" not in out


def test_create_user_reads_password_from_stdin(run_forum):
    run_forum("init")
    code, out = run_forum(
        "create-user", "quiet", "--password-stdin", stdin="a long stdin passphrase\n"
    )
    assert code == 0, out


@pytest.mark.parametrize(
    "args",
    [
        ("create-user", "x"),
        ("create-user", "ok_name", "--password", "p", "--password-stdin"),
        ("create-user", "ok_name", "--password", "short"),
        ("create-user", "bad name!", "--password", "a long enough passphrase"),
    ],
)
def test_create_user_misuse_exits_non_zero_with_reason(run_forum, args):
    run_forum("init")
    code, out = run_forum(*args)
    assert code != 0
    assert out.strip().splitlines()[-1].startswith("Error:")


def test_demo_fills_an_empty_forum_once(run_forum):
    run_forum("init")
    code, out = run_forum("demo")
    assert code == 0 and "Created 5 boards" in out
    code, out = run_forum("demo")
    assert code != 0 and "already has topics" in out


def test_demo_keeps_the_first_admin_set_up_link_working(run_forum):
    run_forum("init")
    run_forum("demo")
    code, out = run_forum("init")
    assert code == 0 and "/setup/" in out


def _init_output(run_forum) -> str:
    code, out = run_forum("init")
    assert code == 0, out
    return out


def test_init_rebuilds_a_lost_search_index(run_forum, tmp_path):
    run_forum("init")
    run_forum("demo")
    assert "Rebuilding the search index" not in _init_output(run_forum)
    shutil.rmtree(tmp_path / "instance" / "search")
    out = _init_output(run_forum)
    assert "Rebuilding the search index: it is empty, and the forum has posts" in out
    assert re.search(r"Search index rebuilt: [1-9][0-9]* posts", out), out
    assert "Rebuilding" not in _init_output(run_forum)


def test_init_rebuilds_an_index_built_by_an_earlier_version(run_forum, tmp_path):
    run_forum("init")
    run_forum("demo")
    folder = tmp_path / "instance" / "search"
    old = folder / "index-0-old"
    old.mkdir()
    schema = fields.Schema(post_id=fields.ID(unique=True, stored=True), body=fields.TEXT())
    FileStorage(str(old)).create_index(schema)
    (folder / "current").unlink()
    (folder / "current").symlink_to(old.name)
    out = _init_output(run_forum)
    assert "Rebuilding the search index: it was built by an earlier version" in out
    assert "Rebuilding" not in _init_output(run_forum)


@pytest.fixture
def served(monkeypatch):
    """What `forum serve` hands to gunicorn: (argv, environment), without starting it."""
    seen: dict[str, object] = {}

    def fake_execv(path, args):
        seen["args"] = args
        seen["env"] = dict(os.environ)

    monkeypatch.setattr(os, "execv", fake_execv)
    # The command sets FORUM_BASE_URL for the workers: monkeypatch restores it afterwards.
    monkeypatch.setenv("FORUM_BASE_URL", "placeholder")
    monkeypatch.delenv("FORUM_BASE_URL")
    return seen


def test_serve_gives_the_workers_the_port_it_serves_as_base_url(run_forum, served):
    """`PORT=8100 make run`: init printed :8100, the workers mailed :8000 links."""
    code, out = run_forum("serve", "--port", "8100")
    assert code == 0, out
    assert served["env"]["FORUM_BASE_URL"] == "http://127.0.0.1:8100"
    assert "127.0.0.1:8100" in served["args"]


def test_serve_leaves_a_configured_base_url_alone(run_forum, served, tmp_path):
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "forum.cfg").write_text("FORUM_BASE_URL=https://forum.example\n")
    code, out = run_forum("serve", "--port", "8100")
    assert code == 0, out
    assert "FORUM_BASE_URL" not in served["env"]


def test_init_prints_the_set_up_link_on_the_port_from_the_environment(run_forum, monkeypatch):
    monkeypatch.setenv("PORT", "8100")
    code, out = run_forum("init")
    assert code == 0, out
    assert "http://127.0.0.1:8100/setup/" in out


def test_init_prints_a_configured_base_url_over_the_port(run_forum, monkeypatch, tmp_path):
    monkeypatch.setenv("PORT", "8100")
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "forum.cfg").write_text("FORUM_BASE_URL=https://forum.example\n")
    code, out = run_forum("init")
    assert code == 0, out
    assert "https://forum.example/setup/" in out


def _queue_mail() -> None:
    """A mail queued by some earlier request, on the database the commands use."""
    from forum import create_app
    from forum import mail
    from forum.extensions import db

    app = create_app()
    with app.app_context():
        mail.send(mail.Mail(to="a@example.org", subject="Hello", body="Body"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_outbox_status_and_drain_report_failures_with_the_exit_code(run_forum, monkeypatch):
    from tests.smtp_sink import SmtpServer
    from tests.smtp_sink import free_port

    assert run_forum("init")[0] == 0
    assert run_forum("outbox", "status") == (0, "The outbox is empty.\n")
    _queue_mail()
    code, out = run_forum("outbox", "status")
    assert code == 0 and "mail: 1 due, 0 waiting for a retry, 0 failed" in out
    # The mail server is down: the drain says so, and cron/systemd see a failure.
    monkeypatch.setenv("FORUM_MAIL_URL", f"smtp://127.0.0.1:{free_port()}")
    code, out = run_forum("outbox", "drain")
    assert code == 1 and "delivered 0, failed 1" in out
    code, out = run_forum("outbox", "status")
    assert "mail: 0 due, 1 waiting for a retry, 0 failed" in out
    # Waiting rows are not due: a plain drain does nothing and succeeds.
    assert run_forum("outbox", "drain") == (0, "delivered 0, failed 0\n")
    with SmtpServer() as server:
        monkeypatch.setenv("FORUM_MAIL_URL", f"smtp://127.0.0.1:{server.port}")
        code, out = run_forum("outbox", "drain", "--retry")
    assert code == 0 and "delivered 1, failed 0" in out
    assert len(server.sink.messages) == 1
    assert run_forum("outbox", "status") == (0, "The outbox is empty.\n")


def test_outbox_status_lists_the_mail_given_up_on(run_forum, monkeypatch):
    from forum import create_app
    from forum import outbox
    from forum.extensions import db
    from forum.models.outbox import OutboxRow

    assert run_forum("init")[0] == 0
    _queue_mail()
    app = create_app()
    with app.app_context():
        row = db.session.scalar(db.select(OutboxRow))
        row.attempts = outbox.MAX_ATTEMPTS - 1
        row_id = row.id
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    monkeypatch.setenv("FORUM_MAIL_URL", "smtp://127.0.0.1:1")
    assert run_forum("outbox", "drain")[0] == 1
    code, out = run_forum("outbox", "status")
    assert code == 0 and "mail: 0 due, 0 waiting for a retry, 1 failed" in out
    assert f"failed #{row_id} mail after {outbox.MAX_ATTEMPTS} attempts" in out


def test_outbox_drain_sends_the_digests_that_are_due_with_an_unsubscribe_header(
    run_forum, monkeypatch
):
    from datetime import timedelta
    from email import message_from_bytes

    from forum import create_app
    from forum.extensions import db
    from forum.models.email import EmailSettings
    from forum.services import notifications
    from tests import factories
    from tests.smtp_sink import SmtpServer

    assert run_forum("init")[0] == 0
    app = create_app()
    with app.app_context():
        ann = factories.make_user("ann", email="ann@example.org")
        notifications.set_preferences(factories.actor(ann), {"like": {"email": "digest"}})
        notifications.notify_acted(ann.id, "like", None)
        row = db.session.get(EmailSettings, ann.id)
        row.next_digest_at -= timedelta(days=2)  # due, and the like is inside its window
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    with SmtpServer() as server:
        monkeypatch.setenv("FORUM_MAIL_URL", f"smtp://127.0.0.1:{server.port}")
        code, out = run_forum("outbox", "drain")
        assert code == 0 and "queued 1 digest" in out and "delivered 1, failed 0" in out
        # Nothing more is due: the next run only looks.
        assert run_forum("outbox", "drain") == (0, "delivered 0, failed 0\n")
    [raw] = server.sink.messages
    sent = message_from_bytes(raw)
    assert sent["Subject"] == "Your daily summary"
    assert (
        sent["List-Unsubscribe"].startswith("<http")
        and "/email/unsubscribe/" in sent["List-Unsubscribe"]
    )
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_outbox_drain_sends_due_reminders_first(run_forum, monkeypatch):
    # The 5-minute timer's job also sends meeting and personal reminders that are due
    # (forum.services.reminders; their schedule is tested with a simulated clock there).
    from forum.services import reminders

    calls = []
    monkeypatch.setattr(reminders, "send_all_due", lambda: calls.append(1) or (1, 2))
    run_forum("init")
    code, out = run_forum("outbox", "drain")
    assert code == 0, out
    assert calls == [1]
    assert "reminders sent: 1 for meetings, 2 personal" in out
