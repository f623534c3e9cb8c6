"""Index documents built from the database, the only source of truth.

A post's document carries its ids, its state (see `DocState`), the topic's title, the
board's name, the author's username and the plain text of the post's sanitised HTML.
Documents are read with Core statements (no ORM objects): a batch of posts costs one
query, whatever its size.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy import Select
from sqlalchemy import select

from forum.extensions import db
from forum.models.boards import Board
from forum.models.posts import HiddenKind
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.rendering import plain_text
from forum.search import DocState
from forum.search import Document

# Large IN lists are split: SQLite allows 32,766 parameters, PostgreSQL 65,535.
_CHUNK = 1000


def state_of(
    *, deleted: bool, hidden: bool, hidden_kind: str | None, topic_waiting: bool
) -> DocState:
    """The index state of a post from its flags (deleted wins, then pending)."""
    if deleted:
        return DocState.DELETED
    if hidden_kind == HiddenKind.APPROVAL or topic_waiting:
        return DocState.PENDING
    if hidden:
        return DocState.HIDDEN
    return DocState.VISIBLE


def document_for(post: Post, topic: Topic, board: Board, author: User) -> Document:
    """The document of one post, from loaded objects."""
    return Document(
        post_id=post.id,
        topic_id=topic.id,
        board_id=board.id,
        author_id=author.id,
        author=author.username,
        title=topic.title,
        board=board.name,
        body=plain_text(post.html),
        created_at=_aware(post.created_at),
        state=state_of(
            deleted=post.deleted_at is not None,
            hidden=post.hidden_at is not None,
            hidden_kind=post.hidden_kind,
            topic_waiting=topic.awaiting_approval,
        ),
    )


def _statement() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Post.id,
            Post.topic_id,
            Topic.board_id,
            Post.author_id,
            User.username,
            Topic.title,
            Board.name,
            Post.html,
            Post.created_at,
            Post.deleted_at,
            Post.hidden_at,
            Post.hidden_kind,
            Topic.awaiting_approval,
        )
        .join(Topic, Topic.id == Post.topic_id)
        .join(Board, Board.id == Topic.board_id)
        .join(User, User.id == Post.author_id)
    )


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row_document(row: Any) -> Document:
    (
        post_id,
        topic_id,
        board_id,
        author_id,
        username,
        title,
        board_name,
        html,
        created_at,
        deleted_at,
        hidden_at,
        hidden_kind,
        waiting,
    ) = row
    return Document(
        post_id=post_id,
        topic_id=topic_id,
        board_id=board_id,
        author_id=author_id,
        author=username,
        title=title,
        board=board_name,
        body=plain_text(html or ""),
        created_at=_aware(created_at),
        state=state_of(
            deleted=deleted_at is not None,
            hidden=hidden_at is not None,
            hidden_kind=hidden_kind,
            topic_waiting=bool(waiting),
        ),
    )


def documents_for(post_ids: Iterable[int], connection: Connection | None = None) -> list[Document]:
    """Documents of the given posts that still exist (one query per 1,000 ids)."""
    ids = sorted(set(post_ids))
    conn = connection if connection is not None else db.session.connection()
    found: list[Document] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = conn.execute(_statement().where(Post.id.in_(chunk)).order_by(Post.id))
        found.extend(_row_document(row) for row in rows)
    return found


def all_documents(batch: int = 1000, connection: Connection | None = None) -> Iterator[Document]:
    """Every post's document, in id order, read `batch` posts at a time (keyset paging)."""
    conn = connection if connection is not None else db.session.connection()
    last = 0
    while rows := _batch_after(conn, last, batch):
        yield from (_row_document(row) for row in rows)
        last = rows[-1][0]


def streamed_documents(batch: int = 1000) -> Iterator[Document]:
    """Every post's document, in id order, `batch` posts per short read transaction on
    a connection of its own (keyset paging): a rebuild holds no long transaction open
    (SQLite's WAL could not be checkpointed behind it), keeps one batch in memory, and
    its caller's session stays free for other work."""
    last = 0
    while True:
        with db.engine.connect() as conn:
            rows = _batch_after(conn, last, batch)
        if not rows:
            return
        yield from (_row_document(row) for row in rows)
        last = rows[-1][0]


def _batch_after(conn: Connection, last: int, batch: int) -> Sequence[Any]:
    """The next `batch` posts' rows after post id `last` (keyset paging)."""
    return conn.execute(_statement().where(Post.id > last).order_by(Post.id).limit(batch)).all()


def reread_documents(post_ids: Sequence[int]) -> tuple[list[Document], list[int]]:
    """The documents of `post_ids` as the database has them now (a connection of its
    own), and the ids of the posts that no longer exist (a rebuild's catch-up)."""
    with db.engine.connect() as conn:
        found = documents_for(post_ids, conn)
    present = {doc.post_id for doc in found}
    return found, sorted({int(pid) for pid in post_ids} - present)
