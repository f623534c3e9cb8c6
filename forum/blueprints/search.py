"""The search page: a plain GET form and its results (no JavaScript needed).

What a reader may find is decided by `forum.search.service` (restricted by policy before
the index is asked, then loaded through `policy.visible_posts`); this module only reads
the query string, echoes the form back and renders what the service returns. The JSON
API (`forum.blueprints.api.search`) reads its arguments with `search_arguments` too, so
the page and the API accept and refuse the same input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import render_template
from flask import request
from werkzeug.datastructures import MultiDict

from forum import listings
from forum import policy
from forum.blueprints import context
from forum.errors import Invalid
from forum.errors import NotFound
from forum.models.topics import Topic
from forum.search import service
from forum.validation import INT_MAX

bp = Blueprint("search", __name__)

Page = str | tuple[str, int]

# Larger page numbers are read as this one: 1,000,000 results in, far beyond any last
# page (the service answers pages beyond that without asking the index, total 0).
MAX_PAGE = 50_000
# Control characters (NUL included) never belong in a form field shown back.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ID = re.compile(r"[0-9]{1,10}")
_DIGITS = re.compile(r"[0-9]{1,100}")
_TRUE = frozenset({"1", "on", "true", "yes"})
_FALSE = frozenset({"", "0", "off", "false", "no"})
# The form's fields, in the order links carry them.
FIELDS = ("q", "board", "author", "since", "until", "topic", "mine")


@dataclass(frozen=True)
class SearchArguments:
    """A search as asked in the query string, read but not yet judged by the service."""

    q: str
    board: int | None
    author: str | None
    since: str | None
    until: str | None
    topic: int | None
    mine: bool

    def filters(self) -> dict[str, Any]:
        """The service's keyword arguments besides `q` and the page."""
        return {
            "board": self.board,
            "author": self.author,
            "since": self.since,
            "until": self.until,
            "topic": self.topic,
            "mine": self.mine,
        }


def _text(args: MultiDict[str, str], name: str) -> str:
    return args.get(name, "")


def _optional_id(args: MultiDict[str, str], name: str, message: str) -> int | None:
    raw = _text(args, name).strip()
    if not raw:
        return None
    if not _ID.fullmatch(raw) or not 1 <= int(raw) <= INT_MAX:
        raise Invalid(name, message)
    return int(raw)


def search_arguments(args: MultiDict[str, str]) -> SearchArguments:
    """The search's arguments from a query string; malformed ids or flags: `Invalid`.

    The words themselves, names and dates are judged by the service (it knows the rules
    of its query language); ids that could never exist answer 400 here rather than
    failing inside the database.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, message in (
        ("board", "Choose a board from the list."),
        ("topic", "That is not a topic."),
    ):
        try:
            values[name] = _optional_id(args, name, message)
        except Invalid as exc:
            errors.update(exc.fields)
    mine = _text(args, "mine").strip().lower()
    if mine not in _TRUE | _FALSE:
        errors["mine"] = "mine must be 1 (only my groups) or 0."
    if errors:
        raise Invalid(errors)
    return SearchArguments(
        q=_text(args, "q"),
        board=values["board"],
        # NUL cannot reach PostgreSQL; no username holds control characters anyway.
        author=_CONTROL.sub("", _text(args, "author")).strip() or None,
        since=_text(args, "since").strip() or None,
        until=_text(args, "until").strip() or None,
        topic=values["topic"],
        mine=mine in _TRUE,
    )


def _page_number() -> int:
    """`?page=`, leniently: anything but a positive number is page 1; a huge one, an
    empty page beyond the last (never an error on a page a person might type)."""
    raw = request.args.get("page", "").strip()
    if not _DIGITS.fullmatch(raw):  # not str.isdigit: "²" is a digit int() refuses
        return 1
    return max(1, min(int(raw[:12]), MAX_PAGE))


def _shown(args: MultiDict[str, str]) -> dict[str, str]:
    """The form's values as typed, for showing back (control characters removed)."""
    return {name: _CONTROL.sub("", _text(args, name))[:2000] for name in FIELDS}


def _link_args(form: dict[str, str], **changes: Any) -> dict[str, Any]:
    """Query arguments for a link to another page or query with the same filters."""
    found: dict[str, Any] = {k: v for k, v in form.items() if v.strip()}
    found.update(changes)
    return {k: v for k, v in found.items() if v not in (None, "")}


def _topic_of(topic_id: int | None) -> Topic | None:
    """The topic searched in, if the reader may see it. One they may not see is simply
    not shown (and not carried on): it answers like a topic that does not exist."""
    if topic_id is None:
        return None
    try:
        return policy.require_topic(context.current_actor(), topic_id)
    except NotFound:
        return None


@bp.get("/search")
def index() -> Page:
    """The search form, and the results when something was asked (400: bad input)."""
    actor = context.current_actor()
    form = _shown(request.args)
    page: dict[str, Any] = {
        "form": form,
        "errors": {},
        "found": None,
        "topic": None,
        "boards": listings.board_index(actor),
        "link_args": _link_args,
    }
    try:
        asked = search_arguments(request.args)
        # The form keeps the topic only while the reader can see it (see `_topic_of`).
        page["topic"] = _topic_of(asked.topic)
        form["topic"] = str(page["topic"].id) if page["topic"] is not None else ""
        if asked.q.strip():
            page["found"] = service.search_posts(
                actor, q=asked.q, page=_page_number(), **asked.filters()
            )
    except Invalid as exc:
        page["errors"] = exc.fields
        return render_template("search.html", **page), 400
    return render_template("search.html", **page)
