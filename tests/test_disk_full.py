"""A full disk: writes answer 503 "out of disk space", logged once a minute, no traceback."""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from forum import transaction
from forum.extensions import db
from forum.models.topics import Topic
from forum.models.users import User
from forum.search import service as search_service
from forum.services import accounts
from tests import factories

MESSAGE = "The server is out of disk space; nothing was saved."


@pytest.fixture
def bearer(app: Flask) -> Callable[[User], dict[str, str]]:
    """`Authorization` headers with a fresh API token (as tests/api/conftest.py)."""

    def _headers(user: User) -> dict[str, str]:
        token = accounts.issue_api_token(user)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return _headers


@pytest.fixture(autouse=True)
def _fresh_disk_full_log() -> Iterator[None]:
    transaction.reset_disk_full_log()
    yield
    transaction.reset_disk_full_log()


def _sqlite_full() -> OperationalError:
    return OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full"))


def _postgres_full() -> OperationalError:
    cause = psycopg.errors.DiskFull('could not extend file "base/5/16384": No space left')
    return OperationalError("INSERT", {}, cause)


def _refuse_commits(monkeypatch: pytest.MonkeyPatch, error: Callable[[], Exception]) -> None:
    def commit() -> None:
        raise error()

    monkeypatch.setattr(db.session, "commit", commit)


def _topics() -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(Topic)) or 0)


def _disk_full_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "disk is full" in r.getMessage()]


@pytest.mark.parametrize(
    "error",
    [
        _sqlite_full(),
        _postgres_full(),
        OSError(errno.ENOSPC, "No space left on device"),
        RuntimeError("the search index could not be written"),
    ],
    ids=["sqlite", "postgres", "enospc", "wrapped-enospc"],
)
def test_disk_full_errors_are_recognised(error: Exception) -> None:
    if isinstance(error, RuntimeError):
        error.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert transaction.is_disk_full(error)


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("COMMIT", {}, sqlite3.OperationalError("database is locked")),
        OSError(errno.EACCES, "Permission denied"),
        RuntimeError("the disk is full"),  # words are not enough
        ValueError("nope"),
    ],
    ids=["locked", "eacces", "words", "other"],
)
def test_other_errors_are_not_disk_full(error: Exception) -> None:
    assert not transaction.is_disk_full(error)


@pytest.mark.parametrize("error", [_sqlite_full, _postgres_full], ids=["sqlite", "postgres"])
def test_api_write_on_a_full_disk_answers_503_disk_full(
    client: FlaskClient,
    bearer: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: Callable[[], Exception],
) -> None:
    board = factories.make_board()
    headers = bearer(factories.make_user("ada"))
    _refuse_commits(monkeypatch, error)
    response = client.post(
        f"/api/v1/boards/{board.id}/topics",
        json={"title": "Day one", "body": "I made it."},
        headers=headers,
    )
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.get_json() == {"error": {"code": "disk_full", "message": MESSAGE}}
    assert _topics() == 0
    [line] = _disk_full_lines(caplog)
    assert line.levelno == logging.ERROR
    assert line.exc_info is None  # no traceback
    assert "/api/v1/boards" in line.getMessage()


def test_form_on_a_full_disk_shows_the_page_with_the_members_text(
    client: FlaskClient, login_as: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = factories.make_board()
    login_as(factories.make_user("ada"))
    _refuse_commits(monkeypatch, _sqlite_full)
    page = client.post(
        f"/b/{board.id}/new",
        data={"title": "Day one", "body": "My long & careful <text>"},
    )
    monkeypatch.undo()
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "Out of disk space" in text
    assert MESSAGE in text
    assert "My long &amp; careful &lt;text&gt;" in text  # kept, escaped
    assert "Something went wrong" not in text
    assert _topics() == 0


def test_disk_full_is_logged_once_a_minute_per_worker(
    client: FlaskClient,
    bearer: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    board = factories.make_board()
    headers = bearer(factories.make_user("ada"))
    clock = [1000.0]
    monkeypatch.setattr(transaction.time, "monotonic", lambda: clock[0])
    _refuse_commits(monkeypatch, _sqlite_full)

    def post() -> int:
        body = {"title": "Day one", "body": "I made it."}
        url = f"/api/v1/boards/{board.id}/topics"
        return client.post(url, json=body, headers=headers).status_code

    assert [post() for _ in range(5)] == [503] * 5
    assert len(_disk_full_lines(caplog)) == 1
    clock[0] += 61
    assert post() == 503
    lines = _disk_full_lines(caplog)
    assert len(lines) == 2
    assert "4 more since the last message" in lines[1].getMessage()


def test_after_commit_effect_on_a_full_disk_is_logged_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The search index (Whoosh) writing after the commit: the post is saved, the
    # queue row stays, and the log gets one line, not a traceback per request.
    def write_index() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    for _ in range(3):
        transaction._guarded(write_index)
    [line] = _disk_full_lines(caplog)
    assert line.exc_info is None


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.fresh_app
def test_a_really_full_sqlite_database_answers_503_and_recovers(
    app: Flask, client: FlaskClient, bearer: Callable[..., dict[str, str]]
) -> None:
    """SQLite's `max_page_count` caps the file: SQLite then raises SQLITE_FULL, "database or
    disk is full", exactly as on a full disk. Lifting the cap (freeing space) recovers
    without a restart."""
    board_id = factories.make_board().id
    headers = bearer(factories.make_user("ada"))
    body = {"title": "A long story", "body": "word " * 5000}
    url = f"/api/v1/boards/{board_id}/topics"

    def cap(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages + 2}")
        cursor.close()

    db.session.remove()
    db.engine.dispose()
    event.listen(db.engine, "connect", cap)
    try:
        full = client.post(url, json=body, headers=headers)
        assert full.status_code == 503
        assert full.get_json()["error"]["code"] == "disk_full"
        assert _topics() == 0
    finally:
        db.session.remove()
        event.remove(db.engine, "connect", cap)
        db.engine.dispose()
    saved = client.post(url, json=body, headers=headers)
    assert saved.status_code == 201
    assert _topics() == 1


def test_search_index_on_a_full_disk_saves_the_post_and_logs_once(
    app: Flask,
    client: FlaskClient,
    bearer: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Whoosh writes its files after the commit (the outbox drains the search queue after
    # every write): the post is saved and stays queued; the log gets one line a minute.
    board = factories.make_board()
    headers = bearer(factories.make_user("ada"))
    backend = search_service.get_backend(app)

    def write(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backend, "write", write)
    url = f"/api/v1/boards/{board.id}/topics"
    for n in range(3):
        response = client.post(url, json={"title": f"Day {n}", "body": "Hi."}, headers=headers)
        assert response.status_code == 201
    assert _topics() == 3
    [line] = _disk_full_lines(caplog)
    assert line.exc_info is None and "outbox drain of search" in line.getMessage()
    assert not [r for r in caplog.records if r.exc_info]


def test_openapi_documents_disk_full_on_writes_only(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    topics = response.get_json()["paths"]["/boards/{board_id}/topics"]
    assert "503" in topics["post"]["responses"]
    assert "503" not in topics["get"]["responses"]
    assert "disk_full" in response.get_data(as_text=True)
