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
