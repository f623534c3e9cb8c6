"""Searching posts as a reader, and keeping the index fed.

`search_posts` turns a member's input into a `Query` restricted by policy (the boards
they may read, and hidden/pending/deleted posts only where they moderate), asks the
configured backend, then loads the page of ids through `policy.visible_posts` and
`policy.can_see_post_body` as a second gate: raw hits are never rendered.

`drain` moves queued posts (forum.search.queue: outbox rows of kind "search") into the
index after a request's commit (it is the outbox's drainer for that kind);
`reindex` rebuilds the whole index from the database (`forum reindex`, and `forum init`
when `index_problem` finds one) beside the live one, streaming the posts in batches.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask import current_app
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy import delete
from sqlalchemy import distinct
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import lazyload

from forum import outbox
from forum import policy
from forum.database import write_intent
from forum.errors import ForumError
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.boards import Board
from forum.models.outbox import OutboxRow
from forum.models.posts import Post
from forum.models.settings import SiteSetting
from forum.models.topics import Topic
from forum.models.users import User
from forum.search import LANGUAGES
from forum.search import Backend
from forum.search import Document
from forum.search import IndexBusy
from forum.search import Query
from forum.search import queue
from forum.search import syntax
from forum.search.documents import documents_for
from forum.search.documents import reread_documents
from forum.search.documents import streamed_documents

log = logging.getLogger(__name__)

BACKENDS = ("whoosh", "postgres")
MAX_QUERY_CHARS = 200
PER_PAGE_MAX = 50
DRAIN_BATCH = 500
MAX_OFFSET = 10_000_000
EXTENSION = "forum_search"
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The days `since` and `until` may name.
DATE_MIN = date(1970, 1, 1)
DATE_MAX = date(2999, 12, 31)
_create_lock = threading.Lock()


class SearchUnavailable(ForumError):
    """The index could not be read (it is being repaired); try again shortly."""

    status = 503
    code = "search_unavailable"

    @classmethod
    def default_message(cls) -> str:
        """The message shown when none is given."""
        return "Search is unavailable for a moment. Please try again shortly."


@dataclass(frozen=True)
class SearchItem:
    """One result, loaded through policy: the post, where it is, and its snippet."""

    post: Post
    topic: Topic
    topic_title: str
    board: Board
    author_name: str
    created_at: datetime
    snippet: Markup
    score: float


@dataclass(frozen=True)
class SearchPage:
    """A page of results; `total` counts only what the reader may find."""

    items: list[SearchItem]
    total: int
    page: int
    pages: int
    per_page: int
    suggestion: str | None
    query: str  # the query as understood: words, "phrases", -exclusions
    # False: more than MATCH_LIMIT matches; `total` is MATCH_LIMIT, the newest of them.
    total_exact: bool = True

    @property
    def has_next(self) -> bool:
        """True if a later page has results."""
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        """True if this is not the first page."""
        return self.page > 1


# --- set-up and the backend -----------------------------------------------------------


def init_search(app: Flask) -> None:
    """Check the search configuration and install the queue listener (app start)."""
    kind = str(app.config.get("FORUM_SEARCH_BACKEND") or "whoosh").strip().lower()
    if kind not in BACKENDS:
        raise RuntimeError(
            f"FORUM_SEARCH_BACKEND must be one of {', '.join(BACKENDS)}, not {kind!r}."
        )
    app.config["FORUM_SEARCH_BACKEND"] = kind
    if kind == "postgres":
        from forum.search.postgres_backend import check_database

        check_database(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name())
    if not app.config.get("FORUM_SEARCH_PATH"):
        app.config["FORUM_SEARCH_PATH"] = str(Path(app.instance_path) / "search")
    app.extensions[EXTENSION] = None  # made on first use (it reads the site settings)
    queue.register()


def _language() -> str:
    # The stored setting, read here and not through forum.services.settings: search sits
    # below the services (they write through its queue). Read once per backend.
    stored = db.session.scalar(
        select(SiteSetting.value).where(SiteSetting.key == "search_language")
    )
    language = json.loads(stored) if stored else None
    return language if isinstance(language, str) and language in LANGUAGES else "english"


def get_backend(app: Flask) -> Backend:
    """The configured backend (made once per app, kept in app.extensions)."""
    backend: Backend | None = app.extensions.get(EXTENSION)
    if backend is not None:
        return backend
    with _create_lock:
        backend = app.extensions.get(EXTENSION)
        if backend is None:
            backend = _make_backend(app, _language())
            app.extensions[EXTENSION] = backend
    return backend


def _make_backend(app: Flask, language: str) -> Backend:
    if app.config["FORUM_SEARCH_BACKEND"] == "postgres":
        from forum.search.postgres_backend import PostgresBackend

        return PostgresBackend(language=language)
    from forum.search.whoosh_backend import WhooshBackend

    return WhooshBackend(
        app.config["FORUM_SEARCH_PATH"],
        language=language,
        memory=bool(app.config.get("FORUM_SEARCH_MEMORY")),
    )


def _backend_with_language(app: Flask) -> Backend:
    """The backend, told the site's current language (used when it writes)."""
    backend = get_backend(app)
    language = _language()
    if getattr(backend, "language", language) != language:
        backend.language = language  # type: ignore[attr-defined]
    return backend


# --- searching ------------------------------------------------------------------------


def _query_text(q: object) -> str:
    text = syntax.clean(q) if isinstance(q, str) else ""
    if not text or not syntax.parse(text):
        raise Invalid("q", "Type something to search for.")
    if len(text) > MAX_QUERY_CHARS:
        raise Invalid("q", f"Search for at most {MAX_QUERY_CHARS} characters.")
    return text


def _whole(value: object, default: int) -> int | None:
    """A whole number from a form value (None: not one)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,12}", value.strip()):
        return int(value.strip())
    if value is None or value == "":
        return default
    return None


def _day(value: object, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str) and _DATE_RE.fullmatch(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise Invalid(field, f"There is no such day as {value.strip()}.") from None
    else:
        raise Invalid(field, "Give dates as YYYY-MM-DD, for example 2024-03-31.")
    # The search asks for posts before the day after `until`: 9999-12-31 overflowed
    # (a 500). No post is that old or that new, so such days are simply refused.
    if not DATE_MIN <= day <= DATE_MAX:
        raise Invalid(
            field, f"Choose a day between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}."
        )
    return day


def _start_of(day: date) -> datetime:
    return datetime.combine(day, dtime.min, tzinfo=UTC)


class _Nothing(Exception):
    """A filter names something the reader cannot see: an empty result, as for no match."""


def _board_filter(actor: policy.Actor, board: object) -> frozenset[int] | None:
    if board is None or board == "":
        return None
    board_id = _whole(board, 0)
    if board_id is None or board_id < 1:
        raise _Nothing()
    try:
        found = policy.require_board(actor, board_id)
    except NotFound:
        raise _Nothing() from None
    # A board's sub-boards come along (the restriction drops any the reader cannot read).
    children = db.session.scalars(select(Board.id).where(Board.parent_id == found.id))
    return frozenset({found.id, *children})


def _author_filter(author: object) -> int | None:
    if author is None or author == "":
        return None
    if not isinstance(author, str) or len(author) > 100:
        raise _Nothing()
    # Looked up directly, not through `visible_users` (which hides everyone from guests):
    # the results are restricted to readable boards anyway, so a member who wrote
    # nothing the reader may see gives the same empty page as a name nobody has.
    user_id = db.session.scalar(select(User.id).where(User.username_key == author.strip().lower()))
    if user_id is None:
        raise _Nothing()
    return int(user_id)


def _topic_filter(actor: policy.Actor, topic: object) -> int | None:
    if topic is None or topic == "":
        return None
    topic_id = _whole(topic, 0)
    if topic_id is None or topic_id < 1:
        raise _Nothing()
    try:
        return policy.require_topic(actor, topic_id).id
    except NotFound:
        raise _Nothing() from None


def _mine_filter(actor: policy.Actor) -> frozenset[int]:
    if not actor.is_member or not actor.group_ids:
        raise _Nothing()
    ids = db.session.scalars(
        select(Board.id).where(Board.group_id.in_(sorted(actor.group_ids)))
    ).all()
    if not ids:
        raise _Nothing()
    return frozenset(ids)


def _safe_snippet(raw: str) -> Markup:
    """The backend's snippet if it holds no markup but <mark>; else all of it escaped."""
    bare = raw.replace("<mark>", "").replace("</mark>", "")
    if "<" in bare or ">" in bare:
        return escape(raw)
    return Markup(raw)  # noqa: S704 - escaped by the backend, checked just above


def search_posts(
    actor: policy.Actor,
    *,
    q: object,
    board: object = None,
    author: object = None,
    since: object = None,
    until: object = None,
    topic: object = None,
    mine: bool = False,
    page: object = 1,
    per_page: int = 20,
) -> SearchPage:
    """Search posts as `actor`: ranked, paged, filtered, only what they may see.

    Raises `Invalid` for an empty or over-long query and for malformed dates. Filters
    naming a board, author or topic the reader cannot see give an empty page (never
    NotFound); page numbers below 1 mean 1, beyond the last an empty page.
    """
    text = _query_text(q)
    canonical = syntax.render(syntax.parse(text))
    page_number = max(_whole(page, 1) or 1, 1)
    per_page = min(max(int(per_page), 1), PER_PAGE_MAX)
    since_day = _day(since, "since")
    until_day = _day(until, "until")
    if since_day and until_day and until_day < since_day:
        raise Invalid("until", "The end date is before the start date.")

    def empty(total: int = 0) -> SearchPage:
        """A page without results (a filter names something the reader cannot see)."""
        pages = max(math.ceil(total / per_page), 1)
        return SearchPage([], total, page_number, pages, per_page, None, canonical)

    try:
        board_ids = _board_filter(actor, board)
        author_id = _author_filter(author)
        topic_id = _topic_filter(actor, topic)
        if mine:
            own = _mine_filter(actor)
            board_ids = own if board_ids is None else board_ids & own
    except _Nothing:
        return empty()
    readable = frozenset(db.session.scalars(policy.readable_board_ids(actor)))
    if not readable:
        return empty()
    moderated: frozenset[int] = frozenset()
    if policy.can_moderate_anywhere(actor):
        moderated = frozenset(db.session.scalars(policy.moderated_board_ids(actor))) & readable
    # Far beyond any real result: the backend is not asked to skip 10^9 rows (the page
    # stays empty, the total right).
    offset = min((page_number - 1) * per_page, MAX_OFFSET)
    query = Query(
        text=text,
        readable_board_ids=readable,
        moderated_board_ids=moderated,
        board_ids=board_ids,
        author_id=author_id,
        topic_id=topic_id,
        since=_start_of(since_day) if since_day else None,
        until=_start_of(until_day + timedelta(days=1)) if until_day else None,
        offset=offset,
        limit=per_page,
        language=_language(),
    )
    try:
        results = get_backend(current_app).search(query)
    except Exception as exc:  # noqa: BLE001 - a broken index must not become a 500
        log.exception("search failed")
        raise SearchUnavailable() from exc
    items = _load(actor, results.hits)
    pages = max(math.ceil(results.total / per_page), 1)
    suggestion = results.suggestion if results.suggestion != canonical else None
    return SearchPage(
        items,
        results.total,
        page_number,
        pages,
        per_page,
        suggestion or None,
        canonical,
        results.total_exact,
    )


def _load(actor: policy.Actor, hits: Sequence[Any]) -> list[SearchItem]:
    """The hits' posts through policy, in rank order; any the reader may not read
    (a stale index entry) is dropped."""
    if not hits:
        return []
    ids = [hit.post_id for hit in hits]
    posts = {
        post.id: post
        for post in db.session.scalars(
            policy.visible_posts(actor)
            .where(Post.id.in_(ids))
            # The scope joins topics already: fill Post.topic from that join. A second
            # joined load made SQLite materialise every topic with its author (45 ms a
            # query on 100,000 posts); the topic's author is not shown here.
            .options(
                contains_eager(Post.topic).options(lazyload(Topic.author), joinedload(Topic.board))
            )
        ).unique()
    }
    items: list[SearchItem] = []
    for hit in hits:
        post = posts.get(hit.post_id)
        if post is None or not policy.can_see_post_body(actor, post):
            continue
        topic = post.topic
        items.append(
            SearchItem(
                post=post,
                topic=topic,
                topic_title=topic.title,
                board=topic.board,
                author_name=post.author.shown_name,
                created_at=post.created_at,
                snippet=_safe_snippet(hit.snippet),
                score=float(hit.score),
            )
        )
    return items


# --- keeping the index fed ------------------------------------------------------------


class _Batch:
    """Queued posts whose documents are read from the database only when the backend
    first iterates them: backends take their write lock first, so what they write is
    never older than what an earlier writer wrote."""

    def __init__(self, post_ids: Sequence[int]) -> None:
        self.post_ids = sorted(set(post_ids))
        self._documents: list[Document] | None = None
        self._removed: list[int] = []

    def _load(self) -> list[Document]:
        if self._documents is None:
            self._documents = documents_for(self.post_ids)
            found = {doc.post_id for doc in self._documents}
            self._removed = [pid for pid in self.post_ids if pid not in found]
        return self._documents

    def documents(self) -> Iterator[Document]:
        """The posts that exist, as documents."""
        yield from self._load()

    def removed(self) -> Iterator[int]:
        """The ids of queued posts that no longer exist."""
        self._load()
        yield from self._removed


def _sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def drain(app: Flask, *, limit: int = DRAIN_BATCH) -> int:
    """Write up to `limit` queued posts (oldest first) to the index and delete exactly
    those queue rows; the number of rows done. If the index is busy (another writer,
    a rebuild), nothing is done and the rows wait for a later drain (0)."""
    backend = _backend_with_language(app)
    # Reads open plain (deferred) SQLite transactions: no write lock is held while
    # waiting for the index, and each read sees the latest commits.
    token = write_intent.set(False)
    try:
        rows = db.session.execute(
            select(OutboxRow.id, OutboxRow.subject_id.label("post_id"))
            .where(OutboxRow.kind == queue.KIND)
            .order_by(OutboxRow.id)
            .limit(limit)
        ).all()
        db.session.commit()
        if not rows:
            return 0
        batch = _Batch([row.post_id for row in rows])
        try:
            backend.write(batch.documents(), batch.removed())
        except IndexBusy:
            db.session.rollback()
            log.info("search index busy; %d queued posts left for later", len(rows))
            return 0
        if _sqlite():
            # A read transaction cannot become a write one safely on SQLite.
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        write_intent.reset(token)
    try:
        _delete_rows([row.id for row in rows])
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return len(rows)


def _delete_rows(ids: Sequence[int]) -> None:
    for start in range(0, len(ids), 1000):
        db.session.execute(
            delete(OutboxRow)
            .where(OutboxRow.id.in_(ids[start : start + 1000]))
            .execution_options(synchronize_session=False)
        )


def drain_all(app: Flask, *, budget_seconds: float = 60.0) -> int:
    """Drain until the queue is empty, the index stays busy, or the budget is spent."""
    done = 0
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        n = drain(app)
        done += n
        if n < DRAIN_BATCH:
            if n == 0 or not _queued():
                break
    return done


def _queued() -> bool:
    return (
        db.session.scalar(select(OutboxRow.id).where(OutboxRow.kind == queue.KIND).limit(1))
        is not None
    )


@outbox.drainer(queue.KIND)
def _drain_for_outbox(app: Flask, _limit: int) -> int:
    """The outbox's drain of this kind, in batches of DRAIN_BATCH posts (one index write
    each); its errors are logged by the outbox, and the rows stay queued."""
    return drain(app)


def index_problem(app: Flask) -> str | None:
    """Why the index must be rebuilt before it serves this forum (None: it need not):
    built by an earlier version or for another language, unreadable or damaged, or
    missing posts (a lost index refilled by one drain, an emptied table, a forum
    upgraded from before search). Never raises: an index that cannot even be inspected
    is damaged, and its error's type is logged (not its traceback).

    Cheap at any size: a count and a key lookup on each side, read without a write lock
    on the database or the index (`forum init` runs beside a serving forum)."""
    try:
        backend = _backend_with_language(app)
        problem = backend.stale()
        if problem is None:
            problem = _missing_posts(backend)
    except Exception as exc:  # noqa: BLE001 - any failure to inspect it means "rebuild"
        db.session.rollback()
        log.warning("search index could not be inspected: %s", exc.__class__.__name__)
        return f"it cannot be read ({exc.__class__.__name__})"
    return problem


# Compared twice before a rebuild: a post committed and drained between the database's
# count and the index's looks like a gap once, never twice in a row.
_CHECKS = 2


def _missing_posts(backend: Backend) -> str | None:
    """Whether the index lacks posts the queue will not bring (None: it does not)."""
    token = write_intent.set(False)
    try:
        problem: str | None = None
        for _attempt in range(_CHECKS):
            problem = _compare_with_posts(backend)
            db.session.commit()  # ends the read: the next look sees newer commits
            if problem is None:
                return None
        return problem
    finally:
        write_intent.reset(token)


def index_counts(backend: Backend) -> tuple[int, int, int]:
    """(posts, documents, queued posts): what the index should hold, what it holds, and
    how many posts wait in the outbox's "search" rows (a drain applies them)."""
    posts = int(db.session.scalar(select(func.count(Post.id))) or 0)
    queued = int(
        db.session.scalar(
            select(func.count(distinct(OutboxRow.subject_id))).where(OutboxRow.kind == queue.KIND)
        )
        or 0
    )
    return posts, backend.count(), queued


def _compare_with_posts(backend: Backend) -> str | None:
    # Every post is a document: hidden, pending and deleted ones carry their state
    # (forum.search.documents), so the two counts agree but for queued posts - new ones
    # not yet in the index, removed ones still in it, edits either way.
    posts, documents, queued = index_counts(backend)
    waiting = f" ({queued} queued)" if queued else ""
    if documents == 0 and posts > queued:
        return "it is empty, and the forum has posts"
    if abs(posts - documents) > queued:
        return f"it holds {documents} posts, and the forum has {posts}{waiting}"
    # The newest post that is not queued must be indexed: the counts can agree while
    # the index lacks recent posts (as many old ones removed from the forum as new ones
    # missing). The ids descend the primary key, so this stops at the first one found.
    newest = db.session.scalar(
        select(Post.id)
        .where(
            Post.id.not_in(
                select(OutboxRow.subject_id).where(
                    OutboxRow.kind == queue.KIND, OutboxRow.subject_id.is_not(None)
                )
            )
        )
        .order_by(Post.id.desc())
        .limit(1)
    )
    if newest is not None and not backend.contains(int(newest)):
        return f"it lacks the newest post ({newest})"
    return None


def reindex(app: Flask, *, built: Callable[[], None] | None = None) -> int:
    """Rebuild the index from the database; the number of posts indexed. Writes, drains
    and searches go on meanwhile (the backend builds beside the current index and
    catches up before it swaps; see its `rebuild`). The posts are read in batches, so
    memory stays flat at any size. Queue rows that existed when it started are deleted
    at the end (later ones stay queued). `built` (tests) runs between build and swap."""
    backend = _backend_with_language(app)
    token = write_intent.set(False)
    try:
        queued = list(db.session.scalars(select(OutboxRow.id).where(OutboxRow.kind == queue.KIND)))
        db.session.commit()
        count = backend.rebuild(streamed_documents(), reread=reread_documents, built=built)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        write_intent.reset(token)
    try:
        _delete_rows(queued)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return count
