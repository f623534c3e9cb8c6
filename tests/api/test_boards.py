"""Boards: listing what one may see, and admins creating and changing them."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from tests import factories


def test_admin_creates_boards_and_sub_boards(client: FlaskClient, bearer: Callable) -> None:
    headers = bearer(factories.make_admin())
    first = client.post(
        "/api/v1/boards", json={"name": "Recovery", "description": "Day by day"}, headers=headers
    )
    assert first.status_code == 201
    board = first.get_json()
    assert board["name"] == "Recovery"
    assert board["description"] == "Day by day"
    assert board["group"] is None
    assert board["parent_id"] is None
    assert board["url"] == f"/b/{board['id']}"
    child = client.post(
        "/api/v1/boards", json={"name": "Mornings", "parent_id": board["id"]}, headers=headers
    )
    assert child.status_code == 201
    assert child.get_json()["parent_id"] == board["id"]
    listed = client.get("/api/v1/boards", headers=headers).get_json()["boards"]
    assert [b["name"] for b in listed] == ["Recovery", "Mornings"]


def test_board_list_in_order_with_counts(client: FlaskClient, bearer: Callable) -> None:
    second = factories.make_board("Second")
    first = factories.make_board("First")
    first_child = factories.make_board("First child", parent=first)
    factories.make_topic(first_child)
    headers = bearer(factories.make_admin())
    client.patch(f"/api/v1/boards/{first.id}", json={"position": 0}, headers=headers)
    listed = client.get("/api/v1/boards", headers=headers).get_json()["boards"]
    assert [b["id"] for b in listed] == [first.id, first_child.id, second.id]
    child = listed[1]
    assert child["topics_count"] == 1
    assert child["posts_count"] == 1
    assert child["last_post_at"].endswith("Z")


def test_board_positions_show_no_gap_where_a_secret_group_has_boards(
    client: FlaskClient, bearer: Callable
) -> None:
    """The positions a member sees run 1, 2, ... in each scope: nothing counts boards they
    cannot see."""
    factories.make_board("Lounge")
    secret = factories.make_group(secret=True)
    factories.make_board("Hidden one", group=secret)
    factories.make_board("Hidden two", group=secret)
    factories.make_board("Kitchen")
    public = factories.make_group("Allotment Club")
    factories.make_board("Allotment", group=public)
    factories.make_board("Seeds", group=public)
    listed = client.get("/api/v1/boards", headers=bearer(factories.make_user())).get_json()
    assert [(b["name"], b["group"], b["position"]) for b in listed["boards"]] == [
        ("Lounge", None, 1),
        ("Kitchen", None, 2),
        ("Allotment", public.slug, 1),
        ("Seeds", public.slug, 2),
    ]


def test_board_group_must_be_a_slug(client: FlaskClient, bearer: Callable) -> None:
    for value in (5, ["family"], {"slug": "family"}):
        response = client.post(
            "/api/v1/boards",
            json={"name": "Private", "group": value},
            headers=bearer(factories.make_admin()),
        )
        assert response.status_code == 400, value
        assert "group" in response.get_json()["error"]["fields"]


def test_admin_renames_and_moves_a_board(client: FlaskClient, bearer: Callable) -> None:
    parent, board = factories.make_board(), factories.make_board("Old name")
    headers = bearer(factories.make_admin())
    response = client.patch(
        f"/api/v1/boards/{board.id}",
        json={"name": "New name", "description": "Now described", "parent_id": parent.id},
        headers=headers,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["name"], body["description"], body["parent_id"]) == (
        "New name",
        "Now described",
        parent.id,
    )
    shown = client.get(f"/api/v1/boards/{board.id}", headers=headers).get_json()
    assert shown == body


def test_board_change_validates_and_changes_nothing(client: FlaskClient, bearer: Callable) -> None:
    board = factories.make_board("Keep me")
    headers = bearer(factories.make_admin())
    response = client.patch(
        f"/api/v1/boards/{board.id}", json={"name": "Fine", "parent_id": board.id}, headers=headers
    )
    assert response.status_code == 400
    assert "parent_id" in response.get_json()["error"]["fields"]
    assert client.get(f"/api/v1/boards/{board.id}", headers=headers).get_json()["name"] == "Keep me"


def test_members_cannot_create_or_change_boards(client: FlaskClient, bearer: Callable) -> None:
    board = factories.make_board()
    headers = bearer(factories.make_user())
    assert client.post("/api/v1/boards", json={"name": "Mine"}, headers=headers).status_code == 403
    response = client.patch(f"/api/v1/boards/{board.id}", json={"name": "Mine"}, headers=headers)
    assert response.status_code == 403
    assert client.post("/api/v1/boards", json={"name": "Mine"}).status_code == 401


def test_unknown_board_is_not_found(client: FlaskClient, bearer: Callable) -> None:
    headers = bearer(factories.make_admin())
    for path in ("/api/v1/boards/999", "/api/v1/boards/999/topics", "/api/v1/boards/0"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.get_json() == {"error": {"code": "not_found", "message": "Not found."}}
    response = client.patch("/api/v1/boards/999", json={"name": "x"}, headers=headers)
    assert response.status_code == 404


def test_guests_see_nothing_by_default(client: FlaskClient) -> None:
    board = factories.make_board()
    topic = factories.make_topic(board)
    assert client.get("/api/v1/boards").get_json() == {"boards": []}
    pairs = [
        (f"/api/v1/boards/{board.id}", "/api/v1/boards/9999"),
        (f"/api/v1/boards/{board.id}/topics", "/api/v1/boards/9999/topics"),
        (f"/api/v1/topics/{topic.id}", "/api/v1/topics/9999"),
        (f"/api/v1/topics/{topic.id}?page=2", "/api/v1/topics/9999?page=2"),
    ]
    for hidden_path, missing_path in pairs:
        hidden, missing = client.get(hidden_path), client.get(missing_path)
        assert hidden.status_code == missing.status_code == 404, hidden_path
        assert hidden.get_data() == missing.get_data(), hidden_path
    latest = client.get("/api/v1/latest").get_json()
    assert latest == {"topics": [], "page": 1, "pages": 1}


def test_guests_read_public_boards_when_allowed(client: FlaskClient) -> None:
    factories.set_settings(guest_access="public_boards")
    board = factories.make_board()
    topic = factories.make_topic(board)
    assert [b["id"] for b in client.get("/api/v1/boards").get_json()["boards"]] == [board.id]
    assert client.get(f"/api/v1/topics/{topic.id}").status_code == 200
    refused = client.post(
        f"/api/v1/boards/{board.id}/topics", json={"title": "Guest topic", "body": "Hi"}
    )
    assert refused.status_code == 401


def test_secret_group_board_is_absent_everywhere_for_an_admin_outside_it(
    client: FlaskClient, bearer: Callable
) -> None:
    member = factories.make_user()
    secret = factories.make_group(secret=True, members=(member,))
    shown, hidden = factories.make_board(), factories.make_board(group=secret)
    topic = factories.make_topic(hidden, member)
    post = factories.make_post(topic, member)
    headers = bearer(factories.make_admin())
    assert [
        b["id"] for b in client.get("/api/v1/boards", headers=headers).get_json()["boards"]
    ] == [shown.id]
    assert client.get("/api/v1/latest", headers=headers).get_json()["topics"] == []
    missing = client.get("/api/v1/posts/99999", headers=headers).get_data()
    for path in (
        f"/api/v1/boards/{hidden.id}",
        f"/api/v1/topics/{topic.id}",
        f"/api/v1/posts/{post.id}",
        f"/api/v1/posts/{post.id}/revisions",
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.get_data() == missing, path
    writes = [
        client.post(f"/api/v1/topics/{topic.id}/posts", json={"body": "hi"}, headers=headers),
        client.patch(f"/api/v1/posts/{post.id}", json={"body": "hi"}, headers=headers),
        client.delete(f"/api/v1/posts/{post.id}", headers=headers),
        client.post(
            f"/api/v1/boards/{hidden.id}/topics",
            json={"title": "abc", "body": "x"},
            headers=headers,
        ),
        client.patch(f"/api/v1/boards/{hidden.id}", json={"name": "x"}, headers=headers),
    ]
    assert [w.status_code for w in writes] == [404] * 5
    assert all(w.get_data() == missing for w in writes)
