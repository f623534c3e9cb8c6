"""The `postgres` search backend on its own: PostgreSQL full-text specifics.

What both backends must do alike is in test_service.py (run on both); here: the
websearch syntax as members use it, snippets that carry no markup but <mark>, the GIN
index, the migration's table, and a rebuild that keeps serving the old rows.
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import func
from sqlalchemy import inspect
from sqlalchemy import select
from sqlalchemy import text

from forum.extensions import db
from forum.extensions import init_migrations
from forum.models.outbox import OutboxRow
from forum.models.posts import Post
from forum.models.users import User
from forum.search import DocState
from forum.search import Document
from forum.search import Query
from forum.search import Results
from forum.search import postgres_backend
from forum.search.postgres_backend import IndexBusy
from forum.search.postgres_backend import PostgresBackend
from forum.search.postgres_backend import websearch_texts
from tests.conftest import make_test_app

MIGRATIONS = str(Path(__file__).resolve().parent.parent.parent / "migrations")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BOARD = 1
OTHER_BOARD = 2


@pytest.fixture(params=[("postgres", "postgres")], ids=["postgres-postgres"])
def search_pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Only PostgreSQL with the postgres backend."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def engine(app: Flask) -> PostgresBackend:
    """The backend under test (on the session's PostgreSQL, table empty)."""
    return PostgresBackend()


def doc(
    post_id: int,
    body: str,
    *,
    title: str = "Opening times",
    board_id: int = BOARD,
    state: DocState = DocState.VISIBLE,
    days_ago: int = 0,
    author: str = "alice",
    author_id: int = 7,
    topic_id: int = 100,
) -> Document:
    """A document as the indexer would build it."""
    return Document(
        post_id=post_id,
        topic_id=topic_id,
        board_id=board_id,
        author_id=author_id,
        author=author,
        title=title,
        board="Services",
        body=body,
        created_at=NOW - timedelta(days=days_ago),
        state=state,
    )


def index(engine: PostgresBackend, *documents: Document) -> None:
    """Write documents as a drain does: in the session's transaction, then commit."""
    engine.write(documents, [])
    db.session.commit()


def find(engine: PostgresBackend, words: str, **extra: object) -> Results:
    """Search as a member who reads BOARD."""
    params: dict[str, object] = {"readable_board_ids": frozenset({BOARD})} | extra
    return engine.search(Query(text=words, **params))  # type: ignore[arg-type]


def ids(results: Results) -> list[int]:
    """The post ids of the hits, in order."""
    return [hit.post_id for hit in results.hits]


def test_websearch_words_phrases_and_exclusions(engine: PostgresBackend) -> None:
    index(
        engine,
        doc(1, "The food bank opens on Tuesdays"),
        doc(2, "Bring food for the bank holiday picnic"),
        doc(3, "Volunteers are running the food bank"),
    )
    assert sorted(ids(find(engine, "food bank"))) == [1, 2, 3]
    assert sorted(ids(find(engine, '"food bank"'))) == [1, 3]
    assert ids(find(engine, '"food bank" -volunteers')) == [1]
    assert ids(find(engine, "runs")) == [3]  # English stemming: running ~ runs


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("tea or coffee", [2]),  # `or` is a word to members (a stop word), not an operator
        ("tea OR coffee", [2]),
        ("tea | coffee", [2]),
        ("tea & !coffee", [2]),
        ("(tea) <-> coffee:*", [2]),
        ("tea \\ 'coffee", [2]),
        ("tea --coffee", [1]),  # one exclusion, not a double negation
        ('tea -"coffee', [1]),  # an unbalanced quote is closed
        ("tea\x00 coffee", [2]),
        ("-coffee", []),  # an exclusion alone finds nothing
        ("the -coffee", []),
    ],
)
def test_syntax_characters_are_just_characters(
    engine: PostgresBackend, words: str, expected: list[int]
) -> None:
    index(engine, doc(1, "tea and cake"), doc(2, "tea and coffee"), doc(3, "coffee only"))
    results = find(engine, words)
    assert (sorted(ids(results)), results.total) == (expected, len(expected))


def test_nothing_to_search_finds_nothing(engine: PostgresBackend) -> None:
    index(engine, doc(1, "the and of"))
    assert find(engine, "the").total == 0  # only stop words: an empty query
    assert find(engine, "!:*&|()").total == 0


def test_query_text_quotes_every_term() -> None:
    assert websearch_texts('tea or -"green tea" -x') == (
        '"tea" "or" -"green tea" -"x"',
        '"tea" "or"',
    )
    assert websearch_texts("<b>&\x00") == ('"&lt;b&gt;&amp;"', '"&lt;b&gt;&amp;"')
    assert websearch_texts("  ") == ("", "")


def test_snippet_escapes_markup_and_marks_matches(engine: PostgresBackend) -> None:
    body = (
        'Paste <script>alert("owned")</script> into the page & see; a post may say'
        " <mark>fake</mark> or <img src=x onerror=alert(1)> too, and 'quotes'."
    )
    index(engine, doc(1, body))
    (hit,) = find(engine, "script").hits
    assert "&lt;<mark>script</mark>&gt;" in hit.snippet
    assert "<script" not in hit.snippet and "<img" not in hit.snippet
    assert set(re.findall(r"<[^>]*>", hit.snippet)) == {"<mark>", "</mark>"}
    (hit,) = find(engine, "fake onerror").hits
    assert "&lt;mark&gt;<mark>fake</mark>&lt;/mark&gt;" in hit.snippet
    assert set(re.findall(r"<[^>]*>", hit.snippet)) == {"<mark>", "</mark>"}
    assert "&#34;" in hit.snippet or "&#39;" in hit.snippet or "&amp;" in hit.snippet


def test_words_between_angle_brackets_are_indexed(engine: PostgresBackend) -> None:
    # PostgreSQL's parser would take "<b and c>" for a tag and drop its words.
    index(engine, doc(1, "if a<b and c>d then swap"))
    assert ids(find(engine, "swap")) == [1]
    assert ids(find(engine, "<b")) == [1]


def test_snippet_comes_from_the_post_itself(engine: PostgresBackend) -> None:
    index(engine, doc(1, "first post about gardens"), doc(2, "second post about bicycles"))
    (hit,) = find(engine, "bicycles").hits
    assert hit.snippet == "second post about <mark>bicycles</mark>"


def test_title_and_names_are_searchable_and_rank_above_body(engine: PostgresBackend) -> None:
    index(
        engine,
        doc(1, "nothing relevant here", title="Library hours"),
        doc(2, "the library is closed", title="Weekend", days_ago=1),
        doc(3, "the library is open", title="Weekend", days_ago=2),
        doc(4, "plain text", author="bob", author_id=8, title="Other"),
    )
    # Title (weight A) first, then equal body matches newest first.
    assert ids(find(engine, "library")) == [1, 2, 3]
    assert ids(find(engine, "bob")) == [4]
    assert len(ids(find(engine, "services"))) == 4  # the board's name


def test_restricted_to_readable_boards_and_visible_states(engine: PostgresBackend) -> None:
    index(
        engine,
        doc(1, "marker visible"),
        doc(2, "marker hidden", state=DocState.HIDDEN),
        doc(3, "marker pending", state=DocState.PENDING),
        doc(4, "marker deleted", state=DocState.DELETED),
        doc(5, "marker secret", board_id=OTHER_BOARD),
    )
    results = find(engine, "marker")
    assert (ids(results), results.total, results.suggestion) == ([1], 1, None)
    moderator = find(engine, "marker", moderated_board_ids=frozenset({BOARD}))
    assert sorted(ids(moderator)) == [1, 2, 3, 4] and moderator.total == 4
    # Moderating a board one cannot read reveals nothing from it.
    outsider = find(engine, "marker", moderated_board_ids=frozenset({OTHER_BOARD}))
    assert ids(outsider) == [1]
    nothing = engine.search(Query(text="marker", readable_board_ids=frozenset()))
    assert (nothing.hits, nothing.total) == ([], 0)


def test_filters_intersect(engine: PostgresBackend) -> None:
    index(
        engine,
        doc(1, "bikes", days_ago=10, topic_id=100),
        doc(2, "bikes", days_ago=5, topic_id=101, author="bob", author_id=8),
        doc(3, "bikes", days_ago=1, topic_id=101),
        doc(4, "bikes", board_id=OTHER_BOARD),
    )
    both = frozenset({BOARD, OTHER_BOARD})
    assert ids(find(engine, "bikes", board_ids=frozenset({OTHER_BOARD}))) == []
    assert ids(find(engine, "bikes", readable_board_ids=both, board_ids=frozenset({2}))) == [4]
    assert ids(find(engine, "bikes", author_id=8)) == [2]
    assert ids(find(engine, "bikes", topic_id=101)) == [3, 2]
    window = find(engine, "bikes", since=NOW - timedelta(days=6), until=NOW - timedelta(days=1))
    assert ids(window) == [2]


def test_pages_and_total(engine: PostgresBackend) -> None:
    index(engine, *(doc(i, "repeated word", days_ago=i) for i in range(1, 8)))
    first = find(engine, "repeated", limit=3)
    assert (ids(first), first.total) == ([1, 2, 3], 7)
    last = find(engine, "repeated", limit=3, offset=6)
    assert (ids(last), last.total) == ([7], 7)
    beyond = find(engine, "repeated", limit=3, offset=300)
    assert (ids(beyond), beyond.total) == ([], 7)
    counted = find(engine, "repeated", limit=0)
    assert (ids(counted), counted.total) == ([], 7)


def test_writes_are_idempotent_upserts_and_removals(engine: PostgresBackend) -> None:
    index(engine, doc(1, "old words"), doc(2, "keep me"))
    engine.write([doc(1, "first edit"), doc(1, "new words")], removed=[2, 99])
    db.session.commit()
    engine.write([doc(1, "new words")], removed=[])
    db.session.commit()
    assert engine.count() == 1
    assert ids(find(engine, "new")) == [1] and find(engine, "old").total == 0
    assert find(engine, "keep").total == 0


def test_write_is_rolled_back_with_the_session(engine: PostgresBackend) -> None:
    engine.write([doc(1, "uncommitted")], removed=[])
    db.session.rollback()
    assert engine.count() == 0


def test_one_writer_at_a_time_and_documents_read_under_the_lock(
    engine: PostgresBackend, app: Flask
) -> None:
    engine.write([doc(1, "first")], removed=[])  # holds the writer lock until commit
    read: list[int] = []

    def lazy() -> Iterator[Document]:
        read.append(1)
        yield doc(1, "second")

    with app.app_context():  # another worker's drain
        with pytest.raises(IndexBusy):
            PostgresBackend(lock_timeout=0.1).write(lazy(), removed=[])
        db.session.rollback()
    assert read == []  # it gave up before reading anything it might write stale
    db.session.commit()
    with app.app_context():
        PostgresBackend(lock_timeout=0.1).write(lazy(), removed=[])
        db.session.commit()
    assert ids(find(engine, "second")) == [1] and find(engine, "first").total == 0


def test_unknown_language_falls_back_to_simple(engine: PostgresBackend) -> None:
    index(engine, doc(1, "running tea"))
    assert ids(find(engine, "tea", language="klingon'; DROP TABLE posts")) == [1]


def test_gin_index_serves_matches(engine: PostgresBackend) -> None:
    index(engine, *(doc(i, f"word{i} common") for i in range(1, 50)))
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = db.session.execute(
        text(
            "EXPLAIN SELECT post_id FROM search_documents"
            " WHERE vector @@ websearch_to_tsquery('english', 'word7')"
        )
    ).scalars()
    assert "ix_search_documents_vector" in "\n".join(plan)
    db.session.rollback()


def test_rebuild_keeps_serving_the_old_rows(
    engine: PostgresBackend, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    index(engine, doc(1, "old apples"), doc(2, "old pears"))
    monkeypatch.setattr(postgres_backend, "BATCH", 1)
    seen: list[tuple[list[int], int]] = []
    busy: list[bool] = []

    def documents() -> Iterator[Document]:
        for document in (doc(3, "new apples"), doc(4, "new plums")):
            yield document
            # Meanwhile, another request (its own app context, session and connection).
            with app.app_context():
                other = PostgresBackend()
                results = find(other, "apples")
                seen.append((ids(results), other.count()))
                try:
                    other.write([doc(5, "drained")], removed=[])
                except IndexBusy:
                    busy.append(True)
                db.session.rollback()

    assert engine.rebuild(documents()) == 2
    # During the rebuild: the old rows only, and a drain is turned away, not blocked.
    assert seen == [([1], 2), ([1], 2)]
    assert busy == [True, True]
    assert sorted(ids(find(engine, "apples"))) == [3]
    assert engine.count() == 2


def test_failed_rebuild_leaves_the_old_rows(engine: PostgresBackend) -> None:
    index(engine, doc(1, "old apples"))

    def documents() -> Iterator[Document]:
        yield doc(2, "new apples")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        engine.rebuild(documents())
    assert ids(find(engine, "apples")) == [1]


def test_migration_creates_the_backend_table_on_postgresql(empty_url: str, tmp_path: Path) -> None:
    app = make_test_app(empty_url, tmp_path / "instance")
    init_migrations(app)
    with app.app_context():
        try:
            upgrade(directory=MIGRATIONS)
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"include_object": only_search})
                diff = compare_metadata(context, postgres_backend.metadata)
                indexes = inspect(conn).get_indexes(postgres_backend.TABLE_NAME)
            assert diff == []
            assert [(i["name"], i["dialect_options"]["postgresql_using"]) for i in indexes] == [
                ("ix_search_documents_vector", "gin")
            ]
            storage = db.session.scalar(
                text(
                    "SELECT attstorage FROM pg_attribute"
                    " WHERE attrelid = 'search_documents'::regclass AND attname = 'vector'"
                )
            )
            assert storage == "m"  # as postgres_backend.create_table makes it
            index(PostgresBackend(), doc(1, "after migrating"))
            assert ids(find(PostgresBackend(), "migrating")) == [1]
            db.session.remove()
            downgrade(directory=MIGRATIONS, revision="0007")
            assert not inspect(db.engine).has_table(postgres_backend.TABLE_NAME)
        finally:
            db.session.remove()
            db.engine.dispose()


def only_search(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Compare the search table alone (the models' tables are test_migrations.py's)."""
    return type_ != "table" or name == postgres_backend.TABLE_NAME


def test_migration_is_a_no_op_on_sqlite(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'migrate.db'}", tmp_path / "instance")
    init_migrations(app)
    with app.app_context():
        try:
            upgrade(directory=MIGRATIONS)
            assert not inspect(db.engine).has_table(postgres_backend.TABLE_NAME)
            downgrade(directory=MIGRATIONS, revision="0007")
        finally:
            db.engine.dispose()


def test_postgres_backend_on_sqlite_fails_at_startup(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="FORUM_SEARCH_BACKEND=postgres needs a PostgreSQL"):
        make_test_app(
            f"sqlite:///{tmp_path / 'forum.db'}",
            tmp_path / "instance",
            FORUM_SEARCH_BACKEND="postgres",
        )


# --- four processes writing at once ------------------------------------------------------

WORKERS = 4
ROUNDS = 8


def _write_and_drain(url: str, instance: str, post_id: int, user_id: int, tag: str) -> list[str]:
    """One gunicorn worker: reply, edit its own first post, drain after each commit."""
    from forum.policy import actor_for
    from forum.search import service
    from forum.services.posts import edit_post
    from forum.services.posts import reply_to_topic

    errors: list[str] = []
    app = make_test_app(url, Path(instance), FORUM_SEARCH_BACKEND="postgres")
    with app.app_context():
        for n in range(ROUNDS):
            try:
                user = db.session.get(User, user_id)
                post = db.session.get(Post, post_id)
                assert user is not None and post is not None
                actor = actor_for(user, guests_read=False)
                reply_to_topic(actor, post.topic, body=f"reply {tag}n{n} landed")
                edit_post(actor, post, body=f"first post, version {tag}v{n}")
                db.session.commit()
                service.drain(app)
            except Exception as exc:  # noqa: BLE001 - reported to the test
                db.session.rollback()
                errors.append(repr(exc))
        db.session.remove()
        db.engine.dispose()
    return errors


def test_four_processes_write_at_once_and_lose_nothing(
    app: Flask, engine: PostgresBackend, tmp_path: Path
) -> None:
    from forum.search import service
    from tests import factories

    users = [factories.make_user(f"writer{n}", trust_level=2) for n in range(WORKERS)]
    board = factories.make_board("Busy")
    topics = [factories.make_topic(board, user, body="start") for user in users]
    firsts = [
        db.session.scalars(select(Post.id).where(Post.topic_id == t.id)).one() for t in topics
    ]
    url = db.engine.url.render_as_string(hide_password=False)
    jobs = [
        (url, str(tmp_path / "instance"), first, user.id, f"w{n}")
        for n, (first, user) in enumerate(zip(firsts, users, strict=True))
    ]
    readable = frozenset({board.id})
    db.session.close()
    with multiprocessing.get_context("spawn").Pool(WORKERS) as pool:
        assert pool.starmap(_write_and_drain, jobs) == [[]] * WORKERS
    service.drain_all(app)  # what the workers left (busy writer lock), as the next request
    assert db.session.scalar(select(func.count(OutboxRow.id))) == 0
    assert engine.count() == db.session.scalar(select(func.count(Post.id)))
    for n in range(WORKERS):
        for i in range(ROUNDS):
            assert engine.search(Query(f"w{n}n{i}", readable)).total == 1
        # The last edit is what the index holds: no drain wrote an older version over it.
        latest = engine.search(Query(f"w{n}v{ROUNDS - 1}", readable))
        assert [hit.post_id for hit in latest.hits] == [firsts[n]]
        assert engine.search(Query(f"w{n}v{ROUNDS - 2}", readable)).total == 0
