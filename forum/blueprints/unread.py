"""Unread tracking on the pages: "N new" marks in topic lists, the /unread and /new
lists, marking all read, and the moderators' count of waiting items in the header."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from forum import fragments
from forum import policy
from forum import transaction
from forum import unread
from forum.blueprints import context
from forum.blueprints.pages import requested_page
from forum.moderation import reports
from forum.policy import Actor
from forum.services import messages
from forum.services import reading

bp = Blueprint("unread", __name__)

# Topic lists carry one hole per topic with the facts a mark needs, so that a cached
# list (shared by every reader of a board) stays the same for all of them:
# <!--NONCE:t<topic id>:<last post number>:<created, POSIX seconds>:<author id>-->
_TOPIC_HOLE = re.compile(f"<!--{fragments.NONCE}:t([0-9]+):([0-9]+):([0-9]+):([0-9]+)-->")


def _unread_html(count: int) -> str:
    return (
        f'<span class="unread-mark">{count} new'
        f'<span class="visually-hidden"> unread post{"" if count == 1 else "s"}</span></span>'
    )


NEW_TOPIC_HTML = (
    '<span class="unread-mark new-topic">New'
    '<span class="visually-hidden"> topic, not opened yet</span></span>'
)


@dataclass(frozen=True)
class TopicList:
    """A rendered topic list cut at its holes once (when it is cached), so that filling
    them per request is a join, not a regular expression over the page."""

    parts: tuple[str, ...]  # the HTML around the holes: one more than `holes`
    holes: tuple[tuple[int, int, int, int], ...]  # (topic id, last number, created, author)
    plain: str  # the HTML without marks, as guests get it

    @classmethod
    def of(cls, html: str) -> TopicList:
        """Cut rendered HTML at its topic holes."""
        pieces = _TOPIC_HOLE.split(html)
        parts = tuple(pieces[::5])
        values = [int(x) for i, x in enumerate(pieces) if i % 5]
        holes = tuple(
            (values[i], values[i + 1], values[i + 2], values[i + 3])
            for i in range(0, len(values), 4)
        )
        return cls(parts, holes, "".join(parts))


def topic_marks(found: TopicList | str) -> Markup:
    """A rendered topic list with the reader's marks in its holes: one query for members
    (their positions in the listed topics), none for guests."""
    listed = found if isinstance(found, TopicList) else TopicList.of(found)
    member = context.current_member()
    # The list was rendered by Jinja with autoescaping; the holes add fixed text and
    # numbers only.
    if member is None or not listed.holes:
        return Markup(listed.plain)  # noqa: S704
    actor = context.current_actor()
    positions = unread.read_positions(actor, [hole[0] for hole in listed.holes])
    since = unread.new_since(member).timestamp()
    member_id = member.id
    out = [listed.parts[0]]
    # "N new": opened, with posts past the position; "New": never opened, started by
    # someone else since `unread.new_since` (see forum.unread). Inlined: this loop runs for
    # every topic of every member's list page.
    for (topic_id, last, created, author), after in zip(
        listed.holes, listed.parts[1:], strict=True
    ):
        position = positions.get(topic_id)
        if position is None:
            if created > since and author != member_id:
                out.append(NEW_TOPIC_HTML)
        elif last > position:
            out.append(_unread_html(last - position))
        out.append(after)
    return Markup("".join(out))  # noqa: S704


@bp.app_context_processor
def _holes() -> dict[str, object]:
    return {"topic_hole": fragments.NONCE, "waiting_for_moderators": waiting_for_moderators}


# Seconds a moderator's header count may lag behind their queue (per worker). The queue
# page itself always counts afresh, and refreshes this.
WAITING_FRESH_SECONDS = 30


def _waiting_cache() -> fragments.LRU[tuple[int, float]]:
    cache: fragments.LRU[tuple[int, float]] | None = current_app.extensions.get(
        "forum_moderation_waiting"
    )
    if cache is None:
        fresh: fragments.LRU[tuple[int, float]] = fragments.LRU(budget=10_000)
        cache = current_app.extensions.setdefault("forum_moderation_waiting", fresh)
    return cache


def remember_waiting(actor: Actor, count: int) -> None:
    """Store a fresh count of the actor's queue (the queue page knows it anyway)."""
    _waiting_cache().put(actor, (count, time.monotonic()), 1)


def waiting_for_moderators() -> int:
    """Items waiting in the member's moderation queue, their scope only: 0 without a
    query for those who moderate nothing; else counted at most every
    WAITING_FRESH_SECONDS per worker."""
    if "moderation_waiting" not in g:
        actor = context.current_actor()
        count = 0
        if policy.can_moderate_anywhere(actor):
            # Keyed by the whole Actor: a change of scope (a group's moderator removed,
            # a silence) is another key, so a count never outlives the scope it was for.
            known = _waiting_cache().get(actor)
            if known is not None and time.monotonic() - known[1] < WAITING_FRESH_SECONDS:
                count = known[0]
            else:
                count = reports.waiting_count(actor)
                if actor.is_site_moderator:
                    # Reported private messages wait for site moderators too.
                    count += messages.waiting_report_count(actor)
                remember_waiting(actor, count)
        g.moderation_waiting = count
    found: int = g.moderation_waiting
    return found


def _per_page() -> int:
    return int(current_app.config["FORUM_TOPICS_PER_PAGE"])


@bp.get("/unread")
def unread_list() -> Markup:
    actor = context.current_actor()
    policy.require_member(actor)
    found = unread.unread_topics(actor, requested_page(), _per_page())
    return topic_marks(render_template("boards/unread.html", topics=found, kind="unread"))


@bp.get("/new")
def new_list() -> Markup:
    actor = context.current_actor()
    policy.require_member(actor)
    member = context.current_member()
    assert member is not None  # noqa: S101 - require_member passed
    found = unread.new_topics(actor, member, requested_page(), _per_page())
    html = render_template(
        "boards/unread.html", topics=found, kind="new", new_topic_days=unread.NEW_TOPIC_DAYS
    )
    return topic_marks(html)


@bp.post("/unread/read")
@transaction.writes
def mark_all_read() -> Response:
    actor = context.current_actor()
    marked = reading.mark_all_read(actor)
    flash(f"{marked} topic{'' if marked == 1 else 's'} marked as read.")
    return redirect(url_for("unread.unread_list"))


@bp.post("/new/dismiss")
@transaction.writes
def dismiss_new() -> Response:
    actor = context.current_actor()
    reading.dismiss_new(actor)
    flash("New topics dismissed: only topics started from now on will show here.")
    return redirect(url_for("unread.new_list"))
