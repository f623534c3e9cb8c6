"""Unread tracking: the member's unread and new topics, and marking a topic read."""

from __future__ import annotations

from typing import Any

from flask import current_app

from forum import policy
from forum import transaction
from forum import unread
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.listings import Page
from forum.models.topics import Topic
from forum.policy import Actor
from forum.services import reading


def _listed(actor: Actor, found: Page[Topic]) -> Any:
    positions = unread.read_positions(actor, [t.id for t in found.items])
    items = [serializers.unread_topic(t, positions.get(t.id)) for t in found.items]
    return serializers.page_of("topics", found, items)


@bp.get("/unread")
def unread_topics() -> Any:
    page = inputs.page()
    actor = context.current_actor()
    policy.require_member(actor)
    per_page = int(current_app.config["FORUM_TOPICS_PER_PAGE"])
    return _listed(actor, unread.unread_topics(actor, page, per_page))


@bp.get("/new")
def new_topics() -> Any:
    page = inputs.page()
    actor = context.current_actor()
    policy.require_member(actor)
    member = context.current_member()
    assert member is not None  # noqa: S101 - require_member passed
    per_page = int(current_app.config["FORUM_TOPICS_PER_PAGE"])
    return _listed(actor, unread.new_topics(actor, member, page, per_page))


@bp.post("/topics/<id:topic_id>/read")
@transaction.writes
def mark_topic_read(topic_id: int) -> Any:
    data = inputs.body(schemas.boards.ReadPosition)
    actor = context.current_actor()
    topic = policy.require_topic(actor, topic_id)
    position = reading.mark_topic_read(actor, topic, last_read=data.get("last_read"))
    return {
        "topic_id": topic.id,
        "last_read": position,
        "new_posts": max(0, topic.next_number - 1 - position),
    }
