"""A topic's page, replies, permalinks, editing, deleting and revision history."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from forum import fragments
from forum import listings
from forum import policy
from forum.blueprints import context
from forum.blueprints.pages import requested_page
from forum.errors import Invalid
from forum.extensions import db
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.policy import Actor
from forum.services import posts

bp = Blueprint("topics", __name__)

Page = str | tuple[str, int]


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


def _fill_holes(fragment: PostsFragment, actor: Actor, topic: Topic) -> Markup:
    """The fragment with this reader's Reply / Edit / Delete links in place."""
    actions = policy.topic_post_actions(actor, topic, fragment.page.items)
    deleted = {p.id for p in fragment.page.items if p.is_deleted}

    def buttons(match: re.Match[str]) -> str:
        post_id = int(match.group(1))
        act = actions[post_id]
        links = []
        if act["reply"] and post_id not in deleted:
            links.append(f'<a href="/p/{post_id}/reply">Reply</a>')
        if act["edit"]:
            links.append(f'<a href="/p/{post_id}/edit">Edit</a>')
        if act["delete"]:
            links.append(f'<a href="/p/{post_id}/delete">Delete</a>')
        return f'<p class="actions">{"".join(links)}</p>' if links else ""

    hole = re.compile(f"<!--{fragments.NONCE}:([0-9]+)-->")
    # The cached HTML was rendered by Jinja with autoescaping; only the holes change.
    return Markup(hole.sub(buttons, fragment.html))  # noqa: S704


@bp.get("/t/<id:topic_id>")
def show(topic_id: int) -> str:
    actor = context.current_actor()
    topic = policy.require_topic(actor, topic_id)
    fragment = _posts_fragment(actor, topic, requested_page())
    return render_template(
        "topics/show.html",
        topic=topic,
        posts=fragment.page,
        posts_html=_fill_holes(fragment, actor, topic),
        can_reply=policy.can_reply(actor, topic),
    )


@bp.post("/t/<id:topic_id>/reply")
def reply(topic_id: int) -> Page | Response:
    actor = context.current_actor()
    topic = policy.require_topic(actor, topic_id)
    body, reply_to = request.form.get("body", ""), request.form.get("reply_to", "")
    try:
        post = posts.reply_to_topic(actor, topic, body=body, reply_to=reply_to)
    except Invalid as exc:
        db.session.rollback()
        wanted = reply_to.isdigit() and len(reply_to) <= 9
        target = policy.require_post(actor, int(reply_to)) if wanted else None
        return _reply_page(actor, topic, target, body, exc.fields), 400
    target_url = _post_url(post)
    context.commit()
    return redirect(target_url)


@bp.get("/p/<id:post_id>")
def permalink(post_id: int) -> Response:
    post = policy.require_post(context.current_actor(), post_id)
    return redirect(_post_url(post))


@bp.get("/p/<id:post_id>/reply")
def reply_form(post_id: int) -> str:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    if not policy.can_reply(actor, post.topic):
        posts.deny_write(actor)
    return _reply_page(actor, post.topic, post, "", {})


@bp.route("/p/<id:post_id>/edit", methods=["GET", "POST"])
def edit(post_id: int) -> Page | Response:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    if request.method == "GET":
        if not policy.can_edit_post(actor, post):
            posts.deny_write(actor, "You can only edit your own posts.")
        return render_template("topics/edit.html", post=post, body=post.body, errors={})
    body = request.form.get("body", "")
    try:
        posts.edit_post(actor, post, body=body)
    except Invalid as exc:
        db.session.rollback()
        return render_template("topics/edit.html", post=post, body=body, errors=exc.fields), 400
    target_url = _post_url(post)
    context.commit()
    return redirect(target_url)


@bp.route("/p/<id:post_id>/delete", methods=["GET", "POST"])
def delete(post_id: int) -> str | Response:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    if request.method == "GET":
        if not policy.can_delete_post(actor, post):
            posts.deny_write(actor, "You can only delete your own posts.")
        return render_template("topics/delete.html", post=post)
    posts.delete_post(actor, post)
    target_url = _post_url(post)
    context.commit()
    return redirect(target_url)


@bp.get("/p/<id:post_id>/revisions")
def revisions(post_id: int) -> str:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    return render_template(
        "topics/revisions.html", post=post, revisions=posts.revisions(actor, post)
    )
