"""Boards, topics and posts: their scopes and guards, and the rules for writing in them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import ForumError
from forum.errors import NotFound
from forum.extensions import db
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.policy.actors import Actor
from forum.policy.checks import _deny_silenced
from forum.policy.checks import _require_writer
from forum.policy.checks import passes
from forum.policy.checks import require_member
from forum.policy.groups import can_manage_group
from forum.policy.groups import can_see_group
from forum.policy.ranks import _public_group_ids
from forum.policy.ranks import can_administer
from forum.policy.ranks import can_moderate
from forum.policy.ranks import can_moderate_anywhere
from forum.policy.ranks import moderated_board_ids


def _board_readable(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition on `Board` for boards the actor may read.

    Site boards and public groups' boards: whoever reads the site. A secret group's
    boards: its members, and an admin while broken in. Nothing else, ever.
    """
    conditions: list[ColumnElement[bool]] = []
    if actor.reads_public:
        conditions.append(Board.group_id.is_(None))
        conditions.append(Board.group_id.in_(_public_group_ids()))
    if actor.readable_group_ids:
        conditions.append(Board.group_id.in_(sorted(actor.readable_group_ids)))
    return or_(*conditions) if conditions else false()


def readable_board_ids(actor: Actor) -> Select[int]:
    """Ids of the boards the actor may read (for IN-filters, e.g. in search)."""
    return select(Board.id).where(_board_readable(actor))


def visible_boards(actor: Actor) -> Select[Board]:
    """Boards the actor may see."""
    return select(Board).where(_board_readable(actor))


def _topic_shown(actor: Actor, *, own_waiting: bool) -> ColumnElement[bool]:
    """SQL condition on `Topic`: readable, and not a topic still waiting for approval
    (those: the board's moderators, and with `own_waiting` their author)."""
    shown: list[ColumnElement[bool]] = [Topic.awaiting_approval.is_(False)]
    if own_waiting and actor.is_member:
        shown.append(Topic.author_id == actor.user_id)
    if can_moderate_anywhere(actor):
        shown.append(Topic.board_id.in_(moderated_board_ids(actor)))
    return and_(Topic.board_id.in_(readable_board_ids(actor)), or_(*shown))


def visible_topics(actor: Actor, *, own_waiting: bool = True) -> Select[Topic]:
    """Topics the actor may see. `own_waiting=False` leaves out the actor's own topics
    that wait for approval: lists shared between readers (cached) must not hold them."""
    return select(Topic).where(_topic_shown(actor, own_waiting=own_waiting))


def visible_posts(actor: Actor) -> Select[Post]:
    """Posts the actor may see (deleted ones included: they show as placeholders)."""
    return (
        select(Post)
        .join(Topic, Topic.id == Post.topic_id)
        .where(_topic_shown(actor, own_waiting=True))
    )


def _may_erase(actor: Actor, user_id: int) -> bool:
    return actor.is_member and (actor.user_id == user_id or can_administer(actor))


def erasable_posts(actor: Actor, user_id: int) -> Select[Post]:
    """Every post the member wrote, wherever it is, for erasing their account (data
    rights): the member themself or an admin acting on their request; anyone else none."""
    allowed = and_(Post.author_id == user_id) if _may_erase(actor, user_id) else false()
    return select(Post).where(allowed)


def erasable_topics(actor: Actor, user_id: int) -> Select[Topic]:
    """Every topic the member started, on the same terms as `erasable_posts`."""
    allowed = and_(Topic.author_id == user_id) if _may_erase(actor, user_id) else false()
    return select(Topic).where(allowed)


# The guards' statements, built once per view of the boards. `_board_readable` depends on
# nothing of the actor but whether they read the public site and which groups they read,
# so the statement built for those facts (the id a bound parameter) is the same SQL as
# building it again. Building it, and SQLAlchemy working out its cache key (memoised on
# the statement object), cost more than running it: ~0.35 ms of every topic page.
_GUARDS: dict[tuple[Any, ...], Select[Any]] = {}
_GUARDS_MAX = 4096


def scope_statement(name: str, actor: Actor, build: Callable[[], Select[Any]]) -> Select[Any]:
    """The statement `build()` makes for the actor's view of the boards, built once per
    view: `build` may use the actor only through `visible_boards`/`readable_board_ids`
    (or `_board_readable`), and bound parameters for everything else."""
    key = (name, actor.reads_public, actor.readable_group_ids)
    stmt = _GUARDS.get(key)
    if stmt is None:
        if len(_GUARDS) >= _GUARDS_MAX:
            _GUARDS.clear()  # bounded; a rare burst of new group sets rebuilds them
        stmt = _GUARDS[key] = build()
    return stmt


def require_board(actor: Actor, board_id: int) -> Board:
    """The board, if the actor may see it; else `NotFound`."""
    stmt = scope_statement(
        "board", actor, lambda: visible_boards(actor).where(Board.id == bindparam("board_id"))
    )
    board: Board | None = db.session.scalar(stmt, {"board_id": board_id})
    if board is None:
        raise NotFound()
    return board


def require_topic(actor: Actor, topic_id: int) -> Topic:
    """The topic, if the actor may see it; else `NotFound`."""
    # Its board comes along: every caller shows or checks it. The board condition is the
    # scope's; the rare topic waiting for approval is then decided by the predicate, which
    # agrees with `visible_topics` (a test checks) and spares the hottest page of the site
    # from that part of the statement.
    stmt = scope_statement(
        "topic",
        actor,
        lambda: (
            select(Topic)
            .where(Topic.id == bindparam("topic_id"), Topic.board_id.in_(readable_board_ids(actor)))
            .options(joinedload(Topic.board))
        ),
    )
    topic: Topic | None = db.session.scalar(stmt, {"topic_id": topic_id})
    if topic is None or (topic.awaiting_approval and not can_see_topic(actor, topic)):
        raise NotFound()
    return topic


def require_topic_revision(actor: Actor, topic_id: int) -> int:
    """The topic's revision counter, if the actor may see the topic; else `NotFound`.

    What a live page polls: one narrow row by primary key, on the board condition of
    `require_topic` (no board, author or opening-post columns to load); a topic waiting
    for approval is decided by `require_topic` itself, so the two cannot disagree.
    """
    stmt = select(Topic.revision, Topic.awaiting_approval).where(
        Topic.id == topic_id, Topic.board_id.in_(readable_board_ids(actor))
    )
    found = db.session.execute(stmt).first()
    if found is None:
        raise NotFound()
    if found.awaiting_approval:
        return require_topic(actor, topic_id).revision
    return int(found.revision)


def require_post(actor: Actor, post_id: int) -> Post:
    """The post, if the actor may see it; else `NotFound`."""
    post: Post | None = db.session.scalar(visible_posts(actor).where(Post.id == post_id))
    if post is None:
        raise NotFound()
    return post


def can_see_board(actor: Actor, board: Board) -> bool:
    """True if the actor may read the board."""
    if board.group is None:
        return actor.reads_public
    return can_see_group(actor, board.group)


def can_see_topic(actor: Actor, topic: Topic) -> bool:
    """True if the actor may read the topic (one waiting for approval: its author and
    the board's moderators)."""
    if not can_see_board(actor, topic.board):
        return False
    if not topic.awaiting_approval:
        return True
    return (actor.is_member and topic.author_id == actor.user_id) or can_moderate(
        actor, topic.board
    )


def can_see_post(actor: Actor, post: Post) -> bool:
    """True if the actor may see the post (perhaps only as a deleted placeholder)."""
    return can_see_topic(actor, post.topic)


def can_see_post_body(actor: Actor, post: Post) -> bool:
    """True if the actor may read the post's text. A deleted post's: moderators only; a
    hidden (or waiting) post's: moderators, and its author."""
    if not can_see_post(actor, post):
        return False
    if post.is_deleted:
        return can_moderate(actor, post.topic.board)
    if post.is_hidden:
        return post.author_id == actor.user_id or can_moderate(actor, post.topic.board)
    return True


def can_see_revisions(actor: Actor, post: Post) -> bool:
    """True if the actor may read the post's edit history."""
    return can_see_post_body(actor, post)


def check_create_board(actor: Actor, group: Group | None) -> None:
    """Raise unless the actor may make (and change) boards in a scope: site boards, admins;
    a group's boards, whoever manages the group."""
    require_member(actor)
    allowed = can_administer(actor) if group is None else can_manage_group(actor, group)
    if not allowed:
        raise Denied("Only site admins (and a group's owners, for its boards) may do that.")


def can_create_board(actor: Actor, group: Group | None) -> bool:
    """True if `check_create_board` lets the actor make boards in the scope."""
    return passes(check_create_board, actor, group)


def _posts_in(actor: Actor, board: Board) -> bool:
    """Membership rule for writing: a group's boards take posts from its members
    (not from those silenced in the group)."""
    if board.group_id is None:
        return True
    return board.group_id in actor.group_ids and board.group_id not in actor.silenced_group_ids


def check_post_topic(actor: Actor, board: Board) -> None:
    """Raise unless the actor may start a topic on the board (see `forum.policy.checks`)."""
    _require_writer(actor)
    if not can_see_board(actor, board):
        raise NotFound()
    if can_moderate(actor, board):
        return
    _deny_silenced(actor, board.group_id, "post")
    if not _posts_in(actor, board):
        raise Denied("Only the group's members post here.")


def check_reply(actor: Actor, topic: Topic) -> None:
    """Raise unless the actor may reply to the topic (see `forum.policy.checks`)."""
    _require_writer(actor)
    if not can_see_topic(actor, topic):
        raise NotFound()
    board = topic.board
    if can_moderate(actor, board):
        return
    _deny_silenced(actor, board.group_id, "post")
    if topic.locked:
        raise Denied("This topic is locked.", code="locked")
    if topic.closed:
        raise Denied("This topic is closed: it takes no new replies.", code="closed")
    if not _posts_in(actor, board):
        raise Denied("Only the group's members post here.")


def check_edit_post(actor: Actor, post: Post) -> None:
    """Raise unless the actor may edit the post: its author (topic not locked), or a
    moderator of its board."""
    _require_writer(actor)
    if not can_see_post(actor, post):
        raise NotFound()
    topic = post.topic
    if can_moderate(actor, topic.board):
        return
    _deny_silenced(actor, topic.board.group_id, "edit posts")
    if post.author_id != actor.user_id or post.is_deleted:
        raise Denied("You can only edit your own posts.")
    if topic.locked:
        raise Denied("This topic is locked.", code="locked")


def check_delete_post(actor: Actor, post: Post) -> None:
    """Raise unless the actor may delete the post (or could, were it not deleted already):
    its author, or a moderator of its board."""
    _require_writer(actor)
    if not can_see_post(actor, post):
        raise NotFound()
    board = post.topic.board
    if can_moderate(actor, board):
        return
    if post.author_id != actor.user_id:
        raise Denied("You can only delete your own posts.")
    # Taking one's own words down stays possible during a group's silence (it adds
    # nothing); a site-wide silence stops every write, as it always has.
    if actor.silenced:
        _deny_silenced(actor, None, "delete posts")


def _check_respond(actor: Actor, post: Post, doing: str, own: str, gone: ForumError) -> None:
    _require_writer(actor)
    if not can_see_post(actor, post):
        raise NotFound()
    _deny_silenced(actor, post.topic.board.group_id, doing)
    if post.author_id == actor.user_id:
        raise Denied(own)
    if post.is_deleted or post.is_hidden:
        raise gone


def check_like_post(actor: Actor, post: Post) -> None:
    """Raise unless the actor may like (or unlike) the post: a member who can read it,
    not its author, not silenced there."""
    _check_respond(
        actor,
        post,
        "like posts",
        "You cannot like your own post.",
        Denied("You cannot like a deleted or hidden post."),
    )


def check_report_post(actor: Actor, post: Post) -> None:
    """Raise unless the actor may report the post: a member who can read it, not its
    author, not silenced there; a hidden or deleted post has been dealt with (409)."""
    _check_respond(
        actor,
        post,
        "report posts",
        "You cannot report your own post.",
        Conflict("This post has been dealt with already."),
    )


def can_report_post(actor: Actor, post: Post) -> bool:
    """True if `check_report_post` lets the actor report the post."""
    return passes(check_report_post, actor, post)


def can_like_post(actor: Actor, post: Post) -> bool:
    """True if `check_like_post` lets the actor like the post."""
    return passes(check_like_post, actor, post)


def can_post_topic(actor: Actor, board: Board) -> bool:
    """True if `check_post_topic` lets the actor start a topic on the board."""
    return passes(check_post_topic, actor, board)


def can_reply(actor: Actor, topic: Topic) -> bool:
    """True if `check_reply` lets the actor reply to the topic."""
    return passes(check_reply, actor, topic)


def can_edit_post(actor: Actor, post: Post) -> bool:
    """True if `check_edit_post` lets the actor edit the post."""
    return passes(check_edit_post, actor, post)


def can_delete_post(actor: Actor, post: Post) -> bool:
    """True if `check_delete_post` lets the actor delete the post."""
    return passes(check_delete_post, actor, post)


def check_redact_revision(actor: Actor, post: Post) -> None:
    """Raise unless the actor may remove the text of one of the post's earlier versions: its
    author (even silenced: it only takes their own words away) or a moderator of its board.

    Whoever may not read the history (a hidden or deleted post's, for a reader) hears 404,
    as for a post they cannot see, before anything about logging in or rights.
    """
    if not can_see_revisions(actor, post) and post.author_id != actor.user_id:
        raise NotFound()
    _require_writer(actor)
    if not can_see_post(actor, post):
        raise NotFound()
    if post.author_id != actor.user_id and not can_moderate(actor, post.topic.board):
        raise Denied("Only the post's author and its moderators can remove an earlier version.")


def can_redact_revision(actor: Actor, post: Post) -> bool:
    """True if `check_redact_revision` lets the actor redact the post's earlier versions."""
    return passes(check_redact_revision, actor, post)


def can_post_links(actor: Actor, board: Board) -> bool:
    """True if the actor's posts on the board may carry links and images: trust level 1
    and up there (a group's grant counts on its own boards only), or moderating the board.
    """
    if actor.trust_level_in(board.group_id) >= 1 or actor.is_site_moderator:
        return True
    # A group's moderators moderate its boards only: their role says nothing elsewhere.
    return board.group_id is not None and board.group_id in actor.moderated_group_ids
