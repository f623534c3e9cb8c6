"""Chat rooms and live topics on the pages (issue 14), without JavaScript: the room's
form and reload link, slow mode keeping the text, moderators' tools, the topic's last
page carrying the live token and the "New posts - show them" link."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.extensions import db
from forum.models.chat import ChatReport
from forum.models.users import User
from forum.services import chat
from tests import factories

pytestmark = pytest.mark.app_config(FORUM_POSTS_PER_PAGE=3)

Login = Callable[[User], FlaskClient]


def _room(**members: tuple[User, ...]):  # noqa: ANN202 - (group, room, owner)
    group = factories.make_group(secret=True, **members)
    owner = factories.owner_of(group)
    room = chat.open_chat_room(factories.actor(owner), group, name="Evening")
    db.session.commit()
    return group, room, owner


def test_a_member_writes_in_a_room_without_javascript(login_as: Login) -> None:
    member = factories.make_user("ann")
    group, room, _owner = _room(members=(member,))
    client = login_as(member)
    listing = client.get(f"/g/{group.slug}/rooms").get_data(as_text=True)
    assert f'href="/rooms/{room.id}"' in listing and "Open a room" not in listing
    sent = client.post(f"/rooms/{room.id}/messages", data={"body": "Hello *there*"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/rooms/{room.id}#say")
    page = client.get(f"/rooms/{room.id}").get_data(as_text=True)
    assert "Hello <em>there</em>" in page
    assert 'id="say"' in page and ">Reload</a>" in page and "live.js" in page
    assert f'data-live-token="r{room.id}.1"' in page
    # Not a moderator: no hide button, no settings.
    assert "Hide<span" not in page and "Room settings" not in page


def test_slow_mode_keeps_the_text_and_says_how_long(login_as: Login) -> None:
    member = factories.make_user("ann")
    _group, room, owner = _room(members=(member,))
    chat.change_chat_room(factories.actor(owner), room, slow_mode_seconds=120)
    db.session.commit()
    client = login_as(member)
    assert client.post(f"/rooms/{room.id}/messages", data={"body": "first"}).status_code == 302
    again = client.post(f"/rooms/{room.id}/messages", data={"body": "second words"})
    assert again.status_code == 429 and "Retry-After" in again.headers
    page = again.get_data(as_text=True)
    assert 'value="second words"' in page and "Slow mode is on" in page


def test_owners_open_rooms_and_moderate_them(login_as: Login) -> None:
    member = factories.make_user("ann")
    group, room, owner = _room(members=(member,))
    message = chat.post_chat_message(factories.actor(member), room, body="rude words")
    db.session.commit()
    member_client = login_as(member)
    assert member_client.post(f"/g/{group.slug}/rooms", data={"name": "Mine"}).status_code == 403
    owner_client = login_as(owner)
    opened = owner_client.post(f"/g/{group.slug}/rooms", data={"name": "Mornings"})
    assert opened.status_code == 302
    chat.report_chat_message(factories.actor(owner), message, reason="abuse")
    db.session.commit()
    page = owner_client.get(f"/rooms/{room.id}").get_data(as_text=True)
    assert "Reported messages" in page and "Room settings" in page and "retention_days" in page
    assert owner_client.post(f"/chat-messages/{message.id}/hide").status_code == 302
    assert "rude words" not in owner_client.get(f"/rooms/{room.id}").get_data(as_text=True)
    assert db.session.scalar(select(ChatReport.handled_at)) is not None


def test_the_report_form_for_a_chat_message(login_as: Login) -> None:
    member, other = factories.make_user("ann"), factories.make_user("cat")
    _group, room, _owner = _room(members=(member, other))
    message = chat.post_chat_message(factories.actor(member), room, body="hmm")
    db.session.commit()
    client = login_as(other)
    assert client.get(f"/chat-messages/{message.id}/report").status_code == 200
    done = client.post(f"/chat-messages/{message.id}/report", data={"reason": "spam"})
    assert done.status_code == 302
    assert login_as(member).get(f"/chat-messages/{message.id}/report").status_code == 403


def test_only_the_last_page_of_a_topic_is_live_and_the_link_finds_new_posts(
    login_as: Login,
) -> None:
    topic = factories.make_topic()
    factories.make_post(topic)
    factories.make_post(topic)
    factories.make_post(topic)  # 4 posts, 3 a page: two pages
    client = login_as(factories.make_user("reader"))
    first = client.get(f"/t/{topic.id}?page=1").get_data(as_text=True)
    assert "data-live-token" not in first and "New posts - show them" not in first
    last = client.get(f"/t/{topic.id}?page=2").get_data(as_text=True)
    assert f'data-live-token="t{topic.id}.' in last and "New posts - show them" in last
    assert f'href="/t/{topic.id}/after/4"' in last
    none_yet = client.get(f"/t/{topic.id}/after/4")
    assert none_yet.status_code == 302 and "#live-more" in none_yet.headers["Location"]
    post = factories.make_post(topic)
    found = client.get(f"/t/{topic.id}/after/4")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"#p{post.id}")
