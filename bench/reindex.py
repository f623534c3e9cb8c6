"""`forum reindex` on a live forum: printed numbers for issue 12, run by hand (never a test).

What it does, in order (everything on 127.0.0.1, every process stopped at the end):

1. builds (or reuses) a 100,000-post SQLite database, bench/out/reindex.db: bench/fill.py's
   generator at 5,000 topics of 20 posts. Each run works on a fresh copy of it
   (bench/out/reindex-run.db), with `benchuser` at trust level 2 so that its replies are
   not capped, and an empty search folder;
2. runs `forum reindex` on the quiet forum: its time and its peak RSS (ru_maxrss, read by
   a small wrapper process whose only child it is);
3. starts the forum with gunicorn (2 workers, as bench/run.py does), logs in as
   `benchuser` and starts a light load: writer threads posting replies through the
   reply form, reader threads alternating a topic page and a search page, each pausing
   `--pause` seconds between requests;
4. measures the load for `--before` seconds, then runs `forum reindex` again as a
   subprocess under that load (time, peak RSS), then `--after` seconds more;
5. prints write and read p50/p99/max per phase (before, during, after), the reindex
   numbers, the load average (`/proc/loadavg`: the machine may be shared), checks that
   the index holds every post at the end, and writes bench/out/reindex.json.

    .venv/bin/python bench/reindex.py
    .venv/bin/python bench/reindex.py --code /path/to/an/older/checkout   # compare code
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import fill as filler  # noqa: E402
import run as runner  # noqa: E402

TOPICS = 5_000  # x 20 posts = 100,000
# bench/fill.py's boards, at 2.5 times the topics.
BOARDS = [(name, about, count * 5 // 2) for name, about, count in filler.BOARDS]
WORDS = ["canal", "landlord", "helpline", "sponsor", "christmas", "library", "kettle", "court"]
TARGET_RSS_MB = 250.0

# Runs `forum reindex` and reports its peak RSS: the wrapper's only child is the command,
# so RUSAGE_CHILDREN is that process's own high-water mark (KB on Linux).
WRAPPER = """
import json, resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({
    "returncode": done.returncode,
    "seconds": round(time.monotonic() - started, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    "output": (done.stdout + done.stderr)[-2000:],
}))
"""

CHECK = """
from forum import create_app
from forum.search.service import get_backend, index_counts
app = create_app()
with app.app_context():
    print(*index_counts(get_backend(app)))
"""


def log(message: str) -> None:
    print(f"[reindex] {message}", file=sys.stderr, flush=True)


def loadavg() -> list[str]:
    return Path("/proc/loadavg").read_text().split()[:3]


def build_database(force: bool) -> Path:
    """The 100,000-post database (filled once, reused), and a fresh copy to run on."""
    filler.TOPICS = TOPICS
    filler.BOARDS = BOARDS
    source = OUT / "reindex.db"
    manifest = filler.build_or_reuse(f"sqlite:///{source}", OUT / "reindex.db.json", force=force)
    work = OUT / "reindex-run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, work)
    with sqlite3.connect(work) as conn:
        conn.execute("UPDATE users SET trust_level = 2 WHERE username = ?", (manifest.username,))
    return work


def environment(code: Path, database: Path, port: int) -> dict[str, str]:
    env = runner.forum_env(OUT / "reindex", f"sqlite:///{database}", port)
    env["PYTHONPATH"] = str(code)  # the code measured, ahead of the venv's editable install
    return env


def reindex(code: Path, env: dict[str, str]) -> dict[str, Any]:
    argv = [sys.executable, "-c", WRAPPER, str(runner.VENV_BIN / "forum"), "reindex"]
    done = subprocess.run(argv, env=env, cwd=code, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    if result["returncode"] != 0:
        raise RuntimeError(f"forum reindex failed:\n{result['output']}")
    return result


@dataclass
class Sample:
    at: float
    kind: str  # "write" or "read"
    ms: float
    ok: bool


class Load:
    """Writers posting replies and readers reading pages, until stopped."""

    def __init__(self, port: int, jar: runner.CookieJar, topics: int, pause: float) -> None:
        self.port, self.jar, self.topics, self.pause = port, jar, topics, pause
        self.samples: list[Sample] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        page = runner.fetch(port, "GET", "/t/1", jar=self._jar())
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if found is None:
            raise RuntimeError("no CSRF token on a topic page")
        self.token = found.group(1)

    def _jar(self) -> runner.CookieJar:
        jar = runner.CookieJar()
        jar.cookies = dict(self.jar.cookies)
        return jar

    def _timed(self, kind: str, method: str, path: str, **kw: Any) -> None:
        started = time.monotonic()
        try:
            answer = runner.fetch(self.port, method, path, **kw)
            ok = answer.status in ((302, 303) if kind == "write" else (200,))
        except OSError:
            ok = False
        with self._lock:
            self.samples.append(Sample(started, kind, (time.monotonic() - started) * 1000, ok))

    def writer(self, seed: int) -> None:
        rng, jar = random.Random(seed), self._jar()
        n = 0
        while not self.stop.is_set():
            n += 1
            topic = rng.randrange(1, self.topics + 1)
            body = f"Bench reply {seed}-{n}: {rng.choice(WORDS)} and {rng.choice(WORDS)} today."
            form = {"csrf_token": self.token, "body": body}
            self._timed("write", "POST", f"/t/{topic}/reply", jar=jar, form=form)
            self.stop.wait(self.pause)

    def reader(self, seed: int) -> None:
        rng, jar = random.Random(seed), self._jar()
        while not self.stop.is_set():
            if rng.random() < 0.5:
                path = f"/t/{rng.randrange(1, self.topics + 1)}"
            else:
                path = f"/search?q={rng.choice(WORDS)}"
            self._timed("read", "GET", path, jar=jar)
            self.stop.wait(self.pause)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(samples: list[Sample], start: float, end: float) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for kind in ("write", "read"):
        chosen = [s for s in samples if s.kind == kind and start <= s.at < end]
        times = [s.ms for s in chosen]
        result[kind] = {
            "n": len(chosen),
            "errors": sum(not s.ok for s in chosen),
            "p50_ms": percentile(times, 0.50),
            "p99_ms": percentile(times, 0.99),
            "max_ms": max(times) if times else None,
        }
    return result


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="the forum checkout measured")
    parser.add_argument("--before", type=float, default=20.0, help="seconds of load before")
    parser.add_argument("--after", type=float, default=10.0, help="seconds of load after")
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--pause", type=float, default=0.1, help="seconds between requests")
    parser.add_argument("--force-fill", action="store_true")
    parser.add_argument(
        "--no-quiet", action="store_true", help="skip the quiet rebuild (start with no index)"
    )
    args = parser.parse_args(argv)
    code = args.code.resolve()
    OUT.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"code": str(code), "loadavg_at_start": loadavg()}

    database = build_database(args.force_fill)
    port = runner.free_port()
    env = environment(code, database, port)
    shutil.rmtree(OUT / "reindex" / "instance" / "search", ignore_errors=True)
    if not args.no_quiet:
        log("forum reindex on the quiet forum (an empty search folder) ...")
        report["quiet"] = reindex(code, env)
        log(f"quiet: {report['quiet']['seconds']} s, peak RSS {report['quiet']['peak_rss_mb']} MB")

    forum_log = OUT / "logs" / "reindex-forum.log"
    forum_log.parent.mkdir(parents=True, exist_ok=True)
    forum_log.write_text("", encoding="utf-8")
    with runner.managed_processes() as processes:
        forum = processes.start(
            "forum", runner.gunicorn_argv(port, 2, code, "wsgi:app"), env=env, log_path=forum_log
        )
        runner.wait_until_up(port, "/", forum, forum_log)
        jar = runner.login(port, filler.BENCH_USER, filler.BENCH_PASSWORD)
        load = Load(port, jar, TOPICS, args.pause)
        threads = [threading.Thread(target=load.writer, args=(i,)) for i in range(args.writers)] + [
            threading.Thread(target=load.reader, args=(100 + i,)) for i in range(args.readers)
        ]
        for thread in threads:
            thread.start()
        try:
            t0 = time.monotonic()
            log(f"load for {args.before:.0f} s before the rebuild ...")
            time.sleep(args.before)
            t1 = time.monotonic()
            report["loadavg_before_rebuild"] = loadavg()
            log("forum reindex under load ...")
            report["under_load"] = reindex(code, env)
            t2 = time.monotonic()
            log(f"load for {args.after:.0f} s after the rebuild ...")
            time.sleep(args.after)
            t3 = time.monotonic()
        finally:
            load.stop.set()
            for thread in threads:
                thread.join()
        report["phases"] = {
            "before": summary(load.samples, t0, t1),
            "during": summary(load.samples, t1, t2),
            "after": summary(load.samples, t2, t3),
        }
        report["loadavg_at_end"] = loadavg()
    # Every post written under load is indexed (drained, or carried over by the rebuild).
    done = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, cwd=code, capture_output=True, text=True
    )
    posts, documents, queued = (int(n) for n in done.stdout.split()[-3:])
    report["index_at_end"] = {"posts": posts, "documents": documents, "queued": queued}

    print(f"\nforum reindex, {posts:,} posts at the end (code: {code})")
    print(f"load average: start {report['loadavg_at_start']}, end {report['loadavg_at_end']}")
    for name in ("quiet", "under_load"):
        if name not in report:
            continue
        run = report[name]
        verdict = "OK" if run["peak_rss_mb"] <= TARGET_RSS_MB else "MISS"
        print(
            f"  {name:<10} {run['seconds']:>7.1f} s  peak RSS {run['peak_rss_mb']:>6.1f} MB"
            f"  (target <= {TARGET_RSS_MB:.0f} MB: {verdict})"
        )
    heading = ("phase", "kind", "n", "err", "p50 ms", "p99 ms", "max ms")
    print("\n{:<8} {:<6} {:>6} {:>4} {:>8} {:>8} {:>8}".format(*heading))
    for phase, kinds in report["phases"].items():
        for kind, row in kinds.items():
            print(
                f"{phase:<8} {kind:<6} {row['n']:>6} {row['errors']:>4} {fmt(row['p50_ms']):>8}"
                f" {fmt(row['p99_ms']):>8} {fmt(row['max_ms']):>8}"
            )
    print(f"\nindex at the end: {documents:,} documents, {posts:,} posts, {queued} queued")
    (OUT / "reindex.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if documents == posts and queued == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
