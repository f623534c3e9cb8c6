"""Boards, and the topics on a board."""

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
from forum.services import boards
from forum.services import notifications
from forum.services import reading
from forum.services import topics


@bp.get("/boards")
def list_boards() -> Any:
    entries = listings.board_index(context.current_actor())
    ordered = [board for e in entries for board in (e.board, *e.children)]
    return {"boards": [serializers.board(b) for b in ordered]}


@bp.post("/boards")
@transaction.writes
def create_board() -> Any:
    data = inputs.body(schemas.boards.NewBoard)
    actor = context.current_actor()
    group = None
    if data.get("group") is not None:
        policy.require_member(actor)
        # A group the actor may not see answers like one that does not exist.
        group = policy.require_group(actor, data["group"])
    board = boards.create_board(
        actor,
        name=data.get("name"),
        description=data.get("description"),
        parent_id=data.get("parent_id"),
        group=group,
    )
    return serializers.board(board), 201


@bp.get("/boards/<id:board_id>")
def show_board(board_id: int) -> Any:
    return serializers.board(policy.require_board(context.current_actor(), board_id))


@bp.patch("/boards/<id:board_id>")
@transaction.writes
def update_board(board_id: int) -> Any:
    data = inputs.body(schemas.boards.BoardChange)
    actor = context.current_actor()
    board = boards.update_board(actor, policy.require_board(actor, board_id), **data)
    return serializers.board(board)


@bp.get("/boards/<id:board_id>/topics")
def board_topics(board_id: int) -> Any:
    page = inputs.page()
    actor = context.current_actor()
    board = policy.require_board(actor, board_id)
    per_page = current_app.config["FORUM_TOPICS_PER_PAGE"]
    found = listings.board_topics(actor, board, page, per_page)
    return serializers.page_of("topics", found, [serializers.topic(t) for t in found.items])


@bp.post("/boards/<id:board_id>/topics")
@transaction.writes
def create_topic(board_id: int) -> Any:
    data = inputs.body(schemas.boards.TopicDraft)
    actor = context.current_actor()
    board = policy.require_board(actor, board_id)
    topic, post = topics.create_topic(actor, board, title=data.get("title"), body=data.get("body"))
    reading.mark_own_post_read(actor, post)
    return {
        "topic": serializers.topic(topic),
        "post": serializers.post(actor, post, labels=listings.post_author_labels(post)),
        "unreached_mentions": notifications.unreached_mentions(post) > 0,
    }, 201
