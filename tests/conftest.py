"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from FORUM_TEST_POSTGRES_URL, or the local server CI provides
(postgres@127.0.0.1:5432); each run creates and drops a throwaway database. Without a
server the PostgreSQL runs are skipped, and the skip reason is printed in the summary.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from forum import create_app
from forum.config import TestConfig
from forum.extensions import db as _db
from forum.models.users import User
from tests import factories

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _admin_url() -> str:
    return os.environ.get("FORUM_TEST_POSTGRES_URL") or DEFAULT_PG


@contextlib.contextmanager
def throwaway_postgres(prefix: str, *, schema: bool) -> Iterator[str]:
    """Create a PostgreSQL database (with the schema, if asked), yield its URL, drop it.

    Skips the test, saying why, when no server answers.
    """
    admin_url = make_url(_admin_url())
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "no server here"
        pytest.skip(f"PostgreSQL not available at {admin_url.render_as_string()}: {exc}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    if schema:
        from forum import models  # noqa: F401

        engine = create_engine(url)
        _db.metadata.create_all(engine)
        engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this run, with the schema created once."""
    with throwaway_postgres("forum_test", schema=True) as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with the schema, copied for each test (fast)."""
    path = tmp_path_factory.mktemp("template") / "forum.db"
    engine = create_engine(f"sqlite:///{path}")
    from forum import models  # noqa: F401

    _db.metadata.create_all(engine)
    engine.dispose()
    return path


def make_test_app(url: str, instance: Path, **extra: object) -> Flask:
    """An app on the given database with the test configuration."""
    config = type(
        "Config",
        (TestConfig,),
        {"FORUM_DATABASE_URL": url, "FORUM_INSTANCE_PATH": str(instance), **extra},
    )
    return create_app(config)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database this test runs on."""
    return str(request.param)


@pytest.fixture
def app(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app on a fresh, empty schema."""
    if backend == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        template = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "forum.db")
        url = f"sqlite:///{tmp_path / 'forum.db'}"
    marker = request.node.get_closest_marker("app_config")
    extra = marker.kwargs if marker else {}
    application = make_test_app(url, tmp_path / "instance", **extra)
    with application.app_context():
        yield application
        _db.session.remove()
        if backend == "postgres":
            tables = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
            with _db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        _db.engine.dispose()


@pytest.fixture
def db(app: Flask):  # noqa: ANN201 - the Flask-SQLAlchemy object
    """The database, inside the app context."""
    return _db


class PageClient(FlaskClient):
    """A test client whose requests behave like separate production requests.

    The `app` fixture keeps one app context open for the whole test, and Flask reuses an
    open app context for requests: every request would share `g` (the cached actor,
    Flask-Login's user, the settings) and the test's session, so a login or a settings
    change would not show on the next request and SQL counts would be flattered by the
    identity map. Each request runs in a fresh `contextvars.Context` instead.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # End the test's own transaction first: it holds no lock while the request
        # writes, and reads after the request see what the request committed.
        _db.session.rollback()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client (no one logged in) with one app context per request."""
    app.test_client_class = PageClient
    return app.test_client()


@pytest.fixture
def new_client(app: Flask) -> Callable[[], FlaskClient]:
    """More clients: a second phone, another member."""

    def _make() -> FlaskClient:
        app.test_client_class = PageClient
        return app.test_client()

    return _make


@pytest.fixture
def login_as(client: FlaskClient) -> Callable[[User], FlaskClient]:
    """Log the client in as a member by writing the session, as Flask-Login would (with a
    server-side session recorded for it, as logging in through the form records)."""

    def _login(user: User) -> FlaskClient:
        key = factories.make_session(user)
        with client.session_transaction() as session:
            session["_user_id"] = key
            session["_fresh"] = True
        return client

    return _login


class ThrottleClock:
    """A clock for the app's throttle that tests move instead of sleeping."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Let this many seconds pass."""
        self.now += seconds


def throttle_clock(app: Flask) -> ThrottleClock:
    """Give the app's throttle a clock the test controls (it starts at the real time)."""
    import time

    clock = ThrottleClock(time.time())
    app.extensions["forum_throttle"].clock = clock
    return clock


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database on the backend under test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    with throwaway_postgres("forum_mig", schema=False) as url:
        yield url
