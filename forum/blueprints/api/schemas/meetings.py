"""Meetings (issue 14): arranging them, answering them, the member's calendar settings and
personal reminders."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from forum.blueprints.api.schemas.base import Answer
from forum.blueprints.api.schemas.base import Body
from forum.blueprints.api.schemas.base import Boolean
from forum.blueprints.api.schemas.base import Count
from forum.blueprints.api.schemas.base import Id
from forum.blueprints.api.schemas.base import Text
from forum.blueprints.api.schemas.base import Time
from forum.blueprints.api.schemas.base import Url
from forum.blueprints.api.schemas.base import one_of
from forum.blueprints.api.schemas.base import spec
from forum.services import meetings
from forum.services import reminders

START_NOTE = (
    "Local time in `timezone`, ISO 8601 without an offset (2026-12-10T19:00); with an "
    "offset or Z it is converted. Must be in the future, at most two years ahead."
)


class NewMeeting(Body):
    title: Text = spec(minLength=meetings.TITLE_MIN, maxLength=meetings.TITLE_MAX)
    starts_at: Text = spec(description=START_NOTE)
    timezone: Text = spec(description="An IANA time zone, e.g. Europe/London", maxLength=64)
    repeat: Text = spec(
        "none",
        enum=list(meetings.REPEATS),
        description="Occurrences keep the local time across clock changes; monthly: on "
        "the same day of the month, which must be 1-28",
    )
    where: Text = spec(
        "", maxLength=meetings.PLACE_MAX, description='A place, or "online" (then give `link`)'
    )
    link: Text = spec(
        "",
        maxLength=meetings.LINK_MAX,
        description="An https:// address to join online: shown to the group's members only",
    )
    notes: Text = spec("", maxLength=meetings.NOTES_MAX, description="Markdown")


class MeetingChange(Body):
    title: Text = spec(None, minLength=meetings.TITLE_MIN, maxLength=meetings.TITLE_MAX)
    starts_at: Text = spec(None, description=START_NOTE)
    timezone: Text = spec(None, maxLength=64, description="Changing it keeps the local time")
    repeat: Text = spec(None, enum=list(meetings.REPEATS))
    where: Text = spec(None, maxLength=meetings.PLACE_MAX)
    link: Text = spec(None, maxLength=meetings.LINK_MAX)
    notes: Text = spec(None, maxLength=meetings.NOTES_MAX)


class Attendance(Answer):
    going: Annotated[list[str], Field(description="Names, except those who hid their answer")]
    maybe: list[str]
    counts: Annotated[dict[str, Count], Field(description="Per answer, hidden ones included")]


class Meeting(Answer):
    id: Id
    title: str
    starts_at: Annotated[Time, Field(description="The first occurrence (UTC)")]
    next_at: Annotated[Time | None, Field(description="The next occurrence; null: all past")]
    local_start: Annotated[str, Field(description="The first occurrence's local wall time")]
    timezone: str
    repeat: one_of(meetings.REPEATS)  # type: ignore[valid-type]
    where: str
    online: bool
    link: Annotated[str | None, Field(description="null unless you are a member")]
    notes: str
    notes_html: str
    group: Annotated[str | None, Field(description="The group's slug; null: a site meeting")]
    url: Url
    ics_url: Url
    my_answer: Annotated[str | None, Field(description="Yours (going, maybe, no) or null")]
    attendance: Annotated[Attendance | None, Field(description="null unless you are a member")]
    can_edit: bool


class MeetingList(Answer):
    meetings: list[Meeting]


class MeetingAnswerChange(Body):
    answer: Text = spec(enum=list(meetings.ANSWERS))
    hidden: Boolean = spec(None, description="true: other members do not see your answer")
    reminder: Text = spec(
        None,
        enum=[*meetings.LEADS, "default"],
        description="Before each occurrence: 1d, 2h, none; default: your calendar setting",
    )


class MeetingAnswerState(Answer):
    answer: one_of(meetings.ANSWERS)  # type: ignore[valid-type]
    hidden: bool
    reminder: Annotated[str | None, Field(description="null: your default")]


class CalendarSettingsChange(Body):
    timezone: Text = spec(None, maxLength=64, description="An IANA time zone")
    reminder: Text = spec(None, enum=list(meetings.LEADS), description="Default for meetings")


class CalendarSettings(Answer):
    timezone: str
    reminder: str
    feed: Annotated[bool, Field(description="Whether you have a calendar feed")]


class CalendarFeed(Answer):
    url: Annotated[str, Field(description="Secret: shown once; a new one revokes the old")]


class NewReminder(Body):
    preset: Text = spec(enum=list(reminders.PRESETS), description="In your time zone")


class Reminder(Answer):
    id: Id
    post_id: Id
    remind_at: Time
    url: Url


class ReminderList(Answer):
    reminders: list[Reminder]
