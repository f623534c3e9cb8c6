"""Page-test helpers: a client whose every request runs in its own app context.

The shared `app` fixture keeps one app context open for the whole test, and Flask reuses
an open app context for requests. Every request of a test would then share `g` (the
cached actor, Flask-Login's user, the site settings) and the test's database session,
so a login, a logout or a settings change would not show on the next request, and the
SQL statement counts would be flattered by the identity map. Running each request in a
fresh `contextvars.Context` gives it its own app context, as in production.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from forum.extensions import db
from tests import factories


class PageClient(FlaskClient):
    """A test client whose requests behave like separate production requests."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # End the test's own transaction first: it holds no lock while the request
        # writes, and reads after the request see what the request committed.
        db.session.rollback()
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


def log_in(
    client: FlaskClient, username: str, password: str = factories.PASSWORD, **extra: str
) -> Any:
    """Log in through the real form."""
    return client.post("/login", data={"username": username, "password": password, **extra})


def flat(html: str) -> str:
    """Page text with tags removed and whitespace collapsed, for readable assertions."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


class StatementCounter:
    """Counts the SQL statements the app sends while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    @property
    def queries(self) -> list[str]:
        """The statements that touch data (not BEGIN or PRAGMA)."""
        verbs = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
        return [s for s in self.statements if s.lstrip().upper().startswith(verbs)]


@pytest.fixture
def count_statements(app: Flask) -> Iterator[StatementCounter]:
    """Listen for SQL statements; the test clears `statements` before the request it measures."""
    counter = StatementCounter()
    event.listen(db.engine, "before_cursor_execute", counter)
    yield counter
    event.remove(db.engine, "before_cursor_execute", counter)
