"""Page-test helpers: logging in through the form, page text, statement counts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from forum.extensions import db
from tests import factories


def log_in(
    client: FlaskClient, username: str, password: str = factories.PASSWORD, **extra: str
) -> Any:
    """Log in through the real form."""
    return client.post("/login", data={"username": username, "password": password, **extra})


CSRF_TOKEN = re.compile(r'name="csrf_token" value="[^"]*"')


def without_csrf(html: str) -> str:
    """The page without its forms' CSRF tokens, which carry the second they were made:
    two answers compared for sameness may straddle a second."""
    return CSRF_TOKEN.sub('name="csrf_token"', html)


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
