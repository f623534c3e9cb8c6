"""GET /api/v1/search: the contract's shape, filters, paging, who may search, and bad
input (400 with fields, never a 500). Backend-agnostic, like the page tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum.extensions import db
from forum.models.posts import Post
from forum.models.users import User
from forum.moderation import actions
from tests import factories
from tests.api.test_openapi import _conforms
from tests.search.test_search_pages import index

URL = "/api/v1/search"
Bearer = Callable[[User], dict[str, str]]


@pytest.fixture
def bearer(app: Flask) -> Bearer:
    """`Authorization` headers with a fresh API token for the member."""
    from forum.services import accounts

    def _headers(user: User) -> dict[str, str]:
        token = accounts.issue_api_token(user)
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return _headers


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    """Two site boards with posts about bees, and a reader."""
    reader = factories.make_user("reader", trust_level=1)
    keeper = factories.make_user("keeper", trust_level=1)
    hives = factories.make_board("Hives")
    garden = factories.make_board("Garden")
    topic = factories.make_topic(hives, keeper, title="Swarming bees", body="The bees absconded.")
    reply = factories.make_post(topic, reader, body="Catch the bees in a box.")
    other = factories.make_topic(garden, reader, title="Plants for bees", body="Lavender.")
    index(app)
    return {
        "reader": reader,
        "keeper": keeper,
        "hives": hives,
        "garden": garden,
        "topic": topic,
        "reply": reply,
        "other": other,
    }


def _first(topic_id: int) -> int:
    found = db.session.scalar(
        db.select(Post.id).where(Post.topic_id == topic_id).order_by(Post.id).limit(1)
    )
    assert found is not None
    return found


def _ids(body: dict[str, Any]) -> set[int]:
    return {r["post_id"] for r in body["results"]}


def test_search_answers_the_contract_shape(
    client: FlaskClient, bearer: Bearer, world: dict[str, Any]
) -> None:
    response = client.get(f"{URL}?q=absconded", headers=bearer(world["reader"]))
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"results", "total", "total_exact", "page", "pages", "suggestion"}
    assert body["total_exact"] is True
    assert (body["total"], body["page"], body["pages"]) == (1, 1, 1)
    (result,) = body["results"]
    topic = world["topic"]
    post_id = _first(topic.id)
    assert result == {
        "post_id": post_id,
        "topic_id": topic.id,
        "title": "Swarming bees",
        "snippet": result["snippet"],
        "board_id": world["hives"].id,
        "board": "Hives",
        "author": "keeper",
        "created_at": result["created_at"],
        "url": f"/p/{post_id}",
    }
    assert "<mark>" in result["snippet"].lower() and "absconded" in result["snippet"].lower()
    assert result["created_at"].endswith("Z")
    datetime.strptime(result["created_at"], "%Y-%m-%dT%H:%M:%SZ")


def test_search_answer_matches_the_openapi_document(
    client: FlaskClient, bearer: Bearer, world: dict[str, Any]
) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/search"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "q",
        "board",
        "author",
        "since",
        "until",
        "topic",
        "mine",
        "page",
    }
    headers = bearer(world["reader"])
    for path in (f"{URL}?q=bees", f"{URL}?q=zzzqqq", f"{URL}?q=bees&page=9"):
        response = client.get(path, headers=headers)
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        _conforms(doc, schema, response.get_json(), path)
    bad = client.get(f"{URL}?q=", headers=headers)
    assert "400" in operation["responses"]
    _conforms(doc, {"$ref": "#/components/schemas/Error"}, bad.get_json(), "400")


def test_snippets_are_escaped_html_with_marks_only(
    app: Flask, client: FlaskClient, bearer: Bearer, world: dict[str, Any]
) -> None:
    factories.make_topic(
        world["hives"],
        world["keeper"],
        title="<i>Queen</i> & drones",
        body="Drones <script>alert(1)</script> & workers",
    )
    index(app)
    body = client.get(f"{URL}?q=drones", headers=bearer(world["reader"])).get_json()
    (result,) = body["results"]
    assert result["title"] == "<i>Queen</i> & drones"  # JSON: plain text, not HTML
    snippet = result["snippet"]
    assert "<script>" not in snippet
    without_marks = snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in without_marks and "&amp;" in without_marks


def test_filters_board_author_topic_and_dates(
    client: FlaskClient, bearer: Bearer, world: dict[str, Any]
) -> None:
    headers = bearer(world["reader"])

    def ids(query: str) -> set[int]:
        response = client.get(f"{URL}?q=bees&{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return _ids(response.get_json())

    topic_first, reply, other_first = (
        _first(world["topic"].id),
        world["reply"].id,
        _first(world["other"].id),
    )
    assert ids("") == {topic_first, reply, other_first}
    assert ids(f"board={world['garden'].id}") == {other_first}
    assert ids("author=reader") == {reply, other_first}
    assert ids("author=READER") == {reply, other_first}
    assert ids(f"topic={world['topic'].id}") == {topic_first, reply}
    today = datetime.now(UTC).date()
    assert ids(f"since={today}&until={today}") == {topic_first, reply, other_first}
    assert ids(f"since={today + timedelta(days=1)}") == set()
    assert ids(f"until={today - timedelta(days=1)}") == set()


def test_mine_restricts_to_the_readers_groups(
    app: Flask, client: FlaskClient, bearer: Bearer, world: dict[str, Any]
) -> None:
    reader = world["reader"]
    group = factories.make_group("Apiarists", members=(reader,))
    board = factories.make_board("Apiary", group=group)
    topic = factories.make_topic(board, reader, title="Bees in the apiary")
    index(app)
    headers = bearer(reader)
    assert _ids(client.get(f"{URL}?q=bees&mine=1", headers=headers).get_json()) == {
        _first(topic.id)
    }
    assert len(_ids(client.get(f"{URL}?q=bees&mine=0", headers=headers).get_json())) == 4


def test_invisible_filters_find_nothing_exactly_like_missing_ones(
    app: Flask, client: FlaskClient, bearer: Bearer, world: dict[str, Any]
) -> None:
    insider = factories.make_user("insider7", trust_level=1)
    group = factories.make_group("Hidden hive", secret=True, members=(insider,))
    board = factories.make_board("Hidden room", group=group)
    topic = factories.make_topic(board, insider, title="Secret bees", body="Bees inside.")
    index(app)
    headers = bearer(world["reader"])
    pairs = [
        (f"board={board.id}", "board=987654"),
        (f"topic={topic.id}", "topic=987654"),
        ("author=insider7", "author=nobody7x"),
    ]
    for secret, missing in pairs:
        mine = client.get(f"{URL}?q=bees&{secret}", headers=headers)
        theirs = client.get(f"{URL}?q=bees&{missing}", headers=headers)
        assert mine.status_code == theirs.status_code == 200, secret
        assert (
            mine.get_json()
            == theirs.get_json()
            == {
                "results": [],
                "total": 0,
                "total_exact": True,
                "page": 1,
                "pages": 1,
                "suggestion": None,
            }
        ), secret
    # The positive control: the member finds it through each filter.
    member = bearer(insider)
    for secret, _missing in pairs:
        body = client.get(f"{URL}?q=bees&{secret}", headers=member).get_json()
        assert _ids(body) == {_first(topic.id)}, secret


def test_paging_and_a_page_beyond_the_last(
    app: Flask, client: FlaskClient, bearer: Bearer, world: dict[str, Any]
) -> None:
    for number in range(22):
        factories.make_post(world["topic"], world["keeper"], body=f"Honey jar {number}.")
    index(app)
    headers = bearer(world["reader"])
    first = client.get(f"{URL}?q=honey", headers=headers).get_json()
    second = client.get(f"{URL}?q=honey&page=2", headers=headers).get_json()
    beyond = client.get(f"{URL}?q=honey&page=3", headers=headers).get_json()
    assert (first["total"], first["page"], first["pages"], len(first["results"])) == (22, 1, 2, 20)
    assert (second["page"], len(second["results"])) == (2, 2)
    assert not _ids(first) & _ids(second)
    assert beyond == {
        "results": [],
        "total": 22,
        "total_exact": True,
        "page": 3,
        "pages": 2,
        "suggestion": None,
    }


def test_guests_may_search_what_they_may_read(client: FlaskClient, world: dict[str, Any]) -> None:
    factories.set_settings(guest_access="none")
    none = client.get(f"{URL}?q=bees")
    assert none.status_code == 200
    assert (none.get_json()["results"], none.get_json()["total"]) == ([], 0)
    factories.set_settings(guest_access="public_boards")
    body = client.get(f"{URL}?q=bees").get_json()
    assert body["total"] == 3


def test_hidden_posts_are_found_by_moderators_in_scope_only(
    client: FlaskClient, app: Flask, bearer: Bearer, world: dict[str, Any]
) -> None:
    moderator = factories.make_user("beemod", moderator=True, trust_level=2)
    hidden = factories.make_post(world["topic"], world["keeper"], body="Varroa mites everywhere.")
    actions.hide_post(factories.actor(moderator), hidden, reason="Needs checking.")
    db.session.commit()
    index(app)
    for who, expected in ((world["reader"], set()), (moderator, {hidden.id})):
        body = client.get(f"{URL}?q=varroa", headers=bearer(who)).get_json()
        assert _ids(body) == expected
        assert body["total"] == len(expected)
    guest = client.get(f"{URL}?q=varroa").get_json()
    assert guest["total"] == 0


def test_spelling_suggestion_when_the_backend_offers_one(
    app: Flask, client: FlaskClient, bearer: Bearer, world: dict[str, Any]
) -> None:
    body = client.get(f"{URL}?q=swarmin", headers=bearer(world["reader"])).get_json()
    if app.config["FORUM_SEARCH_BACKEND"] == "whoosh":
        assert body["suggestion"] is not None
    else:
        assert body["suggestion"] is None


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "q"),
        ("q=", "q"),
        ("q=%20%20", "q"),
        ("q=%00%00", "q"),
        ('q="', "q"),
        ('q="""', "q"),
        ("q=" + "x" * 2000, "q"),
        ("q=" + "x" * 201, "q"),
        ("q=bees&page=-1", "page"),
        ("q=bees&page=0", "page"),
        ("q=bees&page=1000000000", "page"),
        ("q=bees&page=abc", "page"),
        ("q=bees&page=%C2%B2", "page"),
        ("q=bees&board=%C2%B2", "board"),
        ("q=bees&since=yesterday", "since"),
        ("q=bees&since=2024-13-45", "since"),
        ("q=bees&until=2024-02-30", "until"),
        # Issue 10: the day after 9999-12-31 overflowed (500).
        ("q=bees&until=9999-12-31", "until"),
        ("q=bees&since=9999-12-31", "since"),
        ("q=bees&since=0001-01-01", "since"),
        ("q=bees&until=0000-01-01", "until"),
        ("q=bees&board=hives", "board"),
        ("q=bees&board=99999999999", "board"),
        ("q=bees&topic=-1", "topic"),
        ("q=bees&topic=1.5", "topic"),
        ("q=bees&mine=maybe", "mine"),
    ],
)
def test_bad_input_answers_400_naming_the_field(
    client: FlaskClient, bearer: Bearer, world: dict[str, Any], query: str, field: str
) -> None:
    response = client.get(f"{URL}?{query}", headers=bearer(world["reader"]))
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert error["fields"][field]


@pytest.mark.parametrize(
    "q",
    [
        "AND OR NOT",
        "title:bees",
        "bee* swar?",
        "(bees] {hive}",
        "bees^3 hive~2",
        '"bees',
        'absconded "the bees',
        "-",
        "- -- ---bees",
        "'; DROP TABLE posts; --",
        "\\",
        "bees\x00",
        "b\x00ees",
        "🐝 bees",
        "x" * 200,
    ],
)
def test_syntax_characters_and_quotes_never_fail(
    client: FlaskClient, bearer: Bearer, world: dict[str, Any], q: str
) -> None:
    response = client.get(URL, query_string={"q": q}, headers=bearer(world["reader"]))
    assert response.status_code == 200, (q, response.get_json())
    body = response.get_json()
    assert body["total"] >= len(body["results"])


def test_unbalanced_quote_is_closed(
    client: FlaskClient, bearer: Bearer, world: dict[str, Any]
) -> None:
    body = client.get(
        URL, query_string={"q": '"catch the bees'}, headers=bearer(world["reader"])
    ).get_json()
    assert _ids(body) == {world["reply"].id}


def test_a_query_with_only_control_characters_is_empty(
    client: FlaskClient, bearer: Bearer, world: dict[str, Any]
) -> None:
    response = client.get(
        URL, query_string={"q": "\x01\x02\u200b"}, headers=bearer(world["reader"])
    )
    assert response.status_code == 400
    assert "q" in response.get_json()["error"]["fields"]
