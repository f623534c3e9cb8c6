"""Mixed load against three set-ups of the forum (issue 12, "Benchmark" and "Memory").

Printed numbers, run by hand, never a test. For each set-up, in order:

  (a) sqlite       SQLite + Whoosh search, one gunicorn -w 2;
  (b) postgres     PostgreSQL + FORUM_SEARCH_BACKEND=postgres, one gunicorn -w 2;
  (c) two-servers  two gunicorn -w 2 on different ports (each its own instance folder,
                   one secret key) on the same PostgreSQL, postgres search and Redis
                   (FORUM_REDIS_URL, a database number flushed first); the load is split
                   across both, and every member's session is used on both servers.

1. the database: bench/fill.py's, at --posts (default 100,000), filled once and cached;
   each set-up runs on a fresh copy (a file copy; PostgreSQL: CREATE DATABASE ... TEMPLATE),
   so that the replies of one run never leave the cache stale. The search index is
   built once per filled database (Whoosh: kept in bench/out/mixed/ and copied into the
   instance; postgres: `forum reindex` in the template database) and `forum init` checks
   it on the copy before the servers start;
2. starts the server(s), logs in the members benchmember1-8 through the login form
   (each its own session) and reads each one's CSRF token from a topic's reply form;
3. a closed-loop load for --warmup + --duration seconds: --connections threads (spread
   over --generators processes), each a member's session, each sending its next request
   as soon as the last one is answered: 80% topic pages, 10% board pages, 5% searches,
   5% replies (the shares are drawn per request, seeded). Topics: 80% of the reads and
   all replies go to the newest 5% of topics (a forum's busy ones), the rest to any
   topic. Only requests started after the warm-up count for req/s and latencies; every
   reply counts for the check of posts;
4. after the load: each gunicorn master's and worker's VmRSS (and PSS) from /proc, the
   sums per server ("whole forum": master + 2 workers; OK/MISS against 300 MB by PSS,
   which counts a page shared by the processes once), and the
   replies in the database: every acknowledged one (a redirect to the new post) must be
   there, by its author (none lost);
5. prints the tables, writes bench/out/mixed.json and bench/out/mixed.md.

Why a Python load generator and not wrk: the mix needs latencies per request kind, and
replies with a per-member session and CSRF token whose answers are checked; wrk's Lua
sees neither latencies per request nor bodies cheaply. Its cost is measured: the
generator's CPU (cores, ms per request, the busiest process against one core) is
reported, so that a saturated generator shows.

    .venv/bin/python bench/mixed.py                 # full: 100k posts, 10 s warm-up + 60 s
    .venv/bin/python bench/mixed.py --quick         # smoke: 10k posts, 2 s + 8 s
    .venv/bin/python bench/mixed.py --setups sqlite,postgres
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import random
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from urllib.parse import urlencode
from urllib.parse import urlsplit

import run as bench  # bench/run.py: processes, logging in, gunicorn, /proc readings
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = bench.ROOT
HOST = bench.HOST
log = bench.log

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_FORUM_MB = 300.0  # issue 12: master + 2 workers at 100,000 posts, after the load
TARGET_POSTS = 100_000

# The mix of issue 12.
MIX: list[tuple[str, float]] = [("topic", 0.80), ("board", 0.10), ("search", 0.05), ("reply", 0.05)]
KINDS = [kind for kind, _ in MIX]
EXPECTED_STATUS = {"topic": (200,), "board": (200,), "search": (200,), "reply": (302, 303)}
HOT_SHARE = 0.05  # the newest 5% of topics are the busy ones
HOT_READS = 0.80  # share of topic reads that go to them (replies: all)

# Words of bench/fill.py's texts and a few it never uses (searches that find nothing).
SEARCHES = [
    "sponsor",
    "canal",
    "landlord",
    "library",
    "helpline",
    "christmas",
    "sleeping",
    "weekends",
    "family",
    "cooking",
    "money worries",
    "court date",
    "key worker",
    "drop-in",
    "night shift",
    "kitchen porter",
    "walk along the canal",
    "relapse",
    "allotment",
    "bicycle",
]


@dataclass(frozen=True)
class Setup:
    key: str
    title: str
    database: str  # sqlite | postgres
    search: str  # whoosh | postgres
    servers: int
    redis: bool = False


SETUPS = {
    "sqlite": Setup("sqlite", "(a) SQLite + whoosh, 1 server", "sqlite", "whoosh", 1),
    "postgres": Setup(
        "postgres", "(b) PostgreSQL + postgres search, 1 server", "postgres", "postgres", 1
    ),
    "two-servers": Setup(
        "two-servers", "(c) 2 servers, PostgreSQL + Redis", "postgres", "postgres", 2, redis=True
    ),
}


# --- the load generator (runs in child processes) --------------------------------------


@dataclass(frozen=True)
class Member:
    username: str
    cookie: str
    csrf_token: str


@dataclass(frozen=True)
class Plan:
    """Everything a generator process needs; plain data, sent to forked children."""

    ports: list[int]
    members: list[Member]
    topic_ids: list[int]
    board_ids: list[int]
    marker: str
    seed: int
    start: float  # time.monotonic() values, shared by fork (one clock)
    measure_from: float
    stop_at: float
    timeout: float


def _pick_topic(rng: random.Random, plan: Plan, hot: bool) -> int:
    ids = plan.topic_ids
    hot_count = max(1, int(len(ids) * HOT_SHARE))
    if hot:
        return ids[-1 - rng.randrange(hot_count)]
    return ids[rng.randrange(len(ids))]


def _request(
    rng: random.Random, plan: Plan, member: Member, kind: str, counter: int
) -> tuple[str, str, dict[str, str], bytes | None]:
    headers = {"User-Agent": bench.USER_AGENT, "Accept": "text/html", "Cookie": member.cookie}
    if kind == "topic":
        return "GET", f"/t/{_pick_topic(rng, plan, rng.random() < HOT_READS)}", headers, None
    if kind == "board":
        board = plan.board_ids[rng.randrange(len(plan.board_ids))]
        page = "" if rng.random() < 0.9 else f"?page={rng.randint(2, 3)}"
        return "GET", f"/b/{board}{page}", headers, None
    if kind == "search":
        return "GET", f"/search?q={quote_plus(rng.choice(SEARCHES))}", headers, None
    body = (
        f"Thanks for this, it helps to read it. ({plan.marker} {member.username} #{counter})\n\n"
        f"Day {rng.randint(2, 900)} for me: the walk along the canal after the group "
        "on Thursdays keeps the evenings manageable."
    )
    form = urlencode({"csrf_token": member.csrf_token, "body": body}).encode()
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return "POST", f"/t/{_pick_topic(rng, plan, True)}/reply", headers, form


def acknowledged(path: str, status: int, location: str | None) -> bool:
    """A reply is acknowledged by a redirect to the new post on its topic's page (a
    redirect anywhere else, such as to /login, is not)."""
    topic = path.removesuffix("/reply")
    if status not in EXPECTED_STATUS["reply"] or location is None:
        return False
    target = urlsplit(location)
    return target.path == topic and target.fragment.startswith("p")


def _connection_loop(plan: Plan, index: int, results: list[Any]) -> None:
    """One closed-loop connection: a member's session against one server."""
    rng = random.Random(plan.seed * 1000 + index)
    member = plan.members[index % len(plan.members)]
    port = plan.ports[index % len(plan.ports)]
    weights = [share for _, share in MIX]
    counter = 0
    samples: list[tuple[str, float, float, int]] = []  # kind, started, ms, status
    acked = attempted = 0
    errors: dict[str, int] = {}
    while time.monotonic() < plan.stop_at:
        kind = rng.choices(KINDS, weights)[0]
        counter += 1
        method, path, headers, body = _request(rng, plan, member, kind, counter)
        started = time.monotonic()
        status = 0
        location: str | None = None
        try:
            # gunicorn's sync workers close every connection after one answer.
            conn = http.client.HTTPConnection(HOST, port, timeout=plan.timeout)
            try:
                conn.request(method, path, body=body, headers=headers)
                answer = conn.getresponse()
                answer.read()
                status = answer.status
                location = answer.getheader("Location")
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            key = f"{kind} {exc.__class__.__name__}"
            errors[key] = errors.get(key, 0) + 1
        elapsed = (time.monotonic() - started) * 1000
        if kind == "reply":
            attempted += 1
            if acknowledged(path, status, location):
                acked += 1
            elif status in EXPECTED_STATUS["reply"]:
                key = f"reply HTTP {status} to {location}"
                errors[key] = errors.get(key, 0) + 1
        if status and status not in EXPECTED_STATUS[kind]:
            key = f"{kind} HTTP {status}"
            errors[key] = errors.get(key, 0) + 1
        samples.append((kind, started, elapsed, status))
    results.append({"samples": samples, "acked": acked, "attempted": attempted, "errors": errors})


def _generator_process(plan: Plan, first: int, count: int, queue: Any) -> None:
    import threading

    results: list[Any] = []
    threads = [
        threading.Thread(target=_connection_loop, args=(plan, first + i, results), daemon=True)
        for i in range(count)
    ]
    while time.monotonic() < plan.start:
        time.sleep(0.01)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Only what the report needs goes back: samples of the measured window, all replies.
    merged: dict[str, Any] = {"latencies": {k: [] for k in KINDS}, "acked": 0, "attempted": 0}
    errors: dict[str, int] = {}
    for result in results:
        merged["acked"] += result["acked"]
        merged["attempted"] += result["attempted"]
        for key, n in result["errors"].items():
            errors[key] = errors.get(key, 0) + n
        for kind, started, ms, _status in result["samples"]:
            if started >= plan.measure_from:
                merged["latencies"][kind].append(ms)
    merged["errors"] = errors
    queue.put(merged)


# --- measuring ---------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def pss_mb(pid: int) -> float | None:
    """Proportional set size: shared pages divided among the processes that share them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def server_memory(master: subprocess.Popen[bytes]) -> dict[str, Any]:
    workers = bench.children(master.pid)
    master_mb = bench.rss_mb(master.pid) or 0.0
    workers_mb = [bench.rss_mb(pid) or 0.0 for pid in workers]
    pids = [master.pid, *workers]
    pss = [pss_mb(pid) or 0.0 for pid in pids]
    # VmRSS = RssAnon (private) + RssFile (mapped files: code, and Whoosh's index segments,
    # which it reads through mmap) + RssShmem; file pages are shared and reclaimable.
    anon = [bench.rss_mb(pid, "RssAnon") or 0.0 for pid in pids]
    mapped = [bench.rss_mb(pid, "RssFile") or 0.0 for pid in pids]
    total = round(master_mb + sum(workers_mb), 1)
    return {
        "master_mb": master_mb,
        "workers_mb": workers_mb,
        "total_mb": total,
        "total_pss_mb": round(sum(pss), 1),
        "total_anon_mb": round(sum(anon), 1),
        "total_file_mb": round(sum(mapped), 1),
        # The check sums PSS: the workers share the master's code pages and the mapped
        # index, which a VmRSS sum counts once per process; PSS counts each page once.
        "ok": sum(pss) < TARGET_FORUM_MB,
    }


def cpu_ticks(pids: list[int]) -> int:
    return sum(bench._process_ticks(pid) for pid in pids)


# --- databases and indexes -----------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def copy_postgres(template_url: str, target_url: str) -> None:
    """CREATE DATABASE target TEMPLATE template (dropping an old target first)."""
    template, target = make_url(template_url).database, make_url(target_url).database
    admin = create_engine(with_database(template_url, "postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()


def forum_command(env: dict[str, str], *args: str, log_path: Path) -> None:
    """`forum <args>` with this branch's code (not the venv's entry point)."""
    argv = [sys.executable, "-c", "from forum.cli import main; main()", *args]
    # The bench runs as whoever runs it, root in a container or CI box: `forum init`
    # refuses root unless told (issue 12), and the files it makes here are throwaway.
    env = {**env, "PYTHONPATH": str(ROOT), "FORUM_ALLOW_ROOT": "1"}
    with log_path.open("ab") as out:
        done = subprocess.run(
            argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"forum {' '.join(args)} failed:\n{bench.tail(log_path)}")


def stamp_of(manifest: dict[str, Any]) -> dict[str, str]:
    return {"fingerprint": manifest["fingerprint"], "filled_at": manifest["filled_at"]}


def load_stamp(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return None


def count_posts(url: str, marker: str, members: list[str]) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.scalar(text("SELECT count(*) FROM posts"))
            rows = conn.execute(
                text(
                    "SELECT u.username, count(*) FROM posts p JOIN users u ON u.id = p.author_id"
                    " WHERE p.body LIKE :marker GROUP BY u.username"
                ),
                {"marker": f"%{marker} %"},
            ).all()
    finally:
        engine.dispose()
    by_author = {name: int(n) for name, n in rows}
    return {
        "total": int(total or 0),
        "marked": sum(by_author.values()),
        "by_author": by_author,
        "strangers": sorted(set(by_author) - set(members)),
    }


def check_logged_in(port: int, member: Member) -> None:
    jar = bench.CookieJar()
    jar.cookies = dict(pair.split("=", 1) for pair in member.cookie.split("; "))
    home = bench.fetch(port, "GET", "/", jar=jar)
    if home.status != 200 or member.username not in home.text:
        raise bench.LoginFailed(f"{member.username}'s session is not logged in on :{port}")


def reply_token(port: int, jar: bench.CookieJar, topic_id: int) -> str:
    page = bench.fetch(port, "GET", f"/t/{topic_id}", jar=jar)
    parser = bench.FormParser()
    parser.feed(page.text)
    for form in parser.forms:
        if form.action.endswith("/reply") and form.method == "post":
            for element in form.inputs:
                if element.get("name") == "csrf_token":
                    return element.get("value", "")
    raise bench.LoginFailed(f"/t/{topic_id} (HTTP {page.status}) has no reply form with a token")


# --- one set-up ------------------------------------------------------------------------------


@dataclass
class Settings:
    posts: int
    duration: int
    warmup: int
    connections: int
    generators: int
    workers: int
    timeout: float
    pg_url: str
    redis_url: str
    seed: int


@dataclass
class Outcome:
    setup: str
    title: str
    requests: int = 0
    rps: float | None = None
    latency: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    posts: dict[str, Any] = field(default_factory=dict)
    memory: list[dict[str, Any]] = field(default_factory=list)
    cpu: dict[str, Any] = field(default_factory=dict)
    loadavg: dict[str, list[str]] = field(default_factory=dict)
    database: str = ""
    index: str = ""
    skipped: str | None = None


def prepare_sqlite(settings: Settings, out: Path) -> str:
    """A fresh copy of the filled SQLite file (bench/fill.py checkpoints it into one file)."""
    database = out / "mixed" / "sqlite.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(out / f"bench-{settings.posts}.db", database)
    return f"sqlite:///{database}"


def prepare_index(
    setup: Setup,
    settings: Settings,
    out: Path,
    manifest: dict[str, Any],
    env: dict[str, str],
    instance: Path,
    init_log: Path,
) -> str:
    """Make sure the copy's search index is complete before the load; says how."""
    if setup.search == "whoosh":
        cache = out / "mixed" / f"whoosh-{settings.posts}"
        stamp = cache / "stamp.json"
        target = instance / "search"
        shutil.rmtree(target, ignore_errors=True)
        cached = load_stamp(stamp) == stamp_of(manifest) and (cache / "index").is_dir()
        if cached:
            shutil.copytree(cache / "index", target)
        started = time.monotonic()
        forum_command(env, "init", log_path=init_log)
        seconds = time.monotonic() - started
        if not cached:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.copytree(target, cache / "index")
            stamp.write_text(json.dumps(stamp_of(manifest)), encoding="utf-8")
            return f"whoosh index built by `forum init` in {seconds:.0f} s (now cached)"
        return "whoosh index from the cache, checked by `forum init`"
    forum_command(env, "init", log_path=init_log)
    return "postgres index in the template database, checked by `forum init`"


def prepare_postgres_template(
    settings: Settings, out: Path, manifest: dict[str, Any], template_url: str, work: Path
) -> None:
    """`forum reindex` (postgres backend) in the filled database, once per fill."""
    stamp = out / "mixed" / f"pg-search-{settings.posts}.json"
    if load_stamp(stamp) == stamp_of(manifest):
        return
    log(f"building the postgres search index of {settings.posts:,} posts (once per fill) ...")
    env = bench.forum_env(
        work,
        template_url,
        0,
        instance=work / "reindex-instance",
        extra={"FORUM_SEARCH_BACKEND": "postgres"},
    )
    started = time.monotonic()
    forum_command(env, "reindex", log_path=work / "reindex.log")
    log(f"postgres search index built in {time.monotonic() - started:.0f} s")
    stamp.write_text(json.dumps(stamp_of(manifest)), encoding="utf-8")


def unreachable_postgres(url: str) -> str | None:
    """Why the PostgreSQL server cannot be used (None: it can)."""
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure: the set-up is skipped, said why
        where = make_url(url).render_as_string()
        return f"PostgreSQL at {where} unreachable ({exc.__class__.__name__})"
    finally:
        engine.dispose()
    return None


def unreachable_redis(url: str) -> str | None:
    """Why Redis cannot be used (None: it can)."""
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - as above
        return f"Redis at {url} unreachable ({exc.__class__.__name__})"
    return None


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def run_setup(
    setup: Setup, settings: Settings, out: Path, manifest: dict[str, Any], database_url: str
) -> Outcome:
    outcome = Outcome(setup=setup.key, title=setup.title)
    work = out / "mixed" / setup.key
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    outcome.database = make_url(database_url).render_as_string(hide_password=True)
    outcome.loadavg["start"] = Path("/proc/loadavg").read_text().split()[:3]

    extra = {"FORUM_SEARCH_BACKEND": setup.search}
    if setup.redis:
        flush_redis(settings.redis_url)
        extra["FORUM_REDIS_URL"] = settings.redis_url
    secret = secrets.token_urlsafe(32)
    ports = [bench.free_port() for _ in range(setup.servers)]
    envs = [
        bench.forum_env(
            work,
            database_url,
            port,
            instance=work / f"instance-{n + 1}",
            secret_key=secret,
            extra=extra,
        )
        for n, port in enumerate(ports)
    ]
    outcome.index = prepare_index(
        setup, settings, out, manifest, envs[0], work / "instance-1", work / "logs" / "init.log"
    )
    log(f"{setup.key}: {outcome.index}")
    members = manifest["members"]
    before = count_posts(database_url, "-", members)["total"]
    marker = f"mixed-{secrets.token_hex(4)}"

    with bench.managed_processes() as processes:
        servers = []
        for n, (port, env) in enumerate(zip(ports, envs, strict=True)):
            log_path = work / "logs" / f"server-{n + 1}.log"
            proc = processes.start(
                f"forum {n + 1}",
                bench.gunicorn_argv(port, settings.workers, ROOT, "wsgi:app"),
                env=env,
                log_path=log_path,
            )
            servers.append((proc, port, log_path))
        for proc, port, log_path in servers:
            bench.wait_until_up(port, "/", proc, log_path)
        log(f"{setup.key}: serving on {', '.join(f':{p}' for p in ports)}")

        sessions = []
        for n, name in enumerate(members):
            port = ports[n % len(ports)]  # logged in on one server, used on every one
            jar = bench.login(port, name, manifest["password"])
            token = reply_token(port, jar, manifest["topic_id"])
            sessions.append(Member(name, jar.header(), token))
        for member in sessions:
            for port in ports:  # the session works on every server, not just its own
                check_logged_in(port, member)
        # Topic and board ids of the fill (ids 1..topics, dense).
        topic_ids = list(range(1, manifest["counts"]["topics"] + 1))
        now = time.monotonic()
        plan = Plan(
            ports=ports,
            members=sessions,
            topic_ids=topic_ids,
            board_ids=list(manifest["board_ids"]),
            marker=marker,
            seed=settings.seed,
            start=now + 1.0,
            measure_from=now + 1.0 + settings.warmup,
            stop_at=now + 1.0 + settings.warmup + settings.duration,
            timeout=settings.timeout,
        )
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        per = [settings.connections // settings.generators] * settings.generators
        for i in range(settings.connections % settings.generators):
            per[i] += 1
        generators = []
        first = 0
        for count in per:
            gen = context.Process(target=_generator_process, args=(plan, first, count, queue))
            gen.daemon = True  # stops by itself at plan.stop_at; never outlives the run
            gen.start()
            generators.append(gen)
            first += count
        log(
            f"{setup.key}: load from {settings.connections} connections in "
            f"{settings.generators} processes: {settings.warmup} s warm-up, "
            f"{settings.duration} s measured"
        )

        def server_pids() -> list[int]:
            pids = []
            for proc, _port, _log in servers:
                pids += [proc.pid, *bench.children(proc.pid)]
            return pids

        time.sleep(max(0.0, plan.measure_from - time.monotonic()))
        gen_pids = [g.pid for g in generators if g.pid is not None]
        snap0 = (
            time.monotonic(),
            cpu_ticks(server_pids()),
            [cpu_ticks([p]) for p in gen_pids],
            bench._machine_ticks(),
        )
        time.sleep(max(0.0, plan.stop_at - time.monotonic()))
        snap1 = (
            time.monotonic(),
            cpu_ticks(server_pids()),
            [cpu_ticks([p]) for p in gen_pids],
            bench._machine_ticks(),
        )
        results = [queue.get(timeout=settings.timeout + 120) for _ in generators]
        for gen in generators:
            gen.join(timeout=30)
        outcome.memory = [server_memory(proc) for proc, _port, _log in servers]
        outcome.loadavg["end"] = Path("/proc/loadavg").read_text().split()[:3]

    latencies: dict[str, list[float]] = {k: [] for k in KINDS}
    acked = attempted = 0
    for result in results:
        acked += result["acked"]
        attempted += result["attempted"]
        for key, n in result["errors"].items():
            outcome.errors[key] = outcome.errors.get(key, 0) + n
        for kind in KINDS:
            latencies[kind] += result["latencies"][kind]
    every = [ms for kind in KINDS for ms in latencies[kind]]
    outcome.requests = len(every)
    outcome.rps = round(len(every) / settings.duration, 1)
    for kind, values in [*latencies.items(), ("all", every)]:
        outcome.latency[kind] = {
            "requests": len(values),
            "share": round(len(values) / max(len(every), 1), 3),
            "p50_ms": _round(percentile(values, 0.50)),
            "p99_ms": _round(percentile(values, 0.99)),
        }

    counted = count_posts(database_url, marker, members)
    outcome.posts = {
        "attempted": attempted,
        "acknowledged": acked,
        "in_database": counted["marked"],
        "new_rows": counted["total"] - before,
        "by_author": counted["by_author"],
        "lost": max(0, acked - counted["marked"]),
        "ok": counted["marked"] == acked == counted["total"] - before and not counted["strangers"],
    }

    wall = snap1[0] - snap0[0]
    tick = bench._TICK_MS
    server_ms = (snap1[1] - snap0[1]) * tick
    gen_ms = [(b - a) * tick for a, b in zip(snap0[2], snap1[2], strict=True)]
    busy_ms = (snap1[3][0] - snap0[3][0]) * tick
    measured = max(outcome.requests, 1)
    outcome.cpu = {
        "server_cores": round(server_ms / 1000 / wall, 2),
        "server_ms_per_request": round(server_ms / measured, 2),
        "generator_cores": round(sum(gen_ms) / 1000 / wall, 2),
        "generator_ms_per_request": round(sum(gen_ms) / measured, 2),
        "busiest_generator_cores": round(max(gen_ms, default=0) / 1000 / wall, 2),
        "others_cores": round(max(busy_ms - server_ms - sum(gen_ms), 0) / 1000 / wall, 2),
    }
    return outcome


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- the report ---------------------------------------------------------------------------


def fmt(value: Any, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def tables(report: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    summary = [
        [
            "set-up",
            "req/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "replies ok/in DB",
            "RSS MB (master + workers = sum)",
            "< 300 MB",
            "server cores",
            "server cpu ms/req",
            "generator cores",
            "others cores",
            "load avg",
        ]
    ]
    kinds = [["set-up", "kind", "requests", "share", "p50 ms", "p99 ms"]]
    for item in report["setups"]:
        if item["skipped"]:
            summary.append([item["title"], "skipped: " + item["skipped"]] + [""] * 11)
            continue
        lat = item["latency"]["all"]
        posts = item["posts"]
        memory = "; ".join(
            f"{m['master_mb']:.0f} + {' + '.join(f'{w:.0f}' for w in m['workers_mb'])}"
            f" = {m['total_mb']:.0f}"
            for m in item["memory"]
        )
        verdict = ", ".join("OK" if m["ok"] else "MISS" for m in item["memory"])
        cpu = item["cpu"]
        summary.append(
            [
                item["title"],
                fmt(item["rps"], ".1f"),
                fmt(lat["p50_ms"], ".1f"),
                fmt(lat["p99_ms"], ".1f"),
                str(sum(item["errors"].values())),
                f"{posts['acknowledged']}/{posts['in_database']}" + ("" if posts["ok"] else " !"),
                memory,
                verdict,
                fmt(cpu["server_cores"], ".2f"),
                fmt(cpu.get("server_ms_per_request"), ".1f"),
                f"{cpu['generator_cores']:.2f} (max {cpu['busiest_generator_cores']:.2f}/proc)",
                fmt(cpu["others_cores"], ".2f"),
                " ".join(item["loadavg"].get("start", [])[:1] + item["loadavg"].get("end", [])[:1]),
            ]
        )
        for kind in [*KINDS, "all"]:
            row = item["latency"][kind]
            kinds.append(
                [
                    item["setup"] if kind == KINDS[0] else "",
                    kind,
                    f"{row['requests']:,}",
                    f"{row['share']:.0%}",
                    fmt(row["p50_ms"], ".1f"),
                    fmt(row["p99_ms"], ".1f"),
                ]
            )
    return summary, kinds


def plain(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i == 0 or not re.match(r"^[\d.,%-]", c or "x") else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def notes(report: dict[str, Any]) -> list[str]:
    lines = []
    size = report["settings"]["posts"]
    for item in report["setups"]:
        if item["skipped"]:
            continue
        for key, n in sorted(item["errors"].items()):
            lines.append(f"! {item['setup']}: {n} x {key}")
        posts = item["posts"]
        if not posts["ok"]:
            lines.append(
                f"! {item['setup']}: replies acknowledged {posts['acknowledged']}, in the "
                f"database {posts['in_database']} (new rows {posts['new_rows']}, lost "
                f"{posts['lost']})"
            )
        if item["cpu"]["busiest_generator_cores"] >= 0.8:
            lines.append(
                f"! {item['setup']}: a generator process used "
                f"{item['cpu']['busiest_generator_cores']:.2f} cores: near its one-core "
                "limit, it may be the bottleneck (raise --generators)"
            )
        for n, m in enumerate(item["memory"], 1):
            server = f" server {n}" if len(item["memory"]) > 1 else ""
            lines.append(
                f"{'OK  ' if m['ok'] else 'MISS'} {item['setup']}{server}: whole forum "
                f"(master + {len(m['workers_mb'])} workers) {m['total_mb']:.1f} MB VmRSS "
                f"(PSS {m['total_pss_mb']:.1f} MB; RssAnon {m.get('total_anon_mb', 0):.1f}, "
                f"RssFile {m.get('total_file_mb', 0):.1f}), target < {TARGET_FORUM_MB:.0f} MB at "
                f"{TARGET_POSTS:,} posts"
                + ("" if size == TARGET_POSTS else f" (this run: {size:,} posts, not the check)")
            )
    return lines


def write_markdown(report: dict[str, Any], path: Path) -> None:
    summary, kinds = tables(report)
    s = report["settings"]
    machine = report["machine"]
    text_ = [
        f"Mixed load (`bench/mixed.py`), {report['started_at']}: {s['posts']:,} posts, "
        f"{s['connections']} connections, {s['warmup']} s warm-up + {s['duration']} s "
        f"measured per set-up, gunicorn -w {s['workers']} (sync), {machine['cpus']} cores, "
        f"Python {machine['python']}; load average (1 min) at start/end of each set-up in "
        "the last column.",
        "",
        markdown(summary),
        "",
        markdown(kinds),
        "",
        *[f"- {line}" for line in notes(report)],
        "",
    ]
    path.write_text("\n".join(text_), encoding="utf-8")


def print_report(report: dict[str, Any]) -> None:
    summary, kinds = tables(report)
    print()
    print(plain(summary))
    print()
    print(plain(kinds))
    print()
    for line in notes(report):
        print(line)
    for item in report["setups"]:
        if not item["skipped"]:
            print(f"{item['setup']}: {item['index']}; database {item['database']}")


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, help="posts in the database (default 100,000)")
    parser.add_argument("--duration", type=int, help="measured seconds per set-up (60)")
    parser.add_argument("--warmup", type=int, help="seconds of discarded warm-up (10)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--generators", type=int, default=2, help="load generator processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated")
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG,
        help="a PostgreSQL server URL (its database name is replaced)",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/13",
        help="Redis for (c); its database is flushed first",
    )
    parser.add_argument("--quick", action="store_true", help="10k posts, 2 s + 8 s")
    parser.add_argument("--force-fill", action="store_true", help="rebuild the databases")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", type=Path, default=bench.BENCH / "out", help="output folder")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.setups.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SETUPS]
    if unknown:
        parser.error(f"unknown set-ups {unknown}; choose from {', '.join(SETUPS)}")
    settings = Settings(
        posts=args.posts or (10_000 if args.quick else TARGET_POSTS),
        duration=args.duration or (8 if args.quick else 60),
        warmup=args.warmup if args.warmup is not None else (2 if args.quick else 10),
        connections=args.connections,
        generators=max(1, min(args.generators, args.connections)),
        workers=args.workers,
        timeout=args.timeout,
        pg_url=args.pg_url,
        redis_url=args.redis_url,
        seed=args.seed,
    )
    out: Path = args.out.resolve()
    (out / "mixed").mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        },
        "settings": asdict(settings) | {"pg_url": make_url(args.pg_url).render_as_string()},
        "setups": [],
    }
    try:
        manifests: dict[str, dict[str, Any]] = {}
        missing: dict[str, str] = {}  # set-up -> why it cannot run here
        if "sqlite" in chosen:
            manifests["sqlite"], _ = bench.fill(out, None, args.force_fill, posts=settings.posts)
        pg_template = with_database(args.pg_url, f"forum_bench_{settings.posts}")
        if any(SETUPS[name].database == "postgres" for name in chosen):
            problem = unreachable_postgres(args.pg_url)
            if problem is None:
                manifests["postgres"], _ = bench.fill(
                    out, pg_template, args.force_fill, posts=settings.posts
                )
                prepare_postgres_template(
                    settings, out, manifests["postgres"], pg_template, out / "mixed"
                )
            for name in chosen:
                if problem and SETUPS[name].database == "postgres":
                    missing[name] = problem
        if "two-servers" in chosen and "two-servers" not in missing:
            problem = unreachable_redis(args.redis_url)
            if problem:
                missing["two-servers"] = problem
        for name in chosen:
            setup = SETUPS[name]
            if name in missing:
                log(f"{name}: skipped: {missing[name]}")
                report["setups"].append(
                    asdict(Outcome(setup=name, title=setup.title, skipped=missing[name]))
                )
                continue
            manifest = manifests[setup.database]
            if setup.database == "sqlite":
                url = prepare_sqlite(settings, out)
            else:
                url = with_database(args.pg_url, f"forum_bench_{settings.posts}_mixed")
                copy_postgres(pg_template, url)
            log(f"{name}: {setup.title} on {make_url(url).render_as_string()}")
            outcome = run_setup(setup, settings, out, manifest, url)
            report["setups"].append(asdict(outcome))
    except KeyboardInterrupt:
        log("interrupted; every process the run started has been stopped")
        return 130
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    (out / "mixed.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    write_markdown(report, out / "mixed.md")
    print_report(report)
    print(f"\nwritten: {out / 'mixed.json'}, {out / 'mixed.md'}")
    failed = any(
        s["errors"] or not s["posts"].get("ok") for s in report["setups"] if not s["skipped"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
