"""Keeping the index up to date: every change that alters a post's document queues the
post, in the same transaction as the change, as an outbox row of kind "search"
(forum.outbox; the post's id is the row's `subject_id`).

An `after_flush` listener (like the one that bumps `memberships_version`) watches the
session, so no service can forget it. It queues:

* new posts, and posts whose text, hidden or deleted state or topic changed;
* every post of a topic whose title, board or waiting-for-approval flag changed
  (a move, an approval, a rename);
* every post of a board whose name changed.

Membership changes need nothing: queries carry the boards the reader may read *now*
(policy), so a removed member loses a secret group's posts on their next search.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import inspect
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy.orm import Session

from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.outbox import OutboxRow
from forum.models.posts import Post
from forum.models.topics import Topic

POST_FIELDS = ("body", "html", "hidden_at", "hidden_kind", "deleted_at", "topic_id")
TOPIC_FIELDS = ("title", "board_id", "awaiting_approval")
BOARD_FIELDS = ("name",)
KIND = "search"
# The columns an INSERT ... SELECT fills, in order (the select gives the post ids).
_COLUMNS = ["kind", "subject_id", "created_at", "next_attempt_at", "attempts"]

_registered = False


def _changed(obj: Any, keys: tuple[str, ...]) -> bool:
    """True if this flush changes any of `keys` on `obj` (history is still pre-flush)."""
    attrs = inspect(obj).attrs
    return any(attrs[key].history.has_changes() for key in keys)


def _enqueue(session: Session, _context: object) -> None:
    """Queue the posts whose documents this flush changed (see module docstring)."""
    post_ids: set[int] = set()
    topic_ids: set[int] = set()
    board_ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Post) and obj.id is not None:
            post_ids.add(obj.id)
    for obj in session.dirty:
        if isinstance(obj, Post):
            if _changed(obj, POST_FIELDS):
                post_ids.add(obj.id)
        elif isinstance(obj, Topic):
            if _changed(obj, TOPIC_FIELDS):
                topic_ids.add(obj.id)
        elif isinstance(obj, Board) and _changed(obj, BOARD_FIELDS):
            board_ids.add(obj.id)
    for obj in session.deleted:
        # Removed from the index by the drain: it finds no such post any more.
        if isinstance(obj, Post) and obj.id is not None:
            post_ids.add(obj.id)
    if not (post_ids or topic_ids or board_ids):
        return
    now = utcnow()
    conn = session.connection()
    if post_ids:
        conn.execute(
            insert(OutboxRow),
            [
                {
                    "kind": KIND,
                    "subject_id": pid,
                    "created_at": now,
                    "next_attempt_at": now,
                    "attempts": 0,
                }
                for pid in sorted(post_ids)
            ],
        )
    stamp = literal(now, UTCDateTime())
    fixed = (literal(KIND), Post.id, stamp, stamp, literal(0))
    if topic_ids:
        conn.execute(
            insert(OutboxRow).from_select(
                _COLUMNS, select(*fixed).where(Post.topic_id.in_(sorted(topic_ids)))
            )
        )
    if board_ids:
        conn.execute(
            insert(OutboxRow).from_select(
                _COLUMNS,
                select(*fixed)
                .join(Topic, Topic.id == Post.topic_id)
                .where(Topic.board_id.in_(sorted(board_ids))),
            )
        )


def register() -> None:
    """Install the listener on every session (once per process)."""
    global _registered
    if not _registered:
        event.listen(Session, "after_flush", _enqueue)
        _registered = True
