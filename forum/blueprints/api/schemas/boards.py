"""Boards, topics, posts, their revisions and likes, and search results."""

from __future__ import annotations

from typing import Annotated
from typing import Any
from typing import Literal

from pydantic import Field

from forum import rendering
from forum.blueprints.api.schemas.base import Answer
from forum.blueprints.api.schemas.base import Body
from forum.blueprints.api.schemas.base import Count
from forum.blueprints.api.schemas.base import Id
from forum.blueprints.api.schemas.base import NullableText
from forum.blueprints.api.schemas.base import NullableWhole
from forum.blueprints.api.schemas.base import Number
from forum.blueprints.api.schemas.base import Text
from forum.blueprints.api.schemas.base import Time
from forum.blueprints.api.schemas.base import Url
from forum.blueprints.api.schemas.base import Whole
from forum.blueprints.api.schemas.base import one_of
from forum.blueprints.api.schemas.base import spec
from forum.models.posts import HiddenKind
from forum.moderation.actions import SLOW_MODE_MAX
from forum.validation import BODY_MAX
from forum.validation import BODY_MIN
from forum.validation import DESCRIPTION_MAX
from forum.validation import INT_MAX
from forum.validation import NAME_MAX
from forum.validation import TITLE_MAX
from forum.validation import TITLE_MIN

HiddenKindName = one_of(k.value for k in HiddenKind)
POST_LIMITS = (
    f"Markdown, {BODY_MIN}-{BODY_MAX:,} characters; at most {rendering.MAX_TABLE_ROWS} table "
    f"rows, {rendering.MAX_TABLE_COLUMNS} columns, nesting {rendering.MAX_NESTING} deep, "
    f"{rendering.MAX_ELEMENTS:,} elements and {rendering.MAX_LINKS} links once rendered"
)


def _post_body() -> Any:
    return spec(minLength=BODY_MIN, maxLength=BODY_MAX, description=POST_LIMITS)


# --- requests -------------------------------------------------------------------


class NewBoard(Body):
    messages = {"group": "Give the group's slug, or null for a site board."}

    name: Text = spec(minLength=1, maxLength=NAME_MAX)
    description: Text = spec(None, maxLength=DESCRIPTION_MAX)
    parent_id: NullableWhole = spec(None, minimum=1, maximum=INT_MAX)
    group: NullableText = spec(None, description="A group's slug: the board is the group's")


class BoardChange(Body):
    name: Text = spec(None, minLength=1, maxLength=NAME_MAX)
    description: Text = spec(None, maxLength=DESCRIPTION_MAX)
    parent_id: NullableWhole = spec(None, minimum=1, maximum=INT_MAX)
    position: Whole = spec(None, minimum=0, maximum=INT_MAX)


class TopicDraft(Body):
    title: Text = spec(minLength=TITLE_MIN, maxLength=TITLE_MAX)
    body: Text = _post_body()


class ReplyDraft(Body):
    body: Text = _post_body()
    reply_to: NullableWhole = spec(None, minimum=1, maximum=INT_MAX)


class PostEdit(Body):
    body: Text = _post_body()


# --- answers --------------------------------------------------------------------


class Board(Answer):
    id: Id
    name: str
    description: str
    group: Annotated[str | None, Field(description="The owning group's slug")]
    parent_id: Id | None
    position: int
    topics_count: Count
    posts_count: Count
    last_post_at: Time | None
    url: Url


class BoardList(Answer):
    boards: list[Board]


class Topic(Answer):
    id: Id
    board_id: Id
    title: str
    author: Annotated[
        str | None, Field(description="null once the opening post is deleted or hidden")
    ]
    posts_count: Count
    created_at: Time
    last_post_at: Time
    locked: bool
    pinned: bool
    closed: bool
    slow_mode_minutes: Annotated[int, Field(ge=0, le=SLOW_MODE_MAX, description="0: off")]
    url: Url


class Post(Answer):
    id: Id
    topic_id: Id
    number: Number
    author: Annotated[
        str | None, Field(description="null if deleted or hidden and not yours to read")
    ]
    author_label: Annotated[
        str | None,
        Field(
            description="The author's role label where the post is: inside a group, the "
            "group's label (else the site's), unless the author hides it there; null: none"
        ),
    ]
    reply_to: Id | None
    body: Annotated[
        str | None, Field(description="Markdown; null if deleted or hidden and not yours to read")
    ]
    html: Annotated[str | None, Field(description="Sanitised HTML rendered from body")]
    created_at: Time
    edited_at: Time | None
    deleted: bool
    hidden: bool
    hidden_kind: Annotated[
        HiddenKindName | None,
        Field(
            description="moderators: hidden by a moderator; community: members' reports "
            "hid it pending review; approval: a new member's post waiting for approval"
        ),
    ]
    hidden_reason: Annotated[str | None, Field(description="For the author and moderators only")]
    review_requested: Annotated[
        bool, Field(description="The author edited the hidden post and asks for a review")
    ]
    likes_count: Count
    liked: Annotated[bool, Field(description="Whether you like it")]
    url: Url


class PagedAnswer(Answer):
    """The page fields of a paged list (a base, not a component of its own)."""

    page: Number
    pages: Number


class TopicPage(PagedAnswer):
    topics: list[Topic]


class ReadPosition(Body):
    last_read: Whole = spec(
        minimum=0,
        maximum=INT_MAX,
        description="The number of the last post you showed; past the topic's end: its end",
    )


class ReadState(Answer):
    topic_id: Id
    last_read: Annotated[int, Field(ge=0, description="Your position: a post number")]
    new_posts: Annotated[int, Field(ge=0, description="Posts past your position")]


class UnreadTopic(Topic):
    last_read: Annotated[
        int | None, Field(ge=0, description="Your position (a post number); null: never opened")
    ]
    new_posts: Annotated[int, Field(ge=0, description="Posts past your position")]


class UnreadTopicPage(PagedAnswer):
    topics: list[UnreadTopic]


class TopicWithPosts(PagedAnswer):
    topic: Topic
    posts: list[Post]


UNREACHED = (
    "true when some members the text mentions cannot read the topic and were not told "
    "(never who: the HTML page says the same in a message)"
)


class NewPost(Post):
    unreached_mentions: Annotated[bool, Field(description=UNREACHED)]


class NewTopic(Answer):
    topic: Topic
    post: Post
    unreached_mentions: Annotated[bool, Field(description=UNREACHED)]


class Revision(Answer):
    number: Number
    body: Annotated[str | None, Field(description="null once redacted")]
    html: Annotated[str | None, Field(description="null once redacted")]
    created_at: Annotated[Time, Field(description="When this text was written")]
    replaced_at: Annotated[
        Time | None, Field(description="When an edit replaced it (null if unknown)")
    ]
    redacted: bool
    redacted_by: Literal["author", "moderator"] | None
    redacted_at: Time | None


class RevisionChange(Answer):
    revision: Revision
    changed: bool


class RevisionList(Answer):
    revisions: list[Revision]


class LikeState(Answer):
    liked: bool
    likes_count: Count


class SearchResult(Answer):
    post_id: Id
    topic_id: Id
    title: Annotated[str, Field(description="The topic's title")]
    snippet: Annotated[
        str, Field(description="HTML: the post's own text, escaped, matches in <mark>...</mark>")
    ]
    board_id: Id
    board: Annotated[str, Field(description="The board's name")]
    author: Annotated[str, Field(description="The author's username")]
    created_at: Time
    url: Annotated[str, Field(description="The post's page in the browser (a path)")]


class SearchPage(PagedAnswer):
    results: list[SearchResult]
    total: Annotated[
        Count,
        Field(description="Every match you may see, on all pages; at most 1000 (see total_exact)"),
    ]
    total_exact: Annotated[
        bool,
        Field(
            description="false: more than 1000 posts match; the results are the newest 1000 "
            "of them, ranked, and `total` is 1000"
        ),
    ]
    suggestion: Annotated[
        str | None, Field(description="A corrected query that finds something you may see")
    ]
