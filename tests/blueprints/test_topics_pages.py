"""Topic pages: replies, reply links, permalinks, edits, revisions, deletes, size and queries."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from forum import activity
from forum.extensions import db
from forum.models.posts import Post
from forum.models.users import User
from tests import factories
from tests.blueprints.conftest import StatementCounter

BODY_400 = ("Some days are easier than others, and that is fine. " * 8)[:400]


def _posts() -> int:
    return db.session.scalar(select(func.count()).select_from(Post)) or 0


def test_reply_to_a_post_links_back_to_it(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    alice = factories.make_user("alice")
    topic = factories.make_topic(author=alice, body="How do you all cope with evenings?")
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    login_as(factories.make_user("bob"))
    form = client.get(f"/p/{first.id}/reply")
    assert form.status_code == 200
    assert f'name="reply_to" value="{first.id}"' in form.text
    assert "How do you all cope with evenings?" in form.text
    response = client.post(
        f"/t/{topic.id}/reply", data={"body": "A long walk helps me.", "reply_to": str(first.id)}
    )
    assert response.status_code == 302
    reply = db.session.scalar(select(Post).where(Post.number == 2))
    assert response.headers["Location"] == f"/t/{topic.id}?page=1#p{reply.id}"
    page = client.get(f"/t/{topic.id}")
    assert f'<a href="#p{first.id}">in reply to @alice #1</a>' in page.text
    assert f'id="p{reply.id}"' in page.text


def test_reply_without_text_keeps_nothing_and_says_why(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    topic = factories.make_topic()
    login_as(factories.make_user())
    long_body = "x" * 50_001
    response = client.post(f"/t/{topic.id}/reply", data={"body": long_body})
    assert response.status_code == 400
    assert "Your post is 50,001 characters long; a post can have at most 50,000." in response.text
    assert long_body in response.text
    assert client.post(f"/t/{topic.id}/reply", data={"body": " \n "}).status_code == 400
    assert _posts() == 1


def test_reply_to_a_post_in_another_topic_is_refused(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    topic, other = factories.make_topic(), factories.make_topic()
    elsewhere = factories.make_post(other)
    login_as(factories.make_user())
    response = client.post(
        f"/t/{topic.id}/reply", data={"body": "Kept text", "reply_to": str(elsewhere.id)}
    )
    assert response.status_code == 400
    assert "same topic" in response.text and "Kept text" in response.text


def test_permalink_goes_to_the_right_page_and_anchor(
    app: Flask, client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    app.config["FORUM_POSTS_PER_PAGE"] = 3
    topic = factories.make_topic()
    author = factories.make_user()
    replies = [factories.make_post(topic, author) for _ in range(4)]
    login_as(author)
    response = client.get(f"/p/{replies[2].id}")  # post number 4
    assert response.headers["Location"] == f"/t/{topic.id}?page=2#p{replies[2].id}"
    assert f'id="p{replies[2].id}"' in client.get(response.headers["Location"]).text


def test_edit_keeps_a_revision_and_marks_the_post_edited(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    alice = factories.make_user("alice")
    post = factories.make_post(author=alice, body="First words.")
    login_as(alice)
    form = client.get(f"/p/{post.id}/edit")
    assert "First words." in form.text
    response = client.post(f"/p/{post.id}/edit", data={"body": "Better words."})
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "Better words." in page.text
    assert f'<a href="/p/{post.id}/revisions">edited</a>' in page.text
    history = client.get(f"/p/{post.id}/revisions")
    assert history.status_code == 200
    assert "First words." in history.text and "Better words." in history.text


def test_edit_with_empty_text_keeps_the_old_post_and_the_form(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    alice = factories.make_user("alice")
    post = factories.make_post(author=alice, body="First words.")
    login_as(alice)
    response = client.post(f"/p/{post.id}/edit", data={"body": ""})
    assert response.status_code == 400
    assert "Your post is empty: write something first." in response.text
    db.session.refresh(post)
    assert (post.body, post.revisions_count) == ("First words.", 0)


def test_other_members_cannot_edit_or_delete_a_post(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    post = factories.make_post(body="Mine.")
    login_as(factories.make_user())
    page = client.get(f"/t/{post.topic_id}")
    assert f"/p/{post.id}/edit" not in page.text
    assert client.get(f"/p/{post.id}/edit").status_code == 403
    assert client.post(f"/p/{post.id}/edit", data={"body": "Yours."}).status_code == 403
    assert client.get(f"/p/{post.id}/delete").status_code == 403
    assert client.post(f"/p/{post.id}/delete").status_code == 403


def test_deleted_post_shows_a_placeholder_except_to_moderators(
    client: FlaskClient,
    new_client: Callable[[], FlaskClient],
    login_as: Callable[[User], FlaskClient],
) -> None:
    alice = factories.make_user("alice")
    post = factories.make_post(author=alice, body="Something I regret saying.")
    login_as(alice)
    confirm = client.get(f"/p/{post.id}/delete")
    assert confirm.status_code == 200 and "Delete post" in confirm.text
    assert "deleted_at" not in confirm.text
    db.session.refresh(post)
    assert post.deleted_at is None  # the GET only asked
    assert client.post(f"/p/{post.id}/delete").status_code == 302

    other = new_client()
    with other.session_transaction() as session:
        session["_user_id"] = factories.make_session(factories.make_user())
    page = other.get(f"/t/{post.topic_id}")
    assert "This post was deleted." in page.text
    assert "Something I regret saying." not in page.text
    assert client.get(f"/p/{post.id}/revisions").status_code == 404

    moderator = new_client()
    with moderator.session_transaction() as session:
        session["_user_id"] = factories.make_session(factories.make_user(moderator=True))
    seen = moderator.get(f"/t/{post.topic_id}")
    assert "Something I regret saying." in seen.text
    assert "This post was deleted." in seen.text


def test_topic_page_with_20_posts_is_small(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    author = factories.make_user("a_fairly_long_name")
    topic = factories.make_topic(author=author, title="A" * 200, body=BODY_400)
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    for _ in range(19):
        factories.make_post(topic, author, body=BODY_400, reply_to=first)
    login_as(author)  # the author sees edit and delete on every post: the worst case
    page = client.get(f"/t/{topic.id}")
    assert page.text.count('class="post') == 20
    assert len(page.data) < 30 * 1024, len(page.data)


def test_topic_and_board_pages_use_a_fixed_small_number_of_queries(
    app: Flask,
    client: FlaskClient,
    login_as: Callable[[User], FlaskClient],
    count_statements: StatementCounter,
) -> None:
    board = factories.make_board()
    topic = factories.make_topic(board)
    first = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    previous = first
    for n in range(19):
        # Every post by another member, each answering the one before: worst case for N+1.
        previous = factories.make_post(topic, factories.make_user(), reply_to=previous)
        if n % 5 == 0:
            factories.make_topic(board, factories.make_user())
    for _ in range(30):
        factories.make_topic(board, factories.make_user())
    reader = factories.make_user()
    login_as(reader)
    topic_url, board_url = f"/t/{topic.id}", f"/b/{board.id}"
    # A member's first view of a topic records their reading (forum.activity, a few
    # writes); measured here is a view that records nothing new, so writes nothing.
    activity.record_topic_view(reader.id, topic, 20)
    count_statements.statements.clear()
    page = client.get(topic_url)
    assert page.text.count('class="post') == 20
    topic_queries = list(count_statements.queries)
    count_statements.statements.clear()
    board_page = client.get(board_url)
    assert board_page.text.count('class="title"') == app.config["FORUM_TOPICS_PER_PAGE"]
    board_queries = list(count_statements.queries)
    count_statements.statements.clear()
    client.get("/")
    index_queries = list(count_statements.queries)
    # Today: 5, 5 and 4 (the member, the settings version, then the page's own reads).
    assert len(topic_queries) <= 7, "\n".join(topic_queries)
    assert len(board_queries) <= 7, "\n".join(board_queries)
    assert len(index_queries) <= 5, "\n".join(index_queries)


def test_topic_page_escapes_titles_and_names(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    topic = factories.make_topic(title="<script>alert(1)</script>", body="<img src=x onerror=y>")
    login_as(factories.make_user())
    page = client.get(f"/t/{topic.id}")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<img" not in page.text


# --- issue 10: long posts, heavy posts, speed, edit history ---------------------------


def test_post_forms_say_how_long_a_post_may_be_and_never_cut_it(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    member = factories.make_user()
    topic = factories.make_topic(author=member)
    post = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    login_as(member)
    pages = [
        client.get(f"/b/{topic.board_id}/new").text,
        client.get(f"/t/{topic.id}").text,
        client.get(f"/p/{post.id}/reply").text,
        client.get(f"/p/{post.id}/edit").text,
    ]
    for html in pages:
        assert "Up to 50,000 characters." in html
        # A browser silently cuts a paste at maxlength: there is none on posts or titles.
        assert "maxlength" not in html.split('id="body"')[1].split(">")[0]
    assert "3 to 200 characters." in pages[0]
    assert "maxlength" not in pages[0].split('id="title"')[1].split(">")[0]
    assert '<label for="body">Your post</label>' in pages[0]
    assert '<label for="body">Your post</label>' in pages[2]


def test_a_too_long_post_comes_back_whole_with_the_error(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    board = factories.make_board()
    login_as(factories.make_user())
    long_body = "word " * 10_001  # 50,005 characters
    title = "A very long title " * 12  # 216 characters
    response = client.post(f"/b/{board.id}/new", data={"title": title, "body": long_body})
    assert response.status_code == 400
    assert "Your post is 50,004 characters long; a post can have at most 50,000." in response.text
    assert "Title must be at most 200 characters; it has 215." in response.text
    assert long_body.strip() in response.text
    assert f'value="{title}"' in response.text


def test_a_post_over_the_rendering_limits_comes_back_with_the_limit_named(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    topic = factories.make_topic()
    login_as(factories.make_user())
    table = "| a | b |\n|---|---|\n" + "| 1 | 2 |\n" * 300
    response = client.post(f"/t/{topic.id}/reply", data={"body": table})
    assert response.status_code == 400
    assert "Tables can have at most 200 rows; this one has 300." in response.text
    assert "| 1 | 2 |" in response.text
    assert _posts() == 1


def test_reply_to_that_is_not_an_ascii_number_is_refused_not_a_500(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    topic = factories.make_topic()
    login_as(factories.make_user())
    for value in ("²", "١٢", "9" * 5000):
        response = client.post(f"/t/{topic.id}/reply", data={"body": "Kept", "reply_to": value})
        assert response.status_code == 400
        assert "Kept" in response.text


def test_posting_too_fast_keeps_the_text_and_says_when(
    app: Flask, client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    app.config["FORUM_RATELIMITS_ON"] = True
    topic = factories.make_topic()
    member = factories.make_user(trust_level=0)
    login_as(member)
    for n in range(2):
        assert client.post(f"/t/{topic.id}/reply", data={"body": f"Quick {n}"}).status_code == 302
    response = client.post(f"/t/{topic.id}/reply", data={"body": "My third thought"})
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "You are posting quickly: at trust level 0 you can write 2 posts a minute." in (
        response.text
    )
    assert "My third thought" in response.text


def _edited_out(member: User) -> Post:
    post = factories.make_post(author=member, body="I am Jane Realname, hello.")
    from forum.services import posts

    posts.edit_post(factories.actor(member), post, body="I am jr, hello.")
    db.session.commit()
    return post


def test_author_removes_a_version_from_the_history_page(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    member = factories.make_user()
    post = _edited_out(member)
    login_as(member)
    page = client.get(f"/p/{post.id}/revisions").text
    assert "Jane Realname" in page
    assert "Remove the text of version 1" in page
    assert 'name="reason"' not in page  # the author gives no reason
    response = client.post(f"/p/{post.id}/revisions/1/redact")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/p/{post.id}/revisions#version-1"
    page = client.get(f"/p/{post.id}/revisions").text
    assert "Jane Realname" not in page
    assert "Removed by the author on" in page
    assert "The text of version 1 is removed from the history." in page
    assert "Remove the text of version 1" not in page


def test_moderator_removes_a_version_with_a_reason_and_readers_cannot(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    post = _edited_out(factories.make_user())
    login_as(factories.make_user())
    page = client.get(f"/p/{post.id}/revisions").text
    assert "Jane Realname" in page and "Remove the text" not in page
    assert client.post(f"/p/{post.id}/revisions/1/redact").status_code == 403
    login_as(factories.make_user(moderator=True))
    page = client.get(f"/p/{post.id}/revisions").text
    assert 'name="reason"' in page
    too_long = client.post(f"/p/{post.id}/revisions/1/redact", data={"reason": "x" * 501})
    assert too_long.status_code == 400 and "at most 500 characters" in too_long.text
    done = client.post(f"/p/{post.id}/revisions/1/redact", data={"reason": "A real name"})
    assert done.status_code == 302
    assert "Removed by a moderator on" in client.get(f"/p/{post.id}/revisions").text
    assert client.post(f"/p/{post.id}/revisions/9/redact").status_code == 404


def test_post_bodies_take_their_direction_from_their_text(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    topic = factories.make_topic(body="مرحبا بكم")
    login_as(factories.make_user())
    assert (
        '<div class="body" dir="auto"><p>مرحبا بكم</p></div>' in client.get(f"/t/{topic.id}").text
    )
