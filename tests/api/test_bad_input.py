"""Bad input: each gets a 400 (or 404/405/413) in the contract's shape and changes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from forum.models.boards import Board
from forum.models.topics import Topic
from tests import factories

JSON_TYPE = {"Content-Type": "application/json"}

RAW_BODIES = {
    "malformed": b'{"title": "A title", "body": ',
    "empty": b"",
    "array": b'["A title", "Hello"]',
    "string": b'"A title"',
    "number": b"5",
    "null": b"null",
    "invalid_utf8": b'{"title": "A title \xff\xfe", "body": "Hello"}',
    "latin1": '{"title": "Caf\u00e9 talk", "body": "Hello"}'.encode("latin-1"),
    "raw_nul": b'{"title": "A ti\x00tle", "body": "Hello"}',
    "nan": b'{"title": "A title", "body": "Hello", "reply_to": NaN}',
    "deep": b"[" * 5000 + b"]" * 5000,
    "trailing_garbage": b'{"title": "A title", "body": "Hello"} x',
}

FIELD_CASES = {
    "title_number": ({"title": 5, "body": "Hello"}, "title"),
    "title_object": ({"title": {"a": 1}, "body": "Hello"}, "title"),
    "body_null": ({"title": "A title", "body": None}, "body"),
    "body_list": ({"title": "A title", "body": ["Hello"]}, "body"),
    "title_nul": ({"title": "A ti\x00tle", "body": "Hello"}, "title"),
    "body_nul": ({"title": "A title", "body": "Hel\x00lo"}, "body"),
    "title_short": ({"title": "ab", "body": "Hello"}, "title"),
    "title_long": ({"title": "x" * 201, "body": "Hello"}, "title"),
    "body_blank": ({"title": "A title", "body": "   "}, "body"),
    "body_long": ({"title": "A title", "body": "x" * 50_001}, "body"),
    "unknown_field": ({"title": "A title", "body": "Hello", "tags": ["x"]}, "tags"),
    "missing_fields": ({}, "title"),
}


@pytest.fixture
def board_and_headers(bearer: Callable) -> tuple[Board, dict[str, str]]:
    return factories.make_board(), bearer(factories.make_user())


def _topic_count() -> int:
    from forum.extensions import db

    return len(db.session.scalars(db.select(Topic.id)).all())


@pytest.mark.parametrize("case", sorted(RAW_BODIES))
def test_unreadable_body_is_refused(
    client: FlaskClient, board_and_headers: tuple[Board, dict[str, str]], case: str
) -> None:
    board, headers = board_and_headers
    response = client.post(
        f"/api/v1/boards/{board.id}/topics",
        data=RAW_BODIES[case],
        headers={**headers, **JSON_TYPE},
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert error["message"]
    assert error["fields"]
    assert _topic_count() == 0


@pytest.mark.parametrize("case", sorted(FIELD_CASES))
def test_bad_field_is_named(
    client: FlaskClient, board_and_headers: tuple[Board, dict[str, str]], case: str
) -> None:
    board, headers = board_and_headers
    payload, field = FIELD_CASES[case]
    response = client.post(f"/api/v1/boards/{board.id}/topics", json=payload, headers=headers)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert _topic_count() == 0


def test_escaped_lone_surrogate_is_refused(
    client: FlaskClient, board_and_headers: tuple[Board, dict[str, str]]
) -> None:
    board, headers = board_and_headers
    response = client.post(
        f"/api/v1/boards/{board.id}/topics",
        data=b'{"title": "A title \\ud800", "body": "Hello"}',
        headers={**headers, **JSON_TYPE},
    )
    assert response.status_code == 400
    assert "title" in response.get_json()["error"]["fields"]


def test_escaped_nul_in_a_key_is_refused(
    client: FlaskClient, board_and_headers: tuple[Board, dict[str, str]]
) -> None:
    board, headers = board_and_headers
    response = client.post(
        f"/api/v1/boards/{board.id}/topics",
        data=b'{"title": "A title", "body": "Hello", "x\\u0000": 1}',
        headers={**headers, **JSON_TYPE},
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "reply_to",
    # Issue 10: "²" and the Arabic-Indic "١٢" pass str.isdigit() but not int(), and int()
    # refuses more than 4,300 digits: each was a 500.
    ["abc", 1.5, True, 2**40, -(2**40), [1], {"id": 1}, "²", "١٢", "--5", "9" * 5000],
)
def test_bad_reply_to_is_invalid(client: FlaskClient, bearer: Callable, reply_to: object) -> None:
    topic = factories.make_topic()
    response = client.post(
        f"/api/v1/topics/{topic.id}/posts",
        json={"body": "Hello", "reply_to": reply_to},
        headers=bearer(factories.make_user()),
    )
    assert response.status_code == 400
    assert "reply_to" in response.get_json()["error"]["fields"]


def test_huge_numbers_in_board_changes_are_invalid(client: FlaskClient, bearer: Callable) -> None:
    board = factories.make_board()
    headers = bearer(factories.make_admin())
    for payload in ({"position": 10**30}, {"parent_id": 10**19}, {"position": -1}):
        response = client.patch(f"/api/v1/boards/{board.id}", json=payload, headers=headers)
        assert response.status_code == 400, payload


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "", " 1", "1e3", "99999999", "\u0661"])
def test_bad_page_is_invalid(client: FlaskClient, bearer: Callable, page: str) -> None:
    board = factories.make_board()
    headers = bearer(factories.make_user())
    for path in (f"/api/v1/boards/{board.id}/topics", "/api/v1/latest"):
        response = client.get(path, query_string={"page": page}, headers=headers)
        assert response.status_code == 400, (path, page)
        assert "page" in response.get_json()["error"]["fields"]


def test_too_large_body_is_413(client: FlaskClient, bearer: Callable) -> None:
    board = factories.make_board()
    big = b'{"title": "A title", "body": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post(
        f"/api/v1/boards/{board.id}/topics",
        data=big,
        headers={**bearer(factories.make_user()), **JSON_TYPE},
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def test_unknown_routes_and_methods_answer_json(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json() == {"error": {"code": "not_found", "message": "Not found."}}
    wrong = client.put("/api/v1/boards")
    assert wrong.status_code == 405
    assert wrong.get_json()["error"]["code"] == "method_not_allowed"


def test_login_with_wrong_types_is_invalid(client: FlaskClient) -> None:
    for payload in ({"username": 5, "password": "x"}, {"username": "alice"}, {}):
        response = client.post("/api/v1/auth/token", json=payload)
        assert response.status_code == 400, payload
        assert response.get_json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("value", ["²", "9" * 5000, "--1"])
def test_odd_digits_in_invitation_numbers_are_invalid_not_a_500(
    client: FlaskClient, bearer: Callable, value: str
) -> None:
    group = factories.make_group()
    response = client.post(
        f"/api/v1/groups/{group.slug}/invitations",
        json={"max_uses": value, "expires_in_hours": value},
        headers=bearer(factories.owner_of(group)),
    )
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) & {"max_uses", "expires_in_hours"}
