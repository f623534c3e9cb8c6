"""The `postgres` search backend: PostgreSQL full-text search in the forum's database.

For installations that run several app servers against one PostgreSQL, where a local
Whoosh index cannot be shared. The index is the table `search_documents` (one row per
post, a weighted `tsvector` with a GIN index), created by migration 0008 on PostgreSQL
only and kept out of the models' metadata: it is derived data, rebuilt from the posts by
`forum reindex`, and no model ever loads it. Queries go through SQLAlchemy Core on the
request's session, so a drain's index writes commit together with the removal of its
queue rows.

No foreign key to `posts`: like the queue, the index must never stop a post being
removed; a row for a vanished post is dropped by the next write or rebuild, and the
service loads every hit through `policy.visible_posts` anyway.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlalchemy import Connection
from sqlalchemy import DateTime
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import TSVECTOR

from forum.extensions import NAMING_CONVENTION
from forum.extensions import db
from forum.search import MATCH_LIMIT
from forum.search import DocState
from forum.search import Document
from forum.search import Hit
from forum.search import IndexBusy
from forum.search import Query
from forum.search import Reread
from forum.search import Results
from forum.search.syntax import clean
from forum.search.syntax import parse

TABLE_NAME = "search_documents"

# A metadata of its own: `db.metadata` (the models, `create_all`, autogenerate) never
# sees this table. Migration 0008 creates the same table; a test compares the two.
metadata = MetaData(naming_convention=NAMING_CONVENTION)
search_documents = Table(
    TABLE_NAME,
    metadata,
    Column("post_id", Integer, primary_key=True, autoincrement=False),
    Column("topic_id", Integer, nullable=False),
    Column("board_id", Integer, nullable=False),
    Column("author_id", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("author", Text, nullable=False),
    Column("board", Text, nullable=False),
    Column("vector", TSVECTOR, nullable=False),
)
Index("ix_search_documents_vector", search_documents.c.vector, postgresql_using="gin")

# The vector stays in the row (compressed when that pays): a search ranks every match by
# its vector, and one stored out of line costs a TOAST lookup each (frequent words ran
# twice as slow). The texts, read only for one page of snippets, leave the row first.
VECTOR_STORAGE_SQL = "ALTER TABLE search_documents ALTER COLUMN vector SET STORAGE MAIN"

# Rows per INSERT statement when writing or rebuilding (arrays unnested server-side).
BATCH = 1000
# The newest posts (by id) first looked in for a very common word's newest matches.
FLOOR_SPAN = 20_000

# Transaction-level advisory locks (released by the commit or rollback):
# - the rebuild lock: a rebuild holds it exclusively; writers try it shared and give
#   up at once while a rebuild runs (their queue rows wait for a later drain);
# - the writer lock: one writer at a time, like Whoosh's. A drain reads its documents
#   only once it holds the lock (the service hands `write` lazy iterables), so a slow
#   drain can never overwrite a newer document with an older one.
_REBUILD_LOCK = 0x5EA6C4
_WRITER_LOCK = 0x5EA6C5

# ts_headline options: at most two fragments of 15-35 words, matches in <mark>.
HEADLINE_OPTIONS = (
    "StartSel=<mark>,StopSel=</mark>,MaxWords=35,MinWords=15,ShortWord=2,"
    "HighlightAll=false,MaxFragments=2"
)


def _escaped_sql(expression: str) -> str:
    """SQL for the text `expression` HTML-escaped (& < > " ').

    Why ts_headline gets escaped text: it copies its input verbatim around the StartSel
    and StopSel it inserts and escapes nothing, so escaping its output would escape our
    <mark> tags too (and could not tell them from a post that says "<mark>"). Escaped
    first, the only tags in a snippet are the <mark>s added here; the parser reads
    `&lt;` and friends as single "entity" tokens, so a fragment never cuts one in half.
    Vectors and queries are built from escaped text too: the parser takes anything
    between < and > for an HTML tag and skips it, so a post saying "if a<b and c>d" or
    quoting "<script>" would lose those words; as entities the signs are skipped and the
    words kept, exactly as the snippet shows them.
    """
    return (
        f"replace(replace(replace(replace(replace({expression}, '&', '&amp;'),"
        " '<', '&lt;'), '>', '&gt;'), '\"', '&#34;'), '''', '&#39;')"
    )


# The document's words, weighted: title A, author and board B, body C. The language is
# the regconfig the rows were written with; queries must use the same one (changing the
# site's search language means `forum reindex`).
_AUTHOR_AND_BOARD = "d.author || ' ' || d.board"
_VECTOR_SQL = (
    f"setweight(to_tsvector(CAST(:language AS regconfig), {_escaped_sql('d.title')}), 'A')"
    " || setweight(to_tsvector(CAST(:language AS regconfig),"
    f" {_escaped_sql(_AUTHOR_AND_BOARD)}), 'B')"
    f" || setweight(to_tsvector(CAST(:language AS regconfig), {_escaped_sql('d.body')}), 'C')"
)

# Every f-string below joins constant SQL fragments; values are always bound parameters.
_UPSERT_SQL = text(
    "INSERT INTO search_documents (post_id, topic_id, board_id, author_id, state,"  # noqa: S608
    " created_at, title, body, author, board, vector)"
    " SELECT d.post_id, d.topic_id, d.board_id, d.author_id, d.state, d.created_at,"
    f" d.title, d.body, d.author, d.board, {_VECTOR_SQL}"
    " FROM unnest(CAST(:post_ids AS integer[]), CAST(:topic_ids AS integer[]),"
    " CAST(:board_ids AS integer[]), CAST(:author_ids AS integer[]),"
    " CAST(:states AS text[]), CAST(:created AS timestamptz[]), CAST(:titles AS text[]),"
    " CAST(:bodies AS text[]), CAST(:authors AS text[]), CAST(:boards AS text[]))"
    " AS d(post_id, topic_id, board_id, author_id, state, created_at, title, body, author,"
    " board)"
    " ON CONFLICT (post_id) DO UPDATE SET topic_id = excluded.topic_id,"
    " board_id = excluded.board_id, author_id = excluded.author_id, state = excluded.state,"
    " created_at = excluded.created_at, title = excluded.title, body = excluded.body,"
    " author = excluded.author, board = excluded.board, vector = excluded.vector"
)


def create_table(connection: Connection) -> None:
    """Create the table as migration 0008 does (for tests; the migration is the real one)."""
    metadata.create_all(connection)
    connection.execute(text(VECTOR_STORAGE_SQL))


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's include_object hook: autogenerate leaves the search table alone."""
    return not (type_ == "table" and name == TABLE_NAME)


def websearch_texts(member_text: str) -> tuple[str, str]:
    """The member's query as websearch_to_tsquery input: all its terms, and only the
    wanted ones (without any, nothing is found: an exclusion alone matches nothing).

    The text is split by `forum.search.syntax` exactly as the whoosh backend splits it;
    every term is then quoted, so nothing in it is an operator (`or`, `-`, `!`, `|`...)
    and a term like "tea|coffee" is a phrase of its words, as whoosh makes it. Words are
    escaped like the documents (see `_escaped_sql`).
    """
    rendered: list[str] = []
    wanted: list[str] = []
    for term in parse(clean(member_text)):
        words = term.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        quoted = f'"{words}"'
        rendered.append(f"-{quoted}" if term.exclude else quoted)
        if not term.exclude:
            wanted.append(quoted)
    return " ".join(rendered), " ".join(wanted)


class PostgresBackend:
    """Full-text search over the `search_documents` table (PostgreSQL only)."""

    name = "postgres"

    def __init__(self, language: str = "english", *, lock_timeout: float = 2.0) -> None:
        """A backend that writes vectors with the text search configuration `language`,
        waiting up to `lock_timeout` seconds for another writer."""
        self.language = language
        self.lock_timeout = lock_timeout
        self._configs: frozenset[str] | None = None

    # -- reading ---------------------------------------------------------------------

    def search(self, query: Query) -> Results:
        """One page of what the reader may find, ranked, with the total and snippets."""
        readable = sorted(query.readable_board_ids)
        if query.board_ids is not None:
            readable = sorted(query.readable_board_ids & query.board_ids)
        if not readable:
            return Results(hits=[], total=0)
        full, wanted = websearch_texts(query.text)
        if not wanted:
            return Results(hits=[], total=0)
        where, params = self._where(query, readable)
        params.update(
            language=self._regconfig(query.language),
            text=full,
            wanted=wanted,
            limit=max(query.limit, 0),
            offset=max(query.offset, 0),
            cap=MATCH_LIMIT,
        )
        # Bitmap scans only, for this search: the planner prices a text match per row
        # as nearly free and would walk a range of ids through the primary key, reading
        # and decompressing every vector in it (20 ms for 20,000 posts), where AND-ing
        # the text's bitmap with the range reads only the matching rows. Undone below
        # (a failed search ends its transaction, and the setting with it).
        # The newest post the reader may read, not the newest post: nothing they cannot
        # see may move the range their results come from.
        newest = db.session.execute(
            text(
                "SELECT max(post_id) FROM search_documents"
                " WHERE board_id = ANY(CAST(:readable AS integer[]))"
            ),
            {"readable": readable},
        ).scalar()
        db.session.execute(text("SET LOCAL enable_indexscan = off"))
        floor = None if newest is None else self._floor(where, params, int(newest))
        exact = floor is None
        if floor is not None:
            params["floor"] = floor
            where += " AND s.post_id > :floor"
        # Constant fragments; values are bound parameters.
        matches = f"SELECT s.post_id, s.created_at, s.vector FROM search_documents s WHERE {where}"  # noqa: E501, S608
        if not exact:  # the newest, picked by narrow rows, then their vectors read
            matches = (
                "SELECT s.post_id, s.created_at, s.vector FROM search_documents s"  # noqa: S608
                " WHERE s.post_id IN (SELECT s.post_id FROM search_documents s"
                f" WHERE {where} ORDER BY s.created_at DESC, s.post_id DESC LIMIT :cap)"
            )
        rows = db.session.execute(
            text(
                # Innermost, every match is ranked where it is read (OFFSET 0 keeps it
                # there), so the window count stores narrow rows, not their vectors;
                # only the page's rows are then read again for their snippets.
                "SELECT d.post_id, d.score, d.total,"  # noqa: S608 - constant fragments
                f" ts_headline(CAST(:language AS regconfig), {_escaped_sql('b.body')},"
                " websearch_to_tsquery(CAST(:language AS regconfig), :text),"
                f" '{HEADLINE_OPTIONS}') AS snippet"
                " FROM (SELECT m.post_id, m.created_at, m.score, count(*) OVER () AS total"
                " FROM (SELECT w.post_id, w.created_at, ts_rank_cd(w.vector,"
                " websearch_to_tsquery(CAST(:language AS regconfig), :text)) AS score"
                f" FROM ({matches}) w OFFSET 0) m"
                " ORDER BY m.score DESC, m.created_at DESC, m.post_id DESC"
                " LIMIT :limit OFFSET :offset) d"
                " JOIN search_documents b ON b.post_id = d.post_id"
                " ORDER BY d.score DESC, d.created_at DESC, d.post_id DESC"
            ),
            params,
        ).all()
        if not exact:
            total = MATCH_LIMIT
        elif rows:
            total = int(rows[0].total)
        elif params["offset"] or not params["limit"]:
            # Past the last page (or a count only): no row carries the window count.
            total = self._count(where, params, MATCH_LIMIT + 1)
        else:
            total = 0
        db.session.execute(text("SET LOCAL enable_indexscan = on"))
        hits = [
            Hit(post_id=int(row.post_id), score=float(row.score), snippet=str(row.snippet))
            for row in rows
        ]
        return Results(hits=hits, total=total, suggestion=None, total_exact=exact)

    @staticmethod
    def _count(where: str, params: dict[str, Any], most: int) -> int:
        """How many rows match `where`, counting no further than `most` (each is a row
        read: a very common word would read tens of thousands)."""
        counting = text(
            f"SELECT count(*) FROM (SELECT 1 FROM search_documents s WHERE {where}"  # noqa: S608
            " LIMIT :most) c"
        )
        return int(db.session.execute(counting, {**params, "most": most}).scalar_one())

    def _floor(self, where: str, params: dict[str, Any], newest: int) -> int | None:
        """None if at most MATCH_LIMIT rows match `where`; else a post id above which at
        least MATCH_LIMIT of them are (0: only the whole index holds so many);
        `newest` is the highest post id indexed.

        Counting every match of a common word reads a row per match; the newest posts
        by id are an index range that PostgreSQL ANDs with the text's bitmap, so a
        common word is settled by reading about MATCH_LIMIT rows of its newest posts.
        """
        recent = 0
        if newest > FLOOR_SPAN:
            recent = self._count_above(where, params, newest - FLOOR_SPAN)
            if recent >= MATCH_LIMIT:
                return newest - FLOOR_SPAN
        if self._count(where, params, MATCH_LIMIT + 1) <= MATCH_LIMIT:
            return None
        # Widen the range, as far as the newest posts' share of matches suggests.
        span = FLOOR_SPAN
        while span < newest:
            span = min(int(span * MATCH_LIMIT * 1.25 / max(recent, 1)), span * 16)
            if span >= newest:
                break
            recent = self._count_above(where, params, newest - span)
            if recent >= MATCH_LIMIT:
                return newest - span
        return 0

    def _count_above(self, where: str, params: dict[str, Any], floor: int) -> int:
        """How many rows above post id `floor` match `where` (up to MATCH_LIMIT)."""
        ranged = f"{where} AND s.post_id > :floor"
        return self._count(ranged, {**params, "floor": floor}, MATCH_LIMIT)

    def _where(self, query: Query, readable: list[int]) -> tuple[str, dict[str, Any]]:
        """The WHERE clause every search and count shares: the match, then the policy."""
        clauses = [
            # Only stop words wanted: numnode 0, and `!x` alone would match nearly all.
            "numnode(websearch_to_tsquery(CAST(:language AS regconfig), :wanted)) > 0",
            "s.vector @@ websearch_to_tsquery(CAST(:language AS regconfig), :text)",
            "s.board_id = ANY(CAST(:readable AS integer[]))",
            "(s.state = :visible OR s.board_id = ANY(CAST(:moderated AS integer[])))",
        ]
        params: dict[str, Any] = {
            "readable": readable,
            "visible": DocState.VISIBLE.value,
            "moderated": sorted(query.moderated_board_ids),
        }
        if query.author_id is not None:
            clauses.append("s.author_id = :author_id")
            params["author_id"] = query.author_id
        if query.topic_id is not None:
            clauses.append("s.topic_id = :topic_id")
            params["topic_id"] = query.topic_id
        if query.since is not None:
            clauses.append("s.created_at >= :since")
            params["since"] = _aware(query.since)
        if query.until is not None:
            clauses.append("s.created_at < :until")
            params["until"] = _aware(query.until)
        return " AND ".join(clauses), params

    def count(self) -> int:
        """How many documents the index holds."""
        return int(db.session.execute(text("SELECT count(*) FROM search_documents")).scalar_one())

    def contains(self, post_id: int) -> bool:
        """Whether the index holds a document for post `post_id` (a primary key lookup)."""
        found = db.session.execute(
            text("SELECT 1 FROM search_documents WHERE post_id = :post_id"),
            {"post_id": int(post_id)},
        ).first()
        return found is not None

    def stale(self) -> str | None:
        """Never, by its shape: migration 0008 owns the table (emptiness is the
        service's question)."""
        return None

    # -- writing ---------------------------------------------------------------------

    def write(self, documents: Iterable[Document], removed: Iterable[int]) -> None:
        """Upsert `documents` and delete `removed` in the session's transaction, under
        the writer lock (taken before either iterable is read).

        The caller commits (the drain, together with deleting its queue rows), which
        releases the lock. Raises `IndexBusy` at once while a rebuild runs, and after
        `lock_timeout` seconds if another writer keeps the lock.
        """
        self._lock_for_writing()
        gone = sorted(set(removed))
        latest = _latest(documents)
        if gone:
            db.session.execute(
                text("DELETE FROM search_documents WHERE post_id = ANY(CAST(:ids AS integer[]))"),
                {"ids": gone},
            )
        self._insert(latest)

    def _lock_for_writing(self) -> None:
        """Take the rebuild lock shared and the writer lock (see their comment)."""

        def take(function: str, key: int) -> bool:
            statement = text(f"SELECT {function}(:key)")  # noqa: S608 - a constant name
            return bool(db.session.execute(statement, {"key": key}).scalar_one())

        if not take("pg_try_advisory_xact_lock_shared", _REBUILD_LOCK):
            raise IndexBusy("a search index rebuild is running")
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        while not take("pg_try_advisory_xact_lock", _WRITER_LOCK):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise IndexBusy(f"search index writer busy for {self.lock_timeout:.1f} s")
            time.sleep(min(remaining, delay * (0.5 + random.random())))  # noqa: S311
            delay = min(delay * 2, 0.1)

    def rebuild(
        self,
        documents: Iterable[Document],
        *,
        reread: Reread | None = None,
        built: Callable[[], None] | None = None,
    ) -> int:
        """Replace every row in one transaction (searches see the old rows until the
        commit); the number indexed. Online already: posts are written as ever, and
        drains meanwhile leave their queue rows for after the commit (so `reread` is
        not needed); `built` (tests) runs just before the commit."""
        try:
            # Exclusive: waits for running drains, and makes new ones leave their queue
            # rows for later instead of blocking behind this transaction.
            db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REBUILD_LOCK})
            db.session.execute(text("DELETE FROM search_documents"))
            seen: set[int] = set()
            for batch in _batches(documents, BATCH):
                latest = _latest(batch)
                seen.update(doc.post_id for doc in latest)
                self._insert(latest)
            if built is not None:
                built()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        # Every old row is now dead and the statistics describe them: without this,
        # searches read through the dead rows and the planner misjudges the new ones
        # (p95 77 ms instead of 28 at 100,000 posts) until autovacuum comes by.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE {TABLE_NAME}"))
        return len(seen)

    def _insert(self, documents: Sequence[Document]) -> None:
        """Upsert documents (unique post ids), BATCH rows per statement."""
        language = self._regconfig(self.language)
        for start in range(0, len(documents), BATCH):
            chunk = documents[start : start + BATCH]
            db.session.execute(
                _UPSERT_SQL,
                {
                    "language": language,
                    "post_ids": [doc.post_id for doc in chunk],
                    "topic_ids": [doc.topic_id for doc in chunk],
                    "board_ids": [doc.board_id for doc in chunk],
                    "author_ids": [doc.author_id for doc in chunk],
                    "states": [DocState(doc.state).value for doc in chunk],
                    "created": [_aware(doc.created_at) for doc in chunk],
                    "titles": [_clean(doc.title) for doc in chunk],
                    "bodies": [_clean(doc.body) for doc in chunk],
                    "authors": [_clean(doc.author) for doc in chunk],
                    "boards": [_clean(doc.board) for doc in chunk],
                },
            )

    def _regconfig(self, language: str) -> str:
        """The text search configuration named `language`, or "simple" if the server has
        none by that name (a mistyped site setting must not break every search)."""
        if self._configs is None:
            names = db.session.execute(text("SELECT cfgname FROM pg_ts_config")).scalars()
            self._configs = frozenset(str(name) for name in names)
        wanted = language.strip().lower()
        return wanted if wanted in self._configs else "simple"


def check_database(dialect_name: str) -> None:
    """Refuse to start the postgres backend on any other database, saying why."""
    if dialect_name != "postgresql":
        raise RuntimeError(
            "FORUM_SEARCH_BACKEND=postgres needs a PostgreSQL database, but"
            f" FORUM_DATABASE_URL points to {dialect_name}. Use FORUM_SEARCH_BACKEND=whoosh"
            " (the default) or move the forum to PostgreSQL."
        )


def _latest(documents: Iterable[Document]) -> list[Document]:
    """One document per post id (the last given wins), in first-seen order."""
    by_id: dict[int, Document] = {}
    for doc in documents:
        by_id[doc.post_id] = doc
    return list(by_id.values())


def _batches(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    """`documents` in lists of at most `size`."""
    batch: list[Document] = []
    for doc in documents:
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _clean(value: str) -> str:
    """Text PostgreSQL accepts (it stores no NUL characters)."""
    return value.replace("\x00", "")


def _aware(value: datetime) -> datetime:
    """A timezone-aware datetime (naive ones are taken as UTC, as the models store)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
