"""CPU time per request of the main pages, in-process, for one or more code trees.

Printed numbers, not a test. Where `bench/run.py` (wrk against gunicorn) measures the
whole server and moves with whatever else the machine runs, this measures only the
app's own work per request: Flask's test client in one process, `time.process_time()`
around N requests after a warm-up, the median of several rounds, and Python function
calls per request (cProfile, deterministic). That is the figure to compare two versions
with on a shared machine.

Each code tree (`--code DIR`, repeatable; default this checkout) runs in a process of
its own (its own imports, `PYTHONPATH=DIR`), on its own copy of the benchmark database
(`bench/fill.py`, `bench/out/bench.db`), logged in as `benchuser` through the login
form; the rounds alternate between the trees page by page, so a burst of load from
elsewhere hits both alike.

    .venv/bin/python bench/pages.py                                # this checkout alone
    .venv/bin/python bench/pages.py --code ../wt-before --code .   # before, after
    .venv/bin/python bench/pages.py --code ../wt-before --code . --top 25

Pages: the board index `/`, the busy board's page 1 and a topic of 20 posts, each as the
member and as a guest. `--top N` prints each tree's N most expensive functions (own time
and cumulative) for the member's pages.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import secrets
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
ROLES = ("member", "guest")


def log(message: str) -> None:
    print(f"[pages] {message}", file=sys.stderr, flush=True)


def pages_of(manifest: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, path, a string the page must contain)."""
    board, topic = manifest["busy_board_id"], manifest["topic_id"]
    return [
        ("board index", "/", f'href="/b/{board}'),
        ("board page 1", f"/b/{board}", 'href="/t/'),
        ("topic", f"/t/{topic}", "</article>"),
    ]


# --- the worker: one code tree, in its own process ------------------------------------


class Worker:
    """The app of one code tree with a logged-in member's and a guest's test clients."""

    def __init__(self, manifest: dict[str, Any]) -> None:
        from forum import create_app  # the tree's own, from PYTHONPATH

        self.app = create_app()
        self.pages = pages_of(manifest)
        self.clients = {"member": self.app.test_client(), "guest": self.app.test_client()}
        self._login(self.clients["member"], manifest["username"], manifest["password"])

    @staticmethod
    def _login(client: Any, username: str, password: str) -> None:
        form = client.get("/login").get_data(as_text=True)
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
        fields.update(username=username, password=password)
        answer = client.post("/login", data=fields)
        if answer.status_code not in (302, 303):
            raise SystemExit(f"login answered {answer.status_code}")
        home = client.get("/").get_data(as_text=True)
        if username not in home:
            raise SystemExit("after logging in, / does not name the member")

    def get(self, role: str, path: str, expect: str | None = None) -> None:
        answer = self.clients[role].get(path)
        if expect is not None:
            text = answer.get_data(as_text=True)
            if answer.status_code != 200 or expect not in text:
                raise SystemExit(f"{role} {path}: {answer.status_code}, {expect!r} missing")
        answer.close()

    def warm(self, n: int) -> None:
        for role in ROLES:
            for _name, path, expect in self.pages:
                self.get(role, path, expect)
                for _ in range(n):
                    self.get(role, path)

    def time(self, role: str, page: str, n: int) -> float:
        path = self._path(page)
        started = time.process_time()
        for _ in range(n):
            self.get(role, path)
        return (time.process_time() - started) * 1000 / n

    def profile(
        self, role: str, page: str, n: int, top: int, dump: str | None = None
    ) -> dict[str, Any]:
        path = self._path(page)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            self.get(role, path)
        profiler.disable()
        if dump:
            profiler.dump_stats(dump)
        stats = pstats.Stats(profiler)
        found: dict[str, Any] = {"calls": stats.total_calls / n}  # type: ignore[attr-defined]
        if top:
            text = io.StringIO()
            shown = pstats.Stats(profiler, stream=text)
            shown.sort_stats("tottime").print_stats(top)
            shown.sort_stats("cumulative").print_stats(top)
            found["top"] = text.getvalue()
        return found

    def _path(self, page: str) -> str:
        return next(path for name, path, _ in self.pages if name == page)


def worker_main(manifest_path: Path, warmup: int) -> int:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    import forum

    worker = Worker(manifest)
    worker.warm(warmup)
    out = sys.stdout
    print(json.dumps({"ready": True, "forum": str(Path(forum.__file__).parent)}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        if ask["do"] == "time":
            answer: Any = worker.time(ask["role"], ask["page"], ask["n"])
        elif ask["do"] == "profile":
            answer = worker.profile(ask["role"], ask["page"], ask["n"], ask["top"], ask.get("dump"))
        else:
            break
        out.write(json.dumps({"answer": answer}) + "\n")
        out.flush()
    return 0


# --- the parent: fill, start the workers, interleave, report ---------------------------


class Tree:
    """A code tree's worker process."""

    def __init__(self, code: Path, label: str, database: Path, warmup: int, work: Path) -> None:
        self.code, self.label = code, label
        instance = work / f"{label}-instance"
        instance.mkdir(parents=True, exist_ok=True)
        copy = work / f"{label}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        # A clean copy (the backup API), so that the trees' writes (reading positions,
        # activity) never meet.
        with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
            source.backup(target)
        manifest = json.loads(Path(f"{database}.json").read_text(encoding="utf-8"))
        manifest_copy = work / f"{label}.json"
        manifest_copy.write_text(json.dumps(manifest), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
        env.update(
            PYTHONPATH=str(code),
            FORUM_DATABASE_URL=f"sqlite:///{copy}",
            FORUM_INSTANCE_PATH=str(instance),
            FORUM_SECRET_KEY=secrets.token_urlsafe(32),
            FORUM_RATELIMITS="off",
        )
        argv = [sys.executable, str(Path(__file__).resolve()), "--worker", str(manifest_copy)]
        argv += ["--warmup", str(warmup)]
        self.proc = subprocess.Popen(  # noqa: S603 - our own script
            argv, cwd=code, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        ready = self._read()
        log(f"{label}: forum from {ready['forum']} ({self.revision()})")

    def revision(self) -> str:
        done = subprocess.run(  # noqa: S603
            ["git", "-C", str(self.code), "log", "-1", "--format=%h %s"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()[:70] or "not a git checkout"

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None  # noqa: S101
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.label}: the worker stopped (see above)")
        found: dict[str, Any] = json.loads(line)
        return found

    def ask(self, **question: Any) -> Any:
        stdin: TextIO | None = self.proc.stdin
        assert stdin is not None  # noqa: S101
        stdin.write(json.dumps(question) + "\n")
        stdin.flush()
        return self._read()["answer"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def fill(database: Path) -> dict[str, Any]:
    argv = [sys.executable, str(ROOT / "bench" / "fill.py"), "--db", str(database)]
    subprocess.run(argv, check=True, cwd=ROOT, stdout=sys.stderr)  # noqa: S603
    found: dict[str, Any] = json.loads(Path(f"{database}.json").read_text(encoding="utf-8"))
    return found


def labels_for(codes: list[Path]) -> list[str]:
    names = [code.name or "root" for code in codes]
    if len(set(names)) < len(names):
        names = [f"{i + 1}-{name}" for i, name in enumerate(names)]
    return names


def run(args: argparse.Namespace) -> dict[str, Any]:
    codes = [Path(c).resolve() for c in (args.code or [ROOT])]
    work = OUT / "pages"
    work.mkdir(parents=True, exist_ok=True)
    database = args.db.resolve()
    manifest = fill(database)
    keys = [(page, role) for role in ROLES for page, _path, _expect in pages_of(manifest)]
    trees: list[Tree] = []
    report: dict[str, Any] = {
        "requests": args.requests,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "trees": [],
    }
    try:
        for code, label in zip(codes, labels_for(codes), strict=True):
            trees.append(Tree(code, label, database, args.warmup, work))
        times: dict[str, dict[tuple[str, str], list[float]]] = {t.label: {} for t in trees}
        for round_number in range(args.rounds):
            for page, role in keys:
                # Alternate which tree goes first, round by round.
                order = trees if round_number % 2 == 0 else trees[::-1]
                for tree in order:
                    ms = tree.ask(do="time", role=role, page=page, n=args.requests)
                    times[tree.label].setdefault((page, role), []).append(ms)
            log(f"round {round_number + 1}/{args.rounds} done")
        calls: dict[str, dict[tuple[str, str], float]] = {t.label: {} for t in trees}
        for tree in trees:
            for page, role in keys:
                top = args.top if role == "member" else 0
                dump = None
                if args.profiles:
                    args.profiles.mkdir(parents=True, exist_ok=True)
                    name = f"{tree.label}-{page}-{role}.prof".replace(" ", "-")
                    dump = str((args.profiles / name).resolve())
                found = tree.ask(
                    do="profile", role=role, page=page, n=args.profile_requests, top=top, dump=dump
                )
                calls[tree.label][(page, role)] = found["calls"]
                if top:
                    print(f"\n===== {tree.label}: {page} as {role} =====\n{found['top']}")
        for tree in trees:
            report["trees"].append(
                {
                    "label": tree.label,
                    "code": str(tree.code),
                    "revision": tree.revision(),
                    "pages": [
                        {
                            "page": page,
                            "role": role,
                            "cpu_ms": times[tree.label][(page, role)],
                            "median_ms": statistics.median(times[tree.label][(page, role)]),
                            "calls_per_request": calls[tree.label][(page, role)],
                        }
                        for page, role in keys
                    ],
                }
            )
    finally:
        for tree in trees:
            tree.close()
    report["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    return report


def print_report(report: dict[str, Any]) -> None:
    trees = report["trees"]
    print(
        f"\nCPU ms per request, in-process (median of {report['rounds']} rounds of "
        f"{report['requests']} requests after {report['warmup']} warm-up; min-max in "
        f"brackets); Python calls per request (cProfile). Load average "
        f"{' '.join(report['loadavg_at_start'])} -> {' '.join(report['loadavg_at_end'])}."
    )
    for tree in trees:
        print(f"  {tree['label']}: {tree['code']} ({tree['revision']})")
    header = ["page", "as"]
    for tree in trees:
        header += [f"{tree['label']} ms", f"{tree['label']} calls"]
    if len(trees) > 1:
        header += ["ms vs first", "calls vs first"]
    rows = []
    for i, first in enumerate(trees[0]["pages"]):
        row = [first["page"], first["role"]]
        for tree in trees:
            entry = tree["pages"][i]
            low, high = min(entry["cpu_ms"]), max(entry["cpu_ms"])
            row += [
                f"{entry['median_ms']:.2f} ({low:.2f}-{high:.2f})",
                f"{entry['calls_per_request']:,.0f}",
            ]
        if len(trees) > 1:
            last = trees[-1]["pages"][i]
            row += [
                f"{(last['median_ms'] / first['median_ms'] - 1) * 100:+.1f}%",
                f"{(last['calls_per_request'] / first['calls_per_request'] - 1) * 100:+.1f}%",
            ]
        rows.append(row)
    widths = [max(len(str(r[c])) for r in [header, *rows]) for c in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--code", action="append", help="a code tree to measure (repeatable; default: this one)"
    )
    parser.add_argument("--db", type=Path, default=OUT / "bench.db", help="the fill.py database")
    parser.add_argument("--requests", type=int, default=200, help="requests per round (200)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per page (7)")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up requests per page (50)")
    parser.add_argument(
        "--profile-requests", type=int, default=50, help="requests under cProfile (50)"
    )
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions")
    parser.add_argument(
        "--profiles", type=Path, help="save each profile (pstats files) in this folder"
    )
    parser.add_argument("--json", type=Path, default=OUT / "pages.json", help="figures as JSON")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.warmup)
    report = run(args)
    print_report(report)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
