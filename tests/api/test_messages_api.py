"""Private messages and blocks through the API: participants only, 404 for everyone
else and for recipients the sender must not learn about."""

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
    admin = f.make_admin("boss")
    f.make_group("Circle", members=(ann, bob, cat))
    return ann, bob, cat, mod, admin


def test_conversation_round_trip(call, people):
    ann, bob, cat, mod, admin = people
    made = call(
        "POST",
        "/conversations",
        ann,
        {"recipients": ["bob"], "title": "Hello", "body": "Hello *bob*"},
    )
    assert made.status_code == 201, made.json
    conversation = made.json
    assert sorted(conversation["participants"]) == ["ann", "bob"]
    path = f"/conversations/{conversation['id']}"
    listed = call("GET", "/conversations", bob).json["conversations"]
    assert [(c["id"], c["unread"]) for c in listed] == [(conversation["id"], True)]
    reply = call("POST", f"{path}/messages", bob, {"body": "Hello ann"})
    assert reply.status_code == 201 and reply.json["author"] == "bob"
    shown = call("GET", path, ann).json
    assert [m["body"] for m in shown["messages"]] == ["Hello *bob*", "Hello ann"]
    assert "<em>bob</em>" in shown["messages"][0]["html"]
    assert "two before it" in shown["notice"]
    # Anyone else: 404 exactly like a conversation that does not exist.
    for outsider in (cat, mod, admin):
        for method, sub, body in (
            ("GET", "", None),
            ("POST", "/messages", {"body": "x"}),
            ("POST", "/leave", None),
        ):
            got = call(method, f"{path}{sub}", outsider, body)
            missing = call(method, f"/conversations/999999{sub}", outsider, body)
            assert (
                (got.status_code, got.json)
                == (404, MISSING)
                == (
                    missing.status_code,
                    missing.json,
                )
            )
        assert call("GET", "/conversations", outsider).json["conversations"] == []
    notes = call("GET", "/notifications", bob).json["notifications"]
    assert [n["kind"] for n in notes] == ["message"]
    assert "Hello" not in notes[0]["text"] and "Hello" not in notes[0]["text"]


def test_blocking_recipient_answers_like_unknown(call, people):
    ann, bob, *_ = people
    assert call("PUT", "/users/ann/block", bob).status_code == 204
    assert call("GET", "/me/messaging", bob).json["blocked"] == ["ann"]
    body = {"title": "Hello", "body": "Hello"}
    blocked = call("POST", "/conversations", ann, {**body, "recipients": ["bob"]})
    unknown = call("POST", "/conversations", ann, {**body, "recipients": ["nobody"]})
    assert (blocked.status_code, blocked.json) == (unknown.status_code, unknown.json)
    assert blocked.status_code == 404
    assert call("DELETE", "/users/ann/block", bob).status_code == 204
    ok = call("POST", "/conversations", ann, {**body, "recipients": ["bob"]})
    assert ok.status_code == 201


def test_self_and_21_people_are_400(call, people):
    ann, *_ = people
    body = {"title": "Hello", "body": "Hello"}
    me = call("POST", "/conversations", ann, {**body, "recipients": ["ann"]})
    assert me.status_code == 400
    many = call(
        "POST", "/conversations", ann, {**body, "recipients": [f"m{n:03d}" for n in range(20)]}
    )
    assert many.status_code == 400


def test_leave_and_report(call, people):
    ann, bob, cat, mod, _admin = people
    made = call(
        "POST",
        "/conversations",
        ann,
        {"recipients": ["bob", "cat"], "title": "Three", "body": "First"},
    ).json
    path = f"/conversations/{made['id']}"
    message = call("POST", f"{path}/messages", ann, {"body": "Rude"}).json
    report = call("POST", f"/messages/{message['id']}/report", bob, {"reason": "abuse"})
    assert report.status_code == 201 and report.json["status"] == "open"
    again = call("POST", f"/messages/{message['id']}/report", bob, {"reason": "abuse"})
    assert again.status_code == 409
    own = call("POST", f"/messages/{message['id']}/report", ann, {"reason": "abuse"})
    assert own.status_code == 403
    assert (
        call("POST", f"/messages/{message['id']}/report", mod, {"reason": "spam"}).status_code
        == 404
    )
    assert call("POST", f"{path}/leave", cat).status_code == 204
    assert call("GET", path, cat).status_code == 404
    assert call("GET", "/notifications", cat).json["notifications"] == []
    assert call("GET", "/me/messaging", ann).json["messages_from_groups_only"] is True
    changed = call("PUT", "/me/messaging", ann, {"messages_from_groups_only": False})
    assert changed.json["messages_from_groups_only"] is False


# Issue 14's gaps: reading marks read, deleting your own message, and the site
# moderators' message reports (others: 403 for the list, 404 for a report, as for none).


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
    ann, bob, cat, _mod, _admin = people
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
    ann, bob, cat, mod, _admin = people
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
