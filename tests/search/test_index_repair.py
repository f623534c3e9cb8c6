"""`forum init` repairs the search index: a lost, damaged or incomplete index is rebuilt,
an unreadable one never stops the forum from starting, and a healthy one is left alone.

The checks run on every pair where they mean something: the file index (Whoosh) on both
databases, the `search_documents` table on PostgreSQL.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from forum.cli import _repair_search_index
from forum.cli import main
from forum.extensions import db as _db
from forum.models.outbox import OutboxRow
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.search import Query
from forum.search import queue
from forum.search import service
from forum.search.documents import documents_for
from forum.search.whoosh_backend import CURRENT
from tests import factories
from tests.conftest import make_test_app


def _skip_unless(search_backend: str, wanted: str) -> None:
    if search_backend != wanted:
        pytest.skip(f"only the {wanted} search backend has this")


@pytest.fixture
def file_index(app, tmp_path, search_backend) -> Path:
    """The app's Whoosh index on disk (tests use memory), as a running forum has it.
    The config is restored and the backend dropped after the test (tests/conftest.py)."""
    _skip_unless(search_backend, "whoosh")
    folder = tmp_path / "search"
    app.config["FORUM_SEARCH_MEMORY"] = False
    app.config["FORUM_SEARCH_PATH"] = str(folder)
    _fresh_backend(app)
    return folder


def _fresh_backend(app) -> None:
    """Forget the app's backend, as a new process (`forum init`) starts without one."""
    app.extensions[service.EXTENSION] = None


def _forum_with_posts(app, n: int = 6) -> tuple[int, list[int]]:
    """A board with `n` posts saying "parsnip", all drained into the index."""
    author = factories.make_user("grower", trust_level=1)
    board = factories.make_board("Allotment")
    topic = factories.make_topic(board, author, title="Winter roots", body="parsnip one")
    for i in range(n - 1):
        factories.make_post(topic, author, body=f"parsnip number {i}")
    service.drain_all(app)
    assert _queued() == 0
    return board.id, sorted(_db.session.scalars(_db.select(Post.id)))


def _queued() -> int:
    return int(
        _db.session.scalar(
            _db.select(_db.func.count(OutboxRow.id)).where(OutboxRow.kind == queue.KIND)
        )
        or 0
    )


def _found(app, board_id: int, word: str = "parsnip") -> int:
    query = Query(text=word, readable_board_ids=frozenset({board_id}), limit=50)
    return service.get_backend(app).search(query).total


def _segments(folder: Path) -> list[Path]:
    current = (folder / CURRENT).resolve()
    return sorted(p for p in current.iterdir() if p.suffix == ".seg")


# --- the index is missing posts -----------------------------------------------------------


def test_a_lost_folder_refilled_by_one_post_is_rebuilt(app, file_index):
    board_id, post_ids = _forum_with_posts(app)
    shutil.rmtree(file_index)
    _fresh_backend(app)
    # One post written: its drain makes a new, empty index holding only it.
    topic = _db.session.scalar(_db.select(Topic))
    factories.make_post(topic, factories.make_user("late", trust_level=1), body="parsnip late")
    service.drain_all(app)
    assert _found(app, board_id) == 1
    _fresh_backend(app)
    problem = service.index_problem(app)
    assert problem == f"it holds 1 posts, and the forum has {len(post_ids) + 1}"
    _repair_search_index(app)
    assert _found(app, board_id) == len(post_ids) + 1
    assert service.index_problem(app) is None


def test_rows_deleted_from_the_search_table_are_rebuilt(app, search_backend):
    _skip_unless(search_backend, "postgres")
    board_id, post_ids = _forum_with_posts(app)
    _db.session.execute(
        text("DELETE FROM search_documents WHERE post_id IN (:a, :b)"),
        {"a": post_ids[0], "b": post_ids[1]},
    )
    _db.session.commit()
    assert service.index_problem(app) == (
        f"it holds {len(post_ids) - 2} posts, and the forum has {len(post_ids)}"
    )
    _repair_search_index(app)
    assert _found(app, board_id) == len(post_ids)
    assert service.index_problem(app) is None


def test_an_emptied_search_table_is_rebuilt(app, search_backend):
    _skip_unless(search_backend, "postgres")
    board_id, post_ids = _forum_with_posts(app)
    _db.session.execute(text("DELETE FROM search_documents"))
    _db.session.commit()
    assert service.index_problem(app) == "it is empty, and the forum has posts"
    _repair_search_index(app)
    assert _found(app, board_id) == len(post_ids)


def test_an_index_lacking_the_newest_post_is_rebuilt_though_the_counts_agree(app):
    board_id, post_ids = _forum_with_posts(app)
    backend = service.get_backend(app)
    # A post the forum no longer has stands in for the newest one: same count.
    ghost = documents_for([post_ids[0]])[0]
    ghost = type(ghost)(**{**ghost.__dict__, "post_id": post_ids[-1] + 1000})
    backend.write([ghost], [post_ids[-1]])
    _db.session.commit()
    assert backend.count() == len(post_ids)
    assert service.index_problem(app) == f"it lacks the newest post ({post_ids[-1]})"
    _repair_search_index(app)
    assert backend.count() == len(post_ids)
    assert service.get_backend(app).contains(post_ids[-1])
    assert not service.get_backend(app).contains(ghost.post_id)


def test_posts_waiting_in_the_queue_are_not_missing(app):
    board_id, post_ids = _forum_with_posts(app)
    topic = _db.session.scalar(_db.select(Topic))
    author = factories.make_user("queued", trust_level=1)
    for i in range(3):
        factories.make_post(topic, author, body=f"parsnip queued {i}")
    assert _queued() == 3
    # The drain brings them: no rebuild for what the queue already holds.
    assert service.index_problem(app) is None
    # A gap larger than the queue is not explained by it.
    service.get_backend(app).write([], [post_ids[0]])
    _db.session.commit()
    assert service.index_problem(app) == (
        f"it holds {len(post_ids) - 1} posts, and the forum has {len(post_ids) + 3} (3 queued)"
    )


def test_hidden_and_deleted_posts_count_as_indexed(app):
    from forum.models.base import utcnow

    _board_id, post_ids = _forum_with_posts(app)
    posts = list(_db.session.scalars(_db.select(Post).where(Post.id.in_(post_ids[-2:]))))
    posts[0].hidden_at = utcnow()
    posts[1].deleted_at = utcnow()
    _db.session.commit()
    assert _queued() == 2
    service.drain_all(app)
    # They stay documents (with their state): the index holds every post.
    assert service.get_backend(app).count() == len(post_ids)
    assert service.index_problem(app) is None


# --- a healthy index is left alone ---------------------------------------------------------


def test_a_healthy_index_is_not_rebuilt(app, monkeypatch, capsys):
    _forum_with_posts(app)
    rebuilds: list[int] = []
    monkeypatch.setattr(service, "reindex", lambda app: rebuilds.append(1) or 0)
    for _ in range(3):
        _repair_search_index(app)
    assert rebuilds == []
    assert "Rebuilding" not in capsys.readouterr().out


def test_a_healthy_file_index_is_not_rebuilt(app, file_index, monkeypatch):
    _forum_with_posts(app)
    rebuilds: list[int] = []
    monkeypatch.setattr(service, "reindex", lambda app: rebuilds.append(1) or 0)
    generation = (file_index / CURRENT).resolve()
    for _ in range(3):
        _fresh_backend(app)
        _repair_search_index(app)
    assert rebuilds == []
    assert (file_index / CURRENT).resolve() == generation


def test_an_empty_forum_needs_no_index(app):
    assert service.index_problem(app) is None


# --- a damaged index never stops the forum ---------------------------------------------------


@pytest.mark.parametrize("damage", ["truncate", "garbage", "remove"])
def test_a_damaged_segment_is_rebuilt_without_crashing(app, file_index, damage, caplog):
    board_id, post_ids = _forum_with_posts(app)
    segments = _segments(file_index)
    assert segments
    for segment in segments:
        size = segment.stat().st_size
        if damage == "truncate":
            with segment.open("r+b") as f:
                f.truncate(size // 3)
        elif damage == "garbage":
            segment.write_bytes(b"\x00\xff" * (size // 2))
        else:
            segment.unlink()
    _fresh_backend(app)
    with caplog.at_level(logging.WARNING, logger="forum.search.service"):
        problem = service.index_problem(app)
    assert problem is not None and problem.startswith("it cannot be read ("), problem
    warnings = [r for r in caplog.records if r.name == "forum.search.service"]
    assert warnings and all(r.exc_info is None for r in warnings)
    _repair_search_index(app)
    assert _found(app, board_id) == len(post_ids)
    assert service.index_problem(app) is None


def test_a_failing_inspection_counts_as_damage(app, monkeypatch, caplog):
    _forum_with_posts(app)
    backend = service.get_backend(app)

    def broken() -> int:
        raise EOFError("segment ends early")

    monkeypatch.setattr(backend, "count", broken)
    with caplog.at_level(logging.WARNING, logger="forum.search.service"):
        assert service.index_problem(app) == "it cannot be read (EOFError)"
    assert "EOFError" in caplog.text and "Traceback" not in caplog.text


def test_a_failed_rebuild_leaves_init_running(app, monkeypatch, capsys):
    _forum_with_posts(app)
    monkeypatch.setattr(service, "index_problem", lambda app: "it is damaged")

    def failing(app) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service, "reindex", failing)
    _repair_search_index(app)
    err = capsys.readouterr().err
    assert "could not be rebuilt (OSError" in err
    assert "forum reindex" in err


# --- `forum init` end to end -----------------------------------------------------------------


@pytest.fixture
def run_init(empty_url, tmp_path, monkeypatch, search_backend):
    """Run `forum init` against a fresh database with a file index; returns its output."""
    _skip_unless(search_backend, "whoosh")
    monkeypatch.setenv("FORUM_DATABASE_URL", empty_url)
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("FORUM_SEARCH_BACKEND", "whoosh")
    monkeypatch.delenv("FORUM_SECRET_KEY", raising=False)

    def _run(*args: str) -> str:
        result = CliRunner().invoke(main, list(args or ["init"]), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return _run


def _write_one_post(url: str, instance: Path) -> int:
    """A reply in the demo forum, drained as a worker does; the forum's board id."""
    other = make_test_app(url, instance, FORUM_SEARCH_MEMORY=False, FORUM_SEARCH_BACKEND="whoosh")
    with other.app_context():
        topic = _db.session.scalar(_db.select(Topic).order_by(Topic.id))
        factories.make_post(topic, factories.make_user("newcomer", trust_level=1), body="hello")
        service.drain_all(other)
        board_id = topic.board_id
        _db.session.remove()
        _db.engine.dispose()
    return board_id


def _search_total(url: str, instance: Path, board_id: int, word: str) -> tuple[int, int]:
    """(matches for `word` on the board, posts in the forum), as a fresh worker sees."""
    other = make_test_app(url, instance, FORUM_SEARCH_MEMORY=False, FORUM_SEARCH_BACKEND="whoosh")
    with other.app_context():
        found = _found(other, board_id, word)
        posts = int(_db.session.scalar(_db.select(_db.func.count(Post.id))) or 0)
        _db.session.remove()
        _db.engine.dispose()
    return found, posts


def test_init_rebuilds_a_lost_index_after_one_new_post(run_init, empty_url, tmp_path):
    instance = tmp_path / "instance"
    run_init()
    run_init("demo")
    shutil.rmtree(instance / "search")
    board_id = _write_one_post(empty_url, instance)
    assert _search_total(empty_url, instance, board_id, "hello")[0] >= 1
    out = run_init()
    assert "Rebuilding the search index: it holds 1 posts, and the forum has" in out, out
    assert "Search index rebuilt:" in out
    # The old posts are found again: every post is a document.
    other = make_test_app(
        empty_url, instance, FORUM_SEARCH_MEMORY=False, FORUM_SEARCH_BACKEND="whoosh"
    )
    with other.app_context():
        posts = int(_db.session.scalar(_db.select(_db.func.count(Post.id))) or 0)
        assert service.get_backend(other).count() == posts > 1
        _db.session.remove()
        _db.engine.dispose()
    assert "Rebuilding" not in run_init()


def test_init_survives_a_truncated_segment(run_init, tmp_path):
    instance = tmp_path / "instance"
    run_init()
    run_init("demo")
    assert "Rebuilding" not in run_init()
    for segment in _segments(instance / "search"):
        with segment.open("r+b") as f:
            f.truncate(segment.stat().st_size // 2)
    out = run_init()
    assert "Rebuilding the search index: it cannot be read (" in out, out
    assert "Search index rebuilt:" in out
    assert "Rebuilding" not in run_init()
