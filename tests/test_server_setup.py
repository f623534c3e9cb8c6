"""What `forum init` (every server's ExecStartPre) does so that several app servers can
share one database: one secret key for all, migrations one server at a time, and a note
when search would use an index on one machine only."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlalchemy import inspect
from sqlalchemy import text

from forum import jobs
from forum.cli import main

ROOT = Path(__file__).resolve().parent.parent

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def run_init(empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`forum init [args]` on server `server` (its own instance folder), one database."""
    monkeypatch.setenv("FORUM_DATABASE_URL", empty_url)
    monkeypatch.delenv("FORUM_SECRET_KEY", raising=False)

    def _run(*args: str, server: str = "a", key: str | None = None) -> tuple[int, str]:
        with monkeypatch.context() as mp:
            mp.setenv("FORUM_INSTANCE_PATH", str(tmp_path / f"instance-{server}"))
            if key is not None:
                mp.setenv("FORUM_SECRET_KEY", key)
            result = CliRunner().invoke(main, ["init", *args], catch_exceptions=False)
        return result.exit_code, result.output

    return _run


def test_a_second_server_with_a_key_of_its_own_is_refused_until_it_has_the_first_ones(
    run_init, tmp_path
):
    assert run_init(server="a")[0] == 0
    # Server b made its own instance/secret_key: its members' sessions, CSRF tokens and
    # recovery codes would not work on a.
    code, out = run_init(server="b")
    assert code == 1
    assert "secret key is not the one this forum's database was set up with" in out
    assert "copy instance/secret_key" in out
    shutil.copy(tmp_path / "instance-a" / "secret_key", tmp_path / "instance-b" / "secret_key")
    assert run_init(server="b")[0] == 0
    assert run_init(server="a")[0] == 0


def test_the_same_key_in_the_environment_on_every_server_is_accepted(run_init):
    key = "one key for every app server of this forum"
    assert run_init(server="a", key=key)[0] == 0
    assert run_init(server="b", key=key)[0] == 0
    code, out = run_init(server="b", key="another key")
    assert code == 1 and "FORUM_SECRET_KEY" in out


def test_a_new_key_is_taken_only_when_asked_and_then_the_old_one_is_refused(run_init):
    assert run_init(key="the key the forum was set up with")[0] == 0
    assert run_init(key="a replacement key")[0] == 1
    code, out = run_init("--accept-new-secret-key", key="a replacement key")
    assert code == 0, out
    assert run_init(key="a replacement key")[0] == 0
    assert run_init(key="the key the forum was set up with")[0] == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_init_notes_a_local_index_when_redis_says_there_are_several_servers(
    backend, run_init, monkeypatch
):
    monkeypatch.setenv("FORUM_SEARCH_BACKEND", "whoosh")
    assert "Note: FORUM_REDIS_URL is set" not in run_init()[1]
    monkeypatch.setenv("FORUM_REDIS_URL", "redis://127.0.0.1:6379/15")
    code, out = run_init()
    assert code == 0 and "FORUM_SEARCH_BACKEND=postgres" in out


# --- two servers running `forum init` at once ----------------------------------------


def _waiting_for_the_lock(url: str, lock_file: Path) -> bool:
    """True once another process waits for the "init" lock."""
    if url.startswith("postgresql"):
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
                        " AND wait_event_type = 'Lock' AND datname = current_database()"
                    ),
                    {"name": f"{jobs.APPLICATION_NAME_PREFIX}init"},
                ).scalar()
            return bool(waiting)
        finally:
            engine.dispose()
    # Linux lists a process blocked in flock() with "->" before the lock it waits for.
    inode = f":{lock_file.stat().st_ino} "
    locks = Path("/proc/locks").read_text().splitlines()
    return any("->" in line and inode in line for line in locks)


def test_init_waits_while_another_server_runs_it_then_finds_the_work_done(empty_url, tmp_path):
    instance = tmp_path / "instance"
    env = {
        **os.environ,
        "FORUM_DATABASE_URL": empty_url,
        "FORUM_INSTANCE_PATH": str(instance),
        "FORUM_SECRET_KEY": "one key for every app server of this forum",
        "PYTHONPATH": str(ROOT),
    }
    holder = jobs.once("init", database_url=empty_url, instance_path=instance)
    assert holder.__enter__()  # the other server's `forum init`, busy migrating
    second = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "forum.cli", "init"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        lock_file = instance / jobs.LOCKS_FOLDER / "init.lock"
        while not _waiting_for_the_lock(empty_url, lock_file):
            assert second.poll() is None, "the second `forum init` did not wait"
            assert time.monotonic() < deadline, "the second `forum init` never waited"
            time.sleep(0.05)
        # Waiting, it has not touched the database.
        engine = create_engine(empty_url)
        try:
            assert "alembic_version" not in inspect(engine).get_table_names()
        finally:
            engine.dispose()
    finally:
        holder.__exit__(None, None, None)
        try:
            output = second.communicate(timeout=120)[0].decode()
        finally:
            if second.poll() is None:
                second.kill()
                second.communicate()
    assert second.returncode == 0, output
    assert "Database is up to date" in output


# --- the units of a second server -----------------------------------------------------


def test_install_systemd_serves_on_a_private_address_for_a_proxy_on_another_machine():
    result = CliRunner().invoke(main, ["install-systemd", "--host", "10.0.0.12"])
    assert result.exit_code == 0, result.output
    assert "serve --host 10.0.0.12 --port 8000 --workers 2\n" in result.output
    default = CliRunner().invoke(main, ["install-systemd"])
    assert "serve --host 127.0.0.1 --port 8000 --workers 2\n" in default.output


def test_caddy_accepts_the_two_servers_caddyfile(tmp_path):
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (Debian package `caddy`; .ci/run installs it)")
    result = subprocess.run(  # noqa: S603 - the proxy found on PATH
        [
            caddy,
            "validate",
            "--adapter",
            "caddyfile",
            "--config",
            str(ROOT / "deploy" / "Caddyfile.two-servers"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr
