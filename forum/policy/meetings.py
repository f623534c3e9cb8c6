"""Meetings: who may know one exists, see its details, answer it and run it.

A group's meetings have the group's visibility: a secret group's meetings exist only for
its members (and an admin broken in), and answer everyone else with the same 404 as a
meeting that never was. Site meetings (no group) are for logged-in members. The online
link and who is going are the members' only: a public group's visitors see the title and
time, not where to join or who comes.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select

from forum.errors import Denied
from forum.errors import NotFound
from forum.extensions import db
from forum.models.groups import Group
from forum.models.meetings import Meeting
from forum.policy.actors import Actor
from forum.policy.checks import passes
from forum.policy.checks import require_member
from forum.policy.groups import can_manage_group
from forum.policy.groups import visible_groups


def visible_meetings(actor: Actor) -> Select[Meeting]:
    """Meetings the actor may know exist: those of groups they may see, and (members)
    the site's."""
    conditions: list[ColumnElement[bool]] = [
        Meeting.group_id.in_(visible_groups(actor).with_only_columns(Group.id))
    ]
    if actor.is_member:
        conditions.append(Meeting.group_id.is_(None))
    return select(Meeting).where(or_(*conditions) if conditions else false())


def require_meeting(actor: Actor, meeting_id: int) -> Meeting:
    """The meeting by id, if the actor may know it exists; else `NotFound`."""
    if not isinstance(meeting_id, int) or not 0 < meeting_id < 2**31:
        raise NotFound()
    found: Meeting | None = db.session.scalar(
        visible_meetings(actor).where(Meeting.id == meeting_id)
    )
    if found is None:
        raise NotFound()
    return found


def is_meeting_member(actor: Actor, meeting: Meeting) -> bool:
    """True if the actor belongs to the meeting's audience: a member of its group (any
    logged-in member for a site meeting). They see the link and who is going, and answer."""
    if not actor.is_member:
        return False
    if meeting.group_id is None:
        return True
    return meeting.group_id in actor.group_ids


def check_manage_meetings(actor: Actor, group: Group | None) -> None:
    """Raise unless the actor may create and change the meetings of a group (its owners
    and moderators, not while silenced; admins where they manage the group) or of the site
    (`group` None: admins and site moderators)."""
    require_member(actor)
    if not actor.silenced:
        if group is None:
            if actor.is_admin or actor.is_site_moderator:
                return
        elif group.id in actor.moderated_group_ids or can_manage_group(actor, group):
            return
    where = "the site's" if group is None else "the group's"
    raise Denied(f"Only {where} owners and moderators can arrange meetings.")


def can_manage_meetings(actor: Actor, group: Group | None) -> bool:
    """True if `check_manage_meetings` lets the actor arrange meetings there."""
    return passes(check_manage_meetings, actor, group)


def check_answer_meeting(actor: Actor, meeting: Meeting) -> None:
    """Raise unless the actor may answer (RSVP) a meeting they can see: its audience."""
    require_member(actor)
    if not is_meeting_member(actor, meeting):
        raise Denied("Only the group's members can answer.")


def can_answer_meeting(actor: Actor, meeting: Meeting) -> bool:
    """True if `check_answer_meeting` lets the actor answer the meeting."""
    return passes(check_answer_meeting, actor, meeting)


def can_see_meeting_details(actor: Actor, meeting: Meeting) -> bool:
    """True if the actor may see the online link and who is going: the meeting's audience,
    and whoever arranges its meetings."""
    if is_meeting_member(actor, meeting):
        return True
    if meeting.group_id is None:
        return False
    group = db.session.get(Group, meeting.group_id)
    return group is not None and can_manage_meetings(actor, group)
