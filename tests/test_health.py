"""`GET /healthz`: the database, the search index, the outbox backlog and free disk space."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from forum import health
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.outbox import OutboxRow
from forum.models.sessions import UserSession
from forum.search import service as search_service
from tests import factories

Usage = namedtuple("Usage", "total used free")


@pytest.fixture(autouse=True)
def _fresh_health_log() -> Iterator[None]:
    health.reset_log()
    yield
    health.reset_log()


def _disk(free_percent: float) -> Any:
    def usage(_path: object) -> Usage:
        total = 1_000_000
        free = int(total * free_percent / 100)
        return Usage(total, total - free, free)

    return usage


def test_healthy_forum_answers_200_with_every_check(app: Flask, client: FlaskClient) -> None:
    factories.make_post(factories.make_topic())
    search_service.drain_all(app)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    body = response.get_json()
    assert body["status"] == "ok"
    assert "failing" not in body
    checks = body["checks"]
    assert checks["database"] == "ok"
    assert checks["search"] == "ok"
    assert checks["outbox"] == {"status": "ok", "overdue": 0, "failed": 0}
    assert checks["disk"]["status"] in ("ok", "warn")
    assert 0 <= checks["disk"]["free_percent"] <= 100


def test_healthz_gives_no_paths_or_versions(app: Flask, client: FlaskClient) -> None:
    text = client.get("/healthz").get_data(as_text=True)
    assert app.instance_path not in text
    assert "/" not in text  # no path, no URL, no version string like "1.2/..."
    assert "forum.db" not in text and "sqlite" not in text and "postgres" not in text


def test_healthz_is_open_to_guests_where_guests_read_nothing(client: FlaskClient) -> None:
    factories.set_settings(guest_access="none")
    assert client.get("/latest").status_code == 302  # the rest of the site asks to log in
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_healthz_does_not_count_as_a_members_activity(client: FlaskClient, login_as: Any) -> None:
    member = factories.make_user("ada")
    login_as(member)
    long_ago = utcnow() - timedelta(days=1)
    db.session.execute(update(UserSession).values(last_seen_at=long_ago))
    db.session.commit()

    def last_seen() -> Any:
        db.session.rollback()
        return db.session.scalar(select(UserSession.last_seen_at))

    response = client.get("/healthz")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert last_seen() == long_ago
    client.get("/")  # a page does count: the check above can fail
    assert last_seen() > long_ago


def test_disk_below_five_percent_is_failing(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(health.shutil, "disk_usage", _disk(3.0))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "failing"
    assert body["failing"] == ["disk"]
    assert body["checks"]["disk"] == {"status": "failing", "free_percent": 3.0}
    assert body["checks"]["database"] == "ok"
    assert any("disk" in r.getMessage() for r in caplog.records if r.name == "forum.health")


def test_disk_below_ten_percent_warns_but_answers_200(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health.shutil, "disk_usage", _disk(7.5))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["disk"] == {"status": "warn", "free_percent": 7.5}


def test_disk_check_takes_the_fullest_place_the_forum_writes(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The database's folder (SQLite) or the index folder may be on another disk.
    places = [str(health._existing(p)) for p in health.write_locations(app)]
    full = places[-1]

    def usage(path: object) -> Usage:
        return _disk(2.0 if str(path) == full else 50.0)(path)

    monkeypatch.setattr(health.shutil, "disk_usage", usage)
    body = client.get("/healthz").get_json()
    assert body["checks"]["disk"] == {"status": "failing", "free_percent": 2.0}


def test_database_that_does_not_answer_is_failing(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse() -> str:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(health, "_check_database", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failing"] == ["database"]
    assert body["checks"]["database"] == "failing"
    assert body["checks"]["outbox"] == {"status": "unknown"}
    assert "connection refused" not in response.get_data(as_text=True)


def test_outbox_backlog_and_failed_rows_warn_without_failing(client: FlaskClient) -> None:
    now = utcnow()
    db.session.add_all(
        [
            OutboxRow(kind="mail", payload="{}", next_attempt_at=now - timedelta(minutes=20)),
            OutboxRow(kind="mail", payload="{}", next_attempt_at=now - timedelta(minutes=20)),
            # Due only just now: a worker will get to it; not overdue.
            OutboxRow(kind="mail", payload="{}", next_attempt_at=now - timedelta(minutes=1)),
            # Waiting for a retry later.
            OutboxRow(kind="mail", payload="{}", next_attempt_at=now + timedelta(hours=1)),
            OutboxRow(kind="mail", payload="{}", next_attempt_at=now, failed_at=now),
        ]
    )
    db.session.commit()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["outbox"] == {"status": "warn", "overdue": 2, "failed": 1}
