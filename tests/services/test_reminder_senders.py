"""Reminder senders (issue 14, forum.senders): a provider's sender registered by import
path (a fake that records calls: no network), the log sender's line, the e-mail sender
mailing once (never doubled by the generic notification mail), nothing for a member who
left, and a FORUM_REMINDER_SENDERS that names no sender stopping the start."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner

from forum import outbox
from forum import senders
from forum.cli import main
from forum.models.base import utcnow
from forum.models.outbox import OutboxRow
from forum.services import groups
from forum.services import meetings
from forum.services import notifications
from forum.services import reminder_senders
from forum.services import reminders
from tests import factories as f

CANARY = re.compile(r"canary[a-z]*7", re.IGNORECASE)


class FakeSender:
    """A provider's sender as a package would write it: records what it was given."""

    name = "fake"
    calls: list[tuple[senders.Recipient, senders.Message]] = []
    failures = 0  # fail this many times first (the gateway is down)

    def deliver(self, app, recipient, message):
        if FakeSender.failures:
            FakeSender.failures -= 1
            raise ConnectionError("gateway down")
        FakeSender.calls.append((recipient, message))


ALL_THREE = pytest.mark.app_config(
    FORUM_REMINDER_SENDERS="email, log, tests.services.test_reminder_senders:FakeSender"
)


@pytest.fixture(autouse=True)
def _fresh_fake():
    FakeSender.calls = []
    FakeSender.failures = 0


def _sent(app):
    return list(app.extensions.get("forum_outbox", []))


def _meeting_world(db, *, secret=True):
    """A meeting three days ahead that ann (immediate mail) and bob (no mail) go to."""
    ann = f.make_user("ann", email="ann@example.org")
    bob = f.make_user("bob", email="bob@example.org")
    group = f.make_group("CANARYGRP7 circle", secret=secret, members=(ann, bob))
    now = utcnow()
    day = (now + timedelta(days=3)).date()
    meeting = meetings.create_meeting(
        f.actor(f.owner_of(group)),
        group,
        {
            "title": "CANARYTITLE7 night",
            "starts_at": f"{day:%Y-%m-%d}T19:00",
            "timezone": "Europe/London",
            "repeat": "none",
        },
        now=now,
    )
    for who in (ann, bob):
        meetings.answer_meeting(f.actor(who), meeting, answer="going")
    notifications.set_preferences(f.actor(ann), {"meeting_reminder": {"email": "immediately"}})
    db.session.commit()
    assert meetings.send_due_reminders(meeting.starts_at - timedelta(hours=23)) == 2
    db.session.commit()
    return ann, bob, group, meeting


@ALL_THREE
def test_each_sender_sends_a_neutral_reminder_once(app, db, caplog):
    ann, bob, group, meeting = _meeting_world(db)
    # One row per sender and member; ann's e-mail only through the e-mail sender.
    rows = db.session.scalars(
        db.select(OutboxRow.payload).where(OutboxRow.kind == senders.KIND)
    ).all()
    assert len(rows) == 5  # ann: email, log, fake; bob: log, fake
    generic = db.select(OutboxRow.id).where(OutboxRow.kind == "notification_mail")
    assert db.session.scalar(generic) is None  # not mailed by the generic path as well
    with caplog.at_level(logging.INFO, logger="forum.senders"):
        outbox.drain(app)
        outbox.drain(app)  # nothing left: nothing twice
    local = meetings.local_time(meeting.starts_at, "Europe/London")
    text = f"Reminder: a meeting of yours starts {local:%a %d %b} at 19:00 (Europe/London)."
    assert sorted(r.user_id for r, _m in FakeSender.calls) == [ann.id, bob.id]
    for _recipient, message in FakeSender.calls:
        assert message.text == text
        assert message.url.endswith(f"/meetings/{meeting.id}")
    # The log names members by keyed hash only.
    lines = [r.getMessage() for r in caplog.records if r.name == "forum.senders"]
    assert len(lines) == 2 and all(text in line for line in lines)
    assert not any("@" in line or "ann" in line or CANARY.search(line) for line in lines)
    assert any(r.digest in lines[0] for r, _m in FakeSender.calls)
    [mail] = _sent(app)
    assert mail.to == ann.email and not CANARY.search(mail.subject)
    assert text in mail.body  # "only a link": the neutral sentence, not the title


@ALL_THREE
def test_a_provider_down_is_retried_without_mailing_twice(app, db):
    ann, _bob, _group, _meeting = _meeting_world(db)
    FakeSender.failures = 2
    outbox.drain(app)
    assert len(_sent(app)) == 1 and len(FakeSender.calls) == 0
    outbox.retry()
    outbox.drain(app)
    assert len(_sent(app)) == 1  # the mail is not sent again
    assert len(FakeSender.calls) == 2


@ALL_THREE
@pytest.mark.parametrize("secret", [True, False])
def test_member_who_left_gets_no_meeting_reminder(app, db, secret):
    ann, bob, group, _meeting = _meeting_world(db, secret=secret)
    groups.remove_member(f.actor(f.owner_of(group)), group, ann.username)
    db.session.commit()
    outbox.drain(app)
    assert [r.user_id for r, _m in FakeSender.calls] == [bob.id]
    assert _sent(app) == []


@ALL_THREE
def test_personal_reminder_reaches_only_those_who_still_read_the_post(app, db):
    ann, bob = f.make_user(), f.make_user()
    group = f.make_group(secret=True, members=(ann, bob))
    post = f.make_post(f.make_topic(f.make_board(group=group), bob), bob, body="CANARYBODY7")
    now = utcnow()
    for who in (ann, bob):
        reminders.remind_me(f.actor(who), post, preset="1h", now=now)
    db.session.commit()
    assert reminders.send_due_reminders(now + timedelta(hours=2)) == 2
    db.session.commit()
    groups.remove_member(f.actor(f.owner_of(group)), group, ann.username)
    db.session.commit()
    outbox.drain(app)
    [(recipient, message)] = FakeSender.calls
    assert recipient.user_id == bob.id
    assert message.text == reminder_senders.POST_TEXT
    assert message.url.endswith(f"/p/{post.id}")


@pytest.mark.parametrize(
    ("value", "names"),
    [("email", ["email"]), ("log , email,log", ["log", "email"]), ("", [])],
)
def test_senders_setting_read(value, names):
    assert list(senders.resolve(value)) == names


@pytest.mark.parametrize(
    "value", ["sms", "email,nosuchpackage.sms:Gateway", "forum.senders:Recipient"]
)
def test_bad_senders_setting_says_what_to_write(value):
    with pytest.raises(senders.SenderError, match="FORUM_REMINDER_SENDERS"):
        senders.resolve(value)


def test_forum_init_refuses_a_bad_senders_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("FORUM_DATABASE_URL", f"sqlite:///{tmp_path / 'forum.db'}")
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("FORUM_REMINDER_SENDERS", "email,smss")
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 1
    assert "'smss' is not a reminder sender" in result.output
    assert "mypackage.sms:GatewaySender" in result.output
