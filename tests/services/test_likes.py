"""Likes: one per member per post, never one's own, counted on the post, private otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from forum import policy
from forum.errors import Denied
from forum.errors import NotFound
from forum.errors import NotLoggedIn
from forum.extensions import db
from forum.models.activity import PostLike
from forum.models.base import utcnow
from forum.models.posts import Post
from forum.services import likes
from forum.services import posts
from tests import factories as f


def _post(author=None, board=None) -> Post:
    topic = f.make_topic(board or f.make_board(), author or f.make_user(trust_level=1))
    return db.session.scalar(select(Post).where(Post.topic_id == topic.id))


def _likes() -> int:
    return db.session.scalar(select(func.count()).select_from(PostLike)) or 0


def test_like_counts_once_and_unlike_takes_it_back(db):
    post = _post()
    reader = f.actor(f.make_user())
    revision = post.topic.revision
    assert likes.like_post(reader, post) is True
    assert likes.like_post(reader, post) is False
    db.session.commit()
    assert (post.likes_count, _likes()) == (1, 1)
    # The count shows on cached topic pages: they are keyed by the topic's revision.
    assert post.topic.revision == revision + 1
    assert likes.unlike_post(reader, post) is True
    assert likes.unlike_post(reader, post) is False
    db.session.commit()
    assert (post.likes_count, _likes()) == (0, 0)


def test_likes_from_several_members_add_up(db):
    post = _post()
    for _ in range(3):
        likes.like_post(f.actor(f.make_user()), post)
    db.session.commit()
    assert post.likes_count == 3


def test_own_post_cannot_be_liked(db):
    author = f.make_user(trust_level=1)
    post = _post(author)
    with pytest.raises(Denied) as caught:
        likes.like_post(f.actor(author), post)
    assert caught.value.message == "You cannot like your own post."


def test_silenced_member_cannot_like(db):
    member = f.make_user()
    member.silenced_until = utcnow() + timedelta(days=1)
    db.session.commit()
    with pytest.raises(Denied) as caught:
        likes.like_post(f.actor(member), _post())
    assert caught.value.code == "silenced"


def test_guest_cannot_like(db):
    f.set_settings(guest_access="public_boards")
    with pytest.raises(NotLoggedIn):
        likes.like_post(f.actor(None, guests_read=True), _post())


def test_deleted_and_hidden_posts_cannot_be_liked(db):
    author = f.make_user(trust_level=1)
    deleted = _post(author)
    posts.delete_post(f.actor(author), deleted)
    hidden = _post()
    hidden.hidden_at = utcnow()
    db.session.commit()
    reader = f.actor(f.make_user())
    for post in (deleted, hidden):
        with pytest.raises(Denied):
            likes.like_post(reader, post)


def test_post_in_a_secret_group_is_not_found_for_outsiders(db):
    member = f.make_user()
    group = f.make_group(secret=True, members=(member,))
    post = _post(member, f.make_board(group=group))
    outsider = f.actor(f.make_user())
    with pytest.raises(NotFound):
        policy.require_post(outsider, post.id)
    with pytest.raises(NotFound):
        likes.like_post(outsider, post)
    assert likes.like_post(f.actor(f.owner_of(group)), post) is True


def test_liked_post_ids_are_the_members_own_in_one_query(app, db):
    first, second, third = _post(), _post(), _post()
    member, other = f.make_user(), f.make_user()
    likes.like_post(f.actor(member), first)
    likes.like_post(f.actor(other), second)
    db.session.commit()
    reader, ids = f.actor(member), [first.id, second.id, third.id]
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        found = likes.liked_post_ids(reader, ids)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert found == {ids[0]}
    assert len(statements) == 1
    assert likes.liked_post_ids(f.actor(None), [first.id]) == set()
    assert likes.liked_post_ids(f.actor(member), []) == set()
