"""Meetings (issue 14): a group's or the site's meetings, answers, the member's calendar
settings and feed, and personal reminders.

A meeting of a secret group answers an outsider exactly like one that does not exist
(`policy.require_meeting`); the online link and who is going are in the answer only for
the group's members (null otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask import url_for

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api.blueprint import bp
from forum.blueprints.api.serializers import timestamp
from forum.models.groups import Group
from forum.models.meetings import Meeting
from forum.policy import Actor
from forum.services import meetings
from forum.services import reminders


def meeting_answer(actor: Actor, meeting: Meeting, group: Group | None = None) -> dict[str, Any]:
    """The meeting as `actor` sees it."""
    if meeting.group_id is not None and group is None:
        group = meetings.meeting_group(actor, meeting)
    details = policy.can_see_meeting_details(actor, meeting)
    attendance = meetings.attendance(actor, meeting)
    mine = meetings.my_answer(actor, meeting)
    return {
        "id": meeting.id,
        "title": meeting.title,
        "starts_at": timestamp(meeting.starts_at),
        "next_at": timestamp(meetings.next_occurrence(meeting)),
        "local_start": meetings.local_time(meeting.starts_at, meeting.timezone).strftime(
            "%Y-%m-%dT%H:%M"
        ),
        "timezone": meeting.timezone,
        "repeat": meeting.repeat,
        "where": meeting.place,
        "online": meeting.online,
        "link": meeting.link if details else None,
        "notes": meeting.notes,
        "notes_html": meeting.notes_html,
        "group": group.slug if group is not None else None,
        "url": meeting.url,
        "ics_url": url_for("meetings.ics", meeting_id=meeting.id),
        "my_answer": mine.answer if mine is not None else None,
        "attendance": None if attendance is None else attendance.__dict__,
        "can_edit": policy.can_manage_meetings(actor, group if meeting.group_id else None),
    }


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


@bp.get("/groups/<slug>/meetings")
def group_meetings(slug: str) -> Any:
    actor = context.current_actor()
    group = policy.require_group(actor, inputs.slug(slug))
    found = meetings.upcoming_meetings(actor, group)
    return {"meetings": [meeting_answer(actor, u.meeting, group) for u in found]}


@bp.post("/groups/<slug>/meetings")
@transaction.writes
def new_group_meeting(slug: str) -> Any:
    actor = context.current_actor()
    group = policy.require_group(actor, inputs.slug(slug))
    data = inputs.body(schemas.meetings.NewMeeting)
    meeting = meetings.create_meeting(actor, group, _fields(data))
    return meeting_answer(actor, meeting, group), 201


@bp.get("/meetings")
def site_meetings() -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    found = meetings.upcoming_meetings(actor, None)
    return {"meetings": [meeting_answer(actor, u.meeting) for u in found]}


@bp.post("/meetings")
@transaction.writes
def new_site_meeting() -> Any:
    actor = context.current_actor()
    data = inputs.body(schemas.meetings.NewMeeting)
    meeting = meetings.create_meeting(actor, None, _fields(data))
    return meeting_answer(actor, meeting), 201


@bp.get("/me/meetings")
def my_meetings() -> Any:
    actor = context.current_actor()
    found = meetings.my_meetings(actor)
    return {"meetings": [meeting_answer(actor, u.meeting) for u in found]}


@bp.route("/meetings/<id:meeting_id>", methods=["GET", "PATCH", "DELETE"])
@transaction.writes
def meeting(meeting_id: int) -> Any:
    actor = context.current_actor()
    found = policy.require_meeting(actor, meeting_id)
    if request.method == "PATCH":
        data = inputs.body(schemas.meetings.MeetingChange)
        meetings.update_meeting(actor, found, _fields(data))
    elif request.method == "DELETE":
        meetings.delete_meeting(actor, found)
        return "", 204
    return meeting_answer(actor, found)


@bp.put("/meetings/<id:meeting_id>/rsvp")
@transaction.writes
def rsvp(meeting_id: int) -> Any:
    actor = context.current_actor()
    found = policy.require_meeting(actor, meeting_id)
    data = inputs.body(schemas.meetings.MeetingAnswerChange)
    answer = meetings.answer_meeting(
        actor,
        found,
        answer=data.get("answer"),
        hidden=data.get("hidden"),
        reminder=data.get("reminder"),
    )
    return {"answer": answer.answer, "hidden": answer.hidden, "reminder": answer.reminder}


def _calendar(actor: Actor) -> dict[str, Any]:
    settings = meetings.calendar_settings(actor)
    return {
        "timezone": settings.timezone,
        "reminder": settings.reminder,
        "feed": settings.feed_token_hash is not None,
    }


@bp.route("/me/calendar", methods=["GET", "PUT"])
@transaction.writes
def calendar() -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    if request.method == "PUT":
        data = inputs.body(schemas.meetings.CalendarSettingsChange)
        meetings.set_calendar_settings(
            actor, timezone=data.get("timezone"), reminder=data.get("reminder")
        )
    return _calendar(actor)


@bp.route("/me/calendar/feed", methods=["POST", "DELETE"])
@transaction.writes
def calendar_feed() -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    if request.method == "DELETE":
        meetings.revoke_feed(actor)
        return "", 204
    token = meetings.new_feed_token(actor)
    return {"url": context.public_url(url_for("meetings.feed", token=token))}, 201


def _reminder(pending: reminders.Pending) -> dict[str, Any]:
    return {
        "id": pending.reminder.id,
        "post_id": pending.post.id,
        "remind_at": timestamp(pending.reminder.remind_at),
        "url": f"/p/{pending.post.id}",
    }


@bp.get("/me/reminders")
def my_reminders() -> Any:
    actor = context.current_actor()
    return {"reminders": [_reminder(p) for p in reminders.my_reminders(actor)]}


@bp.post("/posts/<id:post_id>/reminders")
@transaction.writes
def new_reminder(post_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    post = policy.require_post(actor, post_id)
    data = inputs.body(schemas.meetings.NewReminder)
    made = reminders.remind_me(actor, post, preset=data.get("preset"))
    return _reminder(reminders.Pending(made, post)), 201


@bp.delete("/reminders/<id:reminder_id>")
@transaction.writes
def cancel_reminder(reminder_id: int) -> Any:
    actor = context.current_actor()
    reminders.cancel_reminder(actor, reminder_id)
    return "", 204
