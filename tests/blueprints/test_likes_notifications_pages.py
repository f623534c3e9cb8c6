"""Likes and notifications in the browser, and what the shared topic cache may hold."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.notifications import Notification
from forum.models.posts import Post
from forum.models.users import User
from forum.moderation import actions
from forum.services import groups as group_service
from forum.services import notifications
from tests import factories
from tests.blueprints.conftest import StatementCounter
from tests.blueprints.conftest import flat

Login = Callable[[User], FlaskClient]
NewClient = Callable[[], FlaskClient]


def _as(new_client: NewClient, user: User) -> FlaskClient:
    client = new_client()
    with client.session_transaction() as session:
        session["_user_id"] = factories.make_session(user)
        session["_fresh"] = True
    return client


def _like_button(page: str, post_id: int) -> str | None:
    """The like form's action path for the post on the page ("like"/"unlike"), if any."""
    found = re.search(rf'action="/p/{post_id}/(like|unlike)"', page)
    return found.group(1) if found else None


def test_like_and_unlike_with_plain_forms(client: FlaskClient, login_as: Login):
    author = factories.make_user("author")
    topic = factories.make_topic(author=author)
    post = factories.make_post(topic, author, body="A kind word")
    login_as(factories.make_user("reader"))
    page = client.get(f"/t/{topic.id}").text
    assert _like_button(page, post.id) == "like"
    assert "1 like" not in page
    answer = client.post(f"/p/{post.id}/like")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"#p{post.id}")
    client.post(f"/p/{post.id}/like")  # twice is still one like
    page = client.get(f"/t/{topic.id}").text
    assert "1 like<" in page and _like_button(page, post.id) == "unlike"
    client.post(f"/p/{post.id}/unlike")
    page = client.get(f"/t/{topic.id}").text
    assert "1 like<" not in page and _like_button(page, post.id) == "like"


def test_no_like_or_report_buttons_on_own_posts_or_for_guests(client: FlaskClient, login_as: Login):
    author = factories.make_user("author")
    topic = factories.make_topic(author=author)
    post = factories.make_post(topic, author)
    factories.set_settings(guest_access="public_boards")
    page = client.get(f"/t/{topic.id}").text
    assert _like_button(page, post.id) is None and f"/p/{post.id}/report" not in page
    assert client.post(f"/p/{post.id}/like").status_code == 302  # to the login page
    login_as(author)
    page = client.get(f"/t/{topic.id}").text
    assert _like_button(page, post.id) is None and f"/p/{post.id}/report" not in page
    assert client.post(f"/p/{post.id}/like").status_code == 403


def test_silenced_member_sees_no_like_button(client: FlaskClient, login_as: Login):
    topic = factories.make_topic()
    post = db.session.scalar(select(Post).where(Post.topic_id == topic.id))
    quiet = factories.make_user("quiet")
    quiet.silenced_until = utcnow() + timedelta(days=1)
    db.session.commit()
    login_as(quiet)
    page = client.get(f"/t/{topic.id}").text
    assert _like_button(page, post.id) is None and f"/p/{post.id}/report" not in page


def test_hidden_post_looks_different_to_reader_author_and_moderator(new_client: NewClient):
    author = factories.make_user("author")
    moderator = factories.make_user("mod", moderator=True)
    topic = factories.make_topic()
    post = factories.make_post(topic, author, body="Something contested")
    actions.hide_post(factories.actor(moderator), post, reason="Personal details")
    db.session.commit()
    reader = _as(new_client, factories.make_user("reader")).get(f"/t/{topic.id}").text
    assert "Hidden by moderators." in reader
    assert "Something contested" not in reader and "Personal details" not in reader
    assert _like_button(reader, post.id) is None and f"/p/{post.id}/report" not in reader
    own = _as(new_client, author).get(f"/t/{topic.id}").text
    assert "Your post is hidden" in own and "Personal details" in own
    assert "Appeal" in own and "Something contested" not in own
    seen = _as(new_client, moderator).get(f"/t/{topic.id}").text
    assert "Something contested" in seen and "Reason: Personal details" in seen
    assert "Your post is hidden" not in seen


def test_community_hidden_and_waiting_posts_have_their_own_words(new_client: NewClient):
    topic = factories.make_topic()
    author = factories.make_user("author")
    flagged = factories.make_post(topic, author, body="flagged words")
    waiting = factories.make_post(topic, author, body="waiting words")
    for post, kind in ((flagged, "community"), (waiting, "approval")):
        post.hidden_at = post.created_at
        post.hidden_kind = kind
        post.topic.revision += 1
    db.session.commit()
    reader = _as(new_client, factories.make_user()).get(f"/t/{topic.id}").text
    assert "Hidden after reports from members, pending review." in reader
    assert "Waiting for a moderator&#39;s approval." in reader
    assert "flagged words" not in reader and "waiting words" not in reader
    own = _as(new_client, author).get(f"/t/{topic.id}").text
    assert "Your post is waiting for a moderator" in own


def test_appeal_link_shows_once(new_client: NewClient):
    author = factories.make_user("author")
    moderator = factories.make_user("mod", moderator=True)
    topic = factories.make_topic()
    post = factories.make_post(topic, author)
    actions.hide_post(factories.actor(moderator), post, reason="Off-topic")
    db.session.commit()
    writer = _as(new_client, author)
    assert f"#appeal-post-{post.id}" in writer.get(f"/t/{topic.id}").text
    writer.post(
        "/account/standing/appeal",
        data={"target_type": "post", "target_id": str(post.id), "text": "It was on topic."},
    )
    page = writer.get(f"/t/{topic.id}").text
    assert "Your post is hidden" in page and f"#appeal-post-{post.id}" not in page


def test_cached_fragment_holds_nothing_reader_specific(app: Flask, new_client: NewClient):
    author = factories.make_user("author")
    moderator = factories.make_user("mod", moderator=True)
    fan = factories.make_user("fan")
    topic = factories.make_topic()
    liked = factories.make_post(topic, author, body="liked words")
    hidden = factories.make_post(topic, author, body="hidden words")
    actions.hide_post(factories.actor(moderator), hidden, reason="SECRETREASON")
    db.session.commit()
    _as(new_client, fan).post(f"/p/{liked.id}/like")
    for user in (fan, author, factories.make_user("bystander")):
        _as(new_client, user).get(f"/t/{topic.id}")
    cache = app.extensions["forum_fragments"]
    readers = [v.html for (key, (v, _size)) in cache.entries.items() if key[-1] == "reader"]
    assert readers, "the reader variant was cached"
    for html in readers:
        for personal in (
            "csrf_token",
            "/unlike",
            "/like",
            "/report",
            "/edit",
            "SECRETREASON",
            "hidden words",
            "Your post",
            "Notifications",
        ):
            assert personal not in html, personal
        assert "1 like" in html  # the count belongs to the post, so it is shared
    # The bystander sees the count but not the fan's "Unlike".
    page = _as(new_client, factories.make_user("late")).get(f"/t/{topic.id}").text
    assert _like_button(page, liked.id) == "like" and "1 like<" in page


def test_like_bumps_the_topic_so_counts_show_at_once(client: FlaskClient, new_client: NewClient):
    topic = factories.make_topic()
    post = factories.make_post(topic)
    watcher = _as(new_client, factories.make_user())
    assert "1 like<" not in watcher.get(f"/t/{topic.id}").text
    _as(new_client, factories.make_user()).post(f"/p/{post.id}/like")
    assert "1 like<" in watcher.get(f"/t/{topic.id}").text


def test_notifications_count_list_and_mark_read(client: FlaskClient, login_as: Login):
    member = factories.make_user("member")
    login_as(member)
    assert "Notifications (" not in client.get("/").text
    notifications.notify(member.id, "report_handled", "A moderator reviewed a post you reported.")
    notifications.notify(member.id, "trust_level", "You are now a basic member.")
    db.session.commit()
    home = client.get("/").text
    assert "Notifications (2)" in home
    page = client.get("/notifications")
    assert page.status_code == 200
    text = flat(page.text)
    assert text.index("You are now a basic member.") < text.index("A moderator reviewed")
    # Opening the page read them all (one page's worth): nothing left to mark.
    assert "Mark all as read" not in page.text
    assert client.post("/notifications/read").status_code == 302
    assert "Notifications (" not in client.get("/").text
    assert db.session.scalar(select(Notification).where(Notification.read_at.is_(None))) is None
    assert "Mark all as read" not in client.get("/notifications").text


def test_opening_notifications_marks_them_read_and_keeps_the_new_mark_once(
    client: FlaskClient, login_as: Login
):
    member = factories.make_user("reader")
    other = factories.make_user("other")
    login_as(member)
    notifications.notify(member.id, "report_handled", "A moderator reviewed a post you reported.")
    notifications.notify(other.id, "report_handled", "Someone else's news.")
    db.session.commit()
    assert "Notifications (1)" in client.get("/").text
    page = client.get("/notifications")
    assert page.status_code == 200
    # The header badge clears at once; what was unread when shown keeps its "New" mark.
    assert "Notifications (" not in page.text
    assert flat(page.text).count("New A moderator reviewed") == 1
    assert "Notifications (" not in client.get("/").text
    again = client.get("/notifications")
    assert "A moderator reviewed" in again.text and "New A moderator" not in flat(again.text)
    mine = db.session.scalar(select(Notification).where(Notification.user_id == member.id))
    theirs = db.session.scalar(select(Notification).where(Notification.user_id == other.id))
    assert mine.read_at is not None and theirs.read_at is None


def test_opening_the_first_page_of_notifications_leaves_the_others_unread(
    client: FlaskClient, login_as: Login
):
    member = factories.make_user("busy")
    login_as(member)
    for n in range(35):
        notifications.notify(member.id, "test", f"Event number {n}.")
    db.session.commit()
    first = client.get("/notifications")
    # 30 a page: the 5 oldest are still unread, and the page says so.
    assert "Notifications (5)" in first.text
    assert "Mark all as read" in first.text
    assert "Notifications (5)" in client.get("/").text
    second = client.get("/notifications?page=2")
    assert flat(second.text).count("New Event number") == 5
    assert "Notifications (" not in client.get("/").text


def test_notifications_about_posts_one_can_no_longer_see_are_not_counted(
    client: FlaskClient, login_as: Login
):
    member = factories.make_user("member")
    group = factories.make_group(secret=True, members=(member,))
    board = factories.make_board(group=group)
    post = factories.make_post(factories.make_topic(board, member), member)
    notifications.notify(member.id, "post_hidden", "Inside the circle", post_id=post.id)
    db.session.commit()
    login_as(member)
    assert "Notifications (1)" in client.get("/").text
    group_service.remove_member(factories.actor(member), group, member.username)
    db.session.commit()
    assert "Notifications (" not in client.get("/").text
    assert "Inside the circle" not in client.get("/notifications").text


def test_notifications_page_asks_guests_to_log_in(client: FlaskClient):
    assert client.get("/notifications").status_code == 302
    assert client.post("/notifications/read").status_code == 302


def test_guests_pay_no_notification_query(client: FlaskClient, count_statements: StatementCounter):
    factories.set_settings(guest_access="public_boards")
    topic = factories.make_topic()
    count_statements.statements.clear()
    client.get(f"/t/{topic.id}")
    assert not [q for q in count_statements.queries if "FROM notifications" in q]


def test_member_page_looks_for_notifications_only_when_there_may_be_some(
    client: FlaskClient, login_as: Login, count_statements: StatementCounter
):
    topic = factories.make_topic()
    member = factories.make_user()
    login_as(member)
    count_statements.statements.clear()
    client.get(f"/t/{topic.id}")
    assert not [q for q in count_statements.queries if "FROM notifications" in q]
    notifications.notify(member.id, "test", "Something happened.")
    db.session.commit()
    count_statements.statements.clear()
    page = client.get(f"/t/{topic.id}").get_data(as_text=True)
    assert len([q for q in count_statements.queries if "FROM notifications" in q]) == 2
    assert "Notifications (1)" in page
