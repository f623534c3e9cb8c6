"""Issue 14's gaps over the API: reading a conversation marks it read, deleting your own
message, and the site moderators' message reports (others: 403 for the list, 404 for a
report, as for a missing one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from forum.models.users import User
from tests import factories as f

API = "/api/v1"
MISSING = {"error": {"code": "not_found", "message": "Not found."}}


@pytest.fixture
def call(client: FlaskClient, bearer: Callable) -> Callable[..., TestResponse]:
    tokens: dict[int, dict[str, str]] = {}

    def _call(method: str, path: str, user: User | None = None, json: Any = None) -> TestResponse:
        headers = tokens.setdefault(user.id, bearer(user)) if user is not None else {}
        return client.open(f"{API}{path}", method=method, json=json, headers=headers)

    return _call


@pytest.fixture
def people(db):
    ann = f.make_user("ann", trust_level=1)
    bob = f.make_user("bob", trust_level=1)
    cat = f.make_user("cat", trust_level=1)
    mod = f.make_user("mod", moderator=True, trust_level=2)
    f.make_group("Circle", members=(ann, bob, cat))
    return ann, bob, cat, mod


def _start(call, ann, body="Hello") -> int:
    made = call(
        "POST", "/conversations", ann, {"recipients": ["bob"], "title": "Hello", "body": body}
    )
    assert made.status_code == 201, made.json
    return made.json["id"]


def test_reading_through_the_api_marks_the_conversation_read(call, people):
    ann, bob, *_ = people
    cid = _start(call, ann)
    assert [c["unread"] for c in call("GET", "/conversations", bob).json["conversations"]] == [True]
    assert call("GET", "/notifications", bob).json["notifications"][0]["read"] is False
    assert call("GET", f"/conversations/{cid}", bob).status_code == 200
    assert [c["unread"] for c in call("GET", "/conversations", bob).json["conversations"]] == [
        False
    ]
    assert call("GET", "/notifications", bob).json["notifications"][0]["read"] is True


def test_delete_own_message(call, people):
    ann, bob, cat, _mod = people
    cid = _start(call, ann, body="Take this back")
    mid = call("GET", f"/conversations/{cid}", ann).json["messages"][0]["id"]
    other = call("DELETE", f"/messages/{mid}", bob)
    assert other.status_code == 403 and other.json["error"]["code"] == "not_author"
    outsider = call("DELETE", f"/messages/{mid}", cat)
    missing = call("DELETE", "/messages/999999", cat)
    assert (outsider.status_code, outsider.json) == (missing.status_code, missing.json)
    assert outsider.json == MISSING
    assert call("DELETE", f"/messages/{mid}", ann).status_code == 204
    shown = call("GET", f"/conversations/{cid}", bob).json["messages"][0]
    assert (shown["deleted"], shown["body"], shown["html"]) == (True, "", "")


def test_site_moderators_handle_message_reports(call, people):
    ann, bob, cat, mod = people
    cid = _start(call, ann, body="one")
    for body in ("two", "three"):
        call("POST", f"/conversations/{cid}/messages", ann, {"body": body})
    mid = call("GET", f"/conversations/{cid}", bob).json["messages"][-1]["id"]
    made = call("POST", f"/messages/{mid}/report", bob, {"reason": "abuse", "note": "mean"})
    rid = made.json["id"]
    listed = call("GET", "/message-reports", mod)
    assert listed.status_code == 200
    [report] = listed.json["reports"]
    assert report["id"] == rid and report["status"] == "open" and report["note"] == "mean"
    assert [(m["body"], m["reported"]) for m in report["messages"]] == [
        ("one", False),
        ("two", False),
        ("three", True),
    ]
    assert "bob" not in str(report)
    # Members who moderate nothing: 403 for the list, 404 for a report, as for none.
    assert call("GET", "/message-reports", cat).status_code == 403
    assert call("GET", "/message-reports").status_code == 401
    for outsider in (ann, bob, cat):
        got = call("POST", f"/message-reports/{rid}/resolve", outsider, {"decision": "upheld"})
        nothing = call("POST", "/message-reports/999999/resolve", outsider, {"decision": "upheld"})
        assert (got.status_code, got.json) == (nothing.status_code, nothing.json) == (404, MISSING)
    bad = call("POST", f"/message-reports/{rid}/resolve", mod, {"decision": "maybe"})
    assert bad.status_code == 400
    done = call("POST", f"/message-reports/{rid}/resolve", mod, {"decision": "dismissed"})
    assert done.status_code == 200 and done.json["status"] == "dismissed"
    again = call("POST", f"/message-reports/{rid}/resolve", mod, {"decision": "upheld"})
    assert again.status_code == 409
    assert call("GET", "/message-reports", mod).json["reports"] == []
    told = [n["text"] for n in call("GET", "/notifications", bob).json["notifications"]]
    assert any("no action was needed" in text for text in told)
    assert not any("three" in text for text in told)
