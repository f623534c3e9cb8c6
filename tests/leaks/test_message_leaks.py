"""Leak rows for private messages: a conversation exists only for its participants.

Every outsider - another member who knows both people, a site admin, a site moderator
without a report, a participant who left, a guest - gets, for every page and endpoint
about the conversation or one of its messages, exactly the answer they get for one that
does not exist; and no list, count, notification, search or moderation page shows any
of it. The same surfaces, asked by a participant, do show it (the positive control).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.extensions import db
from forum.models.messages import Conversation
from forum.services import accounts
from forum.services import messages
from tests import factories as f
from tests.conftest import PageClient
from tests.leaks import checks

TITLE = "Canarytitle about the weekend"
BODY = "Canarybody words only two people share"
REPLY = "Canaryreply from the other side"
MISSING = 999_999
VIEWERS = ("stranger", "admin", "moderator", "left", "guest")


@dataclass
class World:
    app: Flask
    conversation_id: int
    message_id: int


def _plant(app: Flask) -> tuple[World, dict[str, Any]]:
    ann = f.make_user("ann", trust_level=2)
    bob = f.make_user("bob", trust_level=2)
    left = f.make_user("leaver", trust_level=2)
    stranger = f.make_user("stranger", trust_level=2)
    admin = f.make_admin("boss")
    moderator = f.make_user("modder", moderator=True, trust_level=2)
    # Everyone knows everyone: the refusals below are about the conversation only.
    f.make_group("Everyone", members=(ann, bob, left, stranger, admin, moderator))
    conversation = messages.start_conversation(
        f.actor(ann), recipients=["bob", "leaver"], title=TITLE, body=BODY
    )
    db.session.commit()
    messages.leave_conversation(f.actor(left), conversation)
    reply = messages.send_message(f.actor(bob), conversation, body=REPLY)
    db.session.commit()
    people = {
        "ann": ann,
        "bob": bob,
        "stranger": stranger,
        "admin": admin,
        "moderator": moderator,
        "left": left,
        "guest": None,
    }
    return World(app, conversation.id, reply.id), people


def _surfaces(cid: int, mid: int) -> list[tuple[str, str, dict[str, Any] | None, bool]]:
    """(method, path, JSON or form body, api) for one conversation and message id."""
    api = "/api/v1"
    return [
        ("GET", f"/messages/{cid}", None, False),
        ("GET", f"/messages/{cid}?page=2", None, False),
        ("GET", f"/messages/{cid}/m/{mid}", None, False),
        ("GET", f"/messages/report/{mid}", None, False),
        ("POST", f"/messages/{cid}", {"body": "Sneaking in"}, False),
        ("POST", f"/messages/{cid}/participants", {"usernames": "stranger"}, False),
        ("POST", f"/messages/{cid}/leave", {}, False),
        ("POST", f"/messages/report/{mid}", {"reason": "spam"}, False),
        ("GET", f"{api}/conversations/{cid}", None, True),
        ("POST", f"{api}/conversations/{cid}/messages", {"body": "Sneaking in"}, True),
        ("POST", f"{api}/conversations/{cid}/participants", {"usernames": ["stranger"]}, True),
        ("POST", f"{api}/conversations/{cid}/leave", None, True),
        ("POST", f"{api}/messages/{mid}/report", {"reason": "spam"}, True),
        # Deleting a message (issue 14's gaps): outsiders cannot learn it exists.
        ("POST", f"/messages/{cid}/m/{mid}/delete", {}, False),
        ("DELETE", f"{api}/messages/{mid}", None, True),
    ]


LISTS = (
    "/messages",
    "/api/v1/conversations",
    "/notifications",
    "/api/v1/notifications",
    "/search?q=share",
    "/search?q=weekend",
    "/api/v1/search?q=share",
    "/mod/messages",
    "/api/v1/message-reports",
    "/",
)


def _client(app: Flask, user: Any) -> tuple[FlaskClient, dict[str, str]]:
    app.test_client_class = PageClient
    client = app.test_client()
    if user is None:
        return client, {}
    key = f.make_session(user)
    with client.session_transaction() as session:
        session["_user_id"] = key
        session["_fresh"] = True
    token = accounts.issue_api_token(user)
    db.session.commit()
    # The first request of a session rewrites its cookie: have it before comparing.
    client.get("/")
    return client, {"Authorization": f"Bearer {token}"}


def _ask(client: FlaskClient, headers: dict[str, str], surface: tuple) -> Any:
    method, path, payload, api = surface
    db.session.rollback()
    if api:
        return client.open(path, method=method, json=payload, headers=headers)
    return client.open(path, method=method, data=payload)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_outsiders_get_what_nothing_gets(app, viewer):
    world, people = _plant(app)
    client, headers = _client(app, people[viewer])
    secret = _surfaces(world.conversation_id, world.message_id)
    missing = _surfaces(MISSING, MISSING)
    for asked, nothing in zip(secret, missing, strict=True):
        got = _ask(client, headers, asked)
        expected = _ask(client, headers, nothing)
        subs_got = [(asked[1], "<PATH>")]
        subs_expected = [(nothing[1], "<PATH>")]
        a = checks.answer(world, got, subs_got)  # type: ignore[arg-type]
        b = checks.answer(world, expected, subs_expected)  # type: ignore[arg-type]
        assert a == b, f"{viewer} {asked[0]} {asked[1]}:\n{a.differences(b)}"
        assert "Canary" not in checks.text_of(got), (viewer, asked)
    for path in LISTS:
        db.session.rollback()
        response = client.get(path, headers=headers if path.startswith("/api") else {})
        text = checks.text_of(response)
        assert "Canary" not in text, (viewer, path)
        assert f"/messages/{world.conversation_id}" not in text, (viewer, path)
        assert "Notifications (" not in text, (viewer, path)


def test_the_participant_sees_it(app):
    world, people = _plant(app)
    client, headers = _client(app, people["ann"])
    for surface in _surfaces(world.conversation_id, world.message_id)[:4]:
        response = _ask(client, headers, surface)
        assert response.status_code in (200, 302), surface
    page = client.get(f"/messages/{world.conversation_id}").get_data(as_text=True)
    assert BODY in page and REPLY in page
    assert TITLE in client.get("/messages").get_data(as_text=True)
    api = client.get(f"/api/v1/conversations/{world.conversation_id}", headers=headers)
    assert [m["body"] for m in api.json["messages"]] == [BODY, REPLY]


def test_a_report_opens_exactly_three_messages_to_site_moderators(app):
    world, people = _plant(app)
    ann = people["ann"]
    conversation = db.session.get(Conversation, world.conversation_id)
    for number in range(1, 6):
        messages.send_message(f.actor(ann), conversation, body=f"Canaryline number {number}")
    db.session.commit()
    bob = f.actor(people["bob"])
    shown = messages.messages(bob, conversation).items
    fourth = next(m for m in shown if m.body.endswith("number 4"))
    report = messages.report_message(bob, fourth, reason="abuse")
    db.session.commit()
    moderator, _ = _client(app, people["moderator"])
    page = moderator.get(f"/mod/messages/{report.id}").get_data(as_text=True)
    seen = [n for n in range(1, 6) if f"Canaryline number {n}" in page]
    assert seen == [2, 3, 4]
    assert BODY not in page and REPLY not in page and TITLE not in page
    assert moderator.get(f"/messages/{world.conversation_id}").status_code == 404
    # A member who is no moderator has no window, even knowing the report's id.
    stranger, _ = _client(app, people["stranger"])
    assert stranger.get(f"/mod/messages/{report.id}").status_code in (403, 404)


def test_site_moderators_header_counts_reported_messages(app):
    world, people = _plant(app)
    conversation = db.session.get(Conversation, world.conversation_id)
    first = messages.messages(f.actor(people["bob"]), conversation).items[0]
    messages.report_message(f.actor(people["bob"]), first, reason="abuse")
    db.session.commit()
    moderator, _ = _client(app, people["moderator"])
    page = moderator.get("/messages").get_data(as_text=True)
    assert "Moderation" in page, page[:3000]
    assert 'Moderation <span class="count">1<' in page, page[:3000]
