"""Time `forum migrate-to` on the benchmark forum: fill.py's SQLite database (40,000
posts) copied into a new PostgreSQL database, verified, then dropped again.

    .venv/bin/python bench/migrate.py
    .venv/bin/python bench/migrate.py --admin-url postgresql+psycopg://postgres@127.0.0.1/postgres

Prints the command's own report (rows per table, rows/s) and, measured from outside, the
wall time and the peak RSS of the `forum migrate-to` process - next to the same for a
forum with almost nothing in it, so that a memory that grows with the forum shows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import fill  # noqa: E402

RUN = "from forum.cli import main; main()"


def _migrate(source: Path, admin_url: str, work: Path) -> tuple[float, int, str]:
    """Run `forum migrate-to` in a child process; (seconds, peak RSS in KiB, output)."""
    admin = make_url(admin_url)
    name = f"forum_migbench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    target = admin.set(database=name).render_as_string(hide_password=False)
    env = {
        **os.environ,
        "FORUM_DATABASE_URL": f"sqlite:///{source}",
        "FORUM_INSTANCE_PATH": str(work / "instance"),
        "FORUM_SECRET_KEY": "bench-migrate",
        "PYTHONPATH": str(ROOT),
    }
    try:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            started = time.monotonic()
            child = subprocess.Popen(
                [sys.executable, "-c", RUN, "migrate-to", target],
                env=env,
                stdout=out,
                stderr=err,
                text=True,
            )
            # wait4: this child's own peak RSS (getrusage(RUSAGE_CHILDREN) keeps the
            # largest child so far, which would hide the second run behind the first).
            _pid, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.monotonic() - started
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()
    if child.returncode != 0:
        raise SystemExit(f"forum migrate-to failed:\n{stdout}\n{stderr}")
    return seconds, usage.ru_maxrss, stdout.split("\nThe PostgreSQL database")[0]


def _multiply_posts(path: Path, times: int) -> int:
    """Give every topic `times` as many posts (copies numbered after the originals, their
    replies pointing at the copies); the number of posts then."""
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        span = int(conn.execute(text("SELECT max(id) FROM posts")).scalar_one())
        numbers = int(conn.execute(text("SELECT max(number) FROM posts")).scalar_one())
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(posts)"))]
        shifted = {
            "id": "id + :ids",
            "number": "number + :numbers",
            "reply_to_id": "reply_to_id + :ids",
        }
        chosen = ", ".join(shifted.get(name, name) for name in columns)
        for copy in range(1, times):
            conn.execute(
                text(
                    f"INSERT INTO posts ({', '.join(columns)}) SELECT {chosen} FROM posts"  # noqa: S608
                    " WHERE id <= :span"
                ),
                {"ids": copy * span, "numbers": copy * numbers, "span": span},
            )
        count = int(conn.execute(text("SELECT count(*) FROM posts")).scalar_one())
    engine.dispose()
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--admin-url", default="postgresql+psycopg://postgres@127.0.0.1/postgres")
    parser.add_argument(
        "--times", type=int, default=1, help="copy fill.py's posts this many times (memory check)"
    )
    args = parser.parse_args(argv)
    source_url = f"sqlite:///{fill.DEFAULT_DB}"
    fill.build_or_reuse(source_url, fill.default_manifest(source_url))
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        small = work / "small.db"
        # The same schema with no rows but the settings: the fixed cost of a run.
        shutil.copy(fill.DEFAULT_DB, small)
        with create_engine(f"sqlite:///{small}").begin() as conn:
            for table in ("posts", "topics", "boards", "users"):
                conn.execute(text(f"DELETE FROM {table}"))
        small_seconds, small_rss, _ = _migrate(small, args.admin_url, work)
        big = work / "bench.db"
        shutil.copy(fill.DEFAULT_DB, big)
        posts = _multiply_posts(big, args.times)
        seconds, rss, output = _migrate(big, args.admin_url, work)
    print(output)
    print(f"empty forum: {small_seconds:.1f} s wall, peak RSS {small_rss / 1024:.0f} MiB")
    print(f"{posts:,} posts: {seconds:.1f} s wall, peak RSS {rss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
