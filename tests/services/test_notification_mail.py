"""Notification e-mail: mailed per kind only to members who opted in and have an address,
built when sent (through the member's permissions then), at most one per topic in the
throttle window, and digests that sum up the kinds set to "digest"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from forum import outbox
from forum.errors import Invalid
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.email import EmailSettings
from forum.moderation import actions
from forum.services import data_rights
from forum.services import notification_mail
from forum.services import notifications
from tests import factories as f


def _sent(app):
    outbox.drain(app)
    return list(app.extensions.get("forum_outbox", []))


def _opt_in(user, kind="mention", choice="immediately", **settings):
    notifications.set_preferences(f.actor(user), {kind: {"email": choice}})
    if settings:
        notification_mail.set_email_settings(f.actor(user), settings)
    db.session.commit()


def _world():
    ann = f.make_user("ann", email="ann@example.org")
    bob = f.make_user("bob")
    # ann started it: bob may see her (and mention her) as the author of a post he reads.
    topic = f.make_topic(author=ann, title="A topic about gardens")
    return ann, bob, topic


def test_nothing_is_mailed_by_default(app, db):
    ann, bob, topic = _world()
    f.make_post(topic, bob, body="Hello @ann")
    assert _sent(app) == []


def test_a_mention_is_mailed_at_once_with_a_neutral_subject_and_only_a_link(app, db):
    ann, bob, topic = _world()
    _opt_in(ann)
    post = f.make_post(topic, bob, body="Hello @ann, SECRETWORDS here")
    [sent] = _sent(app)
    assert sent.to == "ann@example.org"
    assert sent.subject == "Someone mentioned you"
    # Only a link by default: no name, no words from the post or the topic.
    assert f"/p/{post.id}" in sent.body
    for text in ("bob", "SECRETWORDS", "gardens"):
        assert text not in sent.body
    assert sent.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = sent.headers["List-Unsubscribe"].strip("<>")
    assert link.startswith("http") and "/email/unsubscribe/" in link and link in sent.body


def test_an_excerpt_is_plain_text_when_asked(app, db):
    ann, bob, topic = _world()
    _opt_in(ann, link_only=False)
    f.make_post(topic, bob, body="Hello @ann, **bold** [a link](https://example.org/x) words")
    [sent] = _sent(app)
    assert "bob mentioned you." in sent.body
    # The text of the sanitised post: no Markdown, no HTML, no link target.
    assert "bold a link words" in sent.body
    assert "**" not in sent.body and "<" not in sent.body.split("--")[0]
    assert "example.org/x" not in sent.body


def test_no_address_or_a_deleted_account_gets_nothing(app, db):
    ann, bob, topic = _world()
    cat = f.make_user("cat")  # no address
    _opt_in(ann)
    _opt_in(cat)
    f.make_post(topic, bob, body="Hello @ann and @cat")
    data_rights.delete_account(f.actor(ann), ann, posts="keep")
    db.session.commit()
    assert _sent(app) == []


def test_a_post_hidden_before_the_send_is_not_mailed(app, db):
    ann, bob, topic = _world()
    _opt_in(ann)
    post = f.make_post(topic, bob, body="Hello @ann")
    moderator = f.make_user("moderator1", moderator=True, trust_level=4)
    actions.hide_post(f.actor(moderator), post, reason="spam")
    db.session.commit()
    assert _sent(app) == []


def test_changing_ones_mind_before_the_send_stops_the_mail(app, db):
    ann, bob, topic = _world()
    _opt_in(ann)
    f.make_post(topic, bob, body="Hello @ann")
    _opt_in(ann, choice="never")
    assert _sent(app) == []


def test_one_mail_per_topic_in_the_throttle_window(app, db):
    ann, bob, topic = _world()
    _opt_in(ann)
    f.make_post(topic, bob, body="Hello @ann")
    f.make_post(topic, bob, body="Again @ann")
    assert len(_sent(app)) == 1
    other = f.make_topic(author=ann)
    f.make_post(other, bob, body="Elsewhere @ann")
    assert len(_sent(app)) == 2


def test_settings_defaults_and_changes(app, db):
    ann = f.make_user("ann", email="ann@example.org")
    actor = f.actor(ann)
    assert notification_mail.email_settings(actor) == {
        "digest": "daily",
        "link_only": True,
        "address": True,
    }
    changed = notification_mail.set_email_settings(actor, {"digest": "weekly", "link_only": False})
    assert changed["digest"] == "weekly" and changed["link_only"] is False
    for bad in ({"digest": "hourly"}, {"link_only": "yes"}, {"other": 1}):
        with pytest.raises(Invalid):
            notification_mail.set_email_settings(actor, bad)


def test_a_digest_sums_up_the_digest_kinds_when_due(app, db):
    ann, bob, anns = _world()
    topic = f.make_topic(author=bob)
    _opt_in(ann, kind="topic_reply", choice="digest")
    row = db.session.get(EmailSettings, ann.id)
    assert row is not None and row.next_digest_at is not None
    f.make_post(anns, bob, body="A reply")
    f.make_post(topic, bob, body="Hi @ann")  # mention: never mailed
    # Not due yet: nothing queued.
    assert notification_mail.send_due_digests() == 0
    later = utcnow() + timedelta(days=1, minutes=1)
    assert notification_mail.send_due_digests(later) == 1
    db.session.commit()
    [sent] = _sent(app)
    assert sent.subject == "Your daily summary"
    assert "1 new notification on the forum" in sent.body
    assert "Someone replied in your topic." in sent.body
    assert "/email/unsubscribe/" in sent.headers["List-Unsubscribe"]
    # The next one is a day later, and holds only what is new since.
    assert notification_mail.send_due_digests(later) == 0
    assert notification_mail.send_due_digests(later + timedelta(days=1)) == 1
    db.session.commit()
    assert len(_sent(app)) == 1


def test_an_empty_digest_is_not_sent_and_off_stops_them(app, db):
    ann, _bob, _topic = _world()
    _opt_in(ann, kind="topic_reply", choice="digest")
    later = utcnow() + timedelta(days=2)
    assert notification_mail.send_due_digests(later) == 1
    db.session.commit()
    assert _sent(app) == []
    notification_mail.set_email_settings(f.actor(ann), {"digest": "off"})
    db.session.commit()
    assert notification_mail.send_due_digests(later + timedelta(days=9)) == 0
