"""Live topic pages under load (issue 14): N open pages polling `GET /api/v1/changes`.

Printed numbers, run by hand, never a test. In order, everything on 127.0.0.1:

1. fills or reuses bench/fill.py's SQLite database (`--posts`, default 40,000);
2. starts the forum with gunicorn, 2 sync workers, and logs in as `benchuser`;
3. phase "pages only": one reader opens the 20-post topic page every `--page-every`
   seconds for `--duration` seconds (p50/p99 of those views, the workers' CPU);
4. phase "pages + polls": the same reader, and `--pages` (200) open pages of that topic,
   each polling every `--every` (5) seconds, staggered, with its ETag in If-None-Match
   as the page's script does (the first poll of each answers 200 and the ETag, the rest
   304). Polls come from a pool of threads, each on a new connection as a browser's
   would to gunicorn's sync workers (no keep-alive); every poll is the member's, with
   the session cookie, so each one pays what a real one does: the session lookup, the
   actor, the topic through `policy.require_topic`;
5. prints: polls/s, p50/p99 of polls and of page views in both phases, statuses, the
   workers' CPU in cores and ms per request, and the cost of one poll (the extra CPU of
   phase 4 over phase 3, per poll).

    .venv/bin/python bench/live.py              # 60 s per phase
    .venv/bin/python bench/live.py --quick      # 15 s per phase, 10,000 posts
"""

from __future__ import annotations

import argparse
import heapq
import http.client
import re
import sys
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # noqa: E402 - the helpers of bench/run.py, found through sys.path

TOKEN_RE = re.compile(r'data-live-token="([^"]+)"')


@dataclass
class Timings:
    """Latencies (ms) and statuses of one kind of request."""

    ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ms: float, status: int) -> None:
        with self.lock:
            self.ms.append(ms)
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def summary(self, seconds: float) -> dict[str, Any]:
        ordered = sorted(self.ms)
        if not ordered:
            return {"count": 0}

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        return {
            "count": len(ordered),
            "per_s": round(len(ordered) / seconds, 1),
            "p50_ms": pick(0.50),
            "p99_ms": pick(0.99),
            "max_ms": round(ordered[-1], 1),
            "statuses": dict(sorted(self.statuses.items())),
        }


def _get(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection(bench.HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        raw = conn.getresponse()
        raw.read()
        answer = (raw.status, {k.lower(): v for k, v in raw.getheaders()})
    finally:
        conn.close()
    return answer[0], answer[1], (time.perf_counter() - started) * 1000


def _reader(port: int, path: str, cookie: str, every: float, until: float, out: Timings) -> None:
    headers = {"User-Agent": bench.USER_AGENT, "Accept": "text/html", "Cookie": cookie}
    due = time.monotonic()
    while due < until:
        time.sleep(max(0.0, due - time.monotonic()))
        status, _headers, ms = _get(port, path, headers)
        out.add(ms, status)
        due += every


def _pollers(
    port: int, token: str, cookie: str, pages: int, every: float, until: float, threads: int
) -> Timings:
    """`pages` open pages, each polling every `every` s, served by a pool of threads."""
    out = Timings()
    now = time.monotonic()
    # (next due time, page number); each page keeps its ETag.
    due = [(now + every * i / pages, i) for i in range(pages)]
    heapq.heapify(due)
    etags: dict[int, str] = {}
    lock = threading.Condition()
    base = {"User-Agent": bench.USER_AGENT, "Accept": "application/json", "Cookie": cookie}
    path = f"/api/v1/changes?since={token}"

    def work() -> None:
        while True:
            with lock:
                when, page = heapq.heappop(due)
                if when >= until:
                    heapq.heappush(due, (when, page))
                    return
            time.sleep(max(0.0, when - time.monotonic()))
            headers = dict(base)
            if page in etags:
                headers["If-None-Match"] = etags[page]
            status, answer, ms = _get(port, path, headers)
            if "etag" in answer:
                etags[page] = answer["etag"]
            out.add(ms, status)
            with lock:
                heapq.heappush(due, (when + every, page))

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return out


def _cpu(master: Any) -> int:
    return sum(bench._process_ticks(pid) for pid in [master.pid, *bench.children(master.pid)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200, help="open pages polling (200)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between polls (5)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase (60)")
    parser.add_argument("--page-every", type=float, default=0.25, help="a page view every (s)")
    parser.add_argument("--threads", type=int, default=24, help="polling threads (24)")
    parser.add_argument("--posts", type=int, default=None, help="fill.py's size")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="15 s per phase, 10,000 posts")
    parser.add_argument("--out", type=Path, default=bench.BENCH / "out")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.posts = 15.0, args.posts or 10_000
    out: Path = args.out.resolve()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    manifest, _reused = bench.fill(out, None, False, posts=args.posts)
    size = "" if args.posts is None else f"-{args.posts}"
    database_url = f"sqlite:///{out / f'bench{size}.db'}"
    port = bench.free_port()
    log_path = out / "logs" / "live.log"
    log_path.write_text("", encoding="utf-8")
    with bench.managed_processes() as processes:
        forum = processes.start(
            "forum",
            bench.gunicorn_argv(port, args.workers, bench.ROOT, "wsgi:app"),
            env=bench.forum_env(out, database_url, port, instance=out / "live-instance"),
            log_path=log_path,
        )
        bench.wait_until_up(port, "/", forum, log_path)
        jar = bench.login(port, manifest["username"], manifest["password"])
        cookie = jar.header()
        topic_path = f"/t/{manifest['topic_id']}?page=1"
        page = bench.fetch(port, "GET", topic_path, jar=jar)
        found = TOKEN_RE.search(page.text)
        if found is None:
            bench.log("the topic page carries no live token (not its last page?)")
            return 1
        token = found.group(1)
        bench.log(f"forum on :{port}, topic {topic_path}, token {token}")
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        report: dict[str, Any] = {"pages": args.pages, "every_s": args.every}
        for phase, polling in (("pages only", False), ("pages + polls", True)):
            views = Timings()
            cpu_before, started = _cpu(forum), time.monotonic()
            until = started + args.duration
            reader = threading.Thread(
                target=_reader,
                args=(port, topic_path, cookie, args.page_every, until, views),
                daemon=True,
            )
            reader.start()
            polls = (
                _pollers(port, token, cookie, args.pages, args.every, until, args.threads)
                if polling
                else None
            )
            reader.join()
            wall = time.monotonic() - started
            cpu_ms = (_cpu(forum) - cpu_before) * bench._TICK_MS
            report[phase] = {
                "views": views.summary(wall),
                "polls": polls.summary(wall) if polls else None,
                "server_cores": round(cpu_ms / (wall * 1000), 3),
                "server_cpu_ms": round(cpu_ms),
                "wall_s": round(wall, 1),
            }
        quiet, busy = report["pages only"], report["pages + polls"]
        poll_count = busy["polls"]["count"]
        extra_ms = busy["server_cpu_ms"] - quiet["server_cpu_ms"] * busy["wall_s"] / quiet["wall_s"]
        report["cpu_ms_per_poll"] = round(extra_ms / max(poll_count, 1), 3)
        report["poll_cores"] = round(extra_ms / (busy["wall_s"] * 1000), 3)
        report["loadavg"] = {
            "before": load_before,
            "after": Path("/proc/loadavg").read_text().split()[:3],
        }
    for key, value in report.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
