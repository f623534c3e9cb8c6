"""Unread tracking through the API (issue 13): the unread and new lists, marking read."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from forum.extensions import db
from forum.services import groups as group_service
from tests import factories


def test_marking_a_topic_read_moves_forward_only(client: FlaskClient, bearer: Callable) -> None:
    topic = factories.make_topic()
    for _ in range(4):
        factories.make_post(topic)
    headers = bearer(factories.make_user())
    path = f"/api/v1/topics/{topic.id}/read"
    marked = client.post(path, json={"last_read": 3}, headers=headers)
    assert marked.status_code == 200
    assert marked.get_json() == {"topic_id": topic.id, "last_read": 3, "new_posts": 2}
    back = client.post(path, json={"last_read": 1}, headers=headers).get_json()
    assert back["last_read"] == 3
    # Past the end: read to the end.
    assert client.post(path, json={"last_read": 99}, headers=headers).get_json()["last_read"] == 5


def test_marking_read_refuses_bad_numbers_and_guests(client: FlaskClient, bearer: Callable) -> None:
    topic = factories.make_topic()
    path = f"/api/v1/topics/{topic.id}/read"
    headers = bearer(factories.make_user())
    for bad in (-1, "x", None, 2**40):
        answer = client.post(path, json={"last_read": bad}, headers=headers)
        assert answer.status_code == 400, bad
        assert answer.get_json()["error"]["code"] == "invalid"
    assert client.post(path, json={"last_read": 1}).status_code == 401


def test_unread_and_new_lists(client: FlaskClient, bearer: Callable) -> None:
    opened = factories.make_topic(title="Opened before, answered since")
    fresh = factories.make_topic(title="Never opened by the reader")
    reader = factories.make_user()
    headers = bearer(reader)
    client.post(f"/api/v1/topics/{opened.id}/read", json={"last_read": 1}, headers=headers)
    factories.make_post(opened)
    factories.make_post(opened)
    unread = client.get("/api/v1/unread", headers=headers).get_json()
    assert [(t["id"], t["last_read"], t["new_posts"]) for t in unread["topics"]] == [
        (opened.id, 1, 2)
    ]
    assert unread["page"] == 1 and unread["pages"] == 1
    new = client.get("/api/v1/new", headers=headers).get_json()
    assert [(t["id"], t["last_read"], t["new_posts"]) for t in new["topics"]] == [
        (fresh.id, None, 0)
    ]
    assert client.get("/api/v1/unread").status_code == 401


def test_a_secret_topic_cannot_be_marked_by_outsiders_and_leaves_the_lists_of_the_removed(
    client: FlaskClient, bearer: Callable
) -> None:
    member = factories.make_user()
    group = factories.make_group(secret=True, members=(member,))
    owner = factories.owner_of(group)
    topic = factories.make_topic(factories.make_board(group=group), owner)
    outsider = bearer(factories.make_user())
    secret = client.post(f"/api/v1/topics/{topic.id}/read", json={"last_read": 1}, headers=outsider)
    missing = client.post("/api/v1/topics/999999/read", json={"last_read": 1}, headers=outsider)
    assert secret.status_code == missing.status_code == 404
    assert secret.get_json() == missing.get_json()
    headers = bearer(member)
    client.post(f"/api/v1/topics/{topic.id}/read", json={"last_read": 1}, headers=headers)
    factories.make_post(topic, owner)
    assert [
        t["id"] for t in client.get("/api/v1/unread", headers=headers).get_json()["topics"]
    ] == [topic.id]
    group_service.remove_member(factories.actor(owner), group, member.username)
    db.session.commit()
    assert client.get("/api/v1/unread", headers=headers).get_json()["topics"] == []
    assert client.get("/api/v1/new", headers=headers).get_json()["topics"] == []
    gone = client.post(f"/api/v1/topics/{topic.id}/read", json={"last_read": 2}, headers=headers)
    assert gone.status_code == 404
