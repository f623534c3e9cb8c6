"""The Whoosh backend: what only it does (spelling suggestions, the file index, its
generations and writer lock), and writes from four processes at once.

The behaviour both backends share is tested in test_service.py.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import threading
from collections.abc import Iterator
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from forum.extensions import db as _db
from forum.models.outbox import OutboxRow
from forum.models.posts import Post
from forum.search import DocState
from forum.search import Document
from forum.search import IndexBusy
from forum.search import Query
from forum.search import service
from forum.search import whoosh_backend
from forum.search.whoosh_backend import DIRECT_SCORING
from forum.search.whoosh_backend import WhooshBackend
from forum.search.whoosh_backend import snippet_for
from tests import factories

WORKERS = 4
POSTS_EACH = 12
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(
    params=[("sqlite", "whoosh"), ("postgres", "whoosh")], ids=["sqlite-whoosh", "pg-whoosh"]
)
def search_pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Whoosh only, on both databases (overrides tests/search/conftest.py)."""
    database, search = request.param
    return str(database), str(search)


def doc(
    post_id: int,
    body: str,
    *,
    board: int = 1,
    state: DocState = DocState.VISIBLE,
    title: str = "A topic",
    author: str = "someone",
    author_id: int = 7,
    topic_id: int = 100,
    age_days: float = 0,
) -> Document:
    return Document(
        post_id=post_id,
        topic_id=topic_id,
        board_id=board,
        author_id=author_id,
        author=author,
        title=title,
        board="General",
        body=body,
        created_at=NOW - timedelta(days=age_days),
        state=state,
    )


def q(text: str, readable: set[int] | None = None, **kw: object) -> Query:
    boards = frozenset({1} if readable is None else readable)
    return Query(text=text, readable_board_ids=boards, **kw)  # type: ignore[arg-type]


def found(backend: WhooshBackend, query: Query) -> list[int]:
    return [hit.post_id for hit in backend.search(query).hits]


@pytest.fixture
def disk(tmp_path: Path) -> WhooshBackend:
    """A file-based index in a temporary folder."""
    return WhooshBackend(tmp_path / "search", lock_timeout=0.3)


# --- the backend on its own --------------------------------------------------------


def test_writes_are_idempotent_updates_by_post_id(disk):
    disk.write([doc(1, "apples and pears")], [])
    disk.write([doc(1, "apples and pears"), doc(1, "plums only")], [])
    assert disk.count() == 1
    assert found(disk, q("plums")) == [1]
    assert found(disk, q("apples")) == []
    disk.write([], [1, 99])
    assert disk.count() == 0


def test_policy_restriction_applies_to_hits_and_totals(disk):
    disk.write(
        [
            doc(1, "marker visible", board=1),
            doc(2, "marker other board", board=2),
            doc(3, "marker hidden", board=1, state=DocState.HIDDEN),
            doc(4, "marker pending", board=2, state=DocState.PENDING),
            doc(5, "marker deleted", board=1, state=DocState.DELETED),
        ],
        [],
    )
    assert backend_total(disk, q("marker")) == 1
    assert backend_total(disk, q("marker", {1, 2})) == 2
    assert sorted(found(disk, q("marker", {1, 2}, moderated_board_ids=frozenset({1})))) == [
        1,
        2,
        3,
        5,
    ]
    # Moderating a board one cannot read gives nothing there.
    assert found(disk, q("marker", {1}, moderated_board_ids=frozenset({2}))) == [1]
    assert backend_total(disk, q("marker", set())) == 0


def backend_total(backend: WhooshBackend, query: Query) -> int:
    return backend.search(query).total


def test_filters(disk):
    disk.write(
        [
            doc(1, "beans", author_id=1, topic_id=10, age_days=10),
            doc(2, "beans", author_id=2, topic_id=10, age_days=5),
            doc(3, "beans", author_id=1, topic_id=11, age_days=1, board=2),
        ],
        [],
    )
    every = {1, 2}
    assert sorted(found(disk, q("beans", every, author_id=1))) == [1, 3]
    assert sorted(found(disk, q("beans", every, topic_id=10))) == [1, 2]
    assert found(disk, q("beans", every, board_ids=frozenset({2}))) == [3]
    assert found(disk, q("beans", {1}, board_ids=frozenset({2}))) == []
    since = NOW - timedelta(days=6)
    until = NOW - timedelta(days=2)
    assert found(disk, q("beans", every, since=since, until=until)) == [2]
    assert sorted(found(disk, q("beans", every, since=since))) == [2, 3]


def test_equal_scores_rank_newest_first_on_every_path(disk):
    # Few matches: each is scored exactly.
    disk.write([doc(n, "radish", age_days=n) for n in range(1, 6)], [])
    assert found(disk, q("radish")) == [1, 2, 3, 4, 5]
    # Many matches: the top-N collector, then ties ordered by date within the page.
    many = DIRECT_SCORING + 50
    ages = {n: n % 7 for n in range(10, 10 + many)}
    disk.write([doc(n, "turnip", age_days=age) for n, age in ages.items()], [])
    result = disk.search(q("turnip", limit=20))
    assert result.total == many
    page_ages = [ages[hit.post_id] for hit in result.hits]
    assert page_ages == sorted(page_ages)


def test_relevance_beats_recency(disk):
    disk.write(
        [
            doc(1, "carrot carrot carrot soup", age_days=30),
            doc(2, "a long text about many other things and one carrot " + "x " * 40),
        ],
        [],
    )
    assert found(disk, q("carrot")) == [1, 2]


def test_newest_cuts_masks_to_the_highest_document_numbers():
    masks = {0: 0b1011_0110, 8: (1 << 130) | (1 << 70) | 0b11}
    assert whoosh_backend._newest(masks, 4) == {8: masks[8]}
    assert whoosh_backend._newest(masks, 6) == {8: masks[8], 0: 0b1010_0000}
    assert whoosh_backend._newest(masks, 99) == masks
    assert whoosh_backend._newest({0: (1 << 200) - 1}, 70) == {0: ((1 << 70) - 1) << 130}


def test_paging_and_offsets_past_the_end(disk):
    disk.write([doc(n, "onion", age_days=n) for n in range(1, 8)], [])
    assert found(disk, q("onion", offset=0, limit=3)) == [1, 2, 3]
    assert found(disk, q("onion", offset=3, limit=3)) == [4, 5, 6]
    assert found(disk, q("onion", offset=6, limit=3)) == [7]
    page = disk.search(q("onion", offset=10**9, limit=3))
    assert page.hits == [] and page.total == 7


@pytest.mark.parametrize(
    "text",
    ["title:(", "*", "AND OR NOT", "~", "^", '"', '"a', "\x00", "(((", "post_id:1", "[a TO z]"],
)
def test_syntax_goes_to_no_parser(disk, text):
    disk.write([doc(1, "title and post_id and words")], [])
    disk.search(q(text))


def test_snippets_are_escaped_and_marked():
    stem = str.lower
    text = 'Before <b>bold</b> & "quoted" then the word apple, later apple again.'
    snippet = snippet_for(text, {"apple"}, stem)
    assert "<b>" not in snippet and "&lt;b&gt;" in snippet and "&amp;" in snippet
    assert snippet.count("<mark>apple</mark>") == 2
    assert snippet_for("no match here", {"zzz"}, stem) == "no match here"
    long = "word " * 200 + "needle " + "word " * 200
    cut = snippet_for(long, {"needle"}, stem)
    assert "<mark>needle</mark>" in cut and cut.startswith("… ") and cut.endswith(" …")
    assert len(cut) < 400


def test_stemming_follows_the_language(tmp_path):
    french = WhooshBackend(tmp_path / "fr", language="french")
    french.write([doc(1, "Les jardiniers plantent des tomates")], [])
    assert found(french, q("jardinier")) == [1]
    assert found(french, q("tomate")) == [1]
    with pytest.raises(ValueError):
        WhooshBackend(tmp_path / "xx", language="klingon").count()


# --- spelling suggestions ---------------------------------------------------------


def test_a_misspelled_word_gets_a_suggestion_that_finds_something(disk):
    disk.write([doc(1, "the community garden opens on saturday")], [])
    result = disk.search(q("comunity garden"))
    assert result.total == 0
    assert result.suggestion == "community garden"
    assert disk.search(q("community garden")).suggestion is None


def test_no_suggestion_is_built_from_words_the_reader_cannot_see(disk):
    disk.write(
        [
            doc(1, "public words about the weather", board=1),
            doc(2, "the zanzibarquokka plan", board=2),
            doc(3, "a hidden hippopotamus", board=1, state=DocState.HIDDEN),
        ],
        [],
    )
    for typo in ("zanzibarquoka", "zanzibarquokka", "hipopotamus", "hippopotamus"):
        outsider = disk.search(q(typo, {1}))
        assert (outsider.total, outsider.suggestion) == (0, None)
    assert disk.search(q("zanzibarquoka", {1, 2})).suggestion == "zanzibarquokka"
    assert disk.search(q("hipopotamus", {1}, moderated_board_ids=frozenset({1}))).suggestion
    # A word known only from secret content is treated like an unknown word: the
    # outsider gets the same answer for it as for gibberish of the same shape.
    assert disk.search(q("weathr", {1})).suggestion == "weather"


def test_words_the_reader_cannot_see_do_not_crowd_out_a_suggestion(disk):
    """Secret words one and two letters away from a typo, all before its one visible
    neighbour in the alphabet: the outsider's suggestion is the same as without them."""
    disk.write([doc(1, "the quokkzz walk", board=1)], [])
    assert disk.search(q("quokkz", {1})).suggestion == "quokkzz"
    letters = "abcdefghijklmnopqrstuvwxy"
    secret = [f"quokk{c}{end}" for c in letters for end in ("", "z", "a", "b", "c")]
    disk.write([doc(2, " ".join(secret), board=2)], [])
    assert disk.search(q("quokkz", {1})).suggestion == "quokkzz"


def test_suggestions_through_the_service(app):
    factories.set_settings(guest_access="public_boards")
    reader = factories.make_user("reader", trust_level=1)
    board = factories.make_board("Allotments")
    factories.make_topic(board, reader, title="Compost", body="Turning the compost heap weekly")
    group = factories.make_group("Quiet", secret=True)
    secret_board = factories.make_board("Quiet room", group=group)
    factories.make_topic(secret_board, factories.owner_of(group), body="xylophonist meeting")
    service.drain_all(app)
    page = service.search_posts(factories.actor(reader), q="compst")
    assert (page.total, page.suggestion) == (0, "compost")
    page = service.search_posts(factories.actor(reader), q="xylophonst")
    assert (page.total, page.suggestion) == (0, None)


# --- the file index: generations, rebuilds, locks ----------------------------------


def test_rebuild_swaps_generations_while_searches_and_drains_keep_working(disk, tmp_path):
    disk.write([doc(1, "old apples")], [])
    other = WhooshBackend(tmp_path / "search", lock_timeout=0.2)  # another process
    assert found(other, q("apples")) == [1]
    seen_during: list[list[int]] = []
    reread: list[list[int]] = []

    def documents() -> Iterator[Document]:
        yield doc(2, "new apples")
        # Mid-rebuild: searches are served from the old generation ...
        seen_during.append(found(other, q("apples")))
        # ... and a drain writes to it at once (no rebuild lock to wait for).
        other.write([doc(3, "apples written during the rebuild")], [])
        seen_during.append(sorted(found(other, q("apples"))))
        yield doc(4, "more apples")

    def again(post_ids):
        # The posts drains wrote meanwhile, read again "from the database".
        reread.append(list(post_ids))
        return [doc(3, "apples written during the rebuild")], []

    assert disk.rebuild(documents(), reread=again) == 2
    assert seen_during == [[1], [1, 3]]
    assert reread == [[3]]
    assert sorted(found(other, q("apples"))) == [2, 3, 4]
    assert sorted(found(disk, q("apples"))) == [2, 3, 4]
    # Writes after the swap land in the new generation.
    other.write([doc(5, "fresh apples")], [])
    assert sorted(found(disk, q("apples"))) == [2, 3, 4, 5]
    generations = [p for p in (tmp_path / "search").iterdir() if p.name.startswith("index-")]
    assert len(generations) == 1  # the old one is deleted after the swap
    disk.rebuild([doc(6, "apples again")])
    generations = [p for p in (tmp_path / "search").iterdir() if p.name.startswith("index-")]
    assert len(generations) == 1


def test_a_post_removed_from_the_database_during_a_rebuild_leaves_the_new_index(disk):
    disk.write([doc(1, "apples"), doc(2, "apples too")], [])

    def built() -> None:
        disk.write([], [2])  # a drain: post 2 is gone from the database

    def again(post_ids: Sequence[int]) -> tuple[list[Document], list[int]]:
        assert list(post_ids) == [2]
        return [], [2]

    disk.rebuild([doc(1, "apples"), doc(2, "apples too")], reread=again, built=built)
    assert found(disk, q("apples")) == [1]


def test_a_searcher_opened_before_a_rebuild_keeps_reading_the_old_generation(disk):
    disk.write([doc(1, "pears")], [])
    searcher = disk._searcher()
    disk.rebuild([doc(2, "figs")])
    assert searcher.doc_count() == 1  # still readable, files still there
    assert found(disk, q("figs")) == [2]


def test_a_lost_index_is_recreated_empty_and_refilled_by_rebuild(disk, tmp_path):
    disk.write([doc(1, "quince")], [])
    root = tmp_path / "search"
    for child in root.iterdir():
        if child.is_symlink():
            child.unlink()
    fresh = WhooshBackend(root)
    assert found(fresh, q("quince")) == []  # searching still works
    fresh.rebuild([doc(1, "quince")])
    assert found(fresh, q("quince")) == [1]


def test_the_writer_lock_is_retried_then_reported_busy(disk, tmp_path):
    disk.write([doc(1, "first")], [])
    ix, _target = disk._index()
    held = ix.writer()
    try:
        started = datetime.now(UTC)
        with pytest.raises(IndexBusy):
            disk.write([doc(2, "second")], [])
        assert datetime.now(UTC) - started >= timedelta(seconds=0.25)
        # Released while a writer waits: it gets the lock and writes.
        releaser = threading.Timer(0.1, held.cancel)
        releaser.start()
        disk.write([doc(2, "second")], [])
        releaser.join()
    finally:
        if not held.is_closed:
            held.cancel()
    assert found(disk, q("second")) == [2]


def test_the_first_index_is_created_once_when_processes_race(tmp_path):
    root = tmp_path / "search"
    backends = [WhooshBackend(root) for _ in range(4)]
    threads = [threading.Thread(target=b.count) for b in backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    generations = [p for p in root.iterdir() if p.name.startswith("index-")]
    assert len(generations) == 1
    assert os.path.islink(root / "current")


# --- `forum reindex` -----------------------------------------------------------------


def test_forum_reindex_rebuilds_the_file_index_from_the_database(app, tmp_path, monkeypatch):
    from forum.cli import main

    reader = factories.make_user("reader", trust_level=1)
    topic = factories.make_topic(factories.make_board("Seeds"), reader, body="sowing leeks")
    factories.make_post(topic, reader, body="leeks again")
    assert _db.session.scalar(_db.select(_db.func.count(OutboxRow.id))) == 2
    url = _db.engine.url.render_as_string(hide_password=False)
    board_id = topic.board_id
    _db.session.close()
    instance = tmp_path / "cli-instance"
    monkeypatch.setenv("FORUM_DATABASE_URL", url)
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(instance))
    result = CliRunner().invoke(main, ["reindex"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("indexed 2 posts in ")
    assert _db.session.scalar(_db.select(_db.func.count(OutboxRow.id))) == 0
    index = WhooshBackend(instance / "search")
    assert index.search(q("leek", {board_id})).total == 2


# --- four processes writing at once ------------------------------------------------------


def _write_and_drain(
    url: str, instance: str, index_path: str, topic_id: int, user_id: int, tag: str
) -> tuple[int, list[str]]:
    """One worker: reply and drain after each commit, as a gunicorn worker does."""
    from forum.database import write_intent
    from forum.extensions import db
    from forum.models.topics import Topic
    from forum.models.users import User
    from forum.policy import actor_for
    from forum.search import service as search_service
    from forum.services.posts import reply_to_topic
    from tests.conftest import make_test_app

    errors: list[str] = []
    app = make_test_app(
        url, Path(instance), FORUM_SEARCH_MEMORY=False, FORUM_SEARCH_PATH=index_path
    )
    drained = 0
    with app.app_context():
        for n in range(POSTS_EACH):
            try:
                write_intent.set(True)
                topic = db.session.get(Topic, topic_id)
                user = db.session.get(User, user_id)
                reply_to_topic(
                    actor_for(user, guests_read=False), topic, body=f"note {tag}n{n} landed"
                )
                db.session.commit()
                drained += search_service.drain(app)
            except Exception as exc:  # noqa: BLE001 - reported to the test
                db.session.rollback()
                errors.append(repr(exc))
        db.session.remove()
        db.engine.dispose()
    return drained, errors


def test_four_processes_write_at_once_and_lose_nothing(app, tmp_path):
    users = [factories.make_user(f"writer{n}", trust_level=2) for n in range(WORKERS)]
    board = factories.make_board("Busy")
    topics = [factories.make_topic(board, user, body="start") for user in users]
    url = _db.engine.url.render_as_string(hide_password=False)
    index_path = tmp_path / "shared-index"
    jobs = [
        (url, str(tmp_path / "instance"), str(index_path), t.id, u.id, f"w{n}")
        for n, (t, u) in enumerate(zip(topics, users, strict=True))
    ]
    board_id = board.id
    _db.session.close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(_write_and_drain, jobs)
    assert [errors for _drained, errors in results] == [[]] * WORKERS
    # A final drain, as the next request would do, through the same file index.
    from tests.conftest import make_test_app

    parent = make_test_app(
        url, tmp_path / "instance", FORUM_SEARCH_MEMORY=False, FORUM_SEARCH_PATH=str(index_path)
    )
    with parent.app_context():
        service.drain_all(parent)
        assert _db.session.scalar(_db.select(_db.func.count(OutboxRow.id))) == 0
        post_ids = set(_db.session.scalars(_db.select(Post.id)))
        _db.session.remove()
        _db.engine.dispose()
    index = WhooshBackend(index_path)
    searcher = index._searcher()
    # Every live document, once per post (deleted ones do not count).
    reader = searcher.reader()
    live = [int(searcher.stored_fields(d)["post_id"]) for d in reader.all_doc_ids()]
    assert sorted(live) == sorted(post_ids), (sorted(set(post_ids) - set(live)), results)
    for n in range(WORKERS):
        for i in range(POSTS_EACH):
            assert index.search(q(f"w{n}n{i}", {board_id})).total == 1


def test_an_index_built_for_another_language_is_stale(disk, tmp_path):
    disk.write([doc(1, "walking together")], [])
    assert disk.stale() is None
    german = WhooshBackend(tmp_path / "search", language="german")
    assert german.stale() == ("it was built for english, and the site's search language is german")


def test_index_files_are_read_from_the_page_cache_not_copied(disk):
    """Whoosh copies each part of a compound segment into memory; here every part is a
    window on a memory map of the segment's file."""
    disk.write([doc(1, "first words")], [])
    disk.write([doc(2, "second words")], [])
    assert sorted(found(disk, q("words"))) == [1, 2]
    reader = disk._searcher().reader()
    files = [r._terms._dbfile for r, _offset in reader.leaf_readers()]
    assert files and all(type(f).__name__ == "_MappedFile" for f in files)
    assert all(isinstance(f._whole, mmap.mmap) for f in files)
    assert all(isinstance(f._map, memoryview) for f in files)  # windows, not copies
