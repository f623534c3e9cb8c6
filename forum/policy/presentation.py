"""Facts for the page cache, derived from the rules but apart from them.

Rendered pages are shared between readers of one variant (see forum.fragments): the
variant (`board_view_variant`, `topic_view_variant`) says which shared copy an actor
gets, and `topic_post_actions` fills the per-reader holes (buttons) for a page of posts
at once. Each must agree with the rules it summarises; tests check that they do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from forum.models.boards import Board
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.policy.actors import Actor
from forum.policy.checks import silenced_in
from forum.policy.content import can_reply
from forum.policy.content import can_see_topic
from forum.policy.ranks import can_moderate


class PostFacts(Protocol):
    """What deciding a post's buttons needs: a `Post`, or a cached summary of one."""

    @property
    def id(self) -> int: ...

    @property
    def author_id(self) -> int: ...

    @property
    def revisions_count(self) -> int: ...

    @property
    def is_deleted(self) -> bool: ...

    @property
    def is_hidden(self) -> bool: ...


def board_view_variant(actor: Actor, board: Board) -> str:
    """How a board's topic list looks to the actor: "moderator" (topics waiting for
    approval listed) or "reader". Lists are shared between readers of one variant."""
    return "moderator" if can_moderate(actor, board) else "reader"


def topic_view_variant(actor: Actor, topic: Topic) -> str:
    """How a topic's posts look to the actor: "moderator" (deleted and hidden text shown,
    with why) or "reader" (placeholders).

    Everyone who can see a topic sees its posts the same way within a variant, which is
    what lets rendered pages be shared between readers (see forum.fragments). What differs
    between readers of one variant (their buttons, an author's note on their own hidden
    post) goes into per-reader holes, decided by `topic_post_actions`.
    """
    return "moderator" if can_moderate(actor, topic.board) else "reader"


def topic_post_actions(
    actor: Actor, topic: Topic, posts: Sequence[PostFacts]
) -> dict[int, dict[str, bool]]:
    """`post_actions` for a page of one topic's posts, deciding the shared facts once.

    Must agree with `can_edit_post`, `can_delete_post`, `can_reply`, `can_see_revisions`,
    `can_see_post_body`, `can_like_post` and `can_report_post` post by post; a test
    checks that it does.
    """
    sees = can_see_topic(actor, topic)
    # A silence in the topic's group stops writing there, but not taking one's own words
    # down (as in `check_edit_post` and `check_delete_post`).
    writer = actor.is_member and not silenced_in(actor, topic.board.group_id) and sees
    deleter = actor.is_member and not actor.silenced and sees
    moderates = sees and can_moderate(actor, topic.board)
    replies = can_reply(actor, topic)
    actions = {}
    for post in posts:
        own = post.author_id == actor.user_id and actor.is_member
        # Deleted text: moderators only. Hidden (or waiting) text: moderators and the author.
        shown = not post.is_deleted and (not post.is_hidden or own)
        readable = sees and (shown or moderates)
        # Liking and reporting: someone else's post that everyone can still read.
        open_to_others = writer and not own and not post.is_deleted and not post.is_hidden
        actions[post.id] = {
            "edit": moderates or (writer and own and not post.is_deleted and not topic.locked),
            "delete": not post.is_deleted and (moderates or (own and deleter)),
            "reply": replies,
            "revisions": post.revisions_count > 0 and readable,
            "body": readable,
            "like": open_to_others,
            "report": open_to_others,
        }
    return actions


def post_actions(actor: Actor, post: Post) -> dict[str, bool]:
    """Which buttons a post shows to the actor."""
    return topic_post_actions(actor, post.topic, [post])[post.id]
