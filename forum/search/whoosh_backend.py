"""The embedded backend: a Whoosh index in the instance folder (or in memory, for tests).

Layout on disk: `<path>/current` is a symlink to one generation directory
`<path>/index-<stamp>`. A rebuild (`forum reindex`) writes a new generation next to it
without taking the current one's writer lock, so drains keep writing to the current
generation meanwhile (searches stay fresh, writes keep their latency); the posts they
write are noted in a journal and read again into the new generation before the swap
(`_Rebuild`). The swap replaces the link atomically (`os.replace`) and the old
generation is deleted: searchers that opened it keep their open files, and every
process notices the new target on its next search.

Writers: Whoosh allows one writer per index (a file lock). Several gunicorn workers
drain the search queue, so `write` retries the lock with a short backoff for up to
`lock_timeout` seconds and then raises `IndexBusy`; the caller leaves the queue rows for
a later drain. `write` takes the lock before it iterates its documents: the service
hands it lazy iterables that read the database when first iterated, so the data written
is always at least as fresh as any earlier writer's (no stale overwrite).

Queries are built from `forum.search.syntax` terms, never by Whoosh's query parser, so
no input can raise. The policy restriction is applied as document sets: per segment, a
bitmask (a Python int) of the documents the reader may find - the union of their readable
boards' masks, AND (visible OR on a board they moderate), AND the filters - is AND-ed with
the text's mask. The total is its popcount (past MATCH_LIMIT, the masks are cut to the
newest MATCH_LIMIT documents), every document left is scored (BM25, as Whoosh computes
it) and the page is the best of them, and spelling suggestions are checked against the
same masks: scores, pages, totals and suggestions are all computed over what the reader
may find. (Whoosh's own `filter=` would build a docset of every readable document per
search, and its `len(results)` ignores the filter when the collector skips blocks.)

Files are read through memory maps (`_MappedStorage`), never copied into the process.

Text lives in one indexed field (`text`): the title twice, the author, the board and the
body; title and body are also stored, for snippets and suggestions.
"""

from __future__ import annotations

import bisect
import fcntl
import heapq
import html
import logging
import mmap
import os
import random
import re
import shutil
import sys
import threading
import time
import uuid
from array import array
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from whoosh import fields
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh import scoring
from whoosh.analysis import LanguageAnalyzer
from whoosh.analysis import StemFilter
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.codec.whoosh3 import _lenfield
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.filestore import RamStorage
from whoosh.filedb.structfile import StructFile
from whoosh.matching.wrappers import FilterMatcher
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length as _byte_to_length

from forum.search import LANGUAGES
from forum.search import MATCH_LIMIT
from forum.search import DocState
from forum.search import Document
from forum.search import Hit
from forum.search import IndexBusy
from forum.search import Query
from forum.search import Reread
from forum.search import Results
from forum.search.syntax import Term
from forum.search.syntax import parse
from forum.search.syntax import render

log = logging.getLogger(__name__)


# The searchable field (see `schema_for`).
TEXT = "text"
SNIPPET_CHARS = 240
# Highlighting re-analyses the text: only so much of a very long post is looked at.
HIGHLIGHT_CHARS = 20_000
# Up to this many matches, every one is scored exactly (cheaper than a top-N run).
DIRECT_SCORING = 300
# Word masks kept per process (each at most one bit per document of its segment).
TERM_MASKS = 2048
# Decoded posting lists kept per process, in bytes (8 per posting; a word in 40% of
# 100,000 posts takes 320 KB).
POSTINGS_BYTES = 16 * 1024 * 1024
# Context kept before a match in a snippet fragment.
FRAGMENT_BEFORE = 60
# Words shorter than this are not spell-corrected (too many near neighbours).
MIN_CORRECTED = 4
# Posts looked at (per segment) to see how a suggested word is written.
SURFACE_DOCS = 5
CURRENT = "current"
INDEX_PREFIX = "index-"
# A rebuild holds this file's lock (flock) while it runs, and drains note the posts they
# write meanwhile in the journal (see `_Rebuild`).
REBUILD_MARK = "rebuild.lock"
REBUILD_JOURNAL = "rebuild.journal"
# The rebuild's writer pool, in MB (Whoosh's estimate; the process takes about twice
# that): past it, sorted runs go to disk. `forum reindex` must stay small at 100,000
# posts; a larger pool saves little time.
REBUILD_LIMITMB = 48
# How long the rebuild waits for the current writer before its swap (drains hold it
# for a moment each).
REBUILD_LOCK_WAIT = 120.0


def schema_for(language: str) -> fields.Schema:
    """The index schema, text analysed (stop words, stemming) for `language`."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported search language {language!r}")
    analyzer = LanguageAnalyzer(language)
    return fields.Schema(
        post_id=fields.ID(unique=True, stored=True),
        # Ids as exact terms: filters are term lookups (NUMERIC would index several
        # terms per value for ranges nobody asks for).
        topic_id=fields.ID(),
        board_id=fields.ID(),
        author_id=fields.ID(),
        state=fields.ID(),
        created_at=fields.DATETIME(sortable=True),
        # One searchable field: the title (twice: it weighs more), the author's name, the
        # board's name and the body. One posting list per word instead of four makes
        # counting and ranking several times faster, and the index smaller.
        # No `spelling=True`: it would cost a quarter of the indexing time and size;
        # suggestions map indexed stems back to words as visible posts write them.
        text=fields.TEXT(analyzer=analyzer),
        # Stored, not indexed: snippets come from the post's own text, suggestions show
        # words as posts and titles write them.
        title=fields.STORED(),
        body=fields.STORED(),
    )


def _naive_utc(value: datetime) -> datetime:
    # Whoosh's DATETIME stores naive datetimes; ours are aware UTC.
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _fields_of(doc: Document) -> dict[str, Any]:
    return {
        "post_id": str(doc.post_id),
        "topic_id": str(doc.topic_id),
        "board_id": str(doc.board_id),
        "author_id": str(doc.author_id),
        "state": str(DocState(doc.state)),
        "created_at": _naive_utc(doc.created_at),
        "text": "\n".join((doc.title, doc.title, doc.author, doc.board, doc.body)),
        "title": doc.title,
        "body": doc.body,
    }


class _MemoryStorage(RamStorage):  # type: ignore[misc]
    """Whoosh's RamStorage, with its writers' scratch space in memory too: the stock
    one uses a fixed folder, /tmp/MAIN.tmp, which concurrent processes (parallel
    test runs) would share and delete under each other."""

    def temp_storage(self, name: str | None = None) -> RamStorage:
        """Scratch space for a writer, private to it."""
        return RamStorage()


class _MappedFile(StructFile):  # type: ignore[misc]
    """A read-only index file read straight from a memory map: no read() call per
    posting block, and no private copy. Whoosh's own mmap path copies each part of a
    compound segment (one file per segment) into memory, per reader: 200 MB per worker
    at 100,000 posts. Through this file, a compound segment's parts are windows on the
    map (Whoosh's SubFile). Pages come from the page cache, shared by every worker and
    reclaimable."""

    def __init__(
        self, mapped: mmap.mmap, name: str, *, offset: int = 0, length: int | None = None
    ) -> None:
        super().__init__(mapped, name=name)
        self._map = mapped
        self._base = offset
        self._end = len(mapped) if length is None else offset + length
        self._whole = mapped
        self._pos = 0
        self.is_real = False
        if offset or length is not None:
            # A window: positions count from its start; reads slice the map.
            self._map = memoryview(mapped)[offset : self._end]  # type: ignore[assignment]
        self.file = self  # StructFile's readers call self.file.read/seek/tell

    # File methods: a position of its own, reads are slices of the map.
    def readline(self, size: int = -1) -> bytes:
        """Read up to and including the next newline (pickle needs it)."""
        end = len(self._map)
        found = bytes(self._map[self._pos : end]).find(b"\n")
        stop = end if found < 0 else self._pos + found + 1
        if size is not None and size >= 0:
            stop = min(stop, self._pos + size)
        return self.read(stop - self._pos)

    def read(self, size: int = -1) -> bytes:
        """Read from the current position."""
        end = len(self._map) if size is None or size < 0 else self._pos + size
        data = bytes(self._map[self._pos : end])
        self._pos += len(data)
        return data

    def seek(self, position: int, whence: int = 0) -> int:
        """Move the current position."""
        base = {0: 0, 1: self._pos, 2: len(self._map)}[whence]
        self._pos = base + position
        return self._pos

    def tell(self) -> int:
        """The current position."""
        return self._pos

    def get(self, position: int, length: int) -> bytes:
        """`length` bytes at `position`."""
        return bytes(self._map[position : position + length])

    def get_array(self, position: int, typecode: str, length: int) -> array:
        """An array of `length` items of `typecode` at `position`."""
        values = array(typecode)
        values.frombytes(self.get(position, length * values.itemsize))
        if sys.byteorder == "little":
            values.byteswap()  # Whoosh writes arrays big-endian
        return values

    def subset(self, offset: int, length: int, name: str | None = None) -> _MappedFile:
        """A part of a compound segment's file: a window on the same map."""
        return _MappedFile(self._map, name or self._name, offset=offset, length=length)

    def close(self) -> None:
        """Close the map (left to the collector while windows on it are in use)."""
        if isinstance(self._map, mmap.mmap):
            try:
                self._whole.close()
            except BufferError:  # pragma: no cover - a window still reads it
                pass
        self.is_closed = True


class _MappedStorage(FileStorage):  # type: ignore[misc]
    """A folder whose files are read through `_MappedFile`; writing is unchanged."""

    def open_file(self, name: str, **kwargs: Any) -> Any:
        """The file `name`, memory-mapped (an empty file the ordinary way)."""
        path = os.path.join(self.folder, name)
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                return super().open_file(name, **kwargs)
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        return _MappedFile(mapped, name)


# What opening a generation deleted after a rebuild's swap raises (its folder, or the
# files in it, gone between resolving `current` and opening them).
_RETIRED = (FileNotFoundError, whoosh_index.EmptyIndexError)


def _open(target: str) -> Any:
    """The index in the generation folder `target`, read through memory maps."""
    return _MappedStorage(target).open_index()


def _lead(text: str) -> str:
    """The start of a text, cut at a word boundary, escaped (a snippet without match)."""
    if len(text) <= SNIPPET_CHARS:
        return html.escape(text, quote=True)
    cut = text[:SNIPPET_CHARS]
    space = cut.rfind(" ")
    if space > SNIPPET_CHARS // 2:
        cut = cut[:space]
    return html.escape(cut, quote=True) + " …"


class WhooshBackend:
    """The Whoosh index: one document per post (see module docstring)."""

    name = "whoosh"

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        language: str = "english",
        memory: bool = False,
        lock_timeout: float = 2.0,
    ) -> None:
        if not memory and path is None:
            raise ValueError("a file-based index needs a path")
        self.root = Path(path) if path is not None else None
        self.memory = memory
        self.language = language
        self.lock_timeout = lock_timeout
        self._guard = threading.Lock()
        self._ram: Any = None  # the in-memory index (memory mode)
        self._journal: list[int] | None = None  # a running rebuild's (memory mode)
        self._ix: Any = None  # the open index (file mode) ...
        self._ix_target: str | None = None  # ... and the generation it lives in
        self._local = threading.local()
        self._masks: dict[str, _SegmentMasks] = {}
        self._term_masks: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._columns_cache: dict[str, _SegmentColumns] = {}
        self._postings_cache: OrderedDict[tuple[str, str], tuple[array, array]] = OrderedDict()
        self._postings_bytes = 0

    def _dir(self) -> Path:
        """The index folder (file mode only)."""
        if self.root is None:
            raise RuntimeError("an in-memory index has no folder")
        return self.root

    # --- opening ------------------------------------------------------------------

    def _current_target(self) -> str | None:
        link = self._dir() / CURRENT
        try:
            return os.path.realpath(link, strict=True)
        except (FileNotFoundError, OSError):
            return None

    def _create_generation(self, language: str) -> str:
        """A new, empty index directory (not yet current)."""
        root = self._dir()
        root.mkdir(parents=True, exist_ok=True)
        target = root / f"{INDEX_PREFIX}{time.time_ns()}-{uuid.uuid4().hex[:8]}"
        target.mkdir()
        FileStorage(str(target)).create_index(schema_for(language))
        return str(target)

    def _swap_in(self, target: str) -> None:
        """Point `current` at `target` atomically."""
        root = self._dir()
        tmp = root / f".current-{uuid.uuid4().hex}"
        os.symlink(os.path.basename(target), tmp)
        os.replace(tmp, root / CURRENT)

    def _index(self) -> tuple[Any, str]:
        """The current index and its generation (a path; "memory" in memory mode),
        created empty when there is none (a lost index: `forum reindex` refills it)."""
        if self.memory:
            with self._guard:
                if self._ram is None:
                    self._ram = _MemoryStorage().create_index(schema_for(self.language))
                return self._ram, "memory"
        target = self._current_target()
        if target is None:
            target = self._create_first()
        with self._guard:
            if self._ix is None or self._ix_target != target:
                self._ix = _open(target)
                self._ix_target = target
            return self._ix, target

    def _create_first(self) -> str:
        """Create the first generation; if another process wins the race, use theirs."""
        mine = self._create_generation(self.language)
        try:
            os.symlink(os.path.basename(mine), self._dir() / CURRENT)
        except FileExistsError:
            shutil.rmtree(mine, ignore_errors=True)
        target = self._current_target()
        if target is None:  # pragma: no cover - the link vanished again at once
            raise RuntimeError("search index link disappeared while being created")
        return target

    def _searcher(self) -> Searcher:
        """A searcher on the latest commit of the current generation (one per thread).

        A rebuild deletes the old generation right after the swap: a search that had
        just resolved `current` to it finds its files gone, and tries the new one."""
        try:
            return self._open_searcher()
        except _RETIRED:
            return self._open_searcher()

    def _open_searcher(self) -> Searcher:
        ix, target = self._index()
        cached = getattr(self._local, "searcher", None)
        if cached is not None and cached[0] == target and cached[1] is ix:
            searcher: Searcher = cached[2]
            if searcher.up_to_date():
                return searcher
        # Opened afresh, not with `refresh()`: Whoosh's reader reuse keeps a segment's
        # old reader when only its deletions changed, so deleted posts would linger.
        searcher = ix.searcher(weighting=scoring.BM25F())
        if cached is not None:
            try:
                cached[2].close()
            except Exception:  # noqa: BLE001 - an old reader; nothing to save
                log.debug("closing an old searcher failed", exc_info=True)
        self._local.searcher = (target, ix, searcher)
        return searcher

    # --- writing ------------------------------------------------------------------

    def _acquire(self, timeout: float) -> Any:
        """A writer on the current generation, retrying the lock for `timeout` s."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                ix, target = self._index()
                writer = ix.writer()
            except _RETIRED:
                # The generation was retired (deleted after a rebuild's swap) between
                # resolving `current` and locking it: resolve again.
                if time.monotonic() >= deadline:
                    raise
                continue
            except whoosh_index.LockError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise IndexBusy(f"search index writer lock busy for {timeout:.1f} s") from None
                time.sleep(min(remaining, delay * (0.5 + random.random())))  # noqa: S311
                delay = min(delay * 2, 0.1)
                continue
            # A rebuild may have swapped generations while we waited: write to the new.
            swapped = self._ram is not ix if self.memory else self._current_target() != target
            if swapped:
                writer.cancel()
                continue
            return writer

    def write(self, documents: Iterable[Document], removed: Iterable[int]) -> None:
        """Add or replace `documents` and drop the posts `removed` (ids), under the
        writer lock (taken before either iterable is read)."""
        writer = self._acquire(self.lock_timeout)
        try:
            # One document per post: Whoosh's update only replaces committed ones.
            latest = {doc.post_id: doc for doc in documents}
            gone = {int(post_id) for post_id in removed} - latest.keys()
            for post_id in sorted(gone):
                writer.delete_by_term("post_id", str(post_id))
            for doc in latest.values():
                writer.update_document(**_fields_of(doc))
            changed = bool(latest or gone)
            if changed:
                self._note_for_rebuild(sorted(gone | latest.keys()))
        except BaseException:
            writer.cancel()
            raise
        if changed:
            writer.commit()
        else:
            writer.cancel()

    # --- rebuilding -----------------------------------------------------------------

    def rebuild(
        self,
        documents: Iterable[Document],
        *,
        reread: Reread | None = None,
        built: Callable[[], None] | None = None,
    ) -> int:
        """Index `documents` into a new generation beside the current one, catch it up
        with the posts drains wrote meanwhile (read again through `reread`), swap it in
        and delete the old one; the number of `documents` indexed (see `_Rebuild`).

        No lock is held while the new generation is built: searches and drains keep
        using the current one. The current generation's writer is held only for the
        last catch-up and the swap. `built` (tests) runs between the build and the
        catch-up. Without `reread`, what drains wrote meanwhile is not carried over."""
        with _Rebuild(self) as job:
            target = None if self.memory else self._create_generation(self.language)
            try:
                count, fresh = self._fill(target, documents)
                if built is not None:
                    built()
                # Most of what drains noted meanwhile is applied without any lock ...
                noted = job.catch_up(fresh, reread, since=0)
                # ... the rest holding the current writer (drains wait for it), briefly.
                writer = self._acquire(REBUILD_LOCK_WAIT)
                try:
                    job.catch_up(fresh, reread, since=noted)
                    self._swap(target, fresh)
                finally:
                    writer.cancel()
            except BaseException:
                if target is not None:
                    shutil.rmtree(target, ignore_errors=True)
                raise
            if target is not None:
                # Searchers that opened the old generation keep their open files (the
                # kernel frees them on close); their next search opens the new one.
                self._prune(keep={target})
        return count

    def _fill(self, target: str | None, documents: Iterable[Document]) -> tuple[int, Any]:
        """Write `documents` into the new generation; their number and its index (open).
        Streamed: the writer's pool spills sorted runs to disk past REBUILD_LIMITMB."""
        if target is None:
            ix = _MemoryStorage().create_index(schema_for(self.language))
        else:
            ix = FileStorage(target).open_index()
        writer = ix.writer(limitmb=REBUILD_LIMITMB, procs=1)
        count = 0
        try:
            for doc in documents:
                writer.add_document(**_fields_of(doc))
                count += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit(optimize=True)
        if target is not None:
            # Opened again through memory maps: the catch-up's writer reads the new
            # segment (to replace documents), and Whoosh's own file reading would copy
            # all of it into the process (200 MB more at 100,000 posts).
            ix.close()
            ix = _open(target)
        return count, ix

    def _swap(self, target: str | None, fresh: Any) -> None:
        """Make the new generation current (the caller holds the current writer)."""
        if target is None:
            with self._guard:
                self._ram = fresh
            return
        fresh.close()
        self._swap_in(target)

    def _prune(self, keep: set[str]) -> None:
        """Delete generations other than `keep` (rebuilds run one at a time, so no other
        generation is being built)."""
        for child in self._dir().iterdir():
            if child.name.startswith(INDEX_PREFIX) and str(child) not in keep:
                shutil.rmtree(child, ignore_errors=True)

    def _rebuild_running(self) -> bool:
        """Whether a rebuild (of any process) is in progress (see `_Rebuild`)."""
        if self.memory:
            return self._journal is not None
        try:
            fd = os.open(self._dir() / REBUILD_MARK, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    def _note_for_rebuild(self, post_ids: list[int]) -> None:
        """Record posts a drain writes while a rebuild runs, for it to read again
        (called holding the current generation's writer)."""
        if not self._rebuild_running():
            return
        if self.memory:
            journal = self._journal
            if journal is not None:
                journal.extend(post_ids)
            return
        with open(self._dir() / REBUILD_JOURNAL, "a", encoding="ascii") as handle:
            handle.write("".join(f"{post_id}\n" for post_id in post_ids))

    def count(self) -> int:
        """How many documents the index holds."""
        count: int = self._searcher().doc_count()
        return count

    def contains(self, post_id: int) -> bool:
        """Whether the index holds a live document for post `post_id` (a term lookup)."""
        return self._searcher().document_number(post_id=str(int(post_id))) is not None

    def stale(self) -> str | None:
        """Why the current index cannot serve this forum (None: it can, or there is
        none yet - an empty one is made on first use)."""
        if self.memory:
            return None
        target = self._current_target()
        if target is None:
            return None
        try:
            schema = _open(target).schema
        except Exception as exc:  # noqa: BLE001 - any unreadable index is rebuilt
            return f"it cannot be read ({exc.__class__.__name__})"
        wanted = schema_for(self.language)
        if sorted(schema.names()) != sorted(wanted.names()) or any(
            type(schema[name]) is not type(wanted[name]) for name in wanted.names()
        ):
            return "it was built by an earlier version of the forum"
        built_for = _language_of(schema[TEXT].analyzer)
        if built_for != self.language:
            return (
                f"it was built for {built_for}, and the site's search language is {self.language}"
            )
        return None

    # --- searching ----------------------------------------------------------------

    def _term_query(self, searcher: Searcher, term: Term) -> tuple[Any, list[str]] | None:
        """The Whoosh query for one term over the default fields and its tokens (None:
        nothing left once analysed, e.g. only stop words or punctuation)."""
        analyzer = searcher.schema[TEXT].analyzer
        tokens = [token.text for token in analyzer(term.text)]
        if not tokens:
            return None
        if len(tokens) == 1:
            return wq.Term(TEXT, tokens[0]), tokens
        # A phrase, or a run like "e-mail" that analyses to several words.
        return wq.Phrase(TEXT, tokens), tokens

    def _plan(self, searcher: Searcher, terms: list[Term]) -> _Plan | None:
        """What to match: the wanted and unwanted parts (None: nothing to search for)."""
        wanted: list[tuple[Any, list[str]]] = []
        unwanted: list[tuple[Any, list[str]]] = []
        for term in terms:
            built = self._term_query(searcher, term)
            if built is not None:
                (unwanted if term.exclude else wanted).append(built)
        if not wanted:
            return None
        return _Plan(wanted, unwanted)

    # Document sets are Python ints used as bitmasks (bit n: document n of a segment):
    # union, intersection and counting run in C, whatever the number of documents.

    def _segment_masks(self, sub: Searcher) -> _SegmentMasks:
        """Per segment (immutable once written, but for deletions): one mask per board,
        the visible posts, the live documents. Built once from the postings."""
        reader = sub.reader()
        key = _segment_key(reader)
        found: _SegmentMasks | None = self._masks.get(key)
        if found is not None:
            return found
        segment = key.split("#", 1)[0]
        earlier = next((m for k, m in self._masks.items() if k.split("#", 1)[0] == segment), None)
        if earlier is not None:
            boards, visible = earlier.boards, earlier.visible
        else:
            boards = {}
            for raw in reader.lexicon("board_id"):
                boards[raw.decode()] = _mask(_posting_ids(reader.postings("board_id", raw)))
            visible = _term_mask(reader, "state", str(DocState.VISIBLE))
        size = reader.doc_count_all()
        live = (1 << size) - 1
        if reader.has_deletions():
            live &= ~_mask(reader.deleted_docs_set)
        masks = _SegmentMasks(boards=boards, visible=visible, live=live, size=size)
        # Keyed by content *and* deletions (`live` changes with them); the board masks
        # are carried over when only the deletions changed.
        for stale in [k for k in self._masks if k.split("#", 1)[0] == segment]:
            self._masks.pop(stale, None)
        self._masks[key] = masks
        return masks

    def _columns(self, sub: Searcher) -> _SegmentColumns:
        """Per segment: each document's text length and creation stamp (for scoring
        and ordering without a method call per document)."""
        reader = sub.reader()
        key = _segment_key(reader).split("#", 1)[0]
        found: _SegmentColumns | None = self._columns_cache.get(key)
        if found is not None:
            return found
        try:
            column = reader._perdoc._cached_reader(_lenfield(TEXT), LENGTHS_COLUMN)
            lengths = [_byte_to_length(value) for value in column]
        except AttributeError:  # not a plain segment: ask document by document
            lengths = [reader.doc_field_length(d, TEXT) for d in range(reader.doc_count_all())]
        stamps = list(reader.column_reader("created_at", translate=False))
        columns = _SegmentColumns(lengths=lengths, stamps=stamps)
        self._columns_cache[key] = columns
        return columns

    def _allowed(self, sub: Searcher, query: Query, boards: frozenset[int]) -> int:
        """The documents of one segment the reader may find, filters applied."""
        masks = self._segment_masks(sub)
        allowed = 0
        for board_id in boards:
            allowed |= masks.boards.get(str(board_id), 0)
        allowed &= masks.live
        if not allowed:
            return 0
        moderated = 0
        for board_id in boards & query.moderated_board_ids:
            moderated |= masks.boards.get(str(board_id), 0)
        allowed &= masks.visible | moderated
        reader = sub.reader()
        for fieldname, value in (("author_id", query.author_id), ("topic_id", query.topic_id)):
            if value is not None and allowed:
                allowed &= _term_mask(reader, fieldname, str(value))
        if (query.since is not None or query.until is not None) and allowed:
            dates = wq.DateRange(
                "created_at",
                _naive_utc(query.since) if query.since else None,
                _naive_utc(query.until) if query.until else None,
                endexcl=True,
            )
            allowed &= _mask(dates.matcher(sub).all_ids())
        return allowed

    def _text_mask(self, sub: Searcher, plan: _Plan) -> int:
        """The documents of one segment matching the text part of the query."""
        reader = sub.reader()
        found = -1
        for q, tokens in plan.wanted:
            found &= self._part_mask(sub, reader, q, tokens)
            if not found:
                return 0
        for q, tokens in plan.unwanted:
            found &= ~self._part_mask(sub, reader, q, tokens)
        return found if found > 0 else 0

    def _part_mask(self, sub: Searcher, reader: Any, q: Any, tokens: list[str]) -> int:
        """The documents of one segment matching one term (any default field). Masks
        of single words are kept (LRU): common words recur in many queries."""
        if len(tokens) == 1:
            return self._word_mask(reader, tokens[0])
        # A phrase: only documents holding every one of its words can hold it, and
        # their masks are cheap (kept); positions are checked for those documents only
        # (Whoosh's own phrase matcher reads a common word's positions all along).
        candidates = -1
        for token in tokens:
            candidates &= self._word_mask(reader, token)
            if not candidates:
                return 0
        matcher = q.matcher(sub)
        return _mask(docnum for docnum in _landing(matcher, candidates))

    def _word_mask(self, reader: Any, token: str) -> int:
        """The documents of one segment holding an indexed word, from the LRU."""
        # Raw postings (deleted documents included: `allowed` holds live ones only), so
        # a mask stays valid while the segment lives.
        key = (_segment_key(reader).split("#", 1)[0], token)
        with self._guard:
            part = self._term_masks.get(key)
            if part is not None:
                self._term_masks.move_to_end(key)
                return part
        postings = self._postings(reader, token)
        part = _mask(postings[0]) if postings is not None else _term_mask(reader, TEXT, token)
        with self._guard:
            self._term_masks[key] = part
            while len(self._term_masks) > TERM_MASKS:
                self._term_masks.popitem(last=False)
        return part

    def _scope(self, searcher: Searcher, query: Query) -> _Scope:
        """Per segment: the documents the reader may find (policy and filters)."""
        boards = frozenset(query.readable_board_ids)
        if query.board_ids is not None:
            boards &= query.board_ids
        leaves = searcher.leaf_searchers()
        # Forget the masks of segments merged away (deletions keep a segment's masks
        # valid: deleted documents never come out of the postings they are AND-ed with).
        live = {_segment_key(sub.reader()) for sub, _offset in leaves}
        segments_alive = {key.split("#", 1)[0] for key in live}
        for key in [key for key in self._masks if key.split("#", 1)[0] not in segments_alive]:
            self._masks.pop(key, None)
        with self._guard:
            for stale in [k for k in self._term_masks if k[0] not in segments_alive]:
                del self._term_masks[stale]
            for stale in [k for k in self._postings_cache if k[0] not in segments_alive]:
                ids, weights = self._postings_cache.pop(stale)
                self._postings_bytes -= (len(ids) + len(weights)) * 4
        for key in [key for key in self._columns_cache if key not in segments_alive]:
            self._columns_cache.pop(key, None)
        segments = []
        if boards:
            for sub, offset in leaves:
                allowed = self._allowed(sub, query, boards)
                if allowed:
                    segments.append((sub, offset, allowed))
        return _Scope(segments)

    def _matching(self, scope: _Scope, plan: _Plan) -> dict[int, int]:
        """Per segment (by docnum offset): the documents matching the text that the
        reader may find."""
        found: dict[int, int] = {}
        for sub, offset, allowed in scope.segments:
            matching = self._text_mask(sub, plan) & allowed
            if matching:
                found[offset] = matching
        return found

    def search(self, query: Query) -> Results:
        """A page of hits, the total and perhaps a suggestion, all within the policy
        restriction the query carries."""
        terms = parse(query.text)
        if not query.readable_board_ids:
            return Results(hits=[], total=0)
        searcher = self._searcher()
        plan = self._plan(searcher, terms)
        if plan is None:
            return Results(hits=[], total=0)
        scope = self._scope(searcher, query)
        matching = self._matching(scope, plan)
        total = sum(mask.bit_count() for mask in matching.values())
        if total == 0:
            return Results(hits=[], total=0, suggestion=self._suggest(searcher, terms, scope))
        exact = total <= MATCH_LIMIT
        if not exact:  # the newest MATCH_LIMIT (the most recently indexed)
            matching, total = _newest(matching, MATCH_LIMIT), MATCH_LIMIT
        offset = max(query.offset, 0)
        limit = max(query.limit, 0)
        if limit == 0 or offset >= total:
            return Results(hits=[], total=total, total_exact=exact)
        hits = self._page(searcher, plan, matching, offset, limit)
        return Results(hits=hits, total=total, total_exact=exact)

    def _page(
        self, searcher: Searcher, plan: _Plan, matching: dict[int, int], offset: int, limit: int
    ) -> list[Hit]:
        """The ranked page: by score, equal scores newer first."""
        wanted = [q for q, _tokens in plan.wanted]
        q = wanted[0] if len(wanted) == 1 else wq.And(wanted)
        total = sum(mask.bit_count() for mask in matching.values())
        if total > DIRECT_SCORING and all(len(tokens) == 1 for _q, tokens in plan.wanted):
            top = self._score_all(searcher, plan, matching)
        else:  # few, or a phrase: the matcher skips to each (at most MATCH_LIMIT)
            top = self._score_each(searcher, q, matching)
        stamps = {
            segment_offset: self._columns(sub).stamps
            for sub, segment_offset in searcher.leaf_searchers()
            if segment_offset in matching
        }
        bases = sorted(stamps)

        def keyed(item: tuple[float, int]) -> tuple[float, int, int]:
            score, docnum = item
            base = bases[bisect.bisect_right(bases, docnum) - 1]
            return score, int(stamps[base][docnum - base] or 0), docnum

        # Best score first; equal scores: newer first (then the later-indexed).
        ranked = heapq.nlargest(offset + limit, map(keyed, top))
        return self._hits(
            searcher, plan, [(score, docnum) for score, _stamp, docnum in ranked[offset:]]
        )

    @staticmethod
    def _hits(searcher: Searcher, plan: _Plan, page: list[tuple[float, int]]) -> list[Hit]:
        """Hits with snippets for (score, docnum) pairs, in order."""
        stem = _stemmer(searcher.schema[TEXT].analyzer)
        marks = {token for _q, tokens in plan.wanted for token in tokens}
        hits = []
        for score, docnum in page:
            stored = searcher.stored_fields(docnum)
            body = stored.get("body", "") or ""
            hits.append(
                Hit(
                    post_id=int(stored["post_id"]),
                    score=float(score),
                    snippet=snippet_for(body, marks, stem),
                )
            )
        return hits

    @staticmethod
    def _score_each(
        searcher: Searcher, q: Any, matching: dict[int, int]
    ) -> list[tuple[float, int]]:
        """Exact scores of every matching document (few of them): the matcher skips
        straight to each."""
        context = searcher.context()
        scored: list[tuple[float, int]] = []
        for sub, offset in searcher.leaf_searchers():
            mask = matching.get(offset, 0)
            if not mask:
                continue
            matcher = q.matcher(sub, context)
            for docnum in _landing(matcher, mask):
                scored.append((matcher.score(), offset + docnum))
        return scored

    def _score_all(
        self, searcher: Searcher, plan: _Plan, matching: dict[int, int]
    ) -> list[tuple[float, int]]:
        """Exact BM25 scores (as Whoosh's BM25F computes them) of every matching
        document (at most MATCH_LIMIT), for queries of single words: each document's
        weight is looked up in the word's decoded postings (kept, for common words)
        instead of several matcher calls per document."""
        weighting = searcher.weighting
        b = float(getattr(weighting, "B", 0.75))
        k1 = float(getattr(weighting, "K1", 1.2))
        avgfl = searcher.avg_field_length(TEXT) or 1.0
        c1 = k1 * (1 - b)
        c2 = k1 * b / avgfl
        k1p = k1 + 1
        scored: list[tuple[float, int]] = []
        for sub, offset in searcher.leaf_searchers():
            mask = matching.get(offset, 0)
            if not mask:
                continue
            reader = sub.reader()
            lengths = self._columns(sub).lengths
            docnums = list(_docnums(mask))
            scores = [0.0] * len(docnums)
            for _q, tokens in plan.wanted:
                postings = self._postings(reader, tokens[0])
                if postings is None:
                    continue
                ids, weights = postings
                idf = searcher.idf(TEXT, tokens[0])
                position = 0
                for i, docnum in enumerate(docnums):
                    # Every matching document holds every wanted word: it is there.
                    position = bisect.bisect_left(ids, docnum, position)
                    weight = weights[position]
                    scores[i] += idf * weight * k1p / (weight + c1 + c2 * lengths[docnum])
            scored.extend(zip(scores, (offset + docnum for docnum in docnums), strict=True))
        return scored

    def _postings(self, reader: Any, token: str) -> tuple[array, array] | None:
        """A word's posting list in a segment, decoded: (document numbers, weights).
        Kept while they fit in POSTINGS_BYTES (LRU): common words recur in queries."""
        key = (_segment_key(reader).split("#", 1)[0], token)
        with self._guard:
            found = self._postings_cache.get(key)
            if found is not None:
                self._postings_cache.move_to_end(key)
                return found
        matcher = _leaf(reader, TEXT, token)
        if matcher is None:
            return None
        ids, weights = array("i"), array("f")
        for block_ids, block_weights in _blocks(matcher):
            ids.extend(block_ids)
            weights.extend(block_weights)
        size = (len(ids) + len(weights)) * 4
        if size <= POSTINGS_BYTES // 8:
            with self._guard:
                self._postings_cache[key] = (ids, weights)
                self._postings_bytes += size
                while self._postings_bytes > POSTINGS_BYTES:
                    _key, (old_ids, old_weights) = self._postings_cache.popitem(last=False)
                    self._postings_bytes -= (len(old_ids) + len(old_weights)) * 4
        return ids, weights

    # --- spelling -----------------------------------------------------------------

    def _finds(self, searcher: Searcher, terms: list[Term], scope: _Scope) -> bool:
        """True if `terms` match at least one document the reader may find."""
        plan = self._plan(searcher, terms)
        return plan is not None and bool(self._matching(scope, plan))

    def _suggest(self, searcher: Searcher, terms: list[Term], scope: _Scope) -> str | None:
        """A corrected query, only if it finds something the reader may see.

        Candidates are indexed words (stems) near each unknown word; each is tried
        through the reader's scope, and shown as it is written in a post the reader may
        find. Every decision (is a word known? is a candidate good?) goes through the
        scope: the lexicon of content the reader cannot see shows through nowhere.
        """
        if not scope.segments:
            return None
        stem = _stemmer(searcher.schema[TEXT].analyzer)
        changed = False
        corrected: list[Term] = []
        for term in terms:
            word = term.text.lower()
            if term.phrase or term.exclude or len(word) < MIN_CORRECTED or not word.isalpha():
                corrected.append(term)
                continue
            if self._finds(searcher, [term], scope):
                corrected.append(term)
                continue
            replacement = self._correct(searcher, scope, word, stem)
            if replacement is None or replacement == word:
                corrected.append(term)
            else:
                corrected.append(Term(replacement))
                changed = True
        if not changed or not self._finds(searcher, corrected, scope):
            return None
        return render(corrected)

    def _correct(
        self, searcher: Searcher, scope: _Scope, word: str, stem: Callable[[str], str]
    ) -> str | None:
        """The nearest word to `word` that the reader may find, as written in a post."""
        reader = searcher.reader()
        probes = {word, stem(word)}
        tried: set[str] = set()
        for maxdist in (1, 2):
            if maxdist == 2 and len(word) < 6:
                break
            candidates: set[str] = set()
            for probe in probes:
                candidates.update(
                    raw.decode() if isinstance(raw, bytes) else raw
                    for raw in reader.terms_within(TEXT, probe, maxdist, prefix=1)
                )
            # Most frequent among what the reader may find first: the likelier meaning
            # (frequencies over the whole index would let hidden posts tip the choice).
            # Every candidate is counted: cutting the list at some length would let words
            # the reader cannot see push a visible one out, and so change the answer.
            counted = []
            for candidate in sorted(candidates - tried - probes):
                tried.add(candidate)
                seen = 0
                for sub, _offset, allowed in scope.segments:
                    seen += (self._word_mask(sub.reader(), candidate) & allowed).bit_count()
                if seen:
                    counted.append((-seen, candidate))
            for _seen, candidate in sorted(counted):
                surface = self._surface(searcher, scope, candidate, stem, word)
                if surface is not None:
                    return surface
        return None

    @staticmethod
    def _surface(
        searcher: Searcher, scope: _Scope, token: str, stem: Callable[[str], str], typed: str
    ) -> str | None:
        """How the indexed word `token` is written in posts (or their topics' titles)
        the reader may find: the form nearest to what was `typed` (None: in none)."""
        forms: dict[str, int] = {}
        for sub, offset, allowed in scope.segments:
            found = _term_mask(sub.reader(), TEXT, token) & allowed
            for _n, docnum in zip(range(SURFACE_DOCS), _docnums(found), strict=False):
                stored = searcher.stored_fields(offset + docnum)
                for text in (stored.get("title", ""), stored.get("body", "")):
                    for match in _WORD_RE.finditer((text or "")[:HIGHLIGHT_CHARS]):
                        written = match.group().lower()
                        if stem(written) == token:
                            forms[written] = forms.get(written, 0) + 1
        if not forms:
            return None
        return min(forms, key=lambda form: (_distance(form, typed), -forms[form], form))


class _Rebuild:
    """A rebuild in progress, as drains see it.

    Drains keep writing to the current generation while the new one is built. Each
    drain that writes while a rebuild runs also notes the posts it wrote in the
    rebuild's journal, holding the current generation's writer; before the swap the
    rebuild reads those posts again from the database into the new generation, the
    last of them holding that writer, so nothing a drain wrote misses the swap. (A
    change not drained by then is still queued, and the next drain writes it to the
    new generation.) Posts a drain wrote before the journal was emptied were read
    from the database before the rebuild began reading: the new generation has them.

    On disk the mark is an exclusive flock on `<root>/rebuild.lock`, held for the whole
    rebuild: it also makes rebuilds wait for each other, and a killed rebuild leaves no
    stale mark (the kernel drops the lock). The journal `<root>/rebuild.journal` holds
    one post id per line. In memory (tests) both are an attribute of the backend.
    """

    def __init__(self, backend: WhooshBackend) -> None:
        self.backend = backend
        self._fd: int | None = None

    def __enter__(self) -> _Rebuild:
        backend = self.backend
        if backend.memory:
            with backend._guard:
                backend._journal = []
            return self
        root = backend._dir()
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / REBUILD_MARK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits for a rebuild already running
            # Emptied after the mark is set and before the new generation reads a post.
            with open(root / REBUILD_JOURNAL, "w", encoding="ascii"):
                pass
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.backend.memory:
            with self.backend._guard:
                self.backend._journal = None
            return
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def _noted(self, since: int) -> tuple[list[int], int]:
        """Post ids noted from position `since`, and the position after them (whole
        lines only: a drain may be appending)."""
        backend = self.backend
        if backend.memory:
            journal = list(backend._journal or ())
            return journal[since:], len(journal)
        with open(backend._dir() / REBUILD_JOURNAL, "rb") as handle:
            handle.seek(since)
            data = handle.read()
        whole = data.rfind(b"\n") + 1
        ids = [int(line) for line in data[:whole].split()]
        return ids, since + whole

    def catch_up(self, fresh: Any, reread: Reread | None, *, since: int) -> int:
        """Write the posts noted from position `since` into the new generation `fresh`,
        as the database has them now; the position reached."""
        noted, reached = self._noted(since)
        if not noted or reread is None:
            return reached
        documents, removed = reread(sorted(set(noted)))
        writer = fresh.writer(limitmb=REBUILD_LIMITMB)
        try:
            for post_id in sorted(set(removed)):
                writer.delete_by_term("post_id", str(post_id))
            for doc in documents:
                writer.update_document(**_fields_of(doc))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        log.info("search rebuild caught up with %d posts written meanwhile", len(set(noted)))
        return reached


@dataclass(frozen=True)
class _Scope:
    """Per segment: (sub-searcher, docnum offset, mask of what the reader may find)."""

    segments: list[tuple[Any, int, int]]


@dataclass(frozen=True)
class _Plan:
    """A query's parts: each a Whoosh query and its analysed tokens."""

    wanted: list[tuple[Any, list[str]]]
    unwanted: list[tuple[Any, list[str]]]


@dataclass(frozen=True)
class _SegmentMasks:
    boards: dict[str, int]
    visible: int
    live: int
    size: int


@dataclass(frozen=True)
class _SegmentColumns:
    lengths: list[float]
    stamps: list[int]


def _mask(docnums: Iterable[int]) -> int:
    """A bitmask of document numbers."""
    bits = bytearray()
    for docnum in docnums:
        index = docnum >> 3
        if index >= len(bits):
            bits.extend(bytes(index - len(bits) + 1 + 64))
        bits[index] |= 1 << (docnum & 7)
    return int.from_bytes(bits, "little")


def _segment_key(reader: Any) -> str:
    """A segment's identity and state: its content never changes, its deletions only
    grow (so their count tells its state apart)."""
    segment = reader.segment() if hasattr(reader, "segment") else None
    if segment is None:
        return f"reader-{id(reader)}"
    return f"{segment.segment_id()}#{segment.deleted_count()}"


def _leaf(reader: Any, fieldname: str, text: str) -> Any:
    """The raw posting list of a term in a segment (deleted documents included), or None."""
    if (fieldname, text) not in reader:
        return None
    matcher = reader.postings(fieldname, text)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child
        matcher.reset()
    return matcher if isinstance(matcher, W3LeafMatcher) else None


def _blocks(matcher: Any) -> Iterator[tuple[Any, Any]]:
    """A leaf posting list's (document numbers, weights), a decoded block at a time."""
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        if matcher._weights is None:
            matcher._read_weights()
        start = matcher._i
        yield matcher._ids[start:], matcher._weights[start:]
        matcher._i = matcher._blocklength
        matcher._next_block()


def _term_mask(reader: Any, fieldname: str, text: str) -> int:
    """The documents of a segment holding a term."""
    if (fieldname, text) not in reader:
        return 0
    return _mask(_posting_ids(reader.postings(fieldname, text)))


def _posting_ids(matcher: Any) -> Iterator[int]:
    """A posting list's document numbers, a decoded block at a time (Whoosh's generic
    `all_ids` steps one posting at a time through several method calls)."""
    if isinstance(matcher, FilterMatcher) and isinstance(matcher.child, W3LeafMatcher):
        # Deleted documents come out too: every mask is AND-ed with the live documents.
        matcher = matcher.child
        matcher.reset()
    if not isinstance(matcher, W3LeafMatcher):
        yield from matcher.all_ids()
        return
    while matcher.is_active():
        if matcher._ids is None:
            matcher._read_ids()
        yield from matcher._ids[matcher._i :]
        matcher._i = matcher._blocklength
        matcher._next_block()


def _newest(matching: dict[int, int], count: int) -> dict[int, int]:
    """Per segment: the masks cut to their `count` highest document numbers overall
    (the most recently indexed)."""
    newest: dict[int, int] = {}
    left = count
    for offset in sorted(matching, reverse=True):
        if left <= 0:
            break
        mask = matching[offset]
        bits = mask.bit_count()
        if bits <= left:
            newest[offset] = mask
            left -= bits
            continue
        # Walk down from the top, 64 bits at a time, to where `left` bits remain.
        cut = mask.bit_length()
        while left > 0:
            low = max(cut - 64, 0)
            found = ((mask >> low) & ((1 << (cut - low)) - 1)).bit_count()
            if found <= left:
                left -= found
                cut = low
                continue
            while left > 0:  # within the chunk, bit by bit from its top
                cut -= 1
                left -= (mask >> cut) & 1
        newest[offset] = mask >> cut << cut
    return newest


def _landing(matcher: Any, mask: int) -> Iterator[int]:
    """The documents of `mask` that `matcher` matches, ascending; the matcher skips
    straight to each and stands on it when it is yielded (for its score)."""
    for docnum in _docnums(mask):
        if not matcher.is_active():
            return
        if matcher.id() < docnum:
            matcher.skip_to(docnum)
            if not matcher.is_active():
                return
        if matcher.id() == docnum:
            yield docnum


def _docnums(mask: int) -> Iterator[int]:
    """The document numbers in a mask, ascending."""
    raw = mask.to_bytes((mask.bit_length() + 7) // 8 or 1, "little")
    for index, byte in enumerate(raw):
        if byte:
            base = index << 3
            for bit in range(8):
                if byte >> bit & 1:
                    yield base + bit


def _language_of(analyzer: Any) -> str | None:
    """The language an index's analyzer stems for (None: it does not stem)."""
    for item in getattr(analyzer, "items", ()):
        if isinstance(item, StemFilter):
            return str(item.lang) if item.lang else None
    return None


def _stemmer(analyzer: Any) -> Callable[[str], str]:
    """The analyzer's stemming function (cached), for marking matches in snippets."""
    for item in getattr(analyzer, "items", ()):
        if isinstance(item, StemFilter):
            stem: Callable[[str], str] = item._stem
            return stem
    return lambda word: word


_WORD_RE = re.compile(r"\w+(?:\.?\w+)*")


def _marked(text: str, marks: set[str], stem: Callable[[str], str]) -> Iterator[tuple[int, int]]:
    """The spans of the words of `text` whose stem is in `marks`, in order."""
    known: dict[str, bool] = {}
    for match in _WORD_RE.finditer(text):
        word = match.group().lower()
        marked = known.get(word)
        if marked is None:
            marked = known[word] = stem(word) in marks
        if marked:
            yield match.start(), match.end()


def snippet_for(text: str, marks: set[str], stem: Callable[[str], str]) -> str:
    """Up to two fragments of `text` around words whose stem is in `marks`, escaped,
    matches in <mark>; the start of the text if nothing matches."""
    text = text[:HIGHLIGHT_CHARS]
    spans: list[tuple[int, int]] = []
    fragments: list[tuple[int, int]] = []
    # Words are stemmed lazily, each once, and only until the second fragment ends.
    for start, end in _marked(text, marks, stem):
        if fragments and start < fragments[-1][1]:
            spans.append((start, end))
            continue
        if len(fragments) == 2:
            break
        spans.append((start, end))
        left = max(start - FRAGMENT_BEFORE, 0)
        if left:
            space = text.find(" ", left, start)
            left = space + 1 if space >= 0 else left
        right = min(left + SNIPPET_CHARS // 2 + FRAGMENT_BEFORE, len(text))
        right = max(right, end)
        if right < len(text):
            space = text.rfind(" ", end, right)
            right = space if space > end else right
        fragments.append((left, right))
    if not spans:
        return _lead(text)
    out = []
    for left, right in fragments:
        pieces = []
        cursor = left
        for start, end in spans:
            if start < left or end > right:
                continue
            pieces.append(html.escape(text[cursor:start], quote=True))
            pieces.append(f"<mark>{html.escape(text[start:end], quote=True)}</mark>")
            cursor = end
        pieces.append(html.escape(text[cursor:right], quote=True))
        fragment = "".join(pieces)
        if left > 0:
            fragment = "… " + fragment
        if right < len(text):
            fragment += " …"
        out.append(fragment)
    return " ".join(out).replace("… …", "…")


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (short words only)."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]
