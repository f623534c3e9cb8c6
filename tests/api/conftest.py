"""API test helpers: bearer headers and apps with special settings."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from forum.extensions import db
from forum.models.users import User
from forum.services import accounts
from tests.conftest import make_test_app

Headers = dict[str, str]


@pytest.fixture
def bearer(app: Flask) -> Callable[[User], Headers]:
    """`Authorization` headers with a fresh API token for the member."""

    def _headers(user: User) -> Headers:
        token = accounts.issue_api_token(user)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return _headers


@pytest.fixture
def sqlite_app(sqlite_template: Path, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build an app on a fresh SQLite copy with extra settings (rate limits, CSRF)."""
    made: list[Flask] = []

    def _make(**extra: Any) -> Flask:
        path = tmp_path / f"special{len(made)}.db"
        shutil.copy(sqlite_template, path)
        application = make_test_app(f"sqlite:///{path}", tmp_path / "special", **extra)
        made.append(application)
        return application

    yield _make
    for application in made:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
