"""Unread tracking on the pages: "N new" marks in topic lists, the /unread and /new
lists, marking all read, and the moderators' count of waiting items in the header."""

from __future__ import annotations

import re
import time

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
from forum.services import reading

bp = Blueprint("unread", __name__)

# Topic lists carry one hole per topic with the facts a mark needs, so that a cached
# list (shared by every reader of a board) stays the same for all of them:
# <!--NONCE:t<topic id>:<last post number>:<created, POSIX seconds>:<author id>-->
_TOPIC_HOLE = re.compile(f"<!--{fragments.NONCE}:t([0-9]+):([0-9]+):([0-9]+):([0-9]+)-->")


def _mark_html(mark: unread.Mark) -> str:
    if mark.new_posts:
        return (
            f'<span class="unread-mark">{mark.new_posts} new'
            f'<span class="visually-hidden"> unread post{"" if mark.new_posts == 1 else "s"}'
            "</span></span>"
        )
    if mark.new_topic:
        return (
            '<span class="unread-mark new-topic">New'
            '<span class="visually-hidden"> topic, not opened yet</span></span>'
        )
    return ""


def topic_marks(html: str) -> Markup:
    """A rendered topic list with the reader's marks in its holes: one query for members
    (their positions in the listed topics), none for guests."""
    member = context.current_member()
    if member is None:
        return Markup(_TOPIC_HOLE.sub("", html))  # noqa: S704 - only removes comments
    actor = context.current_actor()
    holes = list(_TOPIC_HOLE.finditer(html))
    positions = unread.read_positions(actor, [int(m.group(1)) for m in holes])
    since = unread.new_since(member).timestamp()
    member_id = member.id

    def fill(match: re.Match[str]) -> str:
        topic_id, last, created, author = (int(x) for x in match.groups())
        mark = unread.mark_for(
            positions.get(topic_id), last, created, author, member_id=member_id, since=since
        )
        return _mark_html(mark)

    # The list was rendered by Jinja with autoescaping; the holes add fixed text and
    # numbers only.
    return Markup(_TOPIC_HOLE.sub(fill, html))  # noqa: S704


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
