"""Meeting pages without JavaScript (issue 14): the form's refusals, the calendar file's
link for members only, the feed made and stopped from /account/calendar, "remind me"."""

from __future__ import annotations

from datetime import timedelta

import icalendar

from forum.models.base import utcnow
from forum.services import meetings
from tests import factories as f


def _start(days: int = 8) -> str:
    return (utcnow() + timedelta(days=days)).strftime("%Y-%m-%dT19:00")


def test_arranging_refuses_bad_input_and_members_cannot(db, client, login_as):
    member = f.make_user()
    group = f.make_group(members=(member,))
    login_as(f.owner_of(group))
    form = {"title": "Walk", "starts_at": "2001-01-01T10:00", "timezone": "Nowhere/Land"}
    refused = client.post(f"/g/{group.slug}/meetings/new", data=form)
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Unknown time zone" in text or "IANA" in text
    form = {"title": "Walk", "starts_at": _start(), "timezone": "UTC", "repeat": "weekly"}
    made = client.post(f"/g/{group.slug}/meetings/new", data=form)
    assert made.status_code == 302
    assert "Walk" in client.get(f"/g/{group.slug}").get_data(as_text=True)
    login_as(member)
    assert client.get(f"/g/{group.slug}/meetings/new").status_code == 403


def test_calendar_file_shows_the_link_to_members_only(db, client, login_as):
    member, visitor = f.make_user(), f.make_user()
    group = f.make_group(members=(member,))
    meeting = meetings.create_meeting(
        f.actor(f.owner_of(group)),
        group,
        {
            "title": "Online tea",
            "starts_at": _start(),
            "timezone": "UTC",
            "link": "https://t.test/x",
        },
    )
    db.session.commit()
    for user, shown in ((member, True), (visitor, False)):
        login_as(user)
        answer = client.get(f"/meetings/{meeting.id}.ics")
        assert answer.status_code == 200 and answer.mimetype == "text/calendar"
        (event,) = icalendar.Calendar.from_ical(answer.data).walk("VEVENT")
        assert ("https://t.test/x" in str(event.get("location", ""))) is shown
        page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
        assert ("https://t.test/x" in page) is shown
        assert ("Are you coming?" in page) is shown


def test_feed_made_and_stopped_and_remind_me(db, client, login_as):
    member = f.make_user()
    login_as(member)
    assert client.post("/account/calendar", data={"action": "feed"}).status_code == 302
    page = client.get("/account/calendar").get_data(as_text=True)
    start = page.index("/calendar/")
    path = page[start : page.index('"', start)]
    assert client.get(path).status_code == 200
    client.post("/account/calendar", data={"action": "revoke"})
    assert client.get(path).status_code == 404
    post = f.make_post()
    post_id, title = post.id, post.topic.title
    assert client.post(f"/p/{post_id}/remind", data={"preset": "tomorrow"}).status_code == 302
    assert title in client.get("/reminders").get_data(as_text=True)
