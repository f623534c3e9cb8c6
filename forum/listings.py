"""Read models for pages and the API: every list starts from a policy scope.

The HTML and JSON front ends call these, so both show exactly the same things, and no
view writes a query of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic
from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm import defer
from sqlalchemy.orm import joinedload

from forum import policy
from forum.extensions import db
from forum.models.boards import Board
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a list, with the numbers a pager needs."""

    items: list[T]
    page: int
    pages: int
    total: int
    per_page: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _paged(stmt: Select[T], total: int, page: int, per_page: int) -> Page[T]:
    pages = max(1, -(-total // per_page))
    page = max(1, page)
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, page=page, pages=pages, total=total, per_page=per_page)


@dataclass
class BoardEntry:
    """A board on the index, with its sub-boards and its latest topic (if visible)."""

    board: Board
    children: list[Board]
    last_topic: Topic | None


def board_index(actor: Actor) -> list[BoardEntry]:
    """Top-level boards in order, each with its sub-boards and latest topic."""
    boards = list(
        db.session.scalars(policy.visible_boards(actor).order_by(Board.position, Board.id))
    )
    last_ids = [b.last_topic_id for b in boards if b.last_topic_id]
    last_topics = (
        {
            t.id: t
            for t in db.session.scalars(policy.visible_topics(actor).where(Topic.id.in_(last_ids)))
        }
        if last_ids
        else {}
    )
    entries = {
        b.id: BoardEntry(b, [], last_topics.get(b.last_topic_id or 0))
        for b in boards
        if b.parent_id is None
    }
    for board in boards:
        if board.parent_id is not None and board.parent_id in entries:
            entries[board.parent_id].children.append(board)
    return list(entries.values())


def sub_boards(actor: Actor, board: Board) -> list[Board]:
    """The visible sub-boards of a board, in order."""
    return list(
        db.session.scalars(
            policy.visible_boards(actor)
            .where(Board.parent_id == board.id)
            .order_by(Board.position, Board.id)
        )
    )


def board_topics(actor: Actor, board: Board, page: int, per_page: int) -> Page[Topic]:
    """A board's topics: pinned first, then by latest activity."""
    order = (Topic.pinned.desc(), Topic.last_post_at.desc(), Topic.id.desc())
    scope = policy.visible_topics(actor).where(Topic.board_id == board.id)
    # Deep pages: pick the page's ids from the (board, pinned, last_post_at) index first,
    # then load just those rows; OFFSET over full joined rows reads every skipped one.
    ids = (
        scope.with_only_columns(Topic.id)
        .order_by(*order)
        .limit(per_page)
        .offset((max(1, page) - 1) * per_page)
        .scalar_subquery()
    )
    stmt = (
        policy.visible_topics(actor)
        .where(Topic.id.in_(ids))
        .options(joinedload(Topic.author).load_only(User.id, User.username))
        .order_by(*order)
    )
    # The board's counter is exact for its visible topics; no COUNT(*) over the board.
    pages = max(1, -(-board.topics_count // per_page))
    items = list(db.session.scalars(stmt))
    return Page(items, max(1, page), pages, board.topics_count, per_page)


def topic_posts(
    actor: Actor, topic: Topic, page: int, per_page: int, *, sources: bool = True
) -> Page[Post]:
    """A topic's posts in order (deleted ones included as placeholders).

    `sources=False` leaves the Markdown source unloaded, for pages that show only HTML.
    """
    stmt = (
        policy.visible_posts(actor)
        .where(Post.topic_id == topic.id)
        .options(joinedload(Post.author).load_only(User.id, User.username))
        .order_by(Post.number)
    )
    if not sources:
        stmt = stmt.options(defer(Post.body))
    # Post numbers are dense, so the last number gives the count including deleted posts.
    total = topic.next_number - 1
    return _paged(stmt, total, page, per_page)


@dataclass(frozen=True)
class PostSummary:
    """The facts about a post that a cached topic page still needs per reader."""

    id: int
    author_id: int
    revisions_count: int
    is_deleted: bool

    @classmethod
    def of(cls, post: Post) -> PostSummary:
        return cls(post.id, post.author_id, post.revisions_count, post.is_deleted)


def page_of_post(post: Post, per_page: int) -> int:
    """The page of its topic on which a post appears."""
    return (post.number - 1) // per_page + 1


def reply_targets(actor: Actor, posts: Sequence[Post]) -> dict[int, Post]:
    """The posts that the given posts answer, as far as the actor may see them."""
    # Most answered posts are on the same page: only look up the others.
    on_page = {p.id: p for p in posts}
    wanted = {p.reply_to_id for p in posts if p.reply_to_id}
    found = {i: on_page[i] for i in wanted if i in on_page}
    missing = wanted - found.keys()
    if missing:
        stmt = (
            policy.visible_posts(actor)
            .where(Post.id.in_(missing))
            .options(defer(Post.body), joinedload(Post.author).load_only(User.id, User.username))
        )
        found.update((p.id, p) for p in db.session.scalars(stmt))
    return found


@dataclass
class Profile:
    """What a profile shows: counts and recent posts, only from what the viewer may see."""

    user: User
    posts_count: int
    topics_count: int
    recent_posts: list[Post]


def profile(actor: Actor, user: User, recent: int = 10) -> Profile:
    """The member's profile as the actor may see it."""
    posts = policy.visible_posts(actor).where(Post.author_id == user.id, Post.deleted_at.is_(None))
    posts_count = db.session.scalar(select(func.count()).select_from(posts.subquery())) or 0
    topics = policy.visible_topics(actor).where(Topic.author_id == user.id)
    topics_count = db.session.scalar(select(func.count()).select_from(topics.subquery())) or 0
    # The scope already joins Topic: fill `post.topic` from that join, not one query each.
    latest_stmt = posts.options(contains_eager(Post.topic)).order_by(Post.created_at.desc())
    latest = list(db.session.scalars(latest_stmt.limit(recent)))
    return Profile(user, posts_count, topics_count, latest)


def latest_topics(actor: Actor, page: int, per_page: int) -> Page[Topic]:
    """Topics from every visible board, by latest activity."""
    scope = policy.visible_topics(actor)
    total = db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0
    stmt = scope.options(joinedload(Topic.board), joinedload(Topic.last_poster)).order_by(
        Topic.last_post_at.desc(), Topic.id.desc()
    )
    return _paged(stmt, total, page, per_page)
