"""Outgoing mail: queued in the outbox with the change, logged by default, delivered by
SMTP after the commit when configured - over TLS that verifies the server's certificate."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func
from sqlalchemy import select

from forum import mail
from forum import outbox
from forum.extensions import db
from forum.mail import Mail
from forum.models.base import utcnow
from forum.models.outbox import OutboxRow
from tests.smtp_sink import SmtpServer
from tests.smtp_sink import free_port
from tests.smtp_sink import make_certificate


def _mail_rows() -> list[OutboxRow]:
    return list(db.session.scalars(select(OutboxRow).where(OutboxRow.kind == "mail")))


def _send_one(to: str = "b@example.org") -> None:
    mail.send(Mail(to=to, subject="Reset", body="The link is here"))
    db.session.commit()


def test_send_queues_a_row_in_the_callers_transaction(app):
    mail.send(Mail(to="a@example.org", subject="Hello", body="Body text"))
    (row,) = _mail_rows()
    assert json.loads(row.payload or "") == {
        "to": "a@example.org",
        "subject": "Hello",
        "body": "Body text",
    }
    assert app.extensions.get("forum_outbox", []) == []  # nothing delivered yet
    db.session.rollback()
    # The change was not saved, so neither is its mail.
    assert _mail_rows() == []


def test_mail_goes_to_the_log_without_a_mail_url(app, caplog):
    link = "http://127.0.0.1:8000/reset/SECRETTOKEN123"
    mail.send(Mail(to="a@example.org", subject="Hello", body=f"Body text\n{link}\n"))
    db.session.commit()
    with caplog.at_level("INFO", logger="forum.mail"):
        assert outbox.drain(app) == 1
    # The log never holds the address or a link with a token in it.
    assert "Body text" in caplog.text and "Hello" in caplog.text
    assert "a@example.org" not in caplog.text and "SECRETTOKEN123" not in caplog.text
    assert mail.recipient_digest(app, "A@example.org ") in caplog.text
    assert "FORUM_MAIL_LOG_LINKS=1" in caplog.text
    assert [m.to for m in app.extensions["forum_outbox"]] == ["a@example.org"]
    assert _mail_rows() == []


def test_outside_tests_logged_mail_is_not_kept_in_memory(app, monkeypatch):
    # A long-running worker would otherwise hold every reset link it ever logged.
    monkeypatch.setattr(app, "testing", False)
    _send_one()
    assert outbox.drain(app) == 1
    assert app.extensions.get("forum_outbox", []) == []


@pytest.mark.parametrize("setting", [True, "1"])
def test_links_reach_the_log_only_when_asked(app, caplog, setting):
    app.config["FORUM_MAIL_LOG_LINKS"] = setting
    link = "http://127.0.0.1:8000/account/confirm/TOKEN456"
    mail.send(Mail(to="b@example.org", subject="Confirm", body=f"Follow {link}"))
    db.session.commit()
    with caplog.at_level("INFO", logger="forum.mail"):
        assert outbox.drain(app) == 1
    assert link in caplog.text
    assert "b@example.org" not in caplog.text


def test_recipient_digests_differ_per_address_and_per_instance(app):
    one = mail.recipient_digest(app, "x@example.org")
    assert one == mail.recipient_digest(app, "X@Example.org")
    assert one != mail.recipient_digest(app, "y@example.org")
    secret = app.secret_key
    app.secret_key = "another instance's key"
    try:
        assert one != mail.recipient_digest(app, "x@example.org")
    finally:
        app.secret_key = secret


def test_smtp_delivery_speaks_to_the_configured_server(app):
    """A local relay without STARTTLS and without credentials, as on many small VPSs."""
    with SmtpServer() as server:
        app.config["FORUM_MAIL_URL"] = f"smtp://127.0.0.1:{server.port}"
        _send_one()
        assert outbox.drain(app, kinds=["mail"]) == 1
    (message,) = server.sink.messages
    assert b"The link is here" in message and b"To: b@example.org" in message
    assert _mail_rows() == []


def test_a_dead_mail_server_leaves_the_row_for_a_retry_with_backoff(app):
    app.config["FORUM_MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"
    _send_one()
    result = outbox.drain_report(app, kinds=["mail"])
    assert (result.delivered, result.failed) == (0, 1)
    (row,) = _mail_rows()
    assert row.attempts == 1 and row.failed_at is None
    assert row.last_error and "ConnectionRefusedError" in row.last_error
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 50 < wait <= 60
    # Not due yet: a second drain leaves it alone.
    assert outbox.drain_report(app, kinds=["mail"]).failed == 0
    assert _mail_rows()[0].attempts == 1


def test_a_mail_is_given_up_on_after_the_last_attempt_and_kept(app):
    app.config["FORUM_MAIL_URL"] = f"smtp://127.0.0.1:{free_port()}"
    _send_one()
    row = _mail_rows()[0]
    row.attempts = outbox.MAX_ATTEMPTS - 1
    db.session.commit()
    assert outbox.drain_report(app, kinds=["mail"]).failed == 1
    db.session.expire_all()
    (row,) = _mail_rows()
    assert row.attempts == outbox.MAX_ATTEMPTS and row.failed_at is not None
    (status,) = outbox.status()
    assert (status.kind, status.due, status.waiting, status.failed) == ("mail", 0, 0, 1)
    assert [r.id for r in outbox.failed_rows()] == [row.id]
    # Failed rows are kept, and no longer tried...
    assert outbox.drain_report(app).failed == 0
    # ...until an admin asks for it.
    assert outbox.retry() == 1
    with SmtpServer() as server:
        app.config["FORUM_MAIL_URL"] = f"smtp://127.0.0.1:{server.port}"
        assert outbox.drain(app) == 1
    assert len(server.sink.messages) == 1 and _mail_rows() == []


def test_credentials_are_never_sent_without_tls(app):
    with SmtpServer(tls="none") as server:
        app.config["FORUM_MAIL_URL"] = f"smtp://forum:secret@127.0.0.1:{server.port}"
        _send_one()
        assert outbox.drain_report(app, kinds=["mail"]).failed == 1
    assert "AUTH" not in server.sink.commands and server.sink.messages == []
    (row,) = _mail_rows()
    assert row.last_error and "STARTTLS" in row.last_error


@pytest.mark.parametrize("scheme", ["smtp", "smtps"])
def test_an_invalid_certificate_is_refused_and_a_trusted_one_accepted(app, tmp_path, scheme):
    """A server whose certificate no trusted CA signed (a man in the middle, say) gets
    neither the password nor the mail; the row waits with attempts=1. Trusting that
    certificate with FORUM_MAIL_CA_FILE (a private CA) makes the same server fine."""
    certificate = make_certificate(tmp_path)
    tls = "starttls" if scheme == "smtp" else "implicit"
    with SmtpServer(tls=tls, certificate=certificate) as server:
        app.config["FORUM_MAIL_URL"] = f"{scheme}://forum:secret@127.0.0.1:{server.port}"
        _send_one()
        result = outbox.drain_report(app, kinds=["mail"])
        assert (result.delivered, result.failed) == (0, 1)
        assert server.sink.connections == 1
        assert "AUTH" not in server.sink.commands and server.sink.messages == []
        (row,) = _mail_rows()
        assert row.attempts == 1 and row.failed_at is None
        assert row.last_error and "CERTIFICATE_VERIFY_FAILED" in row.last_error

        app.config["FORUM_MAIL_CA_FILE"] = str(certificate.cert)
        assert outbox.retry() == 1
        assert outbox.drain(app, kinds=["mail"]) == 1
    assert "AUTH" in server.sink.commands
    assert len(server.sink.messages) == 1 and b"The link is here" in server.sink.messages[0]
    assert db.session.scalar(select(func.count(OutboxRow.id))) == 0


def test_the_certificate_must_name_the_server(app, tmp_path):
    """Trusted, but issued for another name: refused (the host name is checked too)."""
    certificate = make_certificate(tmp_path, names="DNS:mail.example.org")
    with SmtpServer(tls="starttls", certificate=certificate) as server:
        app.config["FORUM_MAIL_CA_FILE"] = str(certificate.cert)
        app.config["FORUM_MAIL_URL"] = f"smtp://127.0.0.1:{server.port}"
        _send_one()
        assert outbox.drain_report(app, kinds=["mail"]).failed == 1
    assert server.sink.messages == []
    assert "CERTIFICATE_VERIFY_FAILED" in (_mail_rows()[0].last_error or "")


def test_links_in_the_log_can_be_asked_for_in_the_environment(monkeypatch, tmp_path):
    # The README's configuration table lists it as a variable: it must be read from there.
    from forum import config

    monkeypatch.setenv("FORUM_MAIL_LOG_LINKS", "1")
    assert config.overrides(tmp_path)["FORUM_MAIL_LOG_LINKS"] == "1"
