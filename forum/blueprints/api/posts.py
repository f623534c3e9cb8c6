"""Single posts: reading, editing, deleting, their edit history, reports and likes."""

from __future__ import annotations

from typing import Any

from forum import listings
from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.models.posts import Post
from forum.moderation import reports
from forum.policy import Actor
from forum.services import likes
from forum.services import posts


def post_answer(actor: Actor, post: Post) -> dict[str, Any]:
    """The post as the actor sees it, with whether they like it."""
    liked = post.id in likes.liked_post_ids(actor, [post.id]) if actor.is_member else False
    labels = listings.post_author_labels(post)
    return serializers.post(actor, post, liked=liked, labels=labels)


@bp.get("/posts/<id:post_id>")
def show_post(post_id: int) -> Any:
    actor = context.current_actor()
    return post_answer(actor, policy.require_post(actor, post_id))


@bp.patch("/posts/<id:post_id>")
@transaction.writes
def edit_post(post_id: int) -> Any:
    data = inputs.body(schemas.boards.PostEdit)
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    posts.edit_post(actor, post, body=data.get("body"))
    answer = post_answer(actor, post)
    return answer


@bp.delete("/posts/<id:post_id>")
@transaction.writes
def delete_post(post_id: int) -> Any:
    actor = context.current_actor()
    posts.delete_post(actor, policy.require_post(actor, post_id))
    return "", 204


@bp.get("/posts/<id:post_id>/revisions")
def post_revisions(post_id: int) -> Any:
    actor = context.current_actor()
    found = posts.revisions(actor, policy.require_post(actor, post_id))
    return {"revisions": [serializers.revision(r) for r in found]}


@bp.post("/posts/<id:post_id>/revisions/<id:number>/redact")
@transaction.writes
def redact_revision(post_id: int, number: int) -> Any:
    data = inputs.body(schemas.moderation.OptionalReason, optional=True)
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    revision, changed = posts.redact_revision(actor, post, number, reason=data.get("reason"))
    answer = {"revision": serializers.revision(revision), "changed": changed}
    return answer


@bp.post("/posts/<id:post_id>/reports")
@transaction.writes
def report_post(post_id: int) -> Any:
    data = inputs.body(schemas.moderation.ReportDraft)
    actor = context.current_actor()
    policy.require_member(actor)
    post = policy.require_post(actor, post_id)
    report = reports.report_post(actor, post, reason=data.get("reason"), note=data.get("note"))
    own = [f for f in report.flags if f.reporter_id == actor.user_id]
    # The service stamps a new flag's created_at and updated_at alike; an update moves
    # updated_at on. A second report by the same member updates their first (200).
    created = bool(own) and own[0].updated_at == own[0].created_at
    answer = serializers.report(report, own)
    return answer, 201 if created else 200


def _like_answer(post: Post, liked: bool) -> dict[str, Any]:
    return {"liked": liked, "likes_count": post.likes_count}


@bp.put("/posts/<id:post_id>/like")
@transaction.writes
def like_post(post_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    post = policy.require_post(actor, post_id)
    likes.like_post(actor, post)
    answer = _like_answer(post, True)
    return answer


@bp.delete("/posts/<id:post_id>/like")
@transaction.writes
def unlike_post(post_id: int) -> Any:
    actor = context.current_actor()
    policy.require_member(actor)
    post = policy.require_post(actor, post_id)
    likes.unlike_post(actor, post)
    answer = _like_answer(post, False)
    return answer
