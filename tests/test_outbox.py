"""The durable outbox: rows written with the change, delivered after the commit, each
once even when two workers drain at the same time, never while a member waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func
from sqlalchemy import select

from forum import outbox
from forum.extensions import db
from forum.models.outbox import OutboxRow
from tests.factories import make_board
from tests.factories import make_topic
from tests.factories import make_user
from tests.smtp_sink import SmtpServer

KIND = "test-effect"


@pytest.fixture
def delivered() -> Iterator[list[Any]]:
    """A kind whose handler records each payload (after a short pause, so that two
    workers overlap); unregistered afterwards."""
    seen: list[Any] = []
    lock = threading.Lock()

    @outbox.handler(KIND)
    def _deliver(_app: Flask, payload: dict[str, Any]) -> None:
        time.sleep(0.002)
        with lock:
            seen.append(payload["n"])

    yield seen
    del outbox.KINDS[KIND]


def _count(kind: str | None = None) -> int:
    stmt = select(func.count(OutboxRow.id))
    if kind is not None:
        stmt = stmt.where(OutboxRow.kind == kind)
    count = int(db.session.scalar(stmt) or 0)
    # End the read: on SQLite the test's transaction would hold the write lock (tests
    # open theirs with BEGIN IMMEDIATE) that a drain after the answer needs.
    db.session.rollback()
    return count


def test_enqueue_refuses_a_kind_nobody_delivers(app):
    with pytest.raises(LookupError):
        outbox.enqueue("no-such-kind", {})


def test_rows_leave_with_the_change_or_not_at_all(app, delivered):
    outbox.enqueue(KIND, {"n": 1})
    db.session.rollback()
    assert _count() == 0
    outbox.enqueue(KIND, {"n": 2})
    db.session.commit()
    assert outbox.drain(app) == 1
    assert delivered == [2] and _count() == 0


def test_a_failing_kind_does_not_stop_the_others(app, delivered):
    @outbox.handler("test-broken")
    def _broken(_app: Flask, _payload: dict[str, Any]) -> None:
        raise RuntimeError("down")

    try:
        outbox.enqueue("test-broken", {})
        outbox.enqueue(KIND, {"n": 1})
        db.session.commit()
        result = outbox.drain_report(app)
    finally:
        del outbox.KINDS["test-broken"]
    assert (result.delivered, result.failed) == (1, 1)
    assert delivered == [1] and _count("test-broken") == 1


def test_two_workers_draining_at_once_deliver_each_row_once(app, delivered):
    """Two threads, each with its own app context and session, are two workers."""
    for n in range(60):
        outbox.enqueue(KIND, {"n": n})
    db.session.commit()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                start.wait()
                while outbox.drain(app, kinds=[KIND], limit=5):
                    pass
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(delivered) == list(range(60))
    assert _count() == 0


def test_search_and_mail_share_the_table_and_the_drain(app):
    user = make_user(email="reader@example.org")
    topic = make_topic(make_board(), author=user)
    assert _count("search") >= 1  # the new topic's first post
    from forum import mail

    mail.send(mail.Mail(to="reader@example.org", subject="s", body="b"))
    db.session.commit()
    assert outbox.drain(app) >= 2
    assert _count() == 0
    assert topic.id is not None


# --- after a request's commit ----------------------------------------------------------


@pytest.mark.app_config(FORUM_RATELIMITS="off")
def test_smtp_mail_goes_out_after_the_answer_not_before(app, client):
    """With a real mail server the reset request answers first; the mail is delivered
    when the answer has been sent (the WSGI server closes the response)."""
    make_user(email="alice@example.org")
    with SmtpServer() as server:
        app.config["FORUM_MAIL_URL"] = f"smtp://127.0.0.1:{server.port}"
        response = client.post("/api/v1/auth/reset-request", json={"email": "alice@example.org"})
        assert response.status_code == 202
        assert server.sink.messages == [] and _count("mail") == 1
        response.close()
        assert server.sink.received.wait(5)
    (message,) = server.sink.messages
    assert b"/reset/" in message and b"alice@example.org" in message
    assert _count("mail") == 0


@pytest.mark.app_config(FORUM_RATELIMITS="off")
def test_a_reset_for_nobody_queues_nothing(app, client):
    response = client.post("/api/v1/auth/reset-request", json={"email": "nobody@example.org"})
    assert response.status_code == 202
    assert _count("mail") == 0


def test_write_requests_deliver_what_others_left_and_reads_never_look(app, client, delivered):
    """Rows a killed worker left (or retries that came due) are picked up by the next
    write request, at most once a minute per worker; a page view never queries them."""
    outbox.enqueue(KIND, {"n": 7})
    db.session.commit()
    db.session.info.clear()  # as if another process had queued it
    outbox._next_check = 0.0
    assert client.get("/").status_code == 200
    assert delivered == []
    response = client.post("/api/v1/auth/reset-request", json={"email": "nobody@example.org"})
    assert response.status_code == 202
    assert delivered == [7]
    # Within the minute, a further write does not look again.
    outbox.enqueue(KIND, {"n": 8})
    db.session.commit()
    db.session.info.clear()
    client.post("/api/v1/auth/reset-request", json={"email": "nobody@example.org"})
    assert delivered == [7]
    assert outbox.drain(app) == 1 and delivered == [7, 8]
