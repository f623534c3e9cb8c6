"""`forum backup` and `forum restore`: snapshots under write load, fresh machines, damaged
archives, and a forum that must not be overwritten by accident."""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import tarfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import MetaData
from sqlalchemy import create_engine
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from forum.backup import backups_folder
from forum.backup import create_backup
from forum.backup import partial_leftovers
from forum.backup import prune_scheduled
from forum.backup import scheduled_archives
from forum.backup import scheduled_path
from forum.cli import main
from forum.extensions import MIGRATIONS_PATH
from forum.extensions import db as _db
from forum.models.topics import Topic
from forum.models.users import User
from tests import factories
from tests.conftest import make_test_app
from tests.conftest import throwaway_postgres

# The newest migration: create_all makes the head's schema, so it is stamped so.
HEAD = ScriptDirectory(str(MIGRATIONS_PATH)).get_current_head()
STAMP_TABLE = (
    "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
)
WRITERS = 4
POSTS_EACH = 150


@pytest.fixture
def instances(backend: str, tmp_path: Path) -> Iterator[Callable[[str], tuple[str, Path]]]:
    """Make a database (with the schema at head) and instance folder for a named forum."""
    with ExitStack() as stack:

        def _make(name: str, *, schema: bool = True) -> tuple[str, Path]:
            instance = tmp_path / name
            instance.mkdir(mode=0o700)
            if backend == "sqlite":
                url = f"sqlite:///{instance / 'forum.db'}"
            else:
                url = stack.enter_context(throwaway_postgres(f"forum_bk_{name}", schema=False))
            if schema:
                from forum import models  # noqa: F401

                engine = create_engine(url)
                _db.metadata.create_all(engine)
                with engine.begin() as conn:
                    # Stamped at head, as `forum init` leaves it (the restore migrates from it).
                    conn.execute(text(STAMP_TABLE))
                    conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": HEAD})
                engine.dispose()
            return url, instance

        yield _make


def forum_app(url: str, instance: Path) -> Any:
    """An app on the forum's database whose secret key is instance/secret_key."""
    return make_test_app(url, instance, FORUM_SECRET_KEY=None)


def run_forum(
    monkeypatch: pytest.MonkeyPatch, url: str, instance: Path, *args: str
) -> tuple[int, str]:
    """Run `forum ...` against a forum; (exit code, output)."""
    monkeypatch.setenv("FORUM_DATABASE_URL", url)
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("FORUM_SQLITE_SYNCHRONOUS", "OFF")
    monkeypatch.delenv("FORUM_SECRET_KEY", raising=False)
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def seed(url: str, instance: Path) -> dict[str, Any]:
    """A small forum: a board, a topic, writers, and a member with recovery codes."""
    app = forum_app(url, instance)
    with app.app_context():
        board = factories.make_board("Backups")
        writers = [factories.make_user(f"writer{n}", trust_level=3) for n in range(WRITERS)]
        topic = factories.make_topic(board, writers[0], title="Backups under load")
        member = factories.make_user("nomail")
        from forum.services import accounts

        codes = accounts.issue_recovery_codes(member)
        _db.session.commit()
        seeded = {"topic": topic.id, "writers": [w.id for w in writers], "codes": codes}
        _db.session.remove()
        _db.engine.dispose()
    return seeded


def dump_rows(url: str) -> dict[str, set[tuple[Any, ...]]]:
    """Every row of every table, as sets of tuples."""
    engine = create_engine(url)
    meta = MetaData()
    try:
        with engine.connect() as conn:
            meta.reflect(conn)
            return {
                name: {tuple(row) for row in conn.execute(select(table))}
                for name, table in meta.tables.items()
            }
    finally:
        engine.dispose()


def _write_posts(
    url: str, instance: str, writer: int, user_id: int, topic_id: int, log: str, stop: Any
) -> None:
    """A writer process: replies through the service, logging each id once committed."""
    from forum.services import posts

    app = forum_app(url, Path(instance))
    with app.app_context(), open(log, "a", encoding="ascii") as out:
        user = _db.session.get(User, user_id)
        topic = _db.session.get(Topic, topic_id)
        count = 0
        while not stop.is_set() and count < POSTS_EACH:
            try:
                post = posts.reply_to_topic(
                    factories.actor(user), topic, body=f"Reply {count} from writer {writer}."
                )
                _db.session.commit()
            except OperationalError:
                # A write lock not had in time on a loaded machine: not acknowledged.
                _db.session.rollback()
                continue
            out.write(f"{post.id}\n")
            out.flush()
            count += 1
        _db.session.remove()
        _db.engine.dispose()


def acknowledged(logs: list[Path]) -> set[int]:
    """Post ids whose commit had returned (complete lines only)."""
    ids: set[int] = set()
    for log in logs:
        if log.exists():
            data = log.read_text(encoding="ascii")
            ids.update(int(line) for line in data[: data.rfind("\n") + 1].split())
    return ids


def test_backup_under_write_load_restores_every_acknowledged_post(instances, tmp_path, monkeypatch):
    url, instance = instances("source")
    seeded = seed(url, instance)
    logs = [tmp_path / f"writer{n}.log" for n in range(WRITERS)]
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    workers = [
        context.Process(
            target=_write_posts,
            args=(url, str(instance), n, seeded["writers"][n], seeded["topic"], str(logs[n]), stop),
        )
        for n in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    try:
        # Wait until every writer is committing, then back up in the middle of the load.
        deadline = time.monotonic() + 60
        while not all(log.exists() and log.stat().st_size > 0 for log in logs):
            assert time.monotonic() < deadline, "the writers did not start"
            time.sleep(0.05)
        before = acknowledged(logs)
        archive = tmp_path / "forum.tar.gz"
        code, out = run_forum(monkeypatch, url, instance, "backup", str(archive))
        assert code == 0, out
        during = acknowledged(logs)
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)
    assert all(worker.exitcode == 0 for worker in workers)
    after = acknowledged(logs)
    assert len(after) > len(during) or len(after) == WRITERS * POSTS_EACH  # writes went on

    target_url, target = instances("target", schema=False)
    code, out = run_forum(monkeypatch, target_url, target, "restore", str(archive))
    assert code == 0, out

    restored = dump_rows(target_url)
    source = dump_rows(url)
    manifest = json.loads(tarfile.open(archive).extractfile("manifest.json").read())
    counts = {name: len(rows) for name, rows in restored.items()}
    # The rebuilt index covers the search updates that were queued: the restore drops them.
    assert counts.pop("outbox") <= manifest["rows"].pop("outbox")
    assert counts == manifest["rows"]
    post_ids = {row[0] for row in restored["posts"]}
    assert before <= post_ids  # every post acknowledged before the backup started
    # Every restored row is the source's row, unchanged; only the counters that later
    # replies moved on (the topic's, the writers' stats) differ.
    moved_on = {"topics", "user_stats", "boards"}
    for name, rows in restored.items():
        if name not in moved_on:
            assert rows <= source[name], name
    if url.startswith("sqlite"):
        engine = create_engine(target_url)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        engine.dispose()


def test_restore_on_a_fresh_machine_keeps_recovery_codes_and_sessions(
    instances, tmp_path, monkeypatch
):
    url, instance = instances("source")
    seeded = seed(url, instance)
    app = forum_app(url, instance)
    with app.app_context():
        member = _db.session.scalar(select(User).where(User.username == "nomail"))
        client = app.test_client()
        client.post("/login", data={"username": "nomail", "password": factories.PASSWORD})
        cookie = client.get_cookie("session")
        assert cookie is not None
        assert client.get("/account").status_code == 200
        _db.session.remove()
        _db.engine.dispose()
    archive = tmp_path / "forum.tar.gz"
    assert run_forum(monkeypatch, url, instance, "backup", str(archive))[0] == 0

    # A new machine: an empty database and an instance folder without the old key.
    target_url, target = instances("fresh", schema=False)
    code, out = run_forum(monkeypatch, target_url, target, "restore", str(archive))
    assert code == 0, out
    assert (target / "secret_key").read_bytes() == (instance / "secret_key").read_bytes()
    assert oct((target / "secret_key").stat().st_mode & 0o777) == "0o600"

    restored = forum_app(target_url, target)
    with restored.app_context():
        visitor = restored.test_client()
        visitor.set_cookie("session", cookie.value)
        assert visitor.get("/account").status_code == 200  # the session still works
        from forum.services import accounts

        user = accounts.reset_password_with_code(
            username="nomail",
            code=seeded["codes"][0],
            new_password="a brand new passphrase",
            ip=None,
        )
        assert user.id == member.id
        _db.session.commit()
        _db.session.remove()
        _db.engine.dispose()


def _rewrite(archive: Path, damaged: Path, change: Callable[[str, bytes], bytes]) -> None:
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as out:
        for member in source:
            data = change(member.name, source.extractfile(member).read())
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


def _flip_a_byte(name: str, data: bytes) -> bytes:
    if not name.startswith("database."):
        return data
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]


@pytest.mark.parametrize("damage", ["tampered", "truncated", "no manifest"])
def test_damaged_archive_is_refused_and_nothing_changes(instances, tmp_path, monkeypatch, damage):
    url, instance = instances("source")
    seed(url, instance)
    archive = tmp_path / "forum.tar.gz"
    assert run_forum(monkeypatch, url, instance, "backup", str(archive))[0] == 0
    damaged = tmp_path / "damaged.tar.gz"
    if damage == "tampered":
        _rewrite(archive, damaged, _flip_a_byte)
    elif damage == "truncated":
        data = archive.read_bytes()
        damaged.write_bytes(data[: len(data) * 2 // 3])
    else:
        with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as out:
            for member in source:
                if member.name != "manifest.json":
                    out.addfile(member, source.extractfile(member))

    target_url, target = instances("target")
    factories_before = dump_rows(target_url)
    files_before = sorted(p.name for p in target.iterdir())
    code, out = run_forum(monkeypatch, target_url, target, "restore", "--force", str(damaged))
    assert code != 0
    reason = out.strip().splitlines()[-1]
    assert reason.startswith("Error:")
    expected = {
        "tampered": "checksum of database.",
        "truncated": "damaged",
        "no manifest": "no manifest.json",
    }[damage]
    assert expected in reason
    assert dump_rows(target_url) == factories_before
    assert sorted(p.name for p in target.iterdir()) == files_before
    assert not (target / "backups").exists()


def test_restore_needs_force_over_a_forum_with_data_and_backs_it_up_first(
    instances, tmp_path, monkeypatch
):
    url, instance = instances("source")
    seed(url, instance)
    archive = tmp_path / "forum.tar.gz"
    assert run_forum(monkeypatch, url, instance, "backup", str(archive))[0] == 0
    target_url, target = instances("target")
    app = forum_app(target_url, target)
    with app.app_context():
        factories.make_topic(title="A topic only the target forum has")
        _db.session.remove()
        _db.engine.dispose()
    before = dump_rows(target_url)

    code, out = run_forum(monkeypatch, target_url, target, "restore", str(archive))
    assert code != 0 and "--force" in out
    assert dump_rows(target_url) == before

    code, out = run_forum(monkeypatch, target_url, target, "restore", "--force", str(archive))
    assert code == 0, out
    saved = list((target / "backups").glob("before-restore-*.tar.gz"))
    assert len(saved) == 1 and str(saved[0]) in out
    assert oct(saved[0].stat().st_mode & 0o777) == "0o600"
    titles = {row for row in dump_rows(target_url)["topics"]}
    assert not any("only the target" in str(row) for row in titles)
    # The pre-restore backup holds the replaced forum: restoring it brings that back.
    code, out = run_forum(monkeypatch, target_url, target, "restore", "--force", str(saved[0]))
    assert code == 0, out
    assert any("only the target" in str(row) for row in dump_rows(target_url)["topics"])


def test_archive_is_private_and_its_manifest_describes_it(instances, tmp_path, monkeypatch):
    url, instance = instances("source")
    seed(url, instance)
    archive = tmp_path / "forum.tar.gz"
    code, out = run_forum(monkeypatch, url, instance, "backup", str(archive))
    assert code == 0, out
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(archive) as opened:
        names = set(opened.getnames())
        manifest = json.loads(opened.extractfile("manifest.json").read())
    assert manifest["format_version"] == 1
    assert manifest["alembic_revision"] == HEAD
    assert manifest["backend"] in ("sqlite", "postgresql")
    assert manifest["rows"]["posts"] == 1 and manifest["rows"]["users"] == WRITERS + 2
    assert names == {"manifest.json", *manifest["files"]}
    assert "secret_key" in manifest["files"]
    # An existing file is never overwritten.
    code, out = run_forum(monkeypatch, url, instance, "backup", str(archive))
    assert code != 0 and "already exists" in out


def test_restore_refuses_an_archive_from_another_backend(tmp_path, monkeypatch):
    instance = tmp_path / "source"
    url = f"sqlite:///{tmp_path / 'forum.db'}"
    engine = create_engine(url)
    from forum import models  # noqa: F401

    _db.metadata.create_all(engine)
    engine.dispose()
    archive = tmp_path / "forum.tar.gz"
    create_backup(url, instance, archive)
    with throwaway_postgres("forum_bk_cross", schema=False) as target_url:
        code, out = run_forum(monkeypatch, target_url, tmp_path / "t", "restore", str(archive))
    assert code != 0 and "migrate-to" in out
    assert os.path.exists(archive)


def test_init_backs_up_a_forum_with_data_before_migrating_it(instances, tmp_path, monkeypatch):
    from flask_migrate import downgrade

    from forum.extensions import MIGRATIONS_PATH
    from forum.extensions import init_migrations

    url, instance = instances("old", schema=False)
    assert run_forum(monkeypatch, url, instance, "init")[0] == 0
    assert not (instance / "backups").exists()  # nothing to keep on a new forum
    code, out = run_forum(
        monkeypatch, url, instance, "create-user", "keeper", "--password", factories.PASSWORD
    )
    assert code == 0, out
    assert run_forum(monkeypatch, url, instance, "init")[0] == 0
    assert not (instance / "backups").exists()  # up to date: no migration, no backup
    app = forum_app(url, instance)
    with app.app_context():
        init_migrations(app)
        downgrade(directory=str(MIGRATIONS_PATH), revision="0014")
        _db.engine.dispose()

    code, out = run_forum(monkeypatch, url, instance, "init")
    assert code == 0, out
    saved = list((instance / "backups").glob("before-migrate-0014-*.tar.gz"))
    assert len(saved) == 1 and str(saved[0]) in out
    with tarfile.open(saved[0]) as opened:
        manifest = json.loads(opened.extractfile("manifest.json").read())
    assert manifest["alembic_revision"] == "0014" and manifest["rows"]["users"] == 1


# --- scheduled backups: the daily timer's rotation ------------------------------------


def _archive_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("scheduled-"))


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"not really an archive")


def test_rotation_keeps_the_newest_n_by_the_time_in_their_names(tmp_path):
    folder = backups_folder(tmp_path)
    days = [f"scheduled-202612{day:02d}-025000.tar.gz" for day in range(1, 10)]
    _touch(folder, *days)
    # mtimes say the opposite of the names (a copied folder): the names decide.
    for age, name in enumerate(days):
        os.utime(folder / name, (1_000_000 + age * -1000, 1_000_000 + age * -1000))
    written = folder / days[-1]
    deleted = prune_scheduled(folder, 3, written)
    assert sorted(p.name for p in deleted) == days[:6]
    assert _archive_names(folder) == days[6:]
    # Run again with nothing new: nothing more goes.
    assert prune_scheduled(folder, 3, written) == []


def test_rotation_counts_a_second_archive_in_the_same_second_as_newer(tmp_path):
    folder = backups_folder(tmp_path)
    first = scheduled_path(tmp_path, datetime(2026, 12, 6, 2, 50, tzinfo=UTC))
    _touch(folder, first.name)
    second = scheduled_path(tmp_path, datetime(2026, 12, 6, 2, 50, tzinfo=UTC))
    assert second.name == "scheduled-20261206-025000-2.tar.gz"
    _touch(folder, second.name)
    assert prune_scheduled(folder, 1, second) == [first]


def test_rotation_never_deletes_the_archive_just_written(tmp_path):
    folder = backups_folder(tmp_path)
    _touch(folder, "scheduled-20261205-025000.tar.gz", "scheduled-20261206-025000.tar.gz")
    # The clock went back: the new archive's name is the oldest of all.
    written = scheduled_path(tmp_path, datetime(2020, 1, 1, tzinfo=UTC))
    _touch(folder, written.name)
    prune_scheduled(folder, 2, written)
    assert _archive_names(folder) == [written.name, "scheduled-20261206-025000.tar.gz"]
    prune_scheduled(folder, 1, written)
    assert _archive_names(folder) == [written.name]


def test_rotation_ignores_foreign_files_and_half_written_archives(tmp_path):
    folder = backups_folder(tmp_path)
    foreign = [
        "before-migrate-0014-20260101-000000.tar.gz",
        "before-restore-20260101-000000.tar.gz",
        "forum-2026-01-01.tar.gz",
        "notes.txt",
        "scheduled-latest.tar.gz",
        "scheduled-20260101-000000.tar.gz.bak",
        "scheduled-20260101-000000.tar",
        "old-scheduled-20260101-000000.tar.gz",
    ]
    _touch(folder, *foreign)
    (folder / "scheduled-20260102-000000.tar.gz").mkdir()  # a folder, not an archive
    (folder / "scheduled-20260103-000000.tar.gz").symlink_to(folder / "notes.txt")
    # What a crash mid-write leaves (kill -9): the hidden partial archive and the working
    # folder, named for the newest time of all. Neither is an archive.
    partial = ".scheduled-20991231-235959.tar.gz.partial"
    _touch(folder, partial)
    (folder / ".forum-backup-x1y2").mkdir()
    real = [f"scheduled-202612{day:02d}-025000.tar.gz" for day in range(1, 5)]
    _touch(folder, *real)
    assert [p.name for p in scheduled_archives(folder)] == real[::-1]

    prune_scheduled(folder, 2, folder / real[-1])
    assert [p.name for p in scheduled_archives(folder)] == real[:1:-1]  # two real ones
    left = {p.name for p in folder.iterdir()}
    assert left >= {*foreign, partial, ".forum-backup-x1y2"}
    assert (folder / "scheduled-20260102-000000.tar.gz").is_dir()
    assert (folder / "scheduled-20260103-000000.tar.gz").is_symlink()
    assert [p.name for p in partial_leftovers(folder)] == [".forum-backup-x1y2", partial]


@pytest.mark.parametrize("value", ["0", "-1", "seven", "2.5", ""])
def test_a_bad_keep_setting_is_refused_before_anything_is_written(
    instances, tmp_path, monkeypatch, value
):
    url, instance = instances("source")
    monkeypatch.setenv("FORUM_BACKUP_KEEP", value)
    code, out = run_forum(monkeypatch, url, instance, "backup", "--scheduled")
    assert code != 0 and "FORUM_BACKUP_KEEP" in out
    assert not (instance / "backups").exists()


def test_backup_needs_a_file_or_scheduled_not_both(instances, tmp_path, monkeypatch):
    url, instance = instances("source")
    for args in (("backup",), ("backup", "--scheduled", str(tmp_path / "x.tar.gz"))):
        code, out = run_forum(monkeypatch, url, instance, *args)
        assert code != 0 and "FILE or --scheduled" in out
    assert not (tmp_path / "x.tar.gz").exists()


def test_scheduled_backups_keep_the_newest_n_and_the_newest_restores(
    instances, tmp_path, monkeypatch
):
    url, instance = instances("source")
    seed(url, instance)
    folder = instance / "backups"
    keepsake = folder / "before-migrate-0014-20260101-000000.tar.gz"
    folder.mkdir()
    keepsake.write_bytes(b"an older kind of backup")
    monkeypatch.setenv("FORUM_BACKUP_KEEP", "2")
    made = []
    for round_ in range(4):
        app = forum_app(url, instance)
        with app.app_context():
            factories.make_topic(title=f"Written before backup {round_}")
            _db.session.remove()
            _db.engine.dispose()
        code, out = run_forum(monkeypatch, url, instance, "backup", "--scheduled")
        assert code == 0, out
        made.append(scheduled_archives(folder)[0])
        assert str(made[-1]) in out
        assert len(scheduled_archives(folder)) == min(round_ + 1, 2)
    assert scheduled_archives(folder) == made[:1:-1]
    assert "Deleted " + made[1].name in out
    assert keepsake.read_bytes() == b"an older kind of backup"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in made[2:])

    target_url, target = instances("target", schema=False)
    code, out = run_forum(monkeypatch, target_url, target, "restore", str(made[-1]))
    assert code == 0, out
    topics = " ".join(str(row) for row in dump_rows(target_url)["topics"])
    assert all(f"Written before backup {n}" in topics for n in range(4))


def test_a_failed_scheduled_backup_deletes_nothing_and_leaves_no_archive(
    instances, tmp_path, monkeypatch
):
    url, instance = instances("source")
    seed(url, instance)
    monkeypatch.setenv("FORUM_BACKUP_KEEP", "1")
    assert run_forum(monkeypatch, url, instance, "backup", "--scheduled")[0] == 0
    before = scheduled_archives(instance / "backups")

    def crash(info: tarfile.TarInfo) -> tarfile.TarInfo:
        raise OSError("No space left on device")

    # The archive dies half-written (its manifest is in, the database is not).
    monkeypatch.setattr("forum.backup._private", crash)
    code, out = run_forum(monkeypatch, url, instance, "backup", "--scheduled")
    assert code != 0 and "No space left on device" in out
    assert scheduled_archives(instance / "backups") == before
    assert sorted(p.name for p in (instance / "backups").iterdir()) == [before[0].name]
