"""Issue 14's gaps: closing a message report is logged and tells the reporter; members
delete their own messages; the header's unread conversations; meeting reminders that
lead to their meeting and go with it; the export's meeting and settings sections."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import select

from forum import policy
from forum.audit import Action
from forum.errors import Denied
from forum.errors import NotFound
from forum.models.modlog import ModerationLog
from forum.models.users import User
from forum.moderation import sentences
from forum.services import data_rights
from forum.services import groups
from forum.services import meetings
from forum.services import messages
from forum.services import notifications
from forum.services import reminders
from tests import factories as f

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def people(db):
    ann = f.make_user("ann", trust_level=1)
    bob = f.make_user("bob", trust_level=1)
    cat = f.make_user("cat", trust_level=1)
    mod = f.make_user("mod", moderator=True, trust_level=2)
    f.make_group("Circle", members=(ann, bob, cat))
    db.session.commit()
    return {"ann": ann, "bob": bob, "cat": cat, "mod": mod}


def _start(db, sender, names, body="Hello there"):
    conversation = messages.start_conversation(
        f.actor(sender), recipients=names, title="A word", body=body
    )
    db.session.commit()
    return conversation


def _reported(db, people, body="Rude words"):
    conversation = _start(db, people["ann"], ["bob"], body=body)
    bob = f.actor(people["bob"])
    message = messages.messages(bob, conversation).items[0]
    report = messages.report_message(bob, message, reason="abuse")
    db.session.commit()
    return conversation, message, report


@pytest.mark.parametrize("decision", ["upheld", "dismissed"])
def test_closing_a_message_report_is_logged_and_tells_the_reporter(db, people, decision):
    _conversation, _message, report = _reported(db, people)
    mod = f.actor(people["mod"])
    assert messages.resolve_message_report(mod, report, decision=decision) is True
    db.session.commit()
    assert messages.resolve_message_report(mod, report, decision=decision) is False
    entry = db.session.scalars(
        select(ModerationLog).where(ModerationLog.action == Action.MESSAGE_REPORT_RESOLVED)
    ).one()
    assert (entry.target_type, entry.target_id, entry.group_id) == (
        "message_report",
        report.id,
        None,
    )
    line = sentences.log_lines(mod, [entry])[entry.id].text
    # The author is named only as the reader may see them ("a member" otherwise).
    assert line.startswith(f"mod {decision} a report about a private message by "), line
    assert "Rude" not in line
    told = notifications.notifications(f.actor(people["bob"])).items
    decided = [n for n in told if n.kind == messages.REPORT_DECIDED_KIND]
    assert len(decided) == 1
    shown = notifications.shown(f.actor(people["bob"]), decided)[decided[0].id]
    assert shown.text == messages.REPORT_DECISIONS[decision]
    assert "Rude" not in shown.text and "A word" not in shown.text and "ann" not in shown.text


def test_a_member_who_handles_no_reports_cannot_close_one(db, people):
    _conversation, _message, report = _reported(db, people)
    for name in ("ann", "cat"):
        with pytest.raises(NotFound):
            messages.resolve_message_report(f.actor(people[name]), report, decision="upheld")


def test_delete_own_message_leaves_a_placeholder(db, people):
    conversation = _start(db, people["ann"], ["bob"], body="Sorry I said that")
    ann, bob = f.actor(people["ann"]), f.actor(people["bob"])
    mine = messages.messages(ann, conversation).items[0]
    # Allow: the author. Deny: another participant (403) and an outsider (404).
    assert policy.can_delete_message(ann, mine)
    assert not policy.can_delete_message(bob, mine)
    with pytest.raises(Denied):
        messages.delete_message(bob, mine)
    with pytest.raises(NotFound):
        messages.delete_message(f.actor(people["cat"]), mine)
    assert messages.delete_message(ann, mine) is True
    db.session.commit()
    assert messages.delete_message(ann, mine) is False
    seen = messages.messages(bob, conversation).items[0]
    assert seen.deleted_at is not None and seen.body == "" and seen.html == ""
    # A deleted message cannot be reported any more.
    assert not policy.can_report_message(bob, seen)


def test_a_reported_message_keeps_its_words_until_the_report_is_closed(db, people):
    _conversation, message, report = _reported(db, people, body="Words under review")
    ann, mod = f.actor(people["ann"]), f.actor(people["mod"])
    messages.delete_message(ann, message)
    db.session.commit()
    window = policy.reported_message_window(mod, report)
    assert [(m.body, m.deleted_at is not None) for m in window] == [("Words under review", True)]
    messages.resolve_message_report(mod, report, decision="upheld")
    db.session.commit()
    assert message.body == "" and message.html == ""


def test_unread_conversations_count_and_flag(db, people):
    conversation = _start(db, people["ann"], ["bob", "cat"])
    _start(db, people["cat"], ["bob"])
    bob = f.actor(people["bob"])

    def flag(name: str) -> bool:
        return bool(
            db.session.scalar(select(User.has_unread_messages).where(User.username == name))
        )

    assert flag("bob") and flag("cat") and not flag("ann")
    assert messages.unread_conversation_count(bob) == 2
    messages.mark_read(bob, conversation, messages.messages(bob, conversation).items)
    db.session.commit()
    assert messages.unread_conversation_count(bob) == 1 and flag("bob")
    other = next(e.conversation for e in messages.conversations(bob).items if e.unread)
    messages.leave_conversation(bob, other)
    db.session.commit()
    assert messages.unread_conversation_count(bob) == 0 and not flag("bob")
    assert messages.unread_conversation_count(f.actor(None)) == 0


def _meeting_reminded(db, *, secret: bool):
    ann = f.make_user()
    group = f.make_group(secret=secret, members=(ann,))
    meeting = meetings.create_meeting(
        f.actor(f.owner_of(group)),
        group,
        {
            "title": "Tuesday circle",
            "starts_at": "2027-03-16T19:00",
            "timezone": "UTC",
            "repeat": "none",
        },
        now=NOW,
    )
    meetings.answer_meeting(f.actor(ann), meeting, answer="going")
    db.session.commit()
    assert meetings.send_due_reminders(datetime(2027, 3, 15, 20, tzinfo=UTC)) == 1
    db.session.commit()
    return ann, group, meeting


def _meeting_reminders(user):
    found = notifications.notifications(f.actor(user)).items
    return [n for n in found if n.kind == meetings.REMINDER_KIND]


def test_meeting_reminder_leads_to_the_meeting_and_goes_with_it(db):
    ann, _group, meeting = _meeting_reminded(db, secret=False)
    found = _meeting_reminders(ann)
    assert notifications.shown(f.actor(ann), found)[found[0].id].url == f"/meetings/{meeting.id}"
    meetings.delete_meeting(f.actor(f.owner_of(_group)), meeting)
    db.session.commit()
    assert _meeting_reminders(ann) == []


def test_meeting_reminder_goes_when_the_member_leaves_a_public_group(db):
    ann, group, _meeting = _meeting_reminded(db, secret=False)
    groups.remove_member(f.actor(f.owner_of(group)), group, ann.username)
    db.session.commit()
    # The group is public, so still visible to her; its reminders are not hers any more.
    assert policy.can_see_group(f.actor(ann), group)
    assert _meeting_reminders(ann) == []


def test_export_holds_meetings_reminders_and_settings_never_the_feed_token(db):
    ann, group, meeting = _meeting_reminded(db, secret=True)
    actor = f.actor(ann)
    meetings.set_calendar_settings(actor, timezone="Europe/London", reminder="2h")
    token = meetings.new_feed_token(actor)
    post = f.make_post(f.make_topic(f.make_board(group=group), ann), ann)
    reminders.remind_me(actor, post, preset="tomorrow", now=NOW)
    notifications.set_preferences(actor, {"mention": {"in_app": False, "email": "digest"}})
    db.session.commit()
    raw = zipfile.ZipFile(io.BytesIO(data_rights.export_member_data(actor, ann)))
    text = raw.read("account.json").decode()
    account = json.loads(text)
    assert [(a["meeting_id"], a["meeting"], a["answer"]) for a in account["meeting_answers"]] == [
        (meeting.id, "Tuesday circle", "going")
    ]
    assert account["calendar"]["timezone"] == "Europe/London"
    assert account["calendar"]["reminder"] == "2h" and account["calendar"]["feed"] is True
    assert token not in text
    assert [r["post_id"] for r in account["reminders"]] == [post.id]
    assert {"kind": "mention", "in_app": False, "email": "digest"} in account[
        "notification_preferences"
    ]
    assert account["email_settings"]["digest"] == "daily"
    assert account["email_settings"]["link_only"] is True
    # The meeting she answered, still named while she may see it; after leaving, not.
    groups.remove_member(f.actor(f.owner_of(group)), group, ann.username)
    db.session.commit()
    again = json.loads(
        zipfile.ZipFile(io.BytesIO(data_rights.export_member_data(f.actor(ann), ann))).read(
            "account.json"
        )
    )
    assert [a["meeting"] for a in again["meeting_answers"]] == [None]
    assert [r["post_id"] for r in again["reminders"]] == [None]
