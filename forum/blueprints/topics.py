"""A topic's page, replies, permalinks, editing, deleting and revision history."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from markupsafe import escape
from werkzeug.wrappers import Response

from forum import activity
from forum import fragments
from forum import listings
from forum import policy
from forum import transaction
from forum import unread
from forum import validation
from forum.blueprints import context
from forum.blueprints import live
from forum.blueprints.pages import requested_page
from forum.errors import Invalid
from forum.errors import RateLimited
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.policy import Actor
from forum.services import likes
from forum.services import notifications
from forum.services import posts
from forum.services import reading

bp = Blueprint("topics", __name__)

Page = str | tuple[str, int] | tuple[str, int, dict[str, str]]


@bp.app_context_processor
def _post_limits() -> dict[str, dict[str, int]]:
    # Shown next to the post and title fields, so that nobody finds out by losing text.
    return {
        "post_limits": {
            "body_max": validation.BODY_MAX,
            "title_min": validation.TITLE_MIN,
            "title_max": validation.TITLE_MAX,
        }
    }


def _per_page() -> int:
    return int(current_app.config["FORUM_POSTS_PER_PAGE"])


def _post_url(post: Post) -> str:
    """Where a post is shown: its topic page, scrolled to it."""
    page = listings.page_of_post(post, _per_page())
    return url_for("topics.show", topic_id=post.topic_id, page=page, _anchor=f"p{post.id}")


def _reply_page(
    actor: Actor, topic: Topic, target: Post | None, body: str, errors: dict[str, str]
) -> str:
    return render_template(
        "topics/reply.html",
        topic=topic,
        target=target,
        target_body=target is not None and policy.can_see_post_body(actor, target),
        body=body,
        errors=errors,
    )


def _retry_after(exc: Invalid | RateLimited) -> dict[str, str]:
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else {}


@dataclass(frozen=True)
class PostsFragment:
    """A rendered page of a topic's posts, with holes for each reader's buttons."""

    html: str
    page: listings.Page[listings.PostSummary]


def _posts_fragment(actor: Actor, topic: Topic, number: int) -> PostsFragment:
    per_page = _per_page()
    variant = policy.topic_view_variant(actor, topic)

    def render() -> tuple[PostsFragment, int]:
        found = listings.topic_posts(actor, topic, number, per_page, sources=False)
        html = render_template(
            "topics/_posts.html",
            posts=found,
            targets=listings.reply_targets(actor, found.items),
            labels=listings.author_labels(topic.board.group_id, {p.author for p in found.items}),
            moderator=variant == "moderator",
            hole=fragments.NONCE,
        )
        summaries = [listings.PostSummary.of(p) for p in found.items]
        page = listings.Page(summaries, found.page, found.pages, found.total, per_page)
        return PostsFragment(html, page), len(html)

    # The revision changes with every reply, edit and delete in the topic.
    key = ("topic-posts", topic.id, topic.revision, number, per_page, variant)
    cache: fragments.LRU[PostsFragment] = current_app.extensions["forum_fragments"]
    return cache.get_or_make(key, render)


def _author_note(summary: listings.PostSummary, act: dict[str, bool], appealed: bool) -> str:
    """What the author of a hidden post reads in its place: why, and what they can do."""
    if summary.hidden_kind == "approval":
        return (
            '<p class="notice">Your post is waiting for a moderator\'s approval. '
            "Until then only you and the moderators see it.</p>"
        )
    why = f" Reason: {escape(summary.hidden_reason)}" if summary.hidden_reason else ""
    steps = []
    if summary.review_requested:
        steps.append("You edited it: the moderators will look at it again.")
    elif act["edit"]:
        steps.append(f'<a href="/p/{summary.id}/edit">Edit it</a> to ask for a new review.')
    if not appealed:
        steps.append(f'<a href="/account/standing#appeal-post-{summary.id}">Appeal</a>.')
    return (
        f'<p class="notice">Your post is hidden: only you and the moderators see it.{why} '
        f"{' '.join(steps)}</p>"
    )


def _like_form(summary: listings.PostSummary, liked: bool, token: str) -> str:
    verb, path = ("Unlike", "unlike") if liked else ("Like", "like")
    return (
        f'<form method="post" action="/p/{summary.id}/{path}" class="like">'
        f'<input type="hidden" name="csrf_token" value="{escape(token)}">'
        f'<button type="submit" class="small">{verb}'
        f'<span class="visually-hidden"> post #{summary.number}</span></button></form>'
    )


# Before the first post past the member's read position (a heading, so that screen reader
# users can jump to it).
NEW_DIVIDER = '<h2 class="new-since" id="new">New since your last visit</h2>'
_BUTTONS_HOLE = re.compile(f"<!--{fragments.NONCE}:([0-9]+)-->")
_DIVIDER_HOLE = re.compile(f"<!--{fragments.NONCE}:d[0-9]+-->")


BLOCKED_SUMMARY = '<details class="blocked"><summary>Post by someone you blocked</summary>'


def _fold_blocked(html: str, post_id: int) -> str:
    """The page with one post's article folded behind "Post by someone you blocked"."""
    opening = re.search(rf'<article class="post[^"]*" id="p{post_id}">', html)
    if opening is None:
        return html
    closing = html.find("</article>", opening.end())
    if closing < 0:
        return html
    return (
        html[: opening.end()]
        + BLOCKED_SUMMARY
        + html[opening.end() : closing]
        + "</details>"
        + html[closing:]
    )


def _fill_holes(
    fragment: PostsFragment, actor: Actor, topic: Topic, first_new: int | None = None
) -> Markup:
    """The fragment with this reader's buttons (and an author's notes) in place, and the
    "new since your last visit" divider before post number `first_new`."""
    summaries = {p.id: p for p in fragment.page.items}
    actions = policy.topic_post_actions(actor, topic, fragment.page.items)
    # "Liked by me": one query, and only about posts somebody has liked at all.
    liked = likes.liked_post_ids(
        actor, [p.id for p in summaries.values() if actions[p.id]["like"] and p.likes_count]
    )
    mine_hidden = [p.id for p in summaries.values() if p.is_hidden and p.author_id == actor.user_id]
    appealed = listings.appealed_post_ids(actor, mine_hidden) if mine_hidden else set()
    token = generate_csrf() if any(a["like"] for a in actions.values()) else ""

    def buttons(match: re.Match[str]) -> str:
        post_id = int(match.group(1))
        act, summary = actions[post_id], summaries[post_id]
        note = ""
        if summary.is_hidden and summary.author_id == actor.user_id and not summary.is_deleted:
            note = _author_note(summary, act, post_id in appealed)
        links = []
        if act["like"]:
            links.append(_like_form(summary, post_id in liked, token))
        if act["reply"] and not summary.is_deleted and not summary.is_hidden:
            links.append(f'<a href="/p/{post_id}/reply">Reply</a>')
            links.append(f'<a href="/p/{post_id}/reply?quote=1">Quote</a>')
        if act["edit"]:
            links.append(f'<a href="/p/{post_id}/edit">Edit</a>')
        if act["delete"]:
            links.append(f'<a href="/p/{post_id}/delete">Delete</a>')
        if act["report"]:
            links.append(f'<a href="/p/{post_id}/report">Report</a>')
        row = f'<div class="actions">{"".join(links)}</div>' if links else ""
        return note + row

    html = fragment.html
    blocked = context.blocked_ids()
    if blocked:
        # Posts by members this reader blocked fold away behind a <details> (no script
        # needed). Done on this reader's copy: the cached fragment is shared.
        for summary in summaries.values():
            if summary.author_id in blocked:
                html = _fold_blocked(html, summary.id)
    if first_new is not None:
        at = next((p.id for p in fragment.page.items if p.number == first_new), None)
        html = html.replace(f"<!--{fragments.NONCE}:d{at}-->", NEW_DIVIDER)
    # The cached HTML was rendered by Jinja with autoescaping; only the holes change, and
    # everything they add is either fixed text, a number or escaped here. The divider
    # holes left go in one pass without a callback per post (every page view pays it).
    return Markup(_BUTTONS_HOLE.sub(buttons, _DIVIDER_HOLE.sub("", html)))  # noqa: S704


@bp.get("/t/<id:topic_id>")
def show(topic_id: int) -> str | Response:
    actor = context.current_actor()
    topic = policy.require_topic(actor, topic_id)
    # Where the member stopped reading, as it was before this view (guests: None).
    position = unread.read_position(actor, topic.id)
    first_new = None
    if position and position < topic.next_number - 1:
        first_new = position + 1
        if "page" not in request.args:
            # Opening the topic itself: go to the first unread post (a redirect, for the
            # anchor). Read to the end, or never opened: page 1, no redirect.
            post = unread.first_unread_post(actor, topic, position)
            if post is not None:
                return redirect(_post_url(post))
    fragment = _posts_fragment(actor, topic, requested_page())
    html = render_template(
        "topics/show.html",
        topic=topic,
        posts=fragment.page,
        posts_html=_fill_holes(fragment, actor, topic, first_new),
        can_reply=policy.can_reply(actor, topic),
        moderates=policy.can_moderate(actor, topic.board),
        live_token=live.topic_token(topic),
        poll_seconds=live.POLL_SECONDS,
    )
    if actor.user_id is not None:
        # Reading activity for trust levels, once the page is built (see forum.activity).
        activity.record_topic_view(
            actor.user_id, topic, activity.last_number_on(fragment.page), known=position
        )
    return html


@bp.get("/t/<id:topic_id>/after/<int:number>")
def posts_after(topic_id: int, number: int) -> Response:
    """The "New posts - show them" link at the end of a topic's last page (no script
    needed): the first post after the last one the page showed, or back to the end."""
    actor = context.current_actor()
    topic = policy.require_topic(actor, topic_id)
    post = unread.first_post_after(actor, topic, number)
    if post is None:
        flash("No new posts yet.")
        pages = max(1, -(-max(topic.posts_count, 1) // _per_page()))
        target = url_for("topics.show", topic_id=topic.id, page=pages, _anchor="live-more")
        return redirect(target)
    return redirect(_post_url(post))


@bp.post("/t/<id:topic_id>/reply")
@transaction.writes
def reply(topic_id: int) -> Page | Response:
    actor = context.current_actor()
    topic = policy.require_topic(actor, topic_id)
    body, reply_to = request.form.get("body", ""), request.form.get("reply_to", "")
    try:
        post = posts.reply_to_topic(actor, topic, body=body, reply_to=reply_to)
    except (Invalid, RateLimited) as exc:
        # Slow mode and new members' daily caps answer 429, with the text kept.
        transaction.discard()
        # ASCII digits only: "²".isdigit() is True, but int("²") raises (a 500).
        wanted = reply_to.isascii() and reply_to.isdigit() and len(reply_to) <= 9
        target = policy.require_post(actor, int(reply_to)) if wanted else None
        errors = exc.fields if isinstance(exc, Invalid) else {"body": exc.message}
        return _reply_page(actor, topic, target, body, errors), exc.status, _retry_after(exc)
    reading.mark_own_post_read(actor, post)
    target_url = _post_url(post)
    waiting = post.is_hidden
    if waiting:
        flash("Your post waits for a moderator's approval; until then only you see it.")
    _flash_unreached(post)
    return redirect(target_url)


def _flash_unreached(post: Post) -> None:
    # Only that some were not told: never who, nor why beyond the topic (their groups).
    if notifications.unreached_mentions(post):
        flash(notifications.UNREACHED_MENTIONS)


@bp.get("/p/<id:post_id>")
def permalink(post_id: int) -> Response:
    post = policy.require_post(context.current_actor(), post_id)
    return redirect(_post_url(post))


@bp.post("/p/<id:post_id>/like")
@transaction.writes
def like(post_id: int) -> Response:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    likes.like_post(actor, post)
    target_url = _post_url(post)
    return redirect(target_url)


@bp.post("/p/<id:post_id>/unlike")
@transaction.writes
def unlike(post_id: int) -> Response:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    likes.unlike_post(actor, post)
    target_url = _post_url(post)
    return redirect(target_url)


@bp.get("/p/<id:post_id>/reply")
def reply_form(post_id: int) -> str:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    policy.check_reply(actor, post.topic)
    # "Quote": the reply form filled with the quoted post (only one whose text they read).
    body = ""
    if request.args.get("quote") and policy.can_see_post_body(actor, post):
        body = posts.quote_text(post)
    return _reply_page(actor, post.topic, post, body, {})


@bp.route("/p/<id:post_id>/edit", methods=["GET", "POST"])
@transaction.writes
def edit(post_id: int) -> Page | Response:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    if request.method == "GET":
        policy.check_edit_post(actor, post)
        return render_template("topics/edit.html", post=post, body=post.body, errors={})
    body = request.form.get("body", "")
    try:
        posts.edit_post(actor, post, body=body)
    except (Invalid, RateLimited) as exc:
        transaction.discard()
        errors = exc.fields if isinstance(exc, Invalid) else {"body": exc.message}
        page = render_template("topics/edit.html", post=post, body=body, errors=errors)
        return page, exc.status, _retry_after(exc)
    target_url = _post_url(post)
    return redirect(target_url)


@bp.route("/p/<id:post_id>/delete", methods=["GET", "POST"])
@transaction.writes
def delete(post_id: int) -> str | Response:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    if request.method == "GET":
        policy.check_delete_post(actor, post)
        return render_template("topics/delete.html", post=post)
    posts.delete_post(actor, post)
    target_url = _post_url(post)
    return redirect(target_url)


def _revisions_page(
    actor: Actor, post: Post, *, failed: int | None = None, errors: dict[str, str] | None = None
) -> str:
    can_redact = policy.can_redact_revision(actor, post)
    return render_template(
        "topics/revisions.html",
        post=post,
        revisions=posts.revisions(actor, post),
        can_redact=can_redact,
        as_moderator=can_redact and post.author_id != actor.user_id,
        failed=failed,
        errors=errors or {},
    )


@bp.get("/p/<id:post_id>/revisions")
def revisions(post_id: int) -> str:
    actor = context.current_actor()
    return _revisions_page(actor, policy.require_post(actor, post_id))


@bp.post("/p/<id:post_id>/revisions/<id:number>/redact")
@transaction.writes
def redact_revision(post_id: int, number: int) -> Page | Response:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    try:
        _revision, changed = posts.redact_revision(
            actor, post, number, reason=request.form.get("reason", "")
        )
    except Invalid as exc:
        transaction.discard()
        return _revisions_page(actor, post, failed=number, errors=exc.fields), exc.status
    target_url = url_for("topics.revisions", post_id=post.id, _anchor=f"version-{number}")
    if changed:
        flash(f"The text of version {number} is removed from the history.")
    return redirect(target_url)
