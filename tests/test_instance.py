"""The instance folder is private: made 0700 with files 0600 (database, -wal and -shm, the
search index, the key, backups) even under a laptop's umask 0022; `forum init` names what
others could open, and refuses to run as root unless told."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from forum import create_app
from forum.cli import main
from forum.extensions import db


@pytest.fixture
def laptop_umask() -> Iterator[None]:
    """A developer's usual umask (0022: new files readable by everyone), then the old one."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def forum_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new forum on SQLite with a Whoosh index on disk, in a folder that does not exist yet."""
    instance = tmp_path / "srv" / "instance"
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("FORUM_SQLITE_SYNCHRONOUS", "OFF")
    for name in ("FORUM_DATABASE_URL", "FORUM_SECRET_KEY", "FORUM_SEARCH_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    return instance


def forum(*args: str) -> tuple[int, str, str]:
    """Run `forum ...`; (exit code, standard output, standard error)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def warnings(err: str) -> list[str]:
    """The warnings in standard error (Alembic logs its steps there too)."""
    return [line for line in err.splitlines() if line.startswith("Warning")]


def modes(instance: Path) -> dict[str, str]:
    """Every file and folder under the instance (links excluded), with its mode."""
    found = {".": oct(stat.S_IMODE(instance.stat().st_mode))}
    for path in instance.rglob("*"):
        if not path.is_symlink():
            found[str(path.relative_to(instance))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


@pytest.mark.usefixtures("laptop_umask")
def test_everything_the_forum_makes_in_its_instance_is_the_owners_only(forum_env):
    code, out, err = forum("init")
    assert code == 0, out + err
    assert forum("demo")[0] == 0  # posts: the search index writes its segments
    code, out, err = forum("backup", "--scheduled")
    assert code == 0, out + err
    # While a connection writes, SQLite's -wal and -shm exist (removed at the last close).
    app = create_app()
    with app.app_context():
        with db.engine.connect() as conn:
            conn.execute(text("CREATE TABLE scratch (x INTEGER)"))
            conn.commit()
            found = modes(forum_env)
        db.engine.dispose()
    names = set(found)
    assert {"forum.db", "forum.db-wal", "forum.db-shm", "secret_key", "backups"} <= names
    assert any(name.startswith("search/") for name in names)
    assert any(name.startswith("backups/scheduled-") for name in names)
    folders = {name for name in names if (forum_env / name).is_dir()}
    assert {name: found[name] for name in folders} == dict.fromkeys(folders, "0o700")
    # Nothing for group or others; the files the forum writes itself are exactly 0600
    # (Whoosh's empty lock files come out 0700: it opens them with os.open's default).
    assert {name: mode for name, mode in found.items() if int(mode, 8) & 0o077} == {}
    files = {name for name in names - folders if not name.endswith("LOCK")}
    assert {name: found[name] for name in files} == dict.fromkeys(files, "0o600")
    # The umask is tightened, never loosened: a stricter one an admin set stays.
    assert os.umask(0o077) == 0o077


def test_init_names_each_open_file_and_folder_with_its_fix(forum_env):
    assert forum("init")[0] == 0
    code, out, err = forum("init")
    assert code == 0 and warnings(err) == []  # a private instance: not a word
    os.chmod(forum_env, 0o755)  # noqa: S103 - the open folder init must report
    os.chmod(forum_env / "forum.db", 0o644)
    os.chmod(forum_env / "secret_key", 0o640)
    (forum_env / "forum.cfg").write_text("FORUM_MAIL_FROM=forum@example.org\n")
    os.chmod(forum_env / "forum.cfg", 0o604)

    code, out, err = forum("init")
    assert code == 0, out + err
    lines = warnings(err)
    # SQLite gives the -wal and -shm it makes the database file's mode: they are open too.
    opened = [
        ("forum.cfg", "0604"),
        ("forum.db", "0644"),
        ("forum.db-shm", "0644"),
        ("forum.db-wal", "0644"),
        ("secret_key", "0640"),
    ]
    assert lines == [
        f"Warning: the folder {forum_env} is open to other users of this machine (mode 0755);"
        f" make it private: chmod 700 {forum_env}",
        *(
            f"Warning: the file {forum_env / name} is open to other users of this machine"
            f" (mode {mode}); make it private: chmod 600 {forum_env / name}"
            for name, mode in opened
        ),
    ]
    assert "Database is up to date" in out  # a warning, not a refusal

    for line in lines:  # the printed fixes work (-wal and -shm went at the last close)
        mode, path = line.rpartition(" chmod ")[2].split(" ", 1)
        if os.path.exists(path):
            os.chmod(path, int(mode, 8))
    assert warnings(forum("init")[2]) == []


def test_init_counts_the_rest_after_ten_warnings(forum_env):
    assert forum("init")[0] == 0
    for n in range(12):
        (forum_env / f"old-{n:02d}.txt").write_text("left by someone")
        os.chmod(forum_env / f"old-{n:02d}.txt", 0o644)
    lines = warnings(forum("init")[2])
    assert len(lines) == 11
    assert lines[-1] == (
        f"Warning: and 2 more in {forum_env}; make them all private at once:"
        f" chmod -R go-rwx {forum_env}"
    )


def test_init_refuses_root_and_creates_nothing(forum_env, monkeypatch):
    monkeypatch.delenv("FORUM_ALLOW_ROOT")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, out, err = forum("init")
    assert code == 1
    assert "refusing to run as root" in err and "sudo -u forum" in err and "--allow-root" in err
    assert not forum_env.parent.exists()


@pytest.mark.parametrize("how", ["--allow-root", "FORUM_ALLOW_ROOT=1"])
def test_init_runs_as_root_when_told(forum_env, monkeypatch, how):
    monkeypatch.delenv("FORUM_ALLOW_ROOT")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    args = ["init"]
    if how == "--allow-root":
        args.append(how)
    else:
        monkeypatch.setenv("FORUM_ALLOW_ROOT", "1")
    code, out, err = forum(*args)
    assert code == 0, out + err
    assert (forum_env / "forum.db").is_file()


def test_init_needs_no_flag_as_an_ordinary_user(forum_env, monkeypatch):
    monkeypatch.delenv("FORUM_ALLOW_ROOT")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code, out, err = forum("init")
    assert code == 0, out + err


@pytest.mark.usefixtures("laptop_umask")
def test_backup_makes_the_folders_it_creates_private(forum_env):
    assert forum("init")[0] == 0
    os.umask(0o022)  # as a new `forum backup` process starts (init tightened this one's)
    target = forum_env.parent / "copies" / "nightly" / "forum.tar.gz"
    code, out, err = forum("backup", str(target))
    assert code == 0, out + err
    for folder in (target.parent.parent, target.parent):
        assert oct(stat.S_IMODE(folder.stat().st_mode)) == "0o700"
    assert oct(stat.S_IMODE(target.stat().st_mode)) == "0o600"
