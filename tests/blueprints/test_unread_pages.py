"""Unread tracking on the pages (issue 13): positions, "N new" marks, opening a topic at
the first unread post with a divider, the /unread and /new lists, the moderators' count."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum import unread
from forum.extensions import db
from forum.models.activity import TopicRead
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.services import groups as group_service
from tests import factories
from tests.blueprints.conftest import StatementCounter
from tests.blueprints.conftest import flat

pytestmark = pytest.mark.app_config(FORUM_POSTS_PER_PAGE=5)

Login = Callable[[User], FlaskClient]


def _topic_with(
    posts: int, board: Board | None = None, title: str | None = None, by: User | None = None
) -> Topic:
    """A topic of `posts` posts (the first included) by other members (or `by`)."""
    topic = factories.make_topic(board, by, title=title)
    for _ in range(posts - 1):
        factories.make_post(topic, by)
    return topic


def _position(user: User, topic: Topic) -> int | None:
    found: int | None = db.session.scalar(
        select(TopicRead.last_read_number).where(
            TopicRead.user_id == user.id, TopicRead.topic_id == topic.id
        )
    )
    return found


def _post_id(topic: Topic, number: int) -> int:
    found: int = db.session.scalar(
        select(Post.id).where(Post.topic_id == topic.id, Post.number == number)
    )
    return found


def _mark_of(html: str, topic_id: int) -> str:
    """The text of the topic's row in a topic list."""
    match = re.search(rf'<li>\s*<a class="title" href="/t/{topic_id}">(.*?)</li>', html, re.S)
    assert match is not None, f"topic {topic_id} not listed"
    return flat(match.group(1))


def test_reading_page_one_of_three_leaves_the_rest_unread(
    client: FlaskClient, login_as: Login
) -> None:
    topic = _topic_with(12)
    reader = factories.make_user()
    login_as(reader)
    first = client.get(f"/t/{topic.id}")
    # Never opened: page 1, no redirect, no divider.
    assert first.status_code == 200
    assert "New since your last visit" not in first.text
    assert _position(reader, topic) == 5
    board = client.get(f"/b/{topic.board_id}")
    assert "7 new" in _mark_of(board.text, topic.id)
    assert 'class="unread-mark"' in board.text


def test_opening_a_topic_goes_to_the_first_unread_post_with_a_divider(
    client: FlaskClient, login_as: Login
) -> None:
    topic = _topic_with(12)
    reader = factories.make_user()
    login_as(reader)
    client.get(f"/t/{topic.id}")
    again = client.get(f"/t/{topic.id}")
    sixth = _post_id(topic, 6)
    assert again.status_code == 302
    assert again.headers["Location"].endswith(f"/t/{topic.id}?page=2#p{sixth}")
    page = client.get(f"/t/{topic.id}?page=2")
    divider = page.text.index("New since your last visit")
    assert '<h2 class="new-since"' in page.text
    # Right before the first unread post, and only once.
    assert page.text.index(f'id="p{sixth}"') > divider
    assert page.text.count("New since your last visit") == 1
    assert _position(reader, topic) == 10
    # The divider is per reader, never in the cached page: another reader, who read
    # nothing, gets the same page without it.
    other = factories.make_user()
    login_as(other)
    plain = client.get(f"/t/{topic.id}?page=2")
    assert "New since your last visit" not in plain.text


def test_positions_only_move_forward(client: FlaskClient, login_as: Login) -> None:
    topic = _topic_with(12)
    reader = factories.make_user()
    login_as(reader)
    client.get(f"/t/{topic.id}?page=3")
    assert _position(reader, topic) == 12
    client.get(f"/t/{topic.id}?page=1")
    assert _position(reader, topic) == 12


def test_a_topic_read_to_the_end_opens_at_page_one(client: FlaskClient, login_as: Login) -> None:
    topic = _topic_with(7)
    reader = factories.make_user()
    login_as(reader)
    client.get(f"/t/{topic.id}?page=2")
    assert _position(reader, topic) == 7
    page = client.get(f"/t/{topic.id}")
    assert page.status_code == 200
    assert "New since your last visit" not in page.text
    board = client.get(f"/b/{topic.board_id}")
    assert "new" not in _mark_of(board.text, topic.id).lower()


def test_a_reply_after_reading_shows_as_one_new_on_board_and_latest(
    client: FlaskClient, login_as: Login
) -> None:
    topic = _topic_with(3)
    reader = factories.make_user()
    login_as(reader)
    client.get(f"/t/{topic.id}")
    factories.make_post(topic)
    for path in (f"/b/{topic.board_id}", "/latest"):
        row = _mark_of(client.get(path).text, topic.id)
        assert "1 new unread post" in row, (path, row)


def test_never_opened_recent_topics_are_marked_new_and_guests_see_no_marks(
    client: FlaskClient, login_as: Login
) -> None:
    topic = _topic_with(2)
    old = _topic_with(1, board=topic.board)
    old.created_at = utcnow() - timedelta(days=unread.NEW_TOPIC_DAYS + 1)
    db.session.commit()
    guest_page = client.get(f"/b/{topic.board_id}")
    factories.set_settings(guest_access="public_boards")
    guest_page = client.get(f"/b/{topic.board_id}")
    assert guest_page.status_code == 200
    assert "unread-mark" not in guest_page.text
    assert "<!--" not in guest_page.text
    login_as(factories.make_user())
    page = client.get(f"/b/{topic.board_id}").text
    assert "New topic, not opened yet" in _mark_of(page, topic.id)
    assert "new" not in _mark_of(page, old.id).lower()


def test_own_topics_are_never_new(client: FlaskClient, login_as: Login) -> None:
    author = factories.make_user()
    topic = factories.make_topic(author=author)
    login_as(author)
    assert "new" not in _mark_of(client.get(f"/b/{topic.board_id}").text, topic.id).lower()


def test_marks_cost_one_query_on_a_board_page(
    app: Flask, client: FlaskClient, login_as: Login, count_statements: StatementCounter
) -> None:
    board = factories.make_board()
    for _ in range(8):
        _topic_with(2, board=board)
    reader = factories.make_user()
    login_as(reader)
    client.get(f"/b/{board.id}")  # warm: the member's first page, the list cached
    count_statements.statements.clear()
    client.get(f"/b/{board.id}")
    reads = [q for q in count_statements.queries if "topic_reads" in q]
    assert len(reads) == 1, reads


def test_unread_and_new_lists_and_marking_all_read(client: FlaskClient, login_as: Login) -> None:
    opened = _topic_with(3, title="Opened and answered since")
    fresh = _topic_with(1, title="Never opened at all")
    reader = factories.make_user()
    login_as(reader)
    client.get(f"/t/{opened.id}")
    factories.make_post(opened)
    unread_page = client.get("/unread")
    assert "Opened and answered since" in unread_page.text
    assert "Never opened at all" not in unread_page.text
    assert "1 new" in _mark_of(unread_page.text, opened.id)
    new_page = client.get("/new")
    assert "Never opened at all" in new_page.text
    assert "Opened and answered since" not in new_page.text
    done = client.post("/unread/read")
    assert done.status_code == 302
    assert _position(reader, opened) == 4
    assert "Nothing unread." in client.get("/unread").text
    client.post("/new/dismiss")
    assert "No new topics." in client.get("/new").text
    # Dismissing wrote no read rows (they count for trust levels).
    assert _position(reader, fresh) is None
    later = _topic_with(1, title="Started after dismissing")
    assert "Started after dismissing" in client.get("/new").text
    assert later.id


def test_unread_lists_are_for_members(client: FlaskClient) -> None:
    for path in ("/unread", "/new"):
        assert client.get(path).status_code in (302, 401, 403)
    assert client.post("/unread/read").status_code in (302, 401, 403)


def test_topics_of_a_group_that_removed_me_leave_my_lists(
    client: FlaskClient, login_as: Login
) -> None:
    member = factories.make_user()
    group = factories.make_group(secret=True, members=(member,))
    board = factories.make_board(group=group)
    owner = factories.owner_of(group)
    topic = _topic_with(2, board=board, title="Secret circle topic", by=owner)
    second = _topic_with(1, board=board, title="Secret circle second", by=owner)
    login_as(member)
    client.get(f"/t/{topic.id}")
    factories.make_post(topic, owner)
    assert "Secret circle topic" in client.get("/unread").text
    assert "Secret circle second" in client.get("/new").text
    group_service.remove_member(factories.actor(factories.owner_of(group)), group, member.username)
    db.session.commit()
    for path in ("/unread", "/new", "/latest"):
        text = client.get(path).text
        assert "Secret circle" not in text, path
    assert second.id


# --- the moderators' count -----------------------------------------------------------


def _count_in_header(html: str) -> int | None:
    match = re.search(r'href="/mod">Moderation(?: <span class="count">([0-9]+))?', html)
    if match is None:
        return None
    return int(match.group(1)) if match.group(1) else 0


def test_moderators_see_the_count_of_their_own_scope_only(
    client: FlaskClient, login_as: Login
) -> None:
    group_moderator = factories.make_user()
    reporters = (factories.make_user(trust_level=1), factories.make_user(trust_level=1))
    group = factories.make_group(moderators=(group_moderator,), members=(reporters[0],))
    other = factories.make_group(secret=True, members=(reporters[1],))
    for scope, reporter in zip((group, other), reporters, strict=True):
        topic = factories.make_topic(factories.make_board(group=scope), factories.owner_of(scope))
        first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
        factories.make_report(first, reporter)
    site_topic = factories.make_topic()
    site_first = db.session.scalar(select(Post).where(Post.topic_id == site_topic.id))
    factories.make_report(site_first, factories.make_user(trust_level=1))
    login_as(group_moderator)
    assert _count_in_header(client.get("/").text) == 1
    login_as(factories.make_user(moderator=True))
    # The site's report and the public group's (site moderators moderate public groups'
    # boards too); the secret group's stays inside it.
    assert _count_in_header(client.get("/").text) == 2
    login_as(factories.make_user())
    assert _count_in_header(client.get("/").text) is None


def test_members_who_moderate_nothing_pay_no_query_for_the_count(
    client: FlaskClient, login_as: Login, count_statements: StatementCounter
) -> None:
    login_as(factories.make_user())
    client.get("/")
    count_statements.statements.clear()
    client.get("/")
    assert not [q for q in count_statements.queries if "reports" in q]


def test_the_queue_page_refreshes_the_count(client: FlaskClient, login_as: Login) -> None:
    moderator = factories.make_user(moderator=True)
    login_as(moderator)
    assert _count_in_header(client.get("/").text) == 0
    topic = factories.make_topic()
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    factories.make_report(first, factories.make_user(trust_level=1))
    queue = client.get("/mod")
    assert _count_in_header(queue.text) == 1
    assert _count_in_header(client.get("/").text) == 1


def test_my_own_reply_is_not_news_to_me(client: FlaskClient, login_as: Login) -> None:
    topic = _topic_with(3)
    reader = factories.make_user()
    login_as(reader)
    client.get(f"/t/{topic.id}")
    answer = client.post(f"/t/{topic.id}/reply", data={"body": "Thank you all for this."})
    assert answer.status_code == 302
    assert _position(reader, topic) == 4
    assert client.get(f"/t/{topic.id}").status_code == 200
    # But replying past posts I have not read leaves them unread.
    factories.make_post(topic)
    client.post(f"/t/{topic.id}/reply", data={"body": "And one more thing to say."})
    assert _position(reader, topic) == 4


def test_the_topic_page_reads_the_position_once(
    client: FlaskClient, login_as: Login, count_statements: StatementCounter
) -> None:
    topic = _topic_with(3)
    login_as(factories.make_user())
    client.get(f"/t/{topic.id}")
    count_statements.statements.clear()
    assert client.get(f"/t/{topic.id}").status_code == 200
    reads = [q for q in count_statements.queries if "topic_reads" in q]
    assert len(reads) == 1, reads
