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
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from forum import create_app
from forum import reset_caches
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
            # A throwaway database need not survive a power cut: commits skip the wait
            # for the disk (1-2 ms each on a busy machine; a test commits dozens of times).
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
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


def wipe_database(engine: Engine) -> None:
    """Empty every table and restart the ids at 1, as on a fresh schema.

    DELETE, children first, rather than TRUNCATE: on PostgreSQL a TRUNCATE of every
    table costs 0.1-0.8 s (it replaces each table's files), DELETE of a test's few rows
    a few milliseconds. The sequences a test used restart at 1 (tests rely on ids).
    """
    tables = list(reversed(_db.metadata.sorted_tables))
    if engine.dialect.name == "postgresql":
        # The names are the models' own, not input.
        statements = [f'DELETE FROM "{table.name}"' for table in tables]  # noqa: S608
        # Only the sequences that handed out a value; one statement for all of them.
        statements.append(
            "SELECT setval((quote_ident(schemaname) || '.' || quote_ident(sequencename))"
            "::regclass, 1, false) FROM pg_sequences WHERE last_value IS NOT NULL"
        )
        with engine.begin() as conn:
            conn.exec_driver_sql(";\n".join(statements))
        return
    # SQLite checks a RESTRICT key row by row (a board's parent), so the keys are off
    # while the tables are emptied: on the raw connection, as the pragma does nothing
    # inside a transaction. SQLite reuses ids from max(id) + 1, except AUTOINCREMENT
    # tables (the search queue), which count on in sqlite_sequence.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("BEGIN IMMEDIATE")
        for table in tables:
            cursor.execute(f'DELETE FROM "{table.name}"')  # noqa: S608 - the models' names
        cursor.execute("DELETE FROM sqlite_sequence")
        cursor.execute("COMMIT")
    finally:
        if raw.driver_connection is not None and raw.driver_connection.in_transaction:
            raw.driver_connection.rollback()
        raw.driver_connection.execute("PRAGMA foreign_keys=ON")
        raw.close()


def _fingerprint(app: Flask) -> tuple[object, ...]:
    """What a test could add to an app beyond its config: routes, hooks, handlers."""

    def hooks(registry: dict[Any, list[Any]]) -> dict[Any, tuple[Any, ...]]:
        # Flask's registries are defaultdicts that grow empty entries when read.
        return {key: tuple(funcs) for key, funcs in registry.items() if funcs}

    handlers = {
        (blueprint, code, kind): handler
        for blueprint, codes in app.error_handler_spec.items()
        for code, kinds in codes.items()
        for kind, handler in kinds.items()
    }
    return (
        len(app.url_map._rules),  # noqa: SLF001 - no public count
        tuple(app.view_functions),
        hooks(app.before_request_funcs),
        hooks(app.after_request_funcs),
        hooks(app.teardown_request_funcs),
        hooks(app.url_value_preprocessors),
        hooks(app.template_context_processors),
        handlers,
        tuple(app.jinja_env.globals),
        tuple(app.jinja_env.filters),
    )


class SharedApp:
    """One app reused by every test with the same backend and settings (per worker).

    Building an app costs ~40 ms (the URL map, Jinja, a new engine whose statement cache
    starts cold); reusing it makes a test cost what the test does. After each test the
    database is emptied, the config and `app.extensions` are put back as they were when
    the app was made, and the per-worker caches are reset (`forum.reset_caches`).
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.config = dict(app.config)
        self.extensions = dict(app.extensions)
        self.fingerprint = _fingerprint(app)
        with app.app_context():
            wipe_database(_db.engine)

    def reset(self) -> bool:
        """Make the app as new again; False if it cannot be (the test changed its routes)."""
        app = self.app
        wipe_database(_db.engine)
        app.config.clear()
        app.config.update(self.config)
        for name in [name for name in app.extensions if name not in self.extensions]:
            del app.extensions[name]
        app.extensions.update(self.extensions)
        reset_caches(app)
        return _fingerprint(app) == self.fingerprint

    def dispose(self) -> None:
        """Close the app's database connections."""
        with self.app.app_context():
            _db.session.remove()
            _db.engine.dispose()


class AppPool:
    """This worker's shared apps, keyed by backend and the settings they were made with."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.apps: dict[str, SharedApp] = {}
        self.made = 0

    def get(self, backend: str, url: Callable[[], str], extra: dict[str, Any]) -> SharedApp:
        """The shared app for these settings, made on first use."""
        # Tests may change TestConfig itself (monkeypatch: the search backend), so the
        # key is every setting as it stands now, not only the marker's.
        settings = {name: getattr(TestConfig, name) for name in dir(TestConfig) if name.isupper()}
        key = repr((backend, sorted(settings.items()), sorted(extra.items())))
        shared = self.apps.get(key)
        if shared is None:
            self.made += 1
            folder = self.root / f"app{self.made}"
            folder.mkdir()
            shared = SharedApp(make_test_app(url(), folder / "instance", **extra))
            self.apps[key] = shared
        return shared

    def discard(self, shared: SharedApp) -> None:
        """Stop reusing an app (the next test with its settings gets a new one)."""
        self.apps = {key: value for key, value in self.apps.items() if value is not shared}
        shared.dispose()

    def close(self) -> None:
        """Dispose of every app (end of the session)."""
        for shared in self.apps.values():
            shared.dispose()
        self.apps.clear()


@pytest.fixture(scope="session")
def app_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppPool]:
    """The shared apps of this worker (each xdist worker has its own, and its own files)."""
    pool = AppPool(tmp_path_factory.mktemp("apps"))
    yield pool
    pool.close()


@pytest.fixture
def app(
    backend: str, request: pytest.FixtureRequest, app_pool: AppPool, tmp_path: Path
) -> Iterator[Flask]:
    """The app on an empty schema (ids from 1), with fresh caches and its own settings.

    A test marked `fresh_app` (it adds routes or hooks) gets an app of its own.
    """

    def url() -> str:
        if backend == "postgres":
            return str(request.getfixturevalue("postgres_url"))
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "forum.db" if fresh else app_pool.root / f"{uuid.uuid4().hex}.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"

    marker = request.node.get_closest_marker("app_config")
    extra = marker.kwargs if marker else {}
    fresh = request.node.get_closest_marker("fresh_app") is not None
    if fresh:
        shared = SharedApp(make_test_app(url(), tmp_path / "instance", **extra))
    else:
        shared = app_pool.get(backend, url, extra)
    application = shared.app
    with application.app_context():
        try:
            yield application
        finally:
            _db.session.remove()
            reusable = shared.reset()
    if fresh:
        shared.dispose()
    elif not reusable:
        app_pool.discard(shared)


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


@pytest.fixture(autouse=True)
def _allow_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI and containers run the suite as root, where `forum init` refuses unless told;
    tests/test_instance.py checks the refusal itself with this unset."""
    monkeypatch.setenv("FORUM_ALLOW_ROOT", "1")
