"""Search tests run on every working pair of database and search backend.

SQLite runs `whoosh` only (the `postgres` backend refuses SQLite at startup);
PostgreSQL runs `whoosh` and `postgres`. The `backend` fixture (the database, as in
tests/conftest.py) is overridden here to follow the pair, so the `app` fixture and
everything built on it work unchanged; the search backend reaches the app through
`TestConfig.FORUM_SEARCH_BACKEND`, which an `app_config` marker can still override.

The `search_documents` table is not a model, so `create_all` does not make it: it is
created once in the session's PostgreSQL database from the backend's own table (the
migration makes the same one: tests/search/test_postgres_backend.py compares them) and
emptied after each test, as the `app` fixture empties the models' tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import text

from forum.config import TestConfig
from forum.search import postgres_backend

# (database, search backend): every pair that can run.
PAIRS = {
    "sqlite-whoosh": ("sqlite", "whoosh"),
    "postgres-whoosh": ("postgres", "whoosh"),
    "postgres-postgres": ("postgres", "postgres"),
}


@pytest.fixture(params=list(PAIRS.values()), ids=list(PAIRS))
def search_pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The (database, search backend) pair this test runs on."""
    database, search = request.param
    return str(database), str(search)


@pytest.fixture
def backend(
    search_pair: tuple[str, str], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Which database this test runs on; also selects the pair's search backend."""
    database, search = search_pair
    monkeypatch.setattr(TestConfig, "FORUM_SEARCH_BACKEND", search)
    if search == "postgres":
        request.getfixturevalue("search_documents_table")
    return database


@pytest.fixture
def search_backend(search_pair: tuple[str, str]) -> str:
    """Which search backend this test runs on ("whoosh" or "postgres")."""
    return search_pair[1]


@pytest.fixture(scope="session")
def search_documents_engine(postgres_url: str) -> Iterator[Engine]:
    """The session's PostgreSQL database with the search table added (made once)."""
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        postgres_backend.create_table(conn)
    yield engine
    engine.dispose()


@pytest.fixture
def search_documents_table(search_documents_engine: Engine) -> Iterator[None]:
    """An empty search table for this test, emptied again afterwards."""
    # DELETE, not TRUNCATE: a few rows go in milliseconds, a TRUNCATE replaces the files.
    empty = text(f"DELETE FROM {postgres_backend.TABLE_NAME}")  # noqa: S608 - a constant
    with search_documents_engine.begin() as conn:
        conn.execute(empty)
    yield
    with search_documents_engine.begin() as conn:
        conn.execute(empty)
