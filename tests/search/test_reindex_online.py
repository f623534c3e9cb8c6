"""`forum reindex` runs beside a live forum: the new index is built without the writer
lock, posts written, hidden or deleted meanwhile (committed and drained as a request
does) reach it, and the old Whoosh generation is deleted after the swap.

The interleaving is driven by the rebuild's `built` hook (between the build and the
swap), never by threads and sleeps. The hook's writes run in an app context of their
own, like another request: their own session (the postgres backend's rebuild holds its
transaction in the outer one).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from forum.extensions import db
from forum.models.outbox import OutboxRow
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.moderation import actions
from forum.search import IndexBusy
from forum.search import queue
from forum.search import service
from forum.search import whoosh_backend
from forum.search.whoosh_backend import WhooshBackend
from forum.services import posts as post_service
from tests import factories


@pytest.fixture
def index_dir(app: Flask, tmp_path: Path, search_backend: str) -> Path:
    """Whoosh on disk, as a running forum has it (tests use memory); the postgres
    backend is left as it is. The config is restored after the test (tests/conftest.py)."""
    folder = tmp_path / "search"
    if search_backend == "whoosh":
        app.config["FORUM_SEARCH_MEMORY"] = False
        app.config["FORUM_SEARCH_PATH"] = str(folder)
        app.extensions[service.EXTENSION] = None
    return folder


def _whoosh_only(search_backend: str) -> None:
    if search_backend != "whoosh":
        pytest.skip("only the whoosh backend has generations and a writer lock")


def _forum(app: Flask) -> dict[str, int]:
    """A public board with a few posts, all drained; the ids the tests need."""
    factories.set_settings(guest_access="public_boards")
    author = factories.make_user("grower", trust_level=1)
    reader = factories.make_user("reader", trust_level=1)
    moderator = factories.make_user("modmo", moderator=True, trust_level=2)
    board = factories.make_board("Allotment")
    topic = factories.make_topic(board, author, title="Winter roots", body="parsnip one")
    hidden = factories.make_post(topic, author, body="parsnip with a beetroot aside")
    deleted = factories.make_post(topic, author, body="parsnip and a celeriac note")
    for i in range(3):
        factories.make_post(topic, author, body=f"parsnip number {i}")
    service.drain_all(app)
    return {
        "author": author.id,
        "reader": reader.id,
        "moderator": moderator.id,
        "topic": topic.id,
        "hidden": hidden.id,
        "deleted": deleted.id,
    }


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    assert user is not None
    return user


def _post(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    assert post is not None
    return post


def _found(user_id: int, q: str) -> int:
    return service.search_posts(factories.actor(_user(user_id)), q=q).total


def _queued() -> int:
    return int(
        db.session.scalar(
            db.select(db.func.count(OutboxRow.id)).where(OutboxRow.kind == queue.KIND)
        )
        or 0
    )


def _generations(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(whoosh_backend.INDEX_PREFIX))


def test_posts_written_hidden_and_deleted_during_a_rebuild_reach_the_new_index(
    app: Flask, index_dir: Path, search_backend: str
) -> None:
    ids = _forum(app)
    during: dict[str, int] = {}

    def built() -> None:
        with app.app_context():  # another request, committed and drained as one is
            topic = db.session.get(Topic, ids["topic"])
            factories.make_post(topic, _user(ids["author"]), body="turnip written mid-rebuild")
            moderator = factories.actor(_user(ids["moderator"]))
            actions.hide_post(moderator, _post(ids["hidden"]), reason="off topic")
            db.session.commit()
            post_service.delete_post(factories.actor(_user(ids["author"])), _post(ids["deleted"]))
            db.session.commit()
            service.drain_all(app)
            during["queued"] = _queued()
            during["turnip"] = _found(ids["reader"], "turnip")
            db.session.rollback()

    count = service.reindex(app, built=built)

    assert count == 6  # the posts the build read; the catch-up added the rest
    if search_backend == "whoosh":
        # The drain was not turned away: searches stayed fresh during the rebuild, and
        # the catch-up carried its posts into the new generation (nothing is left queued).
        assert during == {"queued": 0, "turnip": 1}
        assert _queued() == 0
    else:
        # PostgreSQL: drains leave their rows queued while the rebuild's transaction
        # runs (the old rows keep serving searches); the next drain writes them.
        assert during == {"queued": 3, "turnip": 0}
        service.drain_all(app)
    assert _found(ids["reader"], "turnip") == 1
    assert _found(ids["reader"], "beetroot") == 0
    assert _found(ids["reader"], "celeriac") == 0
    assert _found(ids["reader"], "parsnip") == 4
    # Still indexed, with their new state: moderators find them.
    assert _found(ids["moderator"], "beetroot") == 1
    assert _found(ids["moderator"], "celeriac") == 1


def test_a_drain_during_the_build_is_not_blocked(
    app: Flask, index_dir: Path, search_backend: str
) -> None:
    _whoosh_only(search_backend)
    ids = _forum(app)
    backend = service.get_backend(app)
    assert isinstance(backend, WhooshBackend)
    taken: list[bool] = []

    def built() -> None:
        # Raises IndexBusy if the rebuild held the current generation's writer.
        writer = backend._acquire(timeout=0.05)
        writer.cancel()
        taken.append(True)

    service.reindex(app, built=built)
    assert taken == [True]
    assert _found(ids["reader"], "parsnip") == 6


def test_the_swap_holds_the_writer_so_no_drain_slips_past_it(
    app: Flask, index_dir: Path, search_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between the last catch-up and the swap a drain must wait (and then write to the
    # new generation), or what it wrote would be lost with the old one.
    _whoosh_only(search_backend)
    _forum(app)
    backend = service.get_backend(app)
    assert isinstance(backend, WhooshBackend)
    refused: list[bool] = []
    swap = WhooshBackend._swap

    def swap_and_try(self: WhooshBackend, target: str | None, fresh: object) -> None:
        try:
            backend._acquire(timeout=0.0).cancel()
            refused.append(False)
        except IndexBusy:
            refused.append(True)
        swap(self, target, fresh)

    monkeypatch.setattr(WhooshBackend, "_swap", swap_and_try)
    service.reindex(app)
    assert refused == [True]


def test_the_old_generation_is_deleted_after_the_swap(
    app: Flask, index_dir: Path, search_backend: str
) -> None:
    _whoosh_only(search_backend)
    ids = _forum(app)
    (old,) = _generations(index_dir)
    service.reindex(app)
    (new,) = _generations(index_dir)
    assert new != old
    assert not old.exists()
    assert (index_dir / whoosh_backend.CURRENT).resolve() == new
    assert _found(ids["reader"], "parsnip") == 6


def test_a_search_or_drain_that_resolved_the_retired_generation_uses_the_new_one(
    app: Flask, index_dir: Path, search_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another worker resolved `current` just before the swap, then found its files gone.
    _whoosh_only(search_backend)
    ids = _forum(app)
    (old,) = _generations(index_dir)
    service.reindex(app)
    backend = service.get_backend(app)
    assert isinstance(backend, WhooshBackend)
    real = WhooshBackend._current_target
    stale = iter([str(old)])
    monkeypatch.setattr(
        WhooshBackend, "_current_target", lambda self: next(stale, None) or real(self)
    )
    backend._ix = None  # the worker has not opened the new generation yet
    assert _found(ids["reader"], "parsnip") == 6
    stale = iter([str(old)])
    backend._ix = None
    reader = _user(ids["reader"])
    factories.make_post(db.session.get(Topic, ids["topic"]), reader, body="parsnip late")
    service.drain_all(app)
    assert _found(ids["reader"], "parsnip") == 7


def test_a_failed_rebuild_keeps_the_old_generation_and_lets_the_next_one_run(
    app: Flask, index_dir: Path, search_backend: str
) -> None:
    _whoosh_only(search_backend)
    ids = _forum(app)
    (old,) = _generations(index_dir)

    def built() -> None:
        raise RuntimeError("the disk filled up")

    with pytest.raises(RuntimeError):
        service.reindex(app, built=built)
    assert _generations(index_dir) == [old]
    backend = service.get_backend(app)
    assert isinstance(backend, WhooshBackend)
    assert not backend._rebuild_running()  # the mark went with the failed rebuild
    assert service.reindex(app) == 6
    assert _found(ids["reader"], "parsnip") == 6
