"""Topics and posts: starting, reading, replying, editing with revisions, deleting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from forum.extensions import db
from forum.models.base import utcnow
from forum.moderation import sanctions
from tests import factories


def test_start_a_topic(client: FlaskClient, bearer: Callable) -> None:
    board = factories.make_board()
    factories.make_user("alice")
    alice = factories.make_user("alice2")
    response = client.post(
        f"/api/v1/boards/{board.id}/topics",
        json={"title": "  Day one  ", "body": "I made it **through**."},
        headers=bearer(alice),
    )
    assert response.status_code == 201
    body = response.get_json()
    topic, post = body["topic"], body["post"]
    assert topic["title"] == "Day one"
    assert topic["board_id"] == board.id
    assert topic["author"] == "alice2"
    assert topic["posts_count"] == 1
    assert topic["locked"] is False and topic["pinned"] is False
    assert topic["url"] == f"/t/{topic['id']}"
    assert topic["created_at"].endswith("Z") and topic["last_post_at"].endswith("Z")
    assert post["number"] == 1 and post["topic_id"] == topic["id"]
    assert post["body"] == "I made it **through**."
    assert "<strong>through</strong>" in post["html"]
    assert post["reply_to"] is None and post["edited_at"] is None and post["deleted"] is False
    assert post["url"] == f"/p/{post['id']}"


def test_topic_page_lists_posts_in_order(app: Flask, client: FlaskClient, bearer: Callable) -> None:
    topic = factories.make_topic()
    for n in range(app.config["FORUM_POSTS_PER_PAGE"]):
        factories.make_post(topic, body=f"Reply {n}")
    headers = bearer(factories.make_user())
    first = client.get(f"/api/v1/topics/{topic.id}", headers=headers).get_json()
    assert first["topic"]["id"] == topic.id
    assert (first["page"], first["pages"]) == (1, 2)
    assert [p["number"] for p in first["posts"]] == list(range(1, 21))
    second = client.get(f"/api/v1/topics/{topic.id}?page=2", headers=headers).get_json()
    assert [p["number"] for p in second["posts"]] == [21]
    beyond = client.get(f"/api/v1/topics/{topic.id}?page=50", headers=headers)
    assert beyond.status_code == 200
    assert beyond.get_json()["posts"] == []
    assert beyond.get_json()["page"] == 50


def test_board_topics_paged_pinned_first(client: FlaskClient, bearer: Callable) -> None:
    board = factories.make_board()
    older = factories.make_topic(board)
    newer = factories.make_topic(board)
    pinned = factories.make_topic(board)
    pinned.pinned = True
    pinned.last_post_at = utcnow() - timedelta(days=3)
    db.session.commit()
    headers = bearer(factories.make_user())
    body = client.get(f"/api/v1/boards/{board.id}/topics", headers=headers).get_json()
    assert [t["id"] for t in body["topics"]] == [pinned.id, newer.id, older.id]
    assert (body["page"], body["pages"]) == (1, 1)
    empty = client.get(f"/api/v1/boards/{board.id}/topics?page=3", headers=headers).get_json()
    assert empty == {"topics": [], "page": 3, "pages": 1}


def test_latest_topics(client: FlaskClient, bearer: Callable) -> None:
    first = factories.make_topic()
    second = factories.make_topic()
    factories.make_post(first)
    body = client.get("/api/v1/latest", headers=bearer(factories.make_user())).get_json()
    assert [t["id"] for t in body["topics"]] == [first.id, second.id]


def test_reply_and_reply_to_a_post(client: FlaskClient, bearer: Callable) -> None:
    topic = factories.make_topic()
    first = factories.make_post(topic)
    headers = bearer(factories.make_user("bob"))
    response = client.post(
        f"/api/v1/topics/{topic.id}/posts",
        json={"body": "Same here.", "reply_to": first.id},
        headers=headers,
    )
    assert response.status_code == 201
    post = response.get_json()
    assert (post["reply_to"], post["number"], post["author"]) == (first.id, 3, "bob")
    # The answer is the post, and whether some mentioned members were not told.
    assert post.pop("unreached_mentions") is False
    shown = client.get(f"/api/v1/posts/{post['id']}", headers=headers).get_json()
    assert shown == post


def test_reply_to_a_post_in_another_topic_is_invalid(client: FlaskClient, bearer: Callable) -> None:
    topic, other = factories.make_topic(), factories.make_topic()
    elsewhere = factories.make_post(other)
    response = client.post(
        f"/api/v1/topics/{topic.id}/posts",
        json={"body": "Hi", "reply_to": elsewhere.id},
        headers=bearer(factories.make_user()),
    )
    assert response.status_code == 400
    assert "reply_to" in response.get_json()["error"]["fields"]
    assert (
        client.get(f"/api/v1/topics/{topic.id}", headers=bearer(factories.make_user())).get_json()[
            "topic"
        ]["posts_count"]
        == 1
    )


def test_reply_to_an_invisible_post_is_not_found(client: FlaskClient, bearer: Callable) -> None:
    topic = factories.make_topic()
    insider = factories.make_user()
    secret = factories.make_group(secret=True, members=(insider,))
    hidden_board = factories.make_board(group=secret)
    hidden_post = factories.make_post(factories.make_topic(hidden_board, insider), insider)
    headers = bearer(factories.make_user())
    path = f"/api/v1/topics/{topic.id}/posts"
    hidden = client.post(path, json={"body": "Hi", "reply_to": hidden_post.id}, headers=headers)
    missing = client.post(path, json={"body": "Hi", "reply_to": 99999}, headers=headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_data() == missing.get_data()


def test_reply_refused_in_locked_topic(client: FlaskClient, bearer: Callable) -> None:
    topic = factories.make_topic()
    topic.locked = True
    db.session.commit()
    response = client.post(
        f"/api/v1/topics/{topic.id}/posts",
        json={"body": "Hi"},
        headers=bearer(factories.make_user()),
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "locked"


def test_silenced_member_reads_but_cannot_write(client: FlaskClient, bearer: Callable) -> None:
    topic = factories.make_topic()
    member = factories.make_user()
    member.silenced_until = utcnow() + timedelta(days=1)
    db.session.commit()
    headers = bearer(member)
    assert client.get(f"/api/v1/topics/{topic.id}", headers=headers).status_code == 200
    response = client.post(f"/api/v1/topics/{topic.id}/posts", json={"body": "Hi"}, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "silenced"


def test_member_silenced_in_a_group_gets_silenced_there_only(
    client: FlaskClient, bearer: Callable
) -> None:
    member = factories.make_user()
    group = factories.make_group(members=(member,))
    board = factories.make_board(group=group)
    topic = factories.make_topic(board, factories.owner_of(group))
    own = factories.make_post(topic, member, body="Written before the silence.")
    sanctions.silence_member(
        factories.actor(factories.owner_of(group)),
        member,
        group=group,
        days=3,
        reason="Heated thread.",
    )
    db.session.commit()
    headers = bearer(member)
    writes = (
        client.post(f"/api/v1/topics/{topic.id}/posts", json={"body": "Hi"}, headers=headers),
        client.post(
            f"/api/v1/boards/{board.id}/topics",
            json={"title": "New one", "body": "Hi"},
            headers=headers,
        ),
        client.patch(f"/api/v1/posts/{own.id}", json={"body": "Changed"}, headers=headers),
    )
    for response in writes:
        assert response.status_code == 403
        error = response.get_json()["error"]
        assert error["code"] == "silenced"
        assert "silenced in this group" in error["message"]
    # Elsewhere they write as before.
    outside = factories.make_topic()
    answer = client.post(f"/api/v1/topics/{outside.id}/posts", json={"body": "Hi"}, headers=headers)
    assert answer.status_code == 201


def test_author_edits_and_revisions_are_kept(client: FlaskClient, bearer: Callable) -> None:
    author = factories.make_user()
    post = factories.make_post(author=author, body="First words")
    headers = bearer(author)
    response = client.patch(
        f"/api/v1/posts/{post.id}", json={"body": "Better words"}, headers=headers
    )
    assert response.status_code == 200
    edited = response.get_json()
    assert edited["body"] == "Better words"
    assert edited["edited_at"] is not None and edited["edited_at"].endswith("Z")
    # A second edit within minutes of the first replaces the text without another
    # revision (the grace period); the original is kept.
    client.patch(f"/api/v1/posts/{post.id}", json={"body": "Best words"}, headers=headers)
    revisions = client.get(f"/api/v1/posts/{post.id}/revisions", headers=headers).get_json()
    assert [(r["number"], r["body"]) for r in revisions["revisions"]] == [(1, "First words")]
    assert "<p>First words</p>" in revisions["revisions"][0]["html"]
    assert revisions["revisions"][0]["redacted"] is False


def test_others_cannot_edit_or_delete(client: FlaskClient, bearer: Callable) -> None:
    post = factories.make_post(body="Mine")
    headers = bearer(factories.make_user())
    assert (
        client.patch(f"/api/v1/posts/{post.id}", json={"body": "x"}, headers=headers).status_code
        == 403
    )
    assert client.delete(f"/api/v1/posts/{post.id}", headers=headers).status_code == 403
    assert client.get(f"/api/v1/posts/{post.id}", headers=headers).get_json()["body"] == "Mine"


def test_delete_keeps_a_placeholder_and_the_text_for_moderators(
    client: FlaskClient, bearer: Callable
) -> None:
    author = factories.make_user()
    post = factories.make_post(author=author, body="Regrettable")
    assert client.delete(f"/api/v1/posts/{post.id}", headers=bearer(author)).status_code == 204
    seen = client.get(f"/api/v1/posts/{post.id}", headers=bearer(factories.make_user())).get_json()
    assert seen["deleted"] is True
    assert seen["body"] is None and seen["html"] is None
    topic = client.get(f"/api/v1/topics/{post.topic_id}", headers=bearer(author)).get_json()
    assert topic["posts"][1]["body"] is None
    assert topic["topic"]["posts_count"] == 1
    moderator = bearer(factories.make_user(moderator=True))
    assert client.get(f"/api/v1/posts/{post.id}", headers=moderator).get_json()["body"] == (
        "Regrettable"
    )


def test_unknown_topics_and_posts_are_not_found(client: FlaskClient, bearer: Callable) -> None:
    headers = bearer(factories.make_user())
    for method, path in (
        ("get", "/api/v1/topics/424242"),
        ("post", "/api/v1/topics/424242/posts"),
        ("get", "/api/v1/posts/424242"),
        ("patch", "/api/v1/posts/424242"),
        ("delete", "/api/v1/posts/424242"),
        ("get", "/api/v1/posts/424242/revisions"),
        ("get", "/api/v1/posts/99999999999999999999"),
        ("get", "/api/v1/posts/-1"),
        ("get", "/api/v1/posts/abc"),
    ):
        response = getattr(client, method)(path, json={"body": "x"}, headers=headers)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"


# --- issue 10: speed limits, rendering limits, redacting a revision -----------------


def test_posting_too_fast_answers_429_with_retry_after(
    app: Flask, client: FlaskClient, bearer: Callable
) -> None:
    app.config["FORUM_RATELIMITS_ON"] = True
    topic = factories.make_topic()
    headers = bearer(factories.make_user(trust_level=0))
    for n in range(2):
        url = f"/api/v1/topics/{topic.id}/posts"
        assert client.post(url, json={"body": f"Quick {n}"}, headers=headers).status_code == 201
    response = client.post(
        f"/api/v1/topics/{topic.id}/posts", json={"body": "Third"}, headers=headers
    )
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_editing_too_often_answers_429_with_retry_after(
    app: Flask, client: FlaskClient, bearer: Callable
) -> None:
    app.config["FORUM_RATELIMITS_ON"] = True
    author = factories.make_user(trust_level=0)
    post = factories.make_post(author=author, body="Start")
    headers = bearer(author)
    for n in range(10):
        edit = client.patch(f"/api/v1/posts/{post.id}", json={"body": f"Edit {n}"}, headers=headers)
        assert edit.status_code == 200
    response = client.patch(f"/api/v1/posts/{post.id}", json={"body": "Edit 10"}, headers=headers)
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 3000


def test_a_post_over_the_rendering_limits_is_400_naming_the_limit(
    client: FlaskClient, bearer: Callable
) -> None:
    topic = factories.make_topic()
    body = "| a |\n|---|\n" + "| x |\n" * 250
    response = client.post(
        f"/api/v1/topics/{topic.id}/posts",
        json={"body": body},
        headers=bearer(factories.make_user()),
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["fields"]["body"].startswith("Tables can have at most 200 rows; this one has 250.")


def _edited_out(client: FlaskClient, headers: dict[str, str], author_post: int) -> None:
    response = client.patch(
        f"/api/v1/posts/{author_post}", json={"body": "I am jr now."}, headers=headers
    )
    assert response.status_code == 200


def test_author_redacts_a_revision_through_the_api(client: FlaskClient, bearer: Callable) -> None:
    author = factories.make_user()
    post = factories.make_post(author=author, body="I am Jane Realname.")
    headers = bearer(author)
    _edited_out(client, headers, post.id)
    url = f"/api/v1/posts/{post.id}/revisions/1/redact"
    response = client.post(url, headers=headers)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["changed"] is True
    revision = answer["revision"]
    assert (revision["number"], revision["body"], revision["html"]) == (1, None, None)
    assert revision["redacted"] is True and revision["redacted_by"] == "author"
    assert revision["redacted_at"].endswith("Z")
    again = client.post(url, json={}, headers=headers).get_json()
    assert again["changed"] is False
    listed = client.get(f"/api/v1/posts/{post.id}/revisions", headers=headers).get_json()
    assert "Realname" not in str(listed)
    assert listed["revisions"][0]["redacted_by"] == "author"


def test_redaction_is_for_the_author_and_moderators_only(
    client: FlaskClient, bearer: Callable
) -> None:
    author = factories.make_user()
    post = factories.make_post(author=author, body="I am Jane Realname.")
    _edited_out(client, bearer(author), post.id)
    url = f"/api/v1/posts/{post.id}/revisions/1/redact"
    reader = client.post(url, headers=bearer(factories.make_user()))
    assert reader.status_code == 403 and reader.get_json()["error"]["code"] == "forbidden"
    # A write with neither a token nor a session cookie: 401 before anything is looked up,
    # so a guest learns nothing about which posts exist.
    assert client.post(url).status_code == 401
    missing = client.post(f"/api/v1/posts/{post.id}/revisions/2/redact", headers=bearer(author))
    assert missing.status_code == 404
    moderator = bearer(factories.make_user(moderator=True))
    bad = client.post(url, json={"reason": "x" * 501}, headers=moderator)
    assert bad.status_code == 400 and "reason" in bad.get_json()["error"]["fields"]
    unknown = client.post(url, json={"why": "x"}, headers=moderator)
    assert unknown.status_code == 400
    done = client.post(url, json={"reason": "A real name"}, headers=moderator)
    assert done.status_code == 200
    assert done.get_json()["revision"]["redacted_by"] == "moderator"
    log = client.get("/api/v1/moderation/log", headers=moderator).get_json()["entries"]
    assert log[0]["action"] == "revision_redacted" and log[0]["reason"] == "A real name"
    assert "Realname" not in str(log)
