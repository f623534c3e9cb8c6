"""`GET /healthz`'s search check, on every pair of database and search backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum import health
from forum.search import service as search_service
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_health_log() -> Iterator[None]:
    health.reset_log()
    yield
    health.reset_log()


def test_healthy_index_is_ok(app: Flask, client: FlaskClient) -> None:
    factories.make_post(factories.make_topic())
    search_service.drain_all(app)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["search"] == "ok"


def test_unreadable_search_index_is_failing(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = search_service.get_backend(app)

    def damaged() -> str | None:
        raise EOFError("a damaged segment")

    monkeypatch.setattr(backend, "stale", damaged)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["failing"] == ["search"]
    assert "segment" not in response.get_data(as_text=True)


def test_stale_search_index_is_failing(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = search_service.get_backend(app)
    monkeypatch.setattr(backend, "stale", lambda: "it was built by an earlier version")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["search"] == "failing"


def test_empty_search_index_while_the_forum_has_posts_is_failing(
    app: Flask, client: FlaskClient
) -> None:
    assert client.get("/healthz").status_code == 200  # no posts: empty is right
    factories.make_post(factories.make_topic())
    backend = search_service.get_backend(app)
    backend.rebuild(iter(()))  # the index lost
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["failing"] == ["search"]
    search_service.reindex(app)
    assert client.get("/healthz").status_code == 200
