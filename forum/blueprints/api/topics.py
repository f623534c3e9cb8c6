"""Topics: reading one, replying, and the latest topics everywhere."""

from __future__ import annotations

from typing import Any

from flask import current_app

from forum import listings
from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.services import likes
from forum.services import notifications
from forum.services import posts
from forum.services import reading


@bp.get("/topics/<id:topic_id>")
def show_topic(topic_id: int) -> Any:
    page = inputs.page()
    actor = context.current_actor()
    topic = policy.require_topic(actor, topic_id)
    found = listings.topic_posts(actor, topic, page, current_app.config["FORUM_POSTS_PER_PAGE"])
    liked = likes.liked_post_ids(actor, [p.id for p in found.items]) if actor.is_member else set()
    labels = listings.author_labels(topic.board.group_id, {p.author for p in found.items})
    items = [serializers.post(actor, p, liked=p.id in liked, labels=labels) for p in found.items]
    return {"topic": serializers.topic(topic), **serializers.page_of("posts", found, items)}


@bp.post("/topics/<id:topic_id>/posts")
@transaction.writes
def reply(topic_id: int) -> Any:
    data = inputs.body(schemas.boards.ReplyDraft)
    actor = context.current_actor()
    topic = policy.require_topic(actor, topic_id)
    post = posts.reply_to_topic(actor, topic, body=data.get("body"), reply_to=data.get("reply_to"))
    reading.mark_own_post_read(actor, post)
    unreached = notifications.unreached_mentions(post) > 0
    answer = serializers.post(actor, post, labels=listings.post_author_labels(post))
    return {**answer, "unreached_mentions": unreached}, 201


@bp.get("/latest")
def latest() -> Any:
    page = inputs.page()
    actor = context.current_actor()
    found = listings.latest_topics(actor, page, current_app.config["FORUM_TOPICS_PER_PAGE"])
    return serializers.page_of("topics", found, [serializers.topic(t) for t in found.items])
