"""Chat rooms and live pages through the API (issue 14): rooms, messages, moderation,
retention, and `GET /changes` with its ETag/304 path."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.extensions import db
from forum.models.chat import ChatMessage
from forum.models.modlog import ModerationLog
from forum.moderation import sanctions
from forum.services import chat
from forum.services import data_rights
from forum.services import groups as group_service
from tests import factories


@pytest.fixture
def circle(client: FlaskClient, bearer: Callable) -> dict:
    """A secret group with an owner, a member, a moderator and one room."""
    member, moderator = factories.make_user("ann"), factories.make_user("moe")
    group = factories.make_group(
        secret=True, slug="circle", members=(member,), moderators=(moderator,)
    )
    owner = factories.owner_of(group)
    headers = {u: bearer(x) for u, x in (("owner", owner), ("member", member), ("mod", moderator))}
    opened = client.post(
        "/api/v1/groups/circle/rooms", json={"name": "Evening"}, headers=headers["owner"]
    )
    assert opened.status_code == 201, opened.get_json()
    return {
        "group": group,
        "room": opened.get_json(),
        "headers": headers,
        "member": member,
        "owner": owner,
    }


def test_owners_open_rooms_members_cannot_and_outsiders_see_nothing(
    client: FlaskClient, bearer: Callable, circle: dict
) -> None:
    room, headers = circle["room"], circle["headers"]
    assert room["name"] == "Evening" and room["group"] == "circle" and room["retention_days"] == 30
    denied = client.post(
        "/api/v1/groups/circle/rooms", json={"name": "x"}, headers=headers["member"]
    )
    assert denied.status_code == 403
    listed = client.get("/api/v1/groups/circle/rooms", headers=headers["member"]).get_json()
    assert [r["id"] for r in listed["rooms"]] == [room["id"]]
    outsider = bearer(factories.make_user("outsider"))
    for path in (
        "/api/v1/groups/circle/rooms",
        f"/api/v1/rooms/{room['id']}",
        f"/api/v1/rooms/{room['id']}/messages",
        f"/api/v1/changes?since={room['token']}",
    ):
        assert client.get(path, headers=outsider).status_code == 404, path
    # Site rooms: admins only.
    assert client.post("/api/v1/rooms", json={"name": "Lobby"}, headers=outsider).status_code == 403
    admin = bearer(factories.make_admin())
    assert client.post("/api/v1/rooms", json={"name": "Lobby"}, headers=admin).status_code == 201
    assert [
        r["name"] for r in client.get("/api/v1/rooms", headers=outsider).get_json()["rooms"]
    ] == ["Lobby"]


def test_messages_stream_after_and_the_304_path(client: FlaskClient, circle: dict) -> None:
    room, headers = circle["room"], circle["headers"]
    path = f"/api/v1/rooms/{room['id']}/messages"
    first = client.get(f"/api/v1/changes?since={room['token']}", headers=headers["member"])
    assert first.status_code == 200 and first.get_json() == {
        "token": room["token"],
        "changed": False,
    }
    etag = first.headers["ETag"]
    assert "private" in first.headers["Cache-Control"]
    same = client.get(
        f"/api/v1/changes?since={room['token']}",
        headers={**headers["member"], "If-None-Match": etag},
    )
    assert same.status_code == 304 and same.get_data() == b""
    sent = client.post(
        path, json={"body": "Hello **all** <script>x</script>"}, headers=headers["member"]
    )
    assert sent.status_code == 201
    message = sent.get_json()
    assert message["author"] == "ann" and "<strong>all</strong>" in message["html"]
    assert "<script" not in message["html"]
    changed = client.get(
        f"/api/v1/changes?since={room['token']}",
        headers={**headers["member"], "If-None-Match": etag},
    )
    assert changed.status_code == 200 and changed.get_json()["changed"] is True
    assert changed.headers["ETag"] != etag
    client.post(path, json={"body": "second"}, headers=headers["owner"])
    after = client.get(f"{path}?after={message['id']}", headers=headers["member"]).get_json()
    assert [m["body"] for m in after["messages"]] == ["second"]
    assert [
        m["body"] for m in client.get(path, headers=headers["member"]).get_json()["messages"]
    ] == [
        "Hello **all** <script>x</script>",
        "second",
    ]
    assert client.get(f"{path}?after=x", headers=headers["member"]).status_code == 400
    assert (
        client.get("/api/v1/changes?since=nonsense", headers=headers["member"]).status_code == 400
    )


def test_a_removed_member_polling_gets_404_at_once(client: FlaskClient, circle: dict) -> None:
    room, headers = circle["room"], circle["headers"]
    since = f"/api/v1/changes?since={room['token']}"
    assert client.get(since, headers=headers["member"]).status_code == 200
    owner_actor = factories.actor(circle["owner"])
    group_service.remove_member(owner_actor, circle["group"], "ann")
    db.session.commit()
    assert client.get(since, headers=headers["member"]).status_code == 404
    assert (
        client.post(
            f"/api/v1/rooms/{room['id']}/messages", json={"body": "hi"}, headers=headers["member"]
        ).status_code
        == 404
    )


def test_live_topic_token_changes_with_a_reply_and_hides_secret_topics(
    client: FlaskClient, bearer: Callable
) -> None:
    topic = factories.make_topic()
    reader = bearer(factories.make_user())
    first = client.get(f"/api/v1/changes?since=t{topic.id}.0", headers=reader).get_json()
    token = first["token"]
    again = client.get(
        f"/api/v1/changes?since={token}", headers={**reader, "If-None-Match": f'"{token}"'}
    )
    assert again.status_code == 304
    factories.make_post(topic)
    moved = client.get(
        f"/api/v1/changes?since={token}", headers={**reader, "If-None-Match": f'"{token}"'}
    )
    assert moved.status_code == 200 and moved.get_json()["changed"] is True
    group = factories.make_group(secret=True)
    secret = factories.make_topic(factories.make_board(group=group), factories.owner_of(group))
    hidden = client.get(f"/api/v1/changes?since=t{secret.id}.0", headers=reader)
    missing = client.get("/api/v1/changes?since=t987654.0", headers=reader)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()


def test_silenced_members_cannot_write_and_slow_mode_waits(
    client: FlaskClient, circle: dict
) -> None:
    room, headers = circle["room"], circle["headers"]
    path = f"/api/v1/rooms/{room['id']}/messages"
    settings = f"/api/v1/rooms/{room['id']}"
    slow = client.patch(settings, json={"slow_mode_seconds": 60}, headers=headers["mod"])
    assert slow.status_code == 200 and slow.get_json()["slow_mode_seconds"] == 60
    # Retention is the owners' choice, not the moderators'.
    kept = client.patch(settings, json={"retention_days": 7}, headers=headers["mod"])
    assert kept.status_code == 403
    assert client.post(path, json={"body": "one"}, headers=headers["member"]).status_code == 201
    waited = client.post(path, json={"body": "two"}, headers=headers["member"])
    assert waited.status_code == 429 and int(waited.headers["Retry-After"]) > 0
    sanctions.silence_member(
        factories.actor(circle["owner"]),
        circle["member"],
        group=circle["group"],
        days=3,
        reason="Calm down.",
    )
    db.session.commit()
    client.patch(settings, json={"slow_mode_seconds": 0}, headers=headers["mod"])
    silenced = client.post(path, json={"body": "three"}, headers=headers["member"])
    assert silenced.status_code == 403 and silenced.get_json()["error"]["code"] == "silenced"
    actions = set(db.session.scalars(select(ModerationLog.action)))
    assert {"chat_room_opened", "chat_room_settings_changed"} <= actions


def test_report_and_hide_a_message(client: FlaskClient, circle: dict) -> None:
    room, headers = circle["room"], circle["headers"]
    sent = client.post(
        f"/api/v1/rooms/{room['id']}/messages", json={"body": "rude"}, headers=headers["owner"]
    ).get_json()
    own = client.post(
        f"/api/v1/chat-messages/{sent['id']}/reports",
        json={"reason": "abuse"},
        headers=headers["owner"],
    )
    assert own.status_code == 403
    reported = client.post(
        f"/api/v1/chat-messages/{sent['id']}/reports",
        json={"reason": "abuse"},
        headers=headers["member"],
    )
    assert reported.status_code == 201
    assert (
        client.post(
            f"/api/v1/chat-messages/{sent['id']}/hide", headers=headers["member"]
        ).status_code
        == 403
    )
    hidden = client.post(
        f"/api/v1/chat-messages/{sent['id']}/hide", json={"reason": "Rude."}, headers=headers["mod"]
    )
    assert hidden.status_code == 200 and hidden.get_json() == {"changed": True}
    listed = client.get(
        f"/api/v1/rooms/{room['id']}/messages", headers=headers["member"]
    ).get_json()
    assert listed["messages"] == []
    entry = db.session.scalar(
        select(ModerationLog).where(ModerationLog.action == "chat_message_hidden")
    )
    assert entry is not None and entry.reason == "Rude." and entry.group_id == circle["group"].id


def test_retention_prunes_old_messages_per_room(client: FlaskClient, circle: dict) -> None:
    room, headers = circle["room"], circle["headers"]
    path = f"/api/v1/rooms/{room['id']}/messages"
    assert (
        client.patch(
            f"/api/v1/rooms/{room['id']}", json={"retention_days": 7}, headers=headers["owner"]
        ).status_code
        == 200
    )
    client.post(path, json={"body": "old"}, headers=headers["member"])
    client.post(path, json={"body": "new"}, headers=headers["owner"])
    old = db.session.scalar(select(ChatMessage).where(ChatMessage.body == "old"))
    old.created_at = old.created_at - timedelta(days=8)
    db.session.commit()
    assert chat.prune_chat_messages() == 1
    db.session.commit()
    assert list(db.session.scalars(select(ChatMessage.body))) == ["new"]


def test_a_deleted_account_takes_its_chat_messages_and_the_export_has_them(
    client: FlaskClient, circle: dict
) -> None:
    room, headers, member = circle["room"], circle["headers"], circle["member"]
    path = f"/api/v1/rooms/{room['id']}/messages"
    client.post(path, json={"body": "mine to take"}, headers=headers["member"])
    client.post(path, json={"body": "the owner's"}, headers=headers["owner"])
    exported = data_rights.export_member_data(factories.actor(member), member)
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        account = json.loads(archive.read("account.json"))
    assert [m["body"] for m in account["chat_messages"]] == ["mine to take"]
    data_rights.delete_account(factories.actor(member), member, posts="remove")
    db.session.commit()
    assert list(db.session.scalars(select(ChatMessage.body))) == ["the owner's"]
