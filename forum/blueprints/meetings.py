"""Meetings in the browser: a member's meetings, a meeting's page with its answer buttons,
the create/edit form, `.ics` files and the private calendar feed, the member's calendar
settings, and personal reminders ("remind me" on a post, /reminders).

Every meeting route starts with `policy.require_meeting` (a secret group's meeting is the
same 404 as none); the group routes with `policy.require_group`. No JavaScript: forms.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response as FlaskResponse
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from werkzeug.wrappers import Response

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.errors import Invalid
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.meetings import Meeting
from forum.policy import Actor
from forum.services import meetings
from forum.services import reminders

bp = Blueprint("meetings", __name__)

Page = str | tuple[str, int]
FIELDS = ("title", "starts_at", "timezone", "repeat", "where", "link", "notes")
ANSWER_LABELS = {"going": "Going", "maybe": "Maybe", "no": "Can't come"}
LEAD_LABELS = {"1d": "A day before", "2h": "Two hours before", "none": "No reminder"}
REPEAT_LABELS = {
    "none": "Once",
    "weekly": "Every week",
    "fortnightly": "Every two weeks",
    "monthly": "Every month",
}
_FEED_KEY = "forum_new_calendar_feed"


@bp.app_context_processor
def _labels() -> dict[str, object]:
    return {
        "meeting_local": meetings.local_time,
        "repeat_labels": REPEAT_LABELS,
    }


def _form_values(meeting: Meeting | None) -> dict[str, str]:
    if meeting is None:
        settings = (
            meetings.calendar_settings(context.current_actor())
            if context.current_actor().is_member
            else None
        )
        tz = settings.timezone if settings is not None else "UTC"
        return {"timezone": tz, "repeat": "none"}
    local = meetings.local_time(meeting.starts_at, meeting.timezone)
    return {
        "title": meeting.title,
        "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
        "timezone": meeting.timezone,
        "repeat": meeting.repeat,
        "where": meeting.place,
        "link": meeting.link,
        "notes": meeting.notes,
    }


def _form_page(
    group: Group | None, meeting: Meeting | None, values: dict[str, str], errors: dict[str, str]
) -> tuple[str, int]:
    page = render_template(
        "meetings/form.html",
        group=group,
        meeting=meeting,
        form=values,
        errors=errors,
        repeats=REPEAT_LABELS,
    )
    return page, 400 if errors else 200


def _save(group: Group | None, meeting: Meeting | None) -> Page | Response:
    actor = context.current_actor()
    policy.require_member(actor)
    policy.check_manage_meetings(actor, group)
    if request.method == "GET":
        return _form_page(group, meeting, _form_values(meeting), {})
    values = {name: request.form.get(name, "") for name in FIELDS}
    try:
        if meeting is None:
            meeting = meetings.create_meeting(actor, group, values)
            flash("The meeting is arranged.")
        else:
            meetings.update_meeting(actor, meeting, values)
            flash("The meeting is changed.")
    except Invalid as exc:
        transaction.discard()
        return _form_page(group, meeting, values, exc.fields)
    return redirect(url_for("meetings.show", meeting_id=meeting.id))


@bp.route("/g/<slug>/meetings/new", methods=["GET", "POST"])
@transaction.writes
def new_group_meeting(slug: str) -> Page | Response:
    group = policy.require_group(context.current_actor(), slug)
    return _save(group, None)


@bp.route("/meetings/new", methods=["GET", "POST"])
@transaction.writes
def new_site_meeting() -> Page | Response:
    return _save(None, None)


@bp.route("/meetings/<id:meeting_id>/edit", methods=["GET", "POST"])
@transaction.writes
def edit(meeting_id: int) -> Page | Response:
    actor = context.current_actor()
    meeting = policy.require_meeting(actor, meeting_id)
    return _save(meetings.meeting_group(actor, meeting), meeting)


@bp.post("/meetings/<id:meeting_id>/delete")
@transaction.writes
def delete(meeting_id: int) -> Response:
    actor = context.current_actor()
    meeting = policy.require_meeting(actor, meeting_id)
    group = meetings.meeting_group(actor, meeting)
    meetings.delete_meeting(actor, meeting)
    flash("The meeting is called off.")
    if group is not None:
        return redirect(url_for("groups.show", slug=group.slug))
    return redirect(url_for("meetings.index"))


def _meeting_page(actor: Actor, meeting: Meeting) -> str:
    group = meetings.meeting_group(actor, meeting)
    return render_template(
        "meetings/show.html",
        meeting=meeting,
        group=group,
        details=policy.can_see_meeting_details(actor, meeting),
        can_answer=policy.can_answer_meeting(actor, meeting),
        can_edit=policy.can_manage_meetings(actor, group),
        attendance=meetings.attendance(actor, meeting),
        mine=meetings.my_answer(actor, meeting),
        upcoming=meetings.occurrences(meeting, utcnow(), 4),
        answers=ANSWER_LABELS,
        leads=LEAD_LABELS,
    )


@bp.get("/meetings/<id:meeting_id>")
def show(meeting_id: int) -> str:
    actor = context.current_actor()
    return _meeting_page(actor, policy.require_meeting(actor, meeting_id))


@bp.post("/meetings/<id:meeting_id>/rsvp")
@transaction.writes
def rsvp(meeting_id: int) -> Response:
    actor = context.current_actor()
    meeting = policy.require_meeting(actor, meeting_id)
    try:
        meetings.answer_meeting(
            actor,
            meeting,
            answer=request.form.get("answer"),
            hidden=request.form.get("hidden") == "1" if "hidden_shown" in request.form else None,
            reminder=request.form.get("reminder") or None,
        )
    except Invalid as exc:
        transaction.discard()
        flash(next(iter(exc.fields.values())))
        return redirect(url_for("meetings.show", meeting_id=meeting_id))
    flash("Your answer is saved.")
    return redirect(url_for("meetings.show", meeting_id=meeting_id))


def _ics(data: bytes, filename: str) -> FlaskResponse:
    response = FlaskResponse(data, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _base_url() -> str:
    return context.public_url("")


@bp.get("/meetings/<id:meeting_id>.ics")
def ics(meeting_id: int) -> FlaskResponse:
    actor = context.current_actor()
    meeting = policy.require_meeting(actor, meeting_id)
    details = [meeting.id] if policy.can_see_meeting_details(actor, meeting) else []
    return _ics(
        meetings.ics([meeting], base_url=_base_url(), details=details), f"meeting-{meeting.id}.ics"
    )


@bp.get("/calendar/<token>.ics")
def feed(token: str) -> FlaskResponse:
    # No login: the token is the key. Membership is checked now, by the service.
    _user, found = meetings.feed_meetings(token)
    data = meetings.ics(
        found, base_url=_base_url(), details=[m.id for m in found], name="My meetings"
    )
    return _ics(data, "meetings.ics")


@bp.get("/meetings")
def index() -> str:
    actor = context.current_actor()
    policy.require_member(actor)
    return render_template(
        "meetings/index.html",
        mine=meetings.my_meetings(actor),
        can_arrange=policy.can_manage_meetings(actor, None),
    )


@bp.route("/account/calendar", methods=["GET", "POST"])
@transaction.writes
def calendar() -> Page | Response:
    actor = context.current_actor()
    policy.require_member(actor)
    if request.method == "POST":
        action = request.form.get("action", "save")
        if action == "feed":
            token = meetings.new_feed_token(actor)
            session[_FEED_KEY] = context.public_url(url_for("meetings.feed", token=token))
            flash("Your calendar feed is ready. Copy its address now: it is shown once.")
        elif action == "revoke":
            meetings.revoke_feed(actor)
            flash("Your calendar feed is stopped: its address no longer works.")
        else:
            try:
                meetings.set_calendar_settings(
                    actor,
                    timezone=request.form.get("timezone"),
                    reminder=request.form.get("reminder"),
                )
            except Invalid as exc:
                transaction.discard()
                page = _calendar_page(actor, exc.fields, dict(request.form))
                return page, 400
            flash("Your calendar settings are saved.")
        return redirect(url_for("meetings.calendar"))
    return _calendar_page(actor, {}, None)


def _calendar_page(actor: Actor, errors: dict[str, str], form: dict[str, Any] | None) -> str:
    settings = meetings.calendar_settings(actor)
    return render_template(
        "meetings/calendar.html",
        settings=settings,
        form=form or {"timezone": settings.timezone, "reminder": settings.reminder},
        errors=errors,
        feed_url=session.pop(_FEED_KEY, None),
        leads=LEAD_LABELS,
    )


# --- personal reminders ---------------------------------------------------------------


@bp.route("/p/<id:post_id>/remind", methods=["GET", "POST"])
@transaction.writes
def remind(post_id: int) -> Page | Response:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    policy.require_member(actor)
    if request.method == "POST":
        try:
            reminders.remind_me(actor, post, preset=request.form.get("preset"))
        except Invalid as exc:
            transaction.discard()
            flash(next(iter(exc.fields.values())))
            return redirect(url_for("meetings.remind", post_id=post_id))
        flash("We will remind you.")
        return redirect(url_for("meetings.reminder_list"))
    return render_template("meetings/remind.html", post=post, presets=reminders.PRESETS)


@bp.get("/t/<id:topic_id>/remind")
def remind_topic(topic_id: int) -> Response:
    actor = context.current_actor()
    topic = policy.require_topic(actor, topic_id)
    policy.require_member(actor)
    post = reminders.opening_post(actor, topic)
    return redirect(url_for("meetings.remind", post_id=post.id))


@bp.get("/reminders")
def reminder_list() -> str:
    actor = context.current_actor()
    return render_template(
        "meetings/reminders.html",
        pending=reminders.my_reminders(actor),
        timezone=meetings.calendar_settings(actor).timezone,
    )


@bp.post("/reminders/<id:reminder_id>/cancel")
@transaction.writes
def cancel_reminder(reminder_id: int) -> Response:
    actor = context.current_actor()
    reminders.cancel_reminder(actor, reminder_id)
    flash("The reminder is cancelled.")
    return redirect(url_for("meetings.reminder_list"))


def group_meetings(actor: Actor, group: Group) -> list[meetings.Upcoming]:
    """For the group page: its meetings still to come (the first few)."""
    return meetings.upcoming_meetings(actor, group, limit=5)
