"""Single posts: reading, editing, deleting, and their edit history."""

from __future__ import annotations

from typing import Any

from forum import policy
from forum.blueprints import context
from forum.blueprints.api import bp
from forum.blueprints.api import inputs
from forum.blueprints.api import serializers
from forum.services import posts


@bp.get("/posts/<id:post_id>")
def show_post(post_id: int) -> Any:
    actor = context.current_actor()
    return serializers.post(actor, policy.require_post(actor, post_id))


@bp.patch("/posts/<id:post_id>")
def edit_post(post_id: int) -> Any:
    data = inputs.json_object(("body",))
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    posts.edit_post(actor, post, body=data.get("body"))
    context.commit()
    return serializers.post(actor, post)


@bp.delete("/posts/<id:post_id>")
def delete_post(post_id: int) -> Any:
    actor = context.current_actor()
    posts.delete_post(actor, policy.require_post(actor, post_id))
    context.commit()
    return "", 204


@bp.get("/posts/<id:post_id>/revisions")
def post_revisions(post_id: int) -> Any:
    actor = context.current_actor()
    found = posts.revisions(actor, policy.require_post(actor, post_id))
    return {"revisions": [serializers.revision(r) for r in found]}
