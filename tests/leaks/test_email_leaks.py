"""E-mail rows of the leak matrix: one per kind a member may have mailed, and the digest.

A secret group full of canaries; two members chose mail with excerpts (the most that a
mail may hold) for every kind. Between the notification and the send one of them leaves
the group: they get nothing of it, at once or in the digest, while the one who stayed
gets their mail (so the check is not passing on a mail that never goes out). No subject
of any mail holds a canary: subjects are fixed words.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from forum import outbox
from forum.extensions import db as database
from forum.models.base import utcnow
from forum.services import groups
from forum.services import notification_mail
from forum.services import notifications
from tests import factories as f

CANARY = re.compile(r"canary[a-z]*7", re.IGNORECASE)
# Kinds about a group rather than a post.
GROUP_KINDS = frozenset({"join_request", "join_accepted", "join_declined", "meeting_reminder"})


def _world():
    owner = f.make_user("circleowner", email="owner@example.org")
    stays = f.make_user("stays", email="stays@example.org")
    leaves = f.make_user("leaves", email="leaves@example.org")
    group = f.make_group(
        "CANARYGRP7 Circle", slug="canaryslug7", secret=True, owner=owner, members=(stays, leaves)
    )
    board = f.make_board("CANARYBOARD7", group=group)
    topic = f.make_topic(board, owner, title="CANARYTITLE7 topic", body="CANARYBODY7 opening")
    post = f.make_post(topic, owner, body="CANARYREPLY7 words for everyone")
    return owner, stays, leaves, group, post


def _notify(kind, users, owner, group, post):
    for user in users:
        if kind in notifications.NOTICES:
            # A reminder's text may name the meeting: the canary checks it stays inside.
            where = {"group_id": group.id} if kind in GROUP_KINDS else {"post_id": post.id}
            notifications.notify_notice(user.id, kind, "CANARYNOTICE7 soon", **where)
        elif kind in GROUP_KINDS:
            notifications.notify_acted(user.id, kind, owner.id, group_id=group.id)
        else:
            notifications.notify_acted(user.id, kind, owner.id, post_id=post.id)


def _leave(owner, group, leaves):
    groups.remove_member(f.actor(owner), group, leaves.username)
    database.session.commit()


def _check(app, stays, leaves):
    outbox.drain(app)
    sent = list(app.extensions.get("forum_outbox", []))
    assert [m.to for m in sent] == [stays.email], "the member who stayed is mailed, only"
    for message in sent:
        assert not CANARY.search(message.subject), message.subject
        for value in message.headers.values():
            assert not CANARY.search(value)
    return sent


@pytest.mark.parametrize("kind", notifications.PREFERENCE_KINDS)
def test_immediate_mail_reaches_only_members_at_send_time(app, db, kind):
    owner, stays, leaves, group, post = _world()
    for user in (stays, leaves):
        notifications.set_preferences(f.actor(user), {kind: {"email": "immediately"}})
        notification_mail.set_email_settings(f.actor(user), {"link_only": False})
    database.session.commit()
    _notify(kind, (stays, leaves), owner, group, post)
    database.session.commit()
    _leave(owner, group, leaves)
    _check(app, stays, leaves)


def test_a_digest_built_after_leaving_holds_nothing_of_the_group(app, db):
    owner, stays, leaves, group, post = _world()
    every = {kind: {"email": "digest"} for kind in notifications.PREFERENCE_KINDS}
    for user in (stays, leaves):
        notifications.set_preferences(f.actor(user), every)
        notification_mail.set_email_settings(f.actor(user), {"link_only": False})
    database.session.commit()
    for kind in notifications.PREFERENCE_KINDS:
        _notify(kind, (stays, leaves), owner, group, post)
    # Something public too: the one who left still gets a digest, of that only.
    public = f.make_topic(author=leaves, title="A public walk")
    f.make_post(public, owner, body="A public reply")
    database.session.commit()
    _leave(owner, group, leaves)
    assert notification_mail.send_due_digests(utcnow() + timedelta(days=1, minutes=1)) == 2
    database.session.commit()
    outbox.drain(app)
    sent = {m.to: m for m in app.extensions.get("forum_outbox", [])}
    assert set(sent) == {stays.email, leaves.email}
    for message in sent.values():
        assert not CANARY.search(message.subject)
    assert CANARY.search(sent[stays.email].body), "the member who stayed sees the group's news"
    assert not CANARY.search(sent[leaves.email].body), sent[leaves.email].body
    left = sent[leaves.email].body
    # Nothing of the group at all: not its words, not a link into it, not a count.
    assert "A public reply" in left and "1 new notification on" in left
    assert f"/p/{post.id}" not in left
