"""Watching levels: watching tells of every post (a topic) or topic (a board, group),
tracking is the default, normal only mentions, muted nothing; the most specific wins."""

from __future__ import annotations

import pytest

from forum.errors import Invalid
from forum.errors import NotFound
from forum.models.notifications import WatchScope
from forum.services import groups
from forum.services import notifications
from forum.services import watching
from tests import factories as f


def _kinds(user):
    return [n.kind for n in notifications.notifications(f.actor(user)).items]


def _set(user, scope, key, level, db):
    watching.set_watch_level(f.actor(user), scope, key, level)
    db.session.commit()


def test_default_is_tracking_and_levels_are_checked(db):
    ann = f.make_user()
    topic = f.make_topic()
    assert watching.watch_level(f.actor(ann), WatchScope.TOPIC, topic.id) == ("tracking", False)
    _set(ann, WatchScope.TOPIC, topic.id, "watching", db)
    assert watching.watch_level(f.actor(ann), WatchScope.TOPIC, topic.id) == ("watching", True)
    with pytest.raises(Invalid):
        watching.set_watch_level(f.actor(ann), WatchScope.TOPIC, topic.id, "loud")


def test_watching_a_topic_tells_of_every_post(db):
    ann, bob, cat = f.make_user("ann"), f.make_user("bob"), f.make_user("cat")
    topic = f.make_topic(author=bob)
    _set(ann, WatchScope.TOPIC, topic.id, "watching", db)
    f.make_post(topic, cat)
    assert _kinds(ann) == ["watched_post"]


def test_watching_a_board_tells_of_new_topics_only(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    board = f.make_board()
    _set(ann, WatchScope.BOARD, board.id, "watching", db)
    topic = f.make_topic(board, bob)
    f.make_post(topic, bob)
    assert _kinds(ann) == ["new_topic"]


def test_muted_topic_tells_nothing_not_even_replies(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    topic = f.make_topic(author=ann)
    _set(ann, WatchScope.TOPIC, topic.id, "muted", db)
    f.make_post(topic, bob, body="@ann hello")
    assert _kinds(ann) == []


def test_muted_board_but_watched_topic_the_topic_wins(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    board = f.make_board()
    topic = f.make_topic(board, bob)
    _set(ann, WatchScope.BOARD, board.id, "muted", db)
    _set(ann, WatchScope.TOPIC, topic.id, "watching", db)
    f.make_post(topic, bob)
    f.make_post(f.make_topic(board, bob), bob)
    assert _kinds(ann) == ["watched_post"]


def test_normal_tells_mentions_only(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    topic = f.make_topic(author=ann)
    _set(ann, WatchScope.TOPIC, topic.id, "normal", db)
    f.make_post(topic, bob)
    assert _kinds(ann) == []


def test_watching_a_secret_groups_board_from_outside_is_not_found(db):
    ann = f.make_user()
    secret = f.make_group(secret=True)
    board = f.make_board(group=secret)
    with pytest.raises(NotFound):
        watching.watch_level(f.actor(ann), WatchScope.BOARD, board.id)
    with pytest.raises(NotFound):
        watching.set_watch_level(f.actor(ann), WatchScope.GROUP, secret.slug, "watching")


def test_a_watcher_who_left_the_group_is_not_told(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    group = f.make_group(secret=True, members=(ann, bob))
    board = f.make_board(group=group)
    _set(ann, WatchScope.GROUP, group.slug, "watching", db)
    groups.remove_member(f.actor(ann), group, ann.username)
    db.session.commit()
    f.make_topic(board, bob)
    assert _kinds(ann) == []
