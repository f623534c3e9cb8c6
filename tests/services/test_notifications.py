"""Notifications: plain text to one member, shown only while still visible to them."""

from __future__ import annotations

import pytest

from forum.errors import NotLoggedIn
from forum.policy import Actor
from forum.services import groups
from forum.services import notifications
from tests import factories as f


def test_notify_cuts_long_text_and_lists_newest_first(db):
    member = f.make_user()
    notifications.notify(member.id, "first", "First.")
    notifications.notify(member.id, "second", "x" * 600)
    db.session.commit()
    page = notifications.notifications(f.actor(member))
    assert [n.kind for n in page.items] == ["second", "first"]
    assert len(page.items[0].text) == 500 and page.total == 2


def test_members_see_only_their_own(db):
    member, other = f.make_user(), f.make_user()
    notifications.notify(member.id, "mine", "Mine.")
    db.session.commit()
    assert notifications.notifications(f.actor(other)).items == []
    assert notifications.unread_count(f.actor(other)) == 0


def test_mark_all_read(db):
    member = f.make_user()
    for number in range(3):
        notifications.notify(member.id, "n", f"Number {number}.")
    db.session.commit()
    assert notifications.unread_count(f.actor(member)) == 3
    assert notifications.mark_all_read(f.actor(member)) == 3
    db.session.commit()
    assert notifications.unread_count(f.actor(member)) == 0
    assert notifications.mark_all_read(f.actor(member)) == 0


def test_guests_have_no_notifications(db):
    assert notifications.unread_count(Actor()) == 0
    with pytest.raises(NotLoggedIn):
        notifications.notifications(Actor())


def test_notification_about_a_secret_groups_post_vanishes_after_leaving(db):
    member = f.make_user()
    group = f.make_group(secret=True, members=(member,))
    post = f.make_post(f.make_topic(f.make_board(group=group), member), member)
    notifications.notify(member.id, "post", "About a post.", post_id=post.id, group_id=group.id)
    notifications.notify(member.id, "site", "About the site.")
    db.session.commit()
    assert notifications.unread_count(f.actor(member)) == 2
    groups.remove_member(f.actor(member), group, member.username)
    db.session.commit()
    assert [n.kind for n in notifications.notifications(f.actor(member)).items] == ["site"]
    assert notifications.mark_all_read(f.actor(member)) == 1
