"""Meetings (issue 14): occurrences in the meeting's zone across clock changes, who may
arrange and answer, reminders once per occurrence and never after leaving, calendar feeds
and personal reminders. The clock is simulated: every service takes `now`."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import icalendar
import pytest

from forum import policy
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.services import groups
from forum.services import meetings
from forum.services import notifications
from forum.services import reminders
from tests import factories as f

# Before the clocks go forward in Europe/London (28 March 2027) and New York (14 March).
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _meeting(db, group, by, **values):
    values = {
        "title": "Tuesday circle",
        "starts_at": "2027-03-16T19:00",
        "timezone": "Europe/London",
        "repeat": "weekly",
        **values,
    }
    meeting = meetings.create_meeting(f.actor(by), group, values, now=NOW)
    db.session.commit()
    return meeting


@pytest.mark.parametrize(
    ("zone", "repeat", "index", "expected"),
    [
        # 19:00 local stays 19:00: GMT in March, BST (UTC+1) from 28 March.
        ("Europe/London", "weekly", 0, _utc(2027, 3, 16, 19)),
        ("Europe/London", "weekly", 2, _utc(2027, 3, 30, 18)),
        ("Europe/London", "fortnightly", 1, _utc(2027, 3, 30, 18)),
        ("Europe/London", "monthly", 1, _utc(2027, 4, 16, 18)),
        ("Europe/London", "weekly", 33, _utc(2027, 11, 2, 19)),
        ("America/New_York", "weekly", 0, _utc(2027, 3, 16, 23)),
        ("America/New_York", "weekly", 1, _utc(2027, 3, 23, 23)),
    ],
)
def test_occurrences_keep_local_time_across_clock_changes(db, zone, repeat, index, expected):
    group = f.make_group()
    meeting = _meeting(db, group, f.owner_of(group), timezone=zone, repeat=repeat)
    assert meetings.occurrence(meeting, index) == expected
    # The next occurrence after the one before is this one.
    before = expected - timedelta(minutes=1)
    assert meetings.next_occurrence(meeting, before) == expected


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"starts_at": "2027-02-01T19:00"}, "starts_at"),  # in the past
        ({"starts_at": "2030-01-01T19:00"}, "starts_at"),  # too far ahead
        ({"starts_at": "2027-03-31T19:00", "repeat": "monthly"}, "repeat"),  # no 31 April
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"repeat": "daily"}, "repeat"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"starts_at": "tomorrow"}, "starts_at"),
    ],
)
def test_impossible_meetings_are_refused(db, values, field):
    group = f.make_group()
    with pytest.raises(Invalid) as caught:
        _meeting(db, group, f.owner_of(group), **values)
    assert field in caught.value.fields


def test_who_may_arrange_see_and_answer(db):
    member, moderator, outsider = f.make_user(), f.make_user(), f.make_user()
    secret = f.make_group(secret=True, members=(member,), moderators=(moderator,))
    # Owners and moderators arrange; members may not.
    meeting = _meeting(db, secret, moderator)
    with pytest.raises(Denied):
        _meeting(db, secret, member)
    # A secret group's meeting is a 404 outside it, like one that never was.
    assert policy.require_meeting(f.actor(member), meeting.id) == meeting
    with pytest.raises(NotFound):
        policy.require_meeting(f.actor(outsider), meeting.id)
    with pytest.raises(NotFound):
        policy.require_meeting(f.actor(None), meeting.id)
    assert policy.can_answer_meeting(f.actor(member), meeting)
    # A public group's visitor sees the meeting, not its link nor who comes, and cannot answer.
    public = f.make_group()
    open_meeting = _meeting(db, public, f.owner_of(public), where="online", link="https://x.test/j")
    assert policy.require_meeting(f.actor(outsider), open_meeting.id) == open_meeting
    assert not policy.can_see_meeting_details(f.actor(outsider), open_meeting)
    assert meetings.attendance(f.actor(outsider), open_meeting) is None
    with pytest.raises(Denied):
        meetings.answer_meeting(f.actor(outsider), open_meeting, answer="going")
    # Site meetings: admins and site moderators arrange; every member sees them.
    site = meetings.create_meeting(
        f.actor(f.make_admin()),
        None,
        {"title": "Forum evening", "starts_at": "2027-04-01T20:00", "timezone": "UTC"},
        now=NOW,
    )
    with pytest.raises(Denied):
        meetings.create_meeting(f.actor(member), None, {"title": "x"}, now=NOW)
    assert policy.require_meeting(f.actor(outsider), site.id) == site
    with pytest.raises(NotFound):
        policy.require_meeting(f.actor(None), site.id)


def test_hidden_answers_are_counted_not_named(db):
    ann, bob = f.make_user(), f.make_user()
    group = f.make_group(members=(ann, bob))
    meeting = _meeting(db, group, f.owner_of(group))
    meetings.answer_meeting(f.actor(ann), meeting, answer="going", hidden=True)
    meetings.answer_meeting(f.actor(bob), meeting, answer="maybe")
    db.session.commit()
    seen_by_bob = meetings.attendance(f.actor(bob), meeting)
    assert seen_by_bob.going == [] and seen_by_bob.maybe == [bob.username]
    assert seen_by_bob.counts["going"] == 1
    assert meetings.attendance(f.actor(ann), meeting).going == [ann.username]
    with pytest.raises(Invalid):
        meetings.answer_meeting(f.actor(ann), meeting, answer="perhaps")


def _reminders(user):
    found = notifications.notifications(f.actor(user)).items
    return [n for n in found if n.kind == meetings.REMINDER_KIND]


def test_reminders_go_once_at_local_time_across_the_clock_change(db):
    ann, bob = f.make_user(), f.make_user()
    group = f.make_group(secret=True, members=(ann, bob))
    meeting = _meeting(db, group, f.owner_of(group))
    meetings.answer_meeting(f.actor(ann), meeting, answer="going")
    meetings.answer_meeting(f.actor(bob), meeting, answer="maybe", reminder="2h")
    db.session.commit()
    # 23 March 19:00 GMT, then 30 March 19:00 BST = 18:00 UTC.
    first, second = _utc(2027, 3, 23, 19), _utc(2027, 3, 30, 18)
    assert meetings.send_due_reminders(first - timedelta(hours=25)) == 0
    assert meetings.send_due_reminders(first - timedelta(hours=23)) == 1  # ann: a day
    assert meetings.send_due_reminders(first - timedelta(hours=22)) == 0  # never twice
    assert meetings.send_due_reminders(first - timedelta(hours=1, minutes=55)) == 1  # bob: 2h
    assert meetings.send_due_reminders(first - timedelta(minutes=5)) == 0
    db.session.commit()
    assert len(_reminders(ann)) == 1 and "19:00" in _reminders(ann)[0].text
    # After the clocks went forward: a day before 19:00 BST is 18:00 UTC the day before.
    assert meetings.send_due_reminders(second - timedelta(days=1, minutes=1)) == 0
    assert meetings.send_due_reminders(second - timedelta(days=1) + timedelta(minutes=4)) == 1
    db.session.commit()
    assert "19:00" in _reminders(ann)[0].text
    # Ann leaves the secret group: no more reminders, and the ones she had are gone.
    groups.remove_member(f.actor(f.owner_of(group)), group, ann.username)
    db.session.commit()
    third = _utc(2027, 4, 6, 18)
    assert meetings.send_due_reminders(third - timedelta(hours=1)) == 1  # bob only
    db.session.commit()
    assert _reminders(ann) == []
    assert len(_reminders(bob)) == 2  # the first and the third (no run near the second)


def test_no_reminder_for_no_or_none(db):
    ann, bob = f.make_user(), f.make_user()
    group = f.make_group(members=(ann, bob))
    meeting = _meeting(db, group, f.owner_of(group), repeat="none")
    meetings.answer_meeting(f.actor(ann), meeting, answer="no")
    meetings.answer_meeting(f.actor(bob), meeting, answer="going")
    meetings.set_calendar_settings(f.actor(bob), reminder="none")
    db.session.commit()
    assert meetings.send_due_reminders(_utc(2027, 3, 16, 18)) == 0


def test_calendar_feed_lists_current_groups_and_dies_when_revoked(db):
    ann = f.make_user()
    group = f.make_group(secret=True, members=(ann,))
    meeting = _meeting(db, group, f.owner_of(group), link="https://meet.test/abc")
    token = meetings.new_feed_token(f.actor(ann))
    db.session.commit()
    user, found = meetings.feed_meetings(token)
    assert user.id == ann.id and [m.id for m in found] == [meeting.id]
    cal = icalendar.Calendar.from_ical(
        meetings.ics(found, base_url="https://f.test", details=[meeting.id])
    )
    event = cal.walk("VEVENT")[0]
    assert str(event["summary"]) == "Tuesday circle"
    assert event["rrule"]["FREQ"] == ["WEEKLY"]
    assert event.decoded("dtstart") == datetime(
        2027, 3, 16, 19, tzinfo=event.decoded("dtstart").tzinfo
    )
    assert str(event.decoded("dtstart").tzinfo) == "Europe/London"
    assert cal.walk("VTIMEZONE")[0]["TZID"] == "Europe/London"
    assert "https://meet.test/abc" in str(event["location"])
    # Leaving the group takes its meetings out of the feed at the next fetch.
    groups.remove_member(f.actor(f.owner_of(group)), group, ann.username)
    db.session.commit()
    assert meetings.feed_meetings(token)[1] == []
    # A new address revokes the old one; revoking stops it.
    fresh = meetings.new_feed_token(f.actor(ann))
    db.session.commit()
    with pytest.raises(NotFound):
        meetings.feed_meetings(token)
    meetings.revoke_feed(f.actor(ann))
    db.session.commit()
    for dead in (fresh, "not-a-token", None):
        with pytest.raises(NotFound):
            meetings.feed_meetings(dead)


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("1h", _utc(2027, 3, 1, 13)),
        ("later", _utc(2027, 3, 1, 23)),  # 18:00 in New York (UTC-5)
        ("tomorrow", _utc(2027, 3, 2, 14)),  # 09:00 in New York
        ("week", _utc(2027, 3, 8, 14)),
    ],
)
def test_reminder_presets_use_the_members_zone(preset, expected):
    assert reminders.remind_at(preset, "America/New_York", NOW) == expected


def test_personal_reminder_sent_once_and_only_while_visible(db):
    ann, bob = f.make_user(), f.make_user()
    group = f.make_group(secret=True, members=(ann, bob))
    topic = f.make_topic(f.make_board(group=group), bob)
    post = f.make_post(topic, bob)
    meetings.set_calendar_settings(f.actor(ann), timezone="Europe/London")
    for who in (ann, bob):
        reminders.remind_me(f.actor(who), post, preset="tomorrow", now=NOW)
    db.session.commit()
    outsider = f.make_user()
    with pytest.raises(NotFound):
        reminders.remind_me(f.actor(outsider), post, preset="1h", now=NOW)
    assert len(reminders.my_reminders(f.actor(ann))) == 1
    groups.remove_member(f.actor(f.owner_of(group)), group, ann.username)
    db.session.commit()
    assert reminders.my_reminders(f.actor(ann)) == []
    due = _utc(2027, 3, 2, 9)
    assert reminders.send_due_reminders(due - timedelta(minutes=1)) == 0
    assert reminders.send_due_reminders(due) == 1  # bob; ann left the group
    assert reminders.send_due_reminders(due + timedelta(hours=1)) == 0
    db.session.commit()
    kinds = [n.kind for n in notifications.notifications(f.actor(bob)).items]
    assert kinds.count(reminders.KIND) == 1
    with pytest.raises(NotFound):
        reminders.cancel_reminder(f.actor(outsider), 1)
