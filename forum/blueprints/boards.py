"""The board index, a board's topic list, starting a topic, and the latest topics."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from forum import fragments
from forum import listings
from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints import unread
from forum.blueprints.pages import requested_page
from forum.errors import Invalid
from forum.errors import RateLimited
from forum.models.boards import Board
from forum.policy import Actor
from forum.services import notifications
from forum.services import reading
from forum.services import topics

bp = Blueprint("boards", __name__)

Page = str | tuple[str, int] | tuple[str, int, dict[str, str]]


@bp.get("/")
def index() -> str:
    actor = context.current_actor()
    entries = listings.board_index(actor)
    if not entries and not actor.is_member:
        # Guests where nothing is public: a welcome, not an empty list.
        return render_template("landing.html")
    return render_template("boards/index.html", entries=entries)


@bp.get("/b/<id:board_id>")
def show(board_id: int) -> str:
    actor = context.current_actor()
    board = policy.require_board(actor, board_id)
    per_page = current_app.config["FORUM_TOPICS_PER_PAGE"]
    number = requested_page()
    return render_template(
        "boards/show.html",
        board=board,
        parent=policy.require_board(actor, board.parent_id) if board.parent_id else None,
        children=listings.sub_boards(actor, board),
        topics=listings.board_page_numbers(board, number, per_page),
        topics_html=unread.topic_marks(_topics_fragment(actor, board, number, per_page)),
        can_post_topic=policy.can_post_topic(actor, board),
    )


def _topics_fragment(actor: Actor, board: Board, number: int, per_page: int) -> unread.TopicList:
    """The board's rendered topic list, shared by its readers (see forum.fragments)."""

    def render() -> tuple[unread.TopicList, int]:
        found = listings.board_topics(actor, board, number, per_page)
        html = render_template("boards/_topics.html", topics=found)
        return unread.TopicList.of(html), len(html)

    # Everyone with the same view of a board sees the same topics; the revision retires
    # old lists. Each reader's marks go into its holes (forum.blueprints.unread).
    variant = policy.board_view_variant(actor, board)
    key = ("board-topics", board.id, board.revision, number, per_page, variant)
    cache: fragments.LRU[unread.TopicList] = current_app.extensions["forum_fragments"]
    return cache.get_or_make(key, render)


@bp.route("/b/<id:board_id>/new", methods=["GET", "POST"])
@transaction.writes
def new_topic(board_id: int) -> Page | Response:
    actor = context.current_actor()
    board = policy.require_board(actor, board_id)
    policy.check_post_topic(actor, board)
    form = {"title": request.form.get("title", ""), "body": request.form.get("body", "")}
    if request.method == "GET":
        return render_template("boards/new_topic.html", board=board, form=form, errors={})
    try:
        topic, post = topics.create_topic(actor, board, title=form["title"], body=form["body"])
        reading.mark_own_post_read(actor, post)
    except Invalid as exc:
        transaction.discard()
        page = render_template("boards/new_topic.html", board=board, form=form, errors=exc.fields)
        return page, 400
    except RateLimited as exc:
        # A daily cap for new members: the form comes back with the text kept.
        transaction.discard()
        errors = {"body": exc.message}
        page = render_template("boards/new_topic.html", board=board, form=form, errors=errors)
        return page, 429, {"Retry-After": str(exc.retry_after)}
    target = url_for("topics.show", topic_id=topic.id)
    if notifications.unreached_mentions(post):
        flash(notifications.UNREACHED_MENTIONS)
    return redirect(target)


@bp.get("/latest")
def latest() -> str:
    actor = context.current_actor()
    per_page = current_app.config["FORUM_TOPICS_PER_PAGE"]
    found = listings.latest_topics(actor, requested_page(), per_page)
    return unread.topic_marks(render_template("boards/latest.html", topics=found))
