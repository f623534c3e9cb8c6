"""Cached topic pages: shared only within a view variant, retired by every change."""

from __future__ import annotations

from forum.extensions import db
from forum.services import posts
from tests import factories
from tests.blueprints.conftest import log_in


def test_moderator_view_never_reaches_members_through_the_cache(client, new_client):
    author = factories.make_user("author")
    factories.make_user("mod", moderator=True)
    factories.make_user("reader")
    topic = factories.make_topic(author=author)
    gone = factories.make_post(topic, author, body="regrettable words")
    posts.delete_post(factories.actor(author), gone)
    db.session.commit()

    moderator = new_client()
    log_in(moderator, "mod")
    assert "regrettable words" in moderator.get(f"/t/{topic.id}").text
    log_in(client, "reader")
    page = client.get(f"/t/{topic.id}").text
    assert "regrettable words" not in page and "This post was deleted." in page


def test_each_reader_gets_their_own_buttons_from_a_shared_page(client, new_client):
    author = factories.make_user("author")
    factories.make_user("reader")
    topic = factories.make_topic(author=author)
    mine = factories.make_post(topic, author)
    log_in(client, "author")
    assert f"/p/{mine.id}/edit" in client.get(f"/t/{topic.id}").text
    other = new_client()
    log_in(other, "reader")
    page = other.get(f"/t/{topic.id}").text
    assert f"/p/{mine.id}/edit" not in page and f"/p/{mine.id}/reply" in page


def test_edit_and_reply_show_at_once(client):
    author = factories.make_user("author")
    topic = factories.make_topic(author=author)
    post = factories.make_post(topic, author, body="first words")
    log_in(client, "author")
    assert "first words" in client.get(f"/t/{topic.id}").text
    client.post(f"/p/{post.id}/edit", data={"body": "second words"})
    client.post(f"/t/{topic.id}/reply", data={"body": "a new reply"})
    page = client.get(f"/t/{topic.id}").text
    assert "second words" in page and "first words" not in page and "a new reply" in page


def test_board_topic_list_shows_new_topics_replies_and_deletions_at_once(client):
    author = factories.make_user("author")
    board = factories.make_board("Cached board")
    first = factories.make_topic(board, author, title="First cached topic")
    log_in(client, "author")
    assert "First cached topic" in client.get(f"/b/{board.id}").text
    client.post(f"/b/{board.id}/new", data={"title": "Second cached topic", "body": "Hi"})
    assert "Second cached topic" in client.get(f"/b/{board.id}").text
    client.post(f"/t/{first.id}/reply", data={"body": "a reply"})
    assert "2 posts" in client.get(f"/b/{board.id}").text
    reply = factories.make_post(first, author, body="one more")
    assert "3 posts" in client.get(f"/b/{board.id}").text
    client.post(f"/p/{reply.id}/delete")
    assert "2 posts" in client.get(f"/b/{board.id}").text
