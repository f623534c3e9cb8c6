"""Search: one interface, two backends (`whoosh`, embedded; `postgres`, full text).

The index holds one document per post: its ids, board, author, state and text. Queries
are always restricted to the board ids that `forum.policy` says the reader may read
(and to non-visible states only on boards they moderate), so totals, pages and
suggestions reveal nothing; the page of ids is then loaded through
`policy.visible_posts` as a second gate (forum.search.service). Raw hits are never
rendered.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Protocol

# Languages both Whoosh's stemmers and PostgreSQL's text search know (the site setting
# `search_language` chooses one; a change takes effect after `forum reindex`).
LANGUAGES = (
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "hungarian",
    "italian",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "spanish",
    "swedish",
    "turkish",
)


class DocState(enum.StrEnum):
    """What a post's index entry says about who may find it."""

    VISIBLE = "visible"  # everyone who may read its board
    HIDDEN = "hidden"  # hidden by moderators or by members' reports
    PENDING = "pending"  # waiting for approval (or in a topic that waits)
    DELETED = "deleted"


@dataclass(frozen=True)
class Document:
    """A post as the index stores it (text: the sanitised HTML as plain text)."""

    post_id: int
    topic_id: int
    board_id: int
    author_id: int
    author: str  # the username, searchable
    title: str  # the topic's title, searchable (on every post of the topic)
    board: str  # the board's name, searchable
    body: str  # plain text of the post's sanitised HTML
    created_at: datetime
    state: DocState


@dataclass(frozen=True)
class Query:
    """A search, already restricted by policy (the service builds it)."""

    text: str
    # Boards whose visible posts the reader may find (policy.readable_board_ids).
    readable_board_ids: frozenset[int]
    # Boards where the reader also finds hidden, pending and deleted posts (moderators).
    moderated_board_ids: frozenset[int] = field(default_factory=frozenset)
    # Optional filters chosen by the reader.
    board_ids: frozenset[int] | None = None  # None: all readable; else an intersection
    author_id: int | None = None
    topic_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    offset: int = 0
    limit: int = 20
    language: str = "english"


@dataclass(frozen=True)
class Hit:
    """One matching post: its id, its rank, and a highlighted snippet built from its
    own text only (HTML-escaped, matches wrapped in <mark>)."""

    post_id: int
    score: float
    snippet: str


@dataclass(frozen=True)
class Results:
    """A page of hits, the total over everything the reader may find, and a spelling
    suggestion (None unless it finds something the reader may see).

    A search matching more than MATCH_LIMIT posts the reader may find is answered from
    the newest MATCH_LIMIT of them: `total` is then MATCH_LIMIT and `total_exact` False.
    """

    hits: list[Hit]
    total: int
    suggestion: str | None = None
    total_exact: bool = True


# The most matches one search ranks and pages through: a very common word is answered
# from its newest MATCH_LIMIT posts (50 pages). Counting and ranking tens of thousands of
# matches made common words the slowest searches (on PostgreSQL every match is a row
# read), for pages nobody reads; a member who wants older posts adds a word, a board or
# a date.
MATCH_LIMIT = 1000


# Reads posts again for a rebuild that catches up with changes made while it ran: the
# documents of the given post ids that exist, and the ids of those that no longer do.
Reread = Callable[[Sequence[int]], tuple[list[Document], list[int]]]


class IndexBusy(RuntimeError):
    """The index cannot take writes right now (another writer holds it, or a rebuild
    runs): the drain leaves its queue rows for a later one."""


class Backend(Protocol):
    """What a search backend does. Writes are idempotent (keyed by post id)."""

    name: str

    def search(self, query: Query) -> Results: ...

    def write(self, documents: Iterable[Document], removed: Iterable[int]) -> None:
        """Add or replace `documents` and drop the posts `removed` (ids)."""
        ...

    def rebuild(
        self,
        documents: Iterable[Document],
        *,
        reread: Reread | None = None,
        built: Callable[[], None] | None = None,
    ) -> int:
        """Replace the whole index with `documents` while searches keep being served
        from the old one; the number indexed. Changes made meanwhile are either applied
        before the swap (read again through `reread`) or left queued for a later drain.
        `built` (tests) runs once the documents are in, before the swap."""
        ...

    def count(self) -> int:
        """How many documents the index holds."""
        ...

    def contains(self, post_id: int) -> bool:
        """Whether the index holds a document for post `post_id` (one key lookup)."""
        ...

    def stale(self) -> str | None:
        """Why the index must be rebuilt before it can serve searches (None: it can)."""
        ...
