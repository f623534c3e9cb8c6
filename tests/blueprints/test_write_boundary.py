"""The write boundary (`forum.transaction`): one commit per write request, then effects."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask import flash
from flask import request
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from forum import transaction
from forum.errors import Invalid
from forum.extensions import db
from forum.models.security import ThrottleEvent
from tests import factories

# The probe views are routes added to the app: each test gets an app of its own.
pytestmark = pytest.mark.fresh_app


def _rows(key: str) -> int:
    """Committed rows under `key`, read on a connection of its own."""
    with db.engine.connect() as conn:
        stmt = select(func.count()).select_from(ThrottleEvent).where(ThrottleEvent.key == key)
        return int(conn.scalar(stmt) or 0)


def _write(key: str) -> None:
    db.session.add(ThrottleEvent(key=key))
    db.session.flush()


class Probe:
    """What the probe views saw: effects run, and whether the row was committed then."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def effect(self, name: str, key: str) -> Callable[[], None]:
        def run() -> None:
            self.ran.append(f"{name}:{_rows(key)}")

        return run


@pytest.fixture
def probe(app: Flask) -> Probe:
    """Write views under /_boundary/ that write a row keyed by the path and register effects."""
    seen = Probe()

    def write_then(outcome: str) -> Any:
        key = f"boundary-{outcome}"
        _write(key)
        transaction.on_commit(seen.effect("first", key))
        transaction.on_commit(seen.effect("second", key))
        if outcome == "invalid":
            raise Invalid("body", "Not like that.")
        if outcome == "crash":
            raise RuntimeError("boom")
        if outcome == "saved":
            flash("Your change is saved.")
        if outcome == "flash-crash":
            flash("Your change is saved.")
            raise RuntimeError("boom")
        if outcome == "form":
            return "the form again", 400
        if outcome == "failing-effect":

            def broken() -> None:
                raise ValueError("effect broke")

            transaction.on_commit(broken)
            transaction.on_commit(seen.effect("after-broken", key))
        if outcome == "nested":
            return inner()
        return {"ok": request.method, "flashed": outcome == "saved"}

    @transaction.writes
    def inner() -> Any:
        _write("boundary-inner")
        transaction.on_commit(seen.effect("inner", "boundary-inner"))
        return {"ok": "inner"}

    view = transaction.writes(write_then)
    app.add_url_rule("/_boundary/<outcome>", "boundary_probe", view, methods=["POST"])
    app.add_url_rule("/api/v1/_boundary/<outcome>", "api_boundary_probe", view, methods=["POST"])
    return seen


@pytest.fixture
def commits(app: Flask) -> list[int]:
    """One entry per commit of the app's session (the search drain's own commits aside)."""
    made: list[int] = []
    app.extensions[transaction.HOOKS_KEY] = []  # no search drain: count only the boundary

    def _count(_session: Any) -> None:
        made.append(1)

    event.listen(db.session, "after_commit", _count)
    yield made
    event.remove(db.session, "after_commit", _count)


def test_commits_once_then_runs_effects_in_order(
    client: FlaskClient, probe: Probe, commits: list[int]
) -> None:
    answer = client.post("/_boundary/ok")
    assert answer.status_code == 200
    assert answer.json == {"ok": "POST", "flashed": False}
    assert len(commits) == 1
    # Each effect saw the row already committed (read on another connection).
    assert probe.ran == ["first:1", "second:1"]
    assert _rows("boundary-ok") == 1


def test_domain_error_rolls_back_and_runs_no_effect(client: FlaskClient, probe: Probe) -> None:
    page = client.post("/_boundary/invalid")
    assert page.status_code == 400
    assert b"Not like that." in page.data
    answer = client.post("/api/v1/_boundary/invalid")
    assert answer.status_code == 400
    fields = {"body": "Not like that."}
    assert answer.json == {
        "error": {"code": "invalid", "message": "Not like that.", "fields": fields}
    }
    assert _rows("boundary-invalid") == 0
    assert probe.ran == []


def test_an_error_answer_commits_nothing(client: FlaskClient, probe: Probe) -> None:
    # A view that shows its form again with an error status has been refused.
    page = client.post("/_boundary/form")
    assert page.status_code == 400
    assert _rows("boundary-form") == 0
    assert probe.ran == []


def test_unexpected_error_rolls_back_and_is_raised(client: FlaskClient, probe: Probe) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        client.post("/_boundary/crash")
    assert _rows("boundary-crash") == 0
    assert probe.ran == []


def test_a_failing_effect_is_logged_and_the_others_still_run(
    client: FlaskClient, probe: Probe, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="forum.transaction"):
        answer = client.post("/_boundary/failing-effect")
    assert answer.status_code == 200
    assert _rows("boundary-failing-effect") == 1
    assert probe.ran == ["first:1", "second:1", "after-broken:1"]
    failures = [r for r in caplog.records if "after-commit effect" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], ValueError)


def test_a_view_answering_for_another_joins_its_boundary(
    client: FlaskClient, probe: Probe, commits: list[int]
) -> None:
    answer = client.post("/_boundary/nested")
    assert answer.json == {"ok": "inner"}
    assert len(commits) == 1
    assert _rows("boundary-nested") == 1
    assert _rows("boundary-inner") == 1
    assert probe.ran == ["first:1", "second:1", "inner:1"]


def test_after_commit_hooks_run_before_the_requests_effects(
    app: Flask, client: FlaskClient, probe: Probe
) -> None:
    transaction.add_after_commit_hook(app, lambda _app: probe.ran.append("hook"))
    client.post("/_boundary/ok")
    assert probe.ran == ["hook", "first:1", "second:1"]


def test_on_commit_outside_a_boundary_is_refused(app: Flask) -> None:
    with pytest.raises(RuntimeError, match="outside a write boundary"):
        transaction.on_commit(lambda: None)


def test_atomic_block_commits_then_runs_effects_and_rolls_back_on_error(app: Flask) -> None:
    ran: list[int] = []
    with transaction.atomic():
        _write("atomic-ok")
        transaction.on_commit(lambda: ran.append(_rows("atomic-ok")))
    assert ran == [1]
    with pytest.raises(Invalid), transaction.atomic():
        _write("atomic-refused")
        transaction.on_commit(lambda: ran.append(-1))
        raise Invalid("x", "no")
    assert ran == [1]
    assert _rows("atomic-refused") == 0


def test_every_write_route_has_the_boundary(app: Flask) -> None:
    writes = {"POST", "PUT", "PATCH", "DELETE"}
    missing = [
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if writes & set(rule.methods or ())
        and not getattr(app.view_functions[rule.endpoint], transaction.MARK, False)
    ]
    assert missing == []


def test_a_refused_topic_keeps_the_members_text_and_writes_nothing(
    client: FlaskClient, login_as: Callable[..., FlaskClient]
) -> None:
    member = factories.make_user("writer")
    board = factories.make_board(name="Talk")
    login_as(member)
    page = client.post(f"/b/{board.id}/new", data={"title": "", "body": "My long careful text"})
    assert page.status_code == 400
    assert b"My long careful text" in page.data
    done = client.post(f"/b/{board.id}/new", data={"title": "Hello", "body": "My text"})
    assert done.status_code == 302
    db.session.rollback()
    assert db.session.get(type(board), board.id).topics_count == 1


@pytest.mark.app_config(FORUM_TEST_SWALLOW_ERRORS=True)
def test_a_failed_request_takes_back_what_it_flashed(client: FlaskClient, probe: Probe) -> None:
    page = client.post("/_boundary/flash-crash")
    assert page.status_code == 500
    assert b"Nothing was saved" in page.data
    assert b"Your change is saved." not in page.data
    assert _rows("boundary-flash-crash") == 0


@pytest.mark.app_config(FORUM_TEST_SWALLOW_ERRORS=True)
def test_a_failed_commit_rolls_back_runs_no_effect_and_takes_back_flashes(
    client: FlaskClient, probe: Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse() -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(db.session, "commit", refuse)
    page = client.post("/_boundary/saved")
    monkeypatch.undo()
    assert page.status_code == 500
    assert b"Your change is saved." not in page.data
    assert _rows("boundary-saved") == 0
    assert probe.ran == []
    # A message flashed by a request that succeeds is kept for the next page.
    assert client.post("/_boundary/saved").json == {"ok": "POST", "flashed": True}
    with client.session_transaction() as session:
        assert session.get("_flashes") == [("message", "Your change is saved.")]
