"""Meetings: arranging them, answering them, their occurrences, reminders and calendars.

Occurrences are computed from the first one's wall-clock time in the meeting's IANA zone
(`zoneinfo`, from the system's tz database or the `tzdata` package): a weekly meeting at
19:00 Europe/London is at 19:00 local time on both sides of a clock change, 19:00 UTC in
winter and 18:00 UTC in summer. A monthly meeting falls on the same day of each month,
so it must start on day 1-28 (not every month has a 29th-31st).

Reminders go to members who answered "going" or "maybe", `Lead` before each occurrence
(their choice for the meeting, else their default: a day), as an in-app notification of
kind `meeting_reminder` (e-mail follows the member's per-kind choice, built with the
notification e-mail), sent by the periodic job (`send_due_reminders`, run by
`forum outbox drain`). A marker row per member and occurrence means never twice, and
membership is checked at sending time: a member who left the group is not reminded.

Calendars: an `.ics` file per meeting and a private feed per member, both RFC 5545 with
an RRULE, written with the `icalendar` library (which also writes each zone's
VTIMEZONE from the tz database, the fiddly part of the format by hand). The feed's URL
holds a secret token (only its SHA-256 is stored); it lists the meetings of the groups
the member is in when the calendar app fetches it, and a revoked token is a 404.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

import icalendar
from sqlalchemy import and_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import tuple_

from forum import policy
from forum import rendering
from forum import validation
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.meetings import Answer
from forum.models.meetings import Lead
from forum.models.meetings import Meeting
from forum.models.meetings import MeetingAnswer
from forum.models.meetings import MeetingReminderSent
from forum.models.meetings import MemberCalendar
from forum.models.meetings import Repeat
from forum.models.users import User
from forum.policy import Actor
from forum.services import notifications

REPEATS = tuple(r.value for r in Repeat)
ANSWERS = tuple(a.value for a in Answer)
LEADS = tuple(lead.value for lead in Lead)
LEAD_DELTAS = {Lead.DAY.value: timedelta(days=1), Lead.TWO_HOURS.value: timedelta(hours=2)}
TITLE_MIN, TITLE_MAX = 3, 120
PLACE_MAX = 200
LINK_MAX = 500
NOTES_MAX = 5000
# How far ahead a meeting may be arranged.
AHEAD_MAX = timedelta(days=2 * 366)
MONTH_DAY_MAX = 28
# Calendar apps want an end: meetings have none, so an hour is shown.
DURATION = timedelta(hours=1)
REMINDER_KIND = "meeting_reminder"
_ZONE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}")
_LINK_RE = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_STEP_DAYS = {Repeat.WEEKLY.value: 7, Repeat.FORTNIGHTLY.value: 14}


# --- time zones and occurrences ------------------------------------------------------


def zone(name: Any, field: str = "timezone") -> ZoneInfo:
    """The IANA zone by name ("Europe/London"), or `Invalid`."""
    if not isinstance(name, str) or len(name) > 64 or not _ZONE_RE.fullmatch(name):
        raise Invalid(field, "Give an IANA time zone such as Europe/London.")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(field, f"Unknown time zone: {name}.") from exc


def parse_start(value: Any, tz: ZoneInfo) -> datetime:
    """A start time given as ISO 8601 ("2026-12-10T19:00"): a wall-clock time in `tz`,
    or with an offset or Z (then converted). Returned in UTC."""
    if not isinstance(value, str) or len(value) > 40:
        raise Invalid("starts_at", "Give the start as 2026-12-10T19:00 (local time).")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise Invalid("starts_at", "Give the start as 2026-12-10T19:00 (local time).") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC).replace(microsecond=0)


def _wall(meeting: Meeting) -> datetime:
    """The first occurrence's wall-clock time in the meeting's zone (naive)."""
    return meeting.starts_at.astimezone(ZoneInfo(meeting.timezone)).replace(tzinfo=None)


def _add_months(wall: datetime, months: int) -> datetime:
    month = wall.month - 1 + months
    return wall.replace(year=wall.year + month // 12, month=month % 12 + 1)


def occurrence(meeting: Meeting, index: int) -> datetime:
    """The meeting's `index`-th occurrence (0: the first), in UTC, at the same local time."""
    wall = _wall(meeting)
    if meeting.repeat in _STEP_DAYS:
        wall = wall + timedelta(days=_STEP_DAYS[meeting.repeat] * index)
    elif meeting.repeat == Repeat.MONTHLY.value:
        wall = _add_months(wall, index)
    elif index:
        raise IndexError("a one-off meeting has one occurrence")
    return wall.replace(tzinfo=ZoneInfo(meeting.timezone)).astimezone(UTC)


def occurrences(meeting: Meeting, after: datetime, count: int = 1) -> list[datetime]:
    """The next `count` occurrences that start after `after` (UTC)."""
    if meeting.repeat == Repeat.NONE.value:
        return [meeting.starts_at] if meeting.starts_at > after and count else []
    # Start a little before where `after` falls, then walk forward.
    if meeting.repeat in _STEP_DAYS:
        index = max(0, (after - meeting.starts_at).days // _STEP_DAYS[meeting.repeat] - 1)
    else:
        first = meeting.starts_at
        index = max(0, (after.year - first.year) * 12 + after.month - first.month - 1)
    found: list[datetime] = []
    while len(found) < count:
        when = occurrence(meeting, index)
        if when > after:
            found.append(when)
        index += 1
    return found


def next_occurrence(meeting: Meeting, after: datetime | None = None) -> datetime | None:
    """The next occurrence after `after` (default now), or None when it is all past."""
    found = occurrences(meeting, after or utcnow(), 1)
    return found[0] if found else None


def local_time(when: datetime, timezone: str) -> datetime:
    """`when` as a wall-clock time in the zone (aware)."""
    return when.astimezone(ZoneInfo(timezone))


# --- arranging meetings --------------------------------------------------------------


@dataclass(frozen=True)
class _Fields:
    title: str
    starts_at: datetime
    timezone: str
    repeat: str
    place: str
    online: bool
    link: str
    notes: str
    notes_html: str


def _validated(values: dict[str, Any], now: datetime, *, old: Meeting | None) -> _Fields:
    errors: dict[str, str] = {}

    def read(name: str, check: Any) -> Any:
        try:
            return check()
        except Invalid as exc:
            errors.update(exc.fields)
            return None

    def current(name: str, default: Any) -> Any:
        if name in values:
            return values[name]
        return getattr(old, name) if old is not None else default

    title = read(
        "title",
        lambda: validation.text(
            current("title", None), "title", min_len=TITLE_MIN, max_len=TITLE_MAX
        ),
    )
    tz = read("timezone", lambda: zone(current("timezone", None)))
    starts_at: datetime | None = None
    if tz is not None:
        if old is not None and "starts_at" not in values:
            starts_at = old.starts_at
            if "timezone" in values:
                # The same wall-clock time in the new zone.
                wall = old.starts_at.astimezone(ZoneInfo(old.timezone)).replace(tzinfo=None)
                starts_at = wall.replace(tzinfo=tz).astimezone(UTC)
        else:
            starts_at = read("starts_at", lambda: parse_start(values.get("starts_at"), tz))
        if starts_at is not None and (old is None or "starts_at" in values):
            if starts_at <= now:
                errors["starts_at"] = "That time has passed: give one in the future."
            elif starts_at > now + AHEAD_MAX:
                errors["starts_at"] = "A meeting can be arranged at most two years ahead."
    repeat = read(
        "repeat",
        lambda: validation.choice(current("repeat", Repeat.NONE.value), "repeat", REPEATS),
    )
    if repeat == Repeat.MONTHLY.value and starts_at is not None and tz is not None:
        day = starts_at.astimezone(tz).day
        if day > MONTH_DAY_MAX:
            errors["repeat"] = (
                f"A monthly meeting must fall on day 1-{MONTH_DAY_MAX}: not every month "
                f"has a day {day}."
            )
    place = read(
        "where",
        lambda: validation.text(
            values["where"] if "where" in values else (old.place if old is not None else ""),
            "where",
            max_len=PLACE_MAX,
            label="Where",
        ),
    )
    link = read(
        "link",
        lambda: validation.text(
            values["link"] if "link" in values else (old.link if old is not None else ""),
            "link",
            max_len=LINK_MAX,
            label="Link",
        ),
    )
    if link and not _LINK_RE.fullmatch(link):
        errors["link"] = "The link must be a web address starting with https://."
    notes = read(
        "notes",
        lambda: validation.text(
            values["notes"] if "notes" in values else (old.notes if old is not None else ""),
            "notes",
            max_len=NOTES_MAX,
            label="Notes",
        ),
    )
    notes_html = ""
    if notes:
        try:
            notes_html = rendering.render_markdown(notes)
        except rendering.TooComplex as exc:
            errors["notes"] = exc.message
    if errors:
        raise Invalid(errors)
    online = bool(link) or (place or "").strip().lower() == "online"
    return _Fields(
        title=title,
        starts_at=starts_at,  # type: ignore[arg-type]
        timezone=str(tz.key),  # type: ignore[union-attr]
        repeat=repeat,
        place=place or "",
        online=online,
        link=link or "",
        notes=notes or "",
        notes_html=notes_html,
    )


def create_meeting(
    actor: Actor, group: Group | None, values: dict[str, Any], *, now: datetime | None = None
) -> Meeting:
    """Arrange a meeting for a group (its owners and moderators) or the site (`group`
    None: admins and site moderators). `values`: title, starts_at, timezone, repeat,
    where, link, notes."""
    policy.check_manage_meetings(actor, group)
    fields = _validated(values, now or utcnow(), old=None)
    meeting = Meeting(
        group_id=group.id if group is not None else None,
        created_by_id=actor.user_id or None,
        created_at=utcnow(),
        **fields.__dict__,
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def meeting_group(actor: Actor, meeting: Meeting) -> Group | None:
    """The group of a meeting the actor can see (None: a site meeting)."""
    if meeting.group_id is None:
        return None
    found: Group | None = db.session.scalar(
        policy.visible_groups(actor).where(Group.id == meeting.group_id)
    )
    return found


def _group_of(meeting: Meeting) -> Group | None:
    return db.session.get(Group, meeting.group_id) if meeting.group_id is not None else None


def update_meeting(
    actor: Actor, meeting: Meeting, values: dict[str, Any], *, now: datetime | None = None
) -> Meeting:
    """Change some of a meeting's fields (whoever may arrange its meetings)."""
    policy.check_manage_meetings(actor, _group_of(meeting))
    fields = _validated(values, now or utcnow(), old=meeting)
    for name, value in fields.__dict__.items():
        setattr(meeting, name, value)
    db.session.flush()
    return meeting


def delete_meeting(actor: Actor, meeting: Meeting) -> None:
    """Call a meeting off: it goes, with its answers and reminder markers."""
    policy.check_manage_meetings(actor, _group_of(meeting))
    db.session.delete(meeting)
    db.session.flush()


# --- answers ------------------------------------------------------------------------


def my_answer(actor: Actor, meeting: Meeting) -> MeetingAnswer | None:
    """The actor's own answer to the meeting, if any."""
    if not actor.is_member:
        return None
    found: MeetingAnswer | None = db.session.scalar(
        select(MeetingAnswer).where(
            MeetingAnswer.meeting_id == meeting.id, MeetingAnswer.user_id == actor.user_id
        )
    )
    return found


def answer_meeting(
    actor: Actor,
    meeting: Meeting,
    *,
    answer: Any,
    hidden: Any = None,
    reminder: Any = None,
) -> MeetingAnswer:
    """Answer a meeting going / maybe / no; `hidden`: other members do not see it;
    `reminder`: 1d / 2h / none for this meeting ("default": the member's default)."""
    policy.check_answer_meeting(actor, meeting)
    answer = validation.choice(answer, "answer", ANSWERS)
    if hidden is not None:
        hidden = validation.boolean(hidden, "hidden")
    if reminder is not None:
        reminder = validation.choice(reminder, "reminder", (*LEADS, "default"))
    found = my_answer(actor, meeting)
    if found is None:
        found = MeetingAnswer(meeting_id=meeting.id, user_id=actor.user_id, hidden=False)
        db.session.add(found)
    found.answer = answer
    if hidden is not None:
        found.hidden = hidden
    if reminder is not None:
        found.reminder = None if reminder == "default" else reminder
    found.updated_at = utcnow()
    db.session.flush()
    return found


@dataclass(frozen=True)
class Attendance:
    """Who answered, as the actor may see it: names of those who did not hide their
    answer, and how many answered each way."""

    going: list[str]
    maybe: list[str]
    counts: dict[str, int]


def attendance(actor: Actor, meeting: Meeting) -> Attendance | None:
    """The answers, for the meeting's audience only (None for anyone else). Only current
    members count: an answer of someone who left the group is not shown."""
    if not policy.can_see_meeting_details(actor, meeting):
        return None
    stmt = (
        select(MeetingAnswer.answer, MeetingAnswer.hidden, MeetingAnswer.user_id, User.username)
        .join(User, User.id == MeetingAnswer.user_id)
        .where(MeetingAnswer.meeting_id == meeting.id, User.deleted_at.is_(None))
        .order_by(MeetingAnswer.updated_at, MeetingAnswer.id)
    )
    if meeting.group_id is not None:
        stmt = stmt.where(
            MeetingAnswer.user_id.in_(
                select(Membership.user_id).where(Membership.group_id == meeting.group_id)
            )
        )
    names: dict[str, list[str]] = {"going": [], "maybe": []}
    counts = dict.fromkeys(ANSWERS, 0)
    for answer, hidden, user_id, username in db.session.execute(stmt):
        counts[answer] = counts.get(answer, 0) + 1
        if answer in names and (not hidden or user_id == actor.user_id):
            names[answer].append(username)
    return Attendance(going=names["going"], maybe=names["maybe"], counts=counts)


# --- lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class Upcoming:
    meeting: Meeting
    next_at: datetime


def _upcoming(stmt: Any, now: datetime, limit: int) -> list[Upcoming]:
    found: list[Upcoming] = []
    for meeting in db.session.scalars(
        stmt.where(or_(Meeting.repeat != Repeat.NONE.value, Meeting.starts_at > now))
    ):
        when = next_occurrence(meeting, now)
        if when is not None:
            found.append(Upcoming(meeting, when))
    found.sort(key=lambda u: (u.next_at, u.meeting.id))
    return found[:limit]


def upcoming_meetings(
    actor: Actor, group: Group | None, *, now: datetime | None = None, limit: int = 50
) -> list[Upcoming]:
    """A group's (or, `group` None, the site's) meetings still to come, soonest first."""
    scope = policy.visible_meetings(actor)
    scope = scope.where(
        Meeting.group_id == group.id if group is not None else Meeting.group_id.is_(None)
    )
    return _upcoming(scope, now or utcnow(), limit)


def my_meetings(actor: Actor, *, now: datetime | None = None, limit: int = 100) -> list[Upcoming]:
    """Meetings still to come of the groups the member is in, and the site's."""
    policy.require_member(actor)
    return _upcoming(_audience_scope(actor), now or utcnow(), limit)


def _audience_scope(actor: Actor) -> Any:
    # The meetings whose audience the actor is in (a subset of visible_meetings).
    return policy.visible_meetings(actor).where(
        or_(Meeting.group_id.is_(None), Meeting.group_id.in_(sorted(actor.group_ids)))
    )


# --- member settings and the calendar feed ---------------------------------------------


def calendar_settings(actor: Actor) -> MemberCalendar:
    """The member's calendar settings (defaults, not stored, if they chose nothing)."""
    user_id = policy.require_member(actor)
    found: MemberCalendar | None = db.session.scalar(
        select(MemberCalendar).where(MemberCalendar.user_id == user_id)
    )
    return found or MemberCalendar(user_id=user_id, timezone="UTC", reminder=Lead.DAY.value)


def _stored_settings(actor: Actor) -> MemberCalendar:
    settings = calendar_settings(actor)
    if settings.id is None:
        db.session.add(settings)
    return settings


def set_calendar_settings(
    actor: Actor, *, timezone: Any = None, reminder: Any = None
) -> MemberCalendar:
    """Change the member's time zone and default meeting reminder (1d, 2h, none)."""
    policy.require_member(actor)
    errors: dict[str, str] = {}
    tz_name = None
    if timezone is not None:
        try:
            tz_name = str(zone(timezone).key)
        except Invalid as exc:
            errors.update(exc.fields)
    if reminder is not None and reminder not in LEADS:
        errors["reminder"] = f"reminder must be one of: {', '.join(LEADS)}."
    if errors:
        raise Invalid(errors)
    settings = _stored_settings(actor)
    if tz_name is not None:
        settings.timezone = tz_name
    if reminder is not None:
        settings.reminder = reminder
    db.session.flush()
    return settings


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_feed_token(actor: Actor) -> str:
    """Make (or make anew) the member's calendar feed: the old URL stops working. The
    token is returned once; only its hash is kept."""
    settings = _stored_settings(actor)
    token = secrets.token_urlsafe(24)
    settings.feed_token_hash = _token_hash(token)
    settings.feed_created_at = utcnow()
    db.session.flush()
    return token


def revoke_feed(actor: Actor) -> bool:
    """Stop the member's calendar feed; True if there was one."""
    settings = calendar_settings(actor)
    had = settings.feed_token_hash is not None
    if settings.id is not None:
        settings.feed_token_hash = None
        settings.feed_created_at = None
        db.session.flush()
    return had


def feed_meetings(token: Any) -> tuple[User, list[Meeting]]:
    """The member a feed token belongs to and the meetings of their groups now (and the
    site's); `NotFound` for a token that is unknown, revoked, or of a deleted account."""
    if not isinstance(token, str) or not validation.TOKEN_RE.fullmatch(token):
        raise NotFound()
    user: User | None = db.session.scalar(
        select(User)
        .join(MemberCalendar, MemberCalendar.user_id == User.id)
        .where(MemberCalendar.feed_token_hash == _token_hash(token), User.deleted_at.is_(None))
    )
    if user is None:
        raise NotFound()
    # Membership now, not when the feed was made.
    actor = policy.actor_for(user, guests_read=False)
    meetings = list(db.session.scalars(_audience_scope(actor).order_by(Meeting.starts_at)))
    return user, meetings


_RRULES: dict[str, dict[str, Any]] = {
    Repeat.WEEKLY.value: {"freq": "weekly"},
    Repeat.FORTNIGHTLY.value: {"freq": "weekly", "interval": 2},
    Repeat.MONTHLY.value: {"freq": "monthly"},
}


def ics(
    meetings: Iterable[Meeting], *, base_url: str, details: Sequence[int] = (), name: str = ""
) -> bytes:
    """An iCalendar (RFC 5545) file of the meetings, each with its RRULE and its zone's
    VTIMEZONE. `details`: ids of meetings whose online link may be included."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//forum//meetings//EN")
    cal.add("version", "2.0")
    if name:
        cal.add("x-wr-calname", name)
    stamp = utcnow().replace(microsecond=0)
    host = re.sub(r"^https?://", "", base_url).split("/")[0].split(":")[0] or "forum"
    first: date | None = None
    for meeting in meetings:
        start = meeting.starts_at.date()
        first = start if first is None or start < first else first
        event = icalendar.Event()
        event.add("uid", f"meeting-{meeting.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", local_time(meeting.starts_at, meeting.timezone))
        event.add("duration", DURATION)
        if meeting.repeat in _RRULES:
            event.add("rrule", _RRULES[meeting.repeat])
        event.add("summary", meeting.title)
        where = meeting.place
        if meeting.online and meeting.id in details and meeting.link:
            where = f"{where} {meeting.link}".strip() if where.lower() != "online" else meeting.link
        if where:
            event.add("location", where)
        url = f"{base_url.rstrip('/')}{meeting.url}"
        event.add("url", url)
        event.add("description", f"{meeting.notes}\n\n{url}".strip())
        cal.add_component(event)
    # Each zone's rules from a year before the first meeting (not since 1970: smaller).
    if first is not None:
        cal.add_missing_timezones(
            first_date=first.replace(year=first.year - 1, day=1),
            last_date=date(max(first.year + 12, 2038), 1, 1),
        )
    data: bytes = cal.to_ical()
    return data


# --- reminders ----------------------------------------------------------------------


def _reminder_text(meeting: Meeting, when: datetime) -> str:
    local = local_time(when, meeting.timezone)
    return f'Reminder: "{meeting.title}" starts {local:%a %d %b at %H:%M} ({meeting.timezone}).'


def send_due_reminders(now: datetime | None = None) -> int:
    """Remind members of the occurrences starting within their chosen lead: once per
    member and occurrence, and only while they are still in the meeting's audience.
    Returns how many were sent. Cheap when nothing is due: one query for the meetings
    that may have an occurrence within a day."""
    now = now or utcnow()
    horizon = now + max(LEAD_DELTAS.values())
    candidates = db.session.scalars(
        select(Meeting).where(
            or_(
                Meeting.repeat != Repeat.NONE.value,
                and_(Meeting.starts_at > now, Meeting.starts_at <= horizon),
            ),
            Meeting.starts_at <= horizon,
        )
    )
    due: dict[int, tuple[Meeting, datetime]] = {}
    for meeting in candidates:
        when = next_occurrence(meeting, now)
        if when is not None and when <= horizon:
            due[meeting.id] = (meeting, when)
    if not due:
        return 0
    answers = list(
        db.session.scalars(
            select(MeetingAnswer).where(
                MeetingAnswer.meeting_id.in_(sorted(due)),
                MeetingAnswer.answer.in_([Answer.GOING.value, Answer.MAYBE.value]),
            )
        )
    )
    if not answers:
        return 0
    user_ids = sorted({a.user_id for a in answers})
    defaults = dict(
        db.session.execute(
            select(MemberCalendar.user_id, MemberCalendar.reminder).where(
                MemberCalendar.user_id.in_(user_ids)
            )
        ).all()
    )
    sent = set(
        db.session.execute(
            select(MeetingReminderSent.meeting_id, MeetingReminderSent.user_id).where(
                tuple_(MeetingReminderSent.meeting_id, MeetingReminderSent.occurrence).in_(
                    [(meeting_id, when) for meeting_id, (_m, when) in due.items()]
                )
            )
        ).all()
    )
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
    count = 0
    for found in answers:
        meeting, when = due[found.meeting_id]
        lead = found.reminder or defaults.get(found.user_id, Lead.DAY.value)
        if lead not in LEAD_DELTAS or when - LEAD_DELTAS[lead] > now:
            continue
        if (found.meeting_id, found.user_id) in sent:
            continue
        user = users.get(found.user_id)
        if user is None or user.is_deleted:
            continue
        # Membership at sending time: whoever left the group hears nothing more of it.
        actor = policy.actor_for(user, guests_read=False)
        if not policy.is_meeting_member(actor, meeting):
            continue
        db.session.add(
            MeetingReminderSent(
                meeting_id=meeting.id, user_id=user.id, occurrence=when, sent_at=now
            )
        )
        notifications.notify_notice(
            user.id,
            REMINDER_KIND,
            _reminder_text(meeting, when),
            group_id=meeting.group_id,
            meeting_id=meeting.id,
            # For the reminder senders, who word it without the title (and check again).
            details={"meeting_id": meeting.id, "at": when.isoformat()},
        )
        count += 1
    db.session.flush()
    return count
