"""Whom a member may know: the shared contexts of `policy.visible_users`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum import listings
from forum import policy
from forum.errors import NotFound
from forum.extensions import db
from forum.models.groups import Group
from forum.models.posts import HiddenKind
from forum.models.posts import Post
from forum.models.users import User
from forum.moderation import actions
from forum.services import groups
from forum.services import invitations
from forum.services import posts
from forum.services import topics
from tests import factories as f


def _secret_insider() -> tuple[User, Group]:
    """A member known only inside a secret group, where they posted."""
    insider = f.make_user()
    group = f.make_group(secret=True, members=(insider,))
    f.make_topic(f.make_board(group=group), insider, title="Inside only")
    return insider, group


def _first_post(topic_id: int) -> Post:
    return db.session.scalar(select(Post).where(Post.topic_id == topic_id, Post.number == 1))


def test_a_deleted_public_post_is_no_shared_context(db):
    insider, _group = _secret_insider()
    reply = f.make_post(author=insider, body="Said once in public, then regretted.")
    outsider = f.actor(f.make_user())
    assert policy.can_see_user(outsider, insider)
    posts.delete_post(f.actor(insider), reply)
    db.session.commit()
    assert not policy.can_see_user(outsider, insider)
    with pytest.raises(NotFound):
        policy.require_user(outsider, insider.username)


def test_a_deleted_first_post_of_a_public_topic_is_no_shared_context(db):
    insider, _group = _secret_insider()
    topic = f.make_topic(author=insider, title="Posted by mistake")
    posts.delete_post(f.actor(insider), _first_post(topic.id))
    db.session.commit()
    assert not policy.can_see_user(f.actor(f.make_user()), insider)


def test_topic_lists_stop_naming_the_author_once_the_first_post_is_deleted(db, client, login_as):
    insider, _group = _secret_insider()
    board = f.make_board(name="Open board")
    topic = f.make_topic(board, insider, title="Posted by mistake")
    f.make_post(topic=topic, body="A reply from someone else stays.")
    reader = f.make_user()
    login_as(reader)
    assert insider.username in client.get(f"/b/{board.id}").get_data(as_text=True)
    posts.delete_post(f.actor(insider), _first_post(topic.id))
    db.session.commit()
    # The board page, the latest list and the API all stop naming them.
    for path in (f"/b/{board.id}", "/latest"):
        page = client.get(path).get_data(as_text=True)
        assert "Posted by mistake" in page and insider.username not in page, path
    answer = client.get(f"/api/v1/boards/{board.id}/topics").get_json()
    assert [t["author"] for t in answer["topics"]] == [None]
    assert client.get(f"/api/v1/topics/{topic.id}").get_json()["topic"]["author"] is None


def test_posts_and_topics_waiting_for_approval_are_no_shared_context(db):
    insider, _secret = _secret_insider()
    public = f.make_group()
    groups.update_group_moderation(f.actor(f.owner_of(public)), public, approve_first_posts=3)
    invitations.accept_invitation(f.actor(insider), f.make_invitation(public))
    insider.trust_level = 0
    db.session.commit()
    board = f.make_board(group=public)
    open_topic = f.make_topic(board, f.owner_of(public))
    waiting_reply = posts.reply_to_topic(f.actor(insider), open_topic, body="Held back")
    waiting_topic, _first = topics.create_topic(
        f.actor(insider), board, title="Held topic", body="Held back too"
    )
    db.session.commit()
    assert waiting_reply.hidden_kind == HiddenKind.APPROVAL and waiting_topic.awaiting_approval
    # A site member who reads the public group's boards but is not in the group.
    reader = f.actor(f.make_user())
    assert not policy.can_see_user(reader, insider)
    # The group's moderators review waiting posts: they know their author.
    assert policy.can_see_user(f.actor(f.owner_of(public)), insider)


def test_a_hidden_post_is_no_shared_context_except_for_its_moderators(db):
    insider, _group = _secret_insider()
    reply = f.make_post(author=insider, body="Spam spam spam")
    moderator = f.actor(f.make_user(moderator=True))
    actions.hide_post(moderator, reply, reason="Spam.")
    db.session.commit()
    assert not policy.can_see_user(f.actor(f.make_user()), insider)
    # Site moderators moderate the board: they see the post, and who wrote it.
    site_moderator = f.make_user(moderator=True)
    assert policy.can_see_user(f.actor(site_moderator), insider)


def test_a_published_post_still_makes_its_author_known(db):
    insider, _group = _secret_insider()
    f.make_post(author=insider, body="Hello everyone")
    assert policy.can_see_user(f.actor(f.make_user()), insider)


def test_admins_know_every_member_even_one_who_never_posted(db):
    admin = f.actor(f.make_admin())
    quiet = f.make_user("quiet_one")
    insider, _group = _secret_insider()
    assert policy.require_user(admin, "quiet_one") == quiet
    assert policy.can_see_user(admin, insider)
    everyone = set(db.session.scalars(policy.visible_users(admin).with_only_columns(User.id)))
    assert everyone == set(db.session.scalars(select(User.id)))


def test_an_admins_view_of_a_profile_shows_nothing_of_an_unbroken_secret_group(db):
    insider, group = _secret_insider()
    f.make_post(author=insider, body="A public word")
    admin = f.actor(f.make_admin())
    shown = listings.profile(admin, insider)
    assert (shown.posts_count, shown.topics_count) == (1, 0)
    assert [post.topic.title for post in shown.recent_posts] != ["Inside only"]
    assert all(post.topic.board.group_id != group.id for post in shown.recent_posts)


def test_staff_stay_a_shared_context(db):
    moderator = f.make_user(moderator=True)
    admin = f.make_admin()
    member = f.actor(f.make_user())
    assert policy.can_see_user(member, moderator) and policy.can_see_user(member, admin)
