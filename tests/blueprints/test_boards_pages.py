"""The board index, board pages, starting topics, the latest list, and what guests see."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from forum.extensions import db
from forum.models.topics import Topic
from forum.models.users import User
from tests import factories
from tests.blueprints.conftest import flat


def _titles(html: str) -> list[str]:
    return re.findall(r'class="title" href="/t/\d+">([^<]+)</a>', html)


def test_board_index_shows_counts_sub_boards_and_latest_topic(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    board = factories.make_board("Staying well", description="Day to day.")
    factories.make_board("Mornings", parent=board)
    factories.make_topic(board, title="First steps")
    latest = factories.make_topic(board, title="Good days")
    factories.make_post(latest)
    factories.make_post(latest)
    login_as(factories.make_user())
    text = flat(client.get("/").text)
    assert "Staying well" in text and "Day to day." in text
    assert "Sub-boards: Mornings" in text
    assert "2 topics · 4 posts" in text
    assert f'href="/t/{latest.id}">Good days' in client.get("/").text


def test_board_page_lists_pinned_first_then_latest_activity_in_pages(
    app: Flask, client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    app.config["FORUM_TOPICS_PER_PAGE"] = 3
    board = factories.make_board()
    # Trust level 1: a new member could start only 3 topics a day.
    author = factories.make_user(trust_level=1)
    topics = [factories.make_topic(board, author, title=f"Topic {n}") for n in range(5)]
    topics[0].pinned = True
    db.session.commit()
    factories.make_post(topics[1])  # topic 1 becomes the most recently active
    login_as(author)
    first = client.get(f"/b/{board.id}")
    assert _titles(first.text) == ["Topic 0", "Topic 1", "Topic 4"]
    assert "Page 1 of 2" in first.text and 'rel="next"' in first.text
    second = client.get(f"/b/{board.id}?page=2")
    assert _titles(second.text) == ["Topic 3", "Topic 2"]
    for odd in ("abc", "-2", "0", "1.5", "9" * 30):
        assert _titles(client.get(f"/b/{board.id}?page={odd}").text)[0] == "Topic 0", odd
    beyond = client.get(f"/b/{board.id}?page=7")
    assert beyond.status_code == 200
    assert _titles(beyond.text) == []
    assert f'href="/b/{board.id}?page=2"' in beyond.text


def test_board_page_offers_new_topic_to_members_only(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    board = factories.make_board()
    factories.set_settings(guest_access="public_boards")
    assert "New topic" not in client.get(f"/b/{board.id}").text
    new = client.get(f"/b/{board.id}/new")
    assert new.status_code == 302 and "/login" in new.headers["Location"]
    login_as(factories.make_user())
    assert f'href="/b/{board.id}/new"' in client.get(f"/b/{board.id}").text


def test_start_topic_then_read_it(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    board = factories.make_board()
    login_as(factories.make_user("alice"))
    assert client.get(f"/b/{board.id}/new").status_code == 200
    response = client.post(
        f"/b/{board.id}/new", data={"title": "A hard week", "body": "Some **good** news too."}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "<h1>A hard week</h1>" in page.text
    assert "<strong>good</strong>" in page.text


def test_start_topic_with_bad_title_keeps_the_text(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    board = factories.make_board()
    login_as(factories.make_user())
    body = "A long thought I do not want to lose <b>here</b>."
    response = client.post(f"/b/{board.id}/new", data={"title": "Hi", "body": body})
    assert response.status_code == 400
    assert "Title must be at least 3 characters." in response.text
    assert 'value="Hi"' in response.text
    assert "A long thought I do not want to lose &lt;b&gt;here&lt;/b&gt;." in response.text
    empty = client.post(f"/b/{board.id}/new", data={"title": "Fine title", "body": "  "})
    assert empty.status_code == 400 and "Your post is empty: write something first." in empty.text
    assert db.session.scalar(select(func.count()).select_from(Topic)) == 0


def test_latest_lists_topics_from_every_board(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    older = factories.make_topic(factories.make_board("One"), title="Older topic")
    factories.make_topic(factories.make_board("Two"), title="Newer topic")
    factories.make_post(older)
    login_as(factories.make_user())
    assert _titles(client.get("/latest").text) == ["Older topic", "Newer topic"]


def test_guest_sees_a_welcome_and_no_boards_when_guests_read_nothing(
    client: FlaskClient,
) -> None:
    board = factories.make_board("Secret name")
    factories.make_topic(board, title="Private topic")
    front = client.get("/")
    assert front.status_code == 200
    assert 'href="/login"' in front.text and 'href="/register"' in front.text
    assert 'href="/help"' in front.text
    assert "Secret name" not in front.text
    assert "Private topic" not in client.get("/latest").text
    assert client.get("/help").status_code == 200


@pytest.mark.parametrize("path", ["/b/{board}", "/t/{topic}", "/p/{post}", "/b/{board}/new"])
def test_guest_gets_the_same_login_invitation_for_hidden_and_missing_things(
    client: FlaskClient, path: str
) -> None:
    """Where guests read nothing, a saved link said "Not found... the page may have
    moved": a logged-out member thought the forum was gone. Now every page invites them
    to log in and come back, alike for what exists and what does not."""
    topic = factories.make_topic()
    ids = {"board": topic.board_id, "topic": topic.id, "post": topic.id}
    asked = [
        path.format(**ids),
        path.format(board=999999, topic=999999, post=999999),
        path.format(board=10**20, topic=10**20, post=10**20),
    ]
    answers = [client.get(p) for p in asked]
    for wanted, answer in zip(asked, answers, strict=True):
        assert answer.status_code == 302
        assert answer.headers["Location"] == f"/login?next={wanted}"
    assert len({a.text.replace(p, "<PATH>") for a, p in zip(answers, asked, strict=True)}) == 1
    invitation = client.get(answers[0].headers["Location"])
    assert "log in to read this forum" in invitation.text
    assert f'name="next" value="{asked[0]}"' in invitation.text


@pytest.mark.parametrize("path", ["/b/{board}", "/t/{topic}", "/p/{post}", "/b/{board}/new"])
def test_guest_gets_the_same_404_offering_login_where_guests_read_public_boards(
    client: FlaskClient, path: str
) -> None:
    factories.set_settings(guest_access="public_boards")
    group = factories.make_group(secret=True)
    topic = factories.make_topic(factories.make_board(group=group), factories.owner_of(group))
    ids = {"board": topic.board_id, "topic": topic.id, "post": topic.id}
    secret, missing = path.format(**ids), path.format(board=999999, topic=999999, post=999999)
    hidden, absent = client.get(secret), client.get(missing)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.text.replace(secret, "<PATH>") == absent.text.replace(missing, "<PATH>")
    assert f'href="/login?next={secret}"' in hidden.text


def test_guest_can_read_when_boards_are_public(client: FlaskClient) -> None:
    factories.set_settings(guest_access="public_boards")
    topic = factories.make_topic(factories.make_board("Open board"), body="Hello, readers.")
    assert "Open board" in client.get("/").text
    assert client.get(f"/b/{topic.board_id}").status_code == 200
    page = client.get(f"/t/{topic.id}")
    assert page.status_code == 200
    assert "Hello, readers." in page.text
    assert 'name="body"' not in page.text
    assert "to reply" in flat(page.text)
    # Profiles stay members-only even then.
    assert client.get(f"/u/{topic.author.username}").status_code == 404


def test_new_members_daily_topic_cap_keeps_the_text(client, login_as):
    board = factories.make_board()
    newcomer = factories.make_newcomer()
    login_as(newcomer)
    for number in range(3):
        response = client.post(
            f"/b/{board.id}/new", data={"title": f"Topic {number}", "body": "Hello there"}
        )
        assert response.status_code == 302
    response = client.post(
        f"/b/{board.id}/new", data={"title": "A fourth one", "body": "Words I keep"}
    )
    assert response.status_code == 429
    assert response.headers["Retry-After"]
    page = response.get_data(as_text=True)
    assert "Words I keep" in page and "A fourth one" in page and "New members" in page


@pytest.mark.parametrize("page", ["²", "٣", "-1", "1e3", "99999999", ""])
def test_odd_page_numbers_show_the_first_page(client, login_as, page):
    board = factories.make_board()
    login_as(factories.make_user())
    assert client.get(f"/b/{board.id}", query_string={"page": page}).status_code == 200
