"""Periodic jobs run once however many app servers start them (forum.jobs): a lock per
job, a PostgreSQL advisory lock or a file lock in the instance folder for SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy import text

from forum import jobs
from forum.cli import main

ROOT = Path(__file__).resolve().parent.parent

Place = tuple[str, Path]


@pytest.fixture
def place(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Place:
    """(database URL, instance folder) of a forum on the backend under test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'forum.db'}", tmp_path / "instance"
    return str(request.getfixturevalue("postgres_url")), tmp_path / "instance"


def _once(place: Place, name: str = "trust"):  # noqa: ANN202 - a context manager
    url, instance = place
    return jobs.once(name, database_url=url, instance_path=instance)


def test_a_second_holder_does_not_get_the_lock_until_the_first_ends(place):
    with _once(place) as first:
        assert first is True
        with _once(place) as second:
            assert second is False
    with _once(place) as third:
        assert third is True


def test_jobs_with_other_names_do_not_block_each_other(place):
    with _once(place, "trust") as trust, _once(place, "prune") as prune:
        assert (trust, prune) == (True, True)


def test_the_lock_is_released_when_the_job_fails(place):
    with pytest.raises(RuntimeError), _once(place) as got:
        assert got
        raise RuntimeError("the job broke")
    with _once(place) as again:
        assert again is True


def test_a_job_name_cannot_name_a_path(tmp_path):
    with (
        pytest.raises(ValueError, match="job name"),
        jobs.once("../trust", database_url="sqlite://", instance_path=tmp_path),
    ):
        pass


def test_the_file_lock_lives_in_the_instance_folder_readable_by_the_forum_only(tmp_path):
    with jobs.once("trust", database_url="sqlite://", instance_path=tmp_path) as got:
        assert got
    path = tmp_path / "locks" / "trust.lock"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"


_HOLDER = """
import sys
from pathlib import Path
from forum import jobs
with jobs.once("trust", database_url=sys.argv[1], instance_path=Path(sys.argv[2])) as got:
    print("held" if got else "not held", flush=True)
    sys.stdin.read()
"""


@pytest.fixture
def holder(place: Place) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the "trust" lock until it is killed."""
    url, instance = place
    with subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _HOLDER, url, str(instance)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:  # closes the pipes at the end
        try:
            assert process.stdout is not None
            assert process.stdout.readline() == "held\n"
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def _wait_until_postgres_ended_the_session(url: str) -> None:
    """PostgreSQL ends a dead client's session (and drops its locks) when it notices
    the closed socket, a moment after the kill: wait for that, not for a set time."""
    engine = create_engine(url)
    try:
        deadline = time.monotonic() + 20
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                left = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name = :name AND datname = current_database()"
                    ),
                    {"name": f"{jobs.APPLICATION_NAME_PREFIX}trust"},
                ).scalar()
                conn.rollback()
                if left == 0:
                    return
                time.sleep(0.02)
        raise AssertionError("PostgreSQL kept the killed holder's session")
    finally:
        engine.dispose()


def test_a_holder_killed_with_sigkill_releases_the_lock(place, holder, backend):
    with _once(place) as got:
        assert got is False  # held by the other process
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    if backend == "postgres":
        _wait_until_postgres_ended_the_session(place[0])
    with _once(place) as got:
        assert got is True


# --- the commands the timers run ------------------------------------------------------


@pytest.fixture
def run_forum(empty_url, tmp_path, monkeypatch):
    """Run `forum ...` against a new forum; returns (exit code, output)."""
    monkeypatch.setenv("FORUM_DATABASE_URL", empty_url)
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("FORUM_SECRET_KEY", "a test secret key that is long enough")

    def _run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    code, out = _run("init")
    assert code == 0, out
    return _run


@pytest.mark.parametrize(
    ("job", "command", "done"),
    [
        ("trust", ["trust"], "checked 0, promoted 0, demoted 0"),
        ("prune", ["prune"], "Deleted 0 old throttle entries."),
        ("outbox-drain", ["outbox", "drain"], "delivered 0, failed 0"),
        ("backup", ["backup", "--scheduled"], "Backed up 0 posts and 0 members"),
    ],
)
def test_a_periodic_command_started_twice_runs_once(
    run_forum, empty_url, tmp_path, job, command, done
):
    with jobs.once(job, database_url=empty_url, instance_path=tmp_path / "instance") as got:
        assert got
        # The same timer fired on the other server meanwhile: it does nothing, happily.
        code, out = run_forum(*command)
        assert code == 0
        assert (
            out == f"`forum {' '.join(command)}` is already running (here or on another server).\n"
        )
    code, out = run_forum(*command)
    assert code == 0 and done in out, out
