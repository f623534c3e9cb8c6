"""Benchmark the forum with wrk against a bare baseline; print a table, write JSON.

What it does, in order (everything on 127.0.0.1, every process stopped at the end):

1. fills or reuses the benchmark database (`bench/fill.py`) in bench/out/;
2. writes an instance folder (bench/out/instance) and starts the forum with gunicorn
   (2 workers) and the baseline (`bench/baseline.py`, 2 workers) on free ports;
3. logs in as `benchuser` through the real login form to get a real session cookie;
4. for each page (board index, board page 1 and 50, a topic of 20 posts), as a member
   and as a guest, runs wrk once to warm up (discarded) and once to measure;
5. measures the baseline's topic page the same way, before and after the forum;
6. prints req/s, p50 and p99 per page, each as a ratio to the baseline, the RSS of the
   gunicorn workers and the HTML size of the topic page, and writes bench/out/results.json.

    .venv/bin/python bench/run.py            # the full run (make bench), about 5 minutes
    .venv/bin/python bench/run.py --quick    # a smoke test with 5 s runs
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
# Sent on every request, login included: Flask-Login's session protection hashes the
# User-Agent, and a mismatch would rewrite the session cookie on every response.
USER_AGENT = "forum-bench/1"

# The targets of issue 2, "Benchmark".
TARGET_TOPIC_RATIO = 0.60
TARGET_P99_MS = 100.0
TARGET_RSS_MB = 70.0
TARGET_TOPIC_BYTES = 30_000


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- processes ----------------------------------------------------------------


class Processes:
    """Every process the run starts, each in its own process group, stopped together."""

    def __init__(self) -> None:
        self._running: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        # Servers write to a log file; wrk's output is read through a pipe.
        output: Any = log_path.open("ab") if log_path is not None else subprocess.PIPE
        try:
            proc = subprocess.Popen(
                list(argv),
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C reaches only us, and we stop the whole group.
                start_new_session=True,
            )
        finally:
            if log_path is not None:
                output.close()
        self._running.append((name, proc))
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after `timeout`."""
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass  # already gone (wrk exits by itself)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            # Whatever is left of the group (a stuck gunicorn worker, say) goes now.
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        self._running = [(n, p) for n, p in self._running if p is not proc]

    def stop_all(self) -> None:
        for name, proc in reversed(self._running):
            log(f"stopping {name} (pid {proc.pid})")
            self.stop(proc)


def _raise_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def managed_processes() -> Iterator[Processes]:
    """Yield a process registry; stop everything in it on exit, error, Ctrl-C or SIGTERM."""
    processes = Processes()
    previous = {
        sig: signal.signal(sig, _raise_on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)
    }
    previous[signal.SIGINT] = signal.getsignal(signal.SIGINT)
    try:
        yield processes
    finally:
        # A second Ctrl-C while cleaning up must not leave servers behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            processes.stop_all()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- HTTP ---------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def set_cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]


class CookieJar:
    """Just enough of a cookie jar for one host: name -> value, expired ones dropped."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def update(self, response: Response) -> None:
        for raw in response.set_cookies():
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                expired = morsel["max-age"] == "0" or (
                    morsel["expires"] and "1970" in str(morsel["expires"])
                )
                if expired or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())


def fetch(
    port: int,
    method: str,
    path: str,
    *,
    jar: CookieJar | None = None,
    form: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Response:
    """One request to 127.0.0.1:`port`, without following redirects."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html"}
    if jar is not None and jar.cookies:
        headers["Cookie"] = jar.header()
    body = None
    if form is not None:
        body = urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        raw = conn.getresponse()
        response = Response(raw.status, raw.getheaders(), raw.read())
    finally:
        conn.close()
    if jar is not None:
        jar.update(response)
    return response


def wait_until_up(port: int, path: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Poll until the server answers anything at all (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{tail(log_path)}")
        try:
            fetch(port, "GET", path, timeout=5)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer on port {port} within 30 s:\n{tail(log_path)}")


# --- logging in -----------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    inputs: list[dict[str, str]] = field(default_factory=list)


class FormParser(HTMLParser):
    """Collect the forms of a page with their <input> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._current = Form(values.get("action", ""), values.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag in ("input", "button") and self._current is not None:
            values.setdefault("type", "text" if tag == "input" else "submit")
            self._current.inputs.append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


class LoginFailed(Exception):
    pass


def login(port: int, username: str, password: str) -> CookieJar:
    """Log in through the HTML form like a browser would; the jar holds the session."""
    jar = CookieJar()
    page = fetch(port, "GET", "/login", jar=jar)
    if page.status != 200:
        raise LoginFailed(f"GET /login answered {page.status}")
    parser = FormParser()
    parser.feed(page.text)
    form = next((f for f in parser.forms if any(i["type"] == "password" for i in f.inputs)), None)
    if form is None:
        raise LoginFailed("GET /login has no form with a password field")
    fields: dict[str, str] = {}
    named_user = False
    for element in form.inputs:
        name, kind = element.get("name", ""), element["type"].lower()
        if not name:
            continue
        if kind == "hidden":
            fields[name] = element.get("value", "")  # csrf_token, next, ...
        elif kind == "password":
            fields[name] = password
        elif kind in ("text", "email") and not named_user:
            fields[name] = username
            named_user = True
    action = urlsplit(form.action or "/login")
    target = (action.path or "/login") + (f"?{action.query}" if action.query else "")
    answer = fetch(port, "POST", target, jar=jar, form=fields)
    if answer.status not in (302, 303):
        raise LoginFailed(f"POST {target} answered {answer.status}, expected a redirect")
    home = fetch(port, "GET", "/", jar=jar)
    text = home.text.lower()
    if home.status != 200 or (username.lower() not in text and "log out" not in text):
        raise LoginFailed(f"after logging in, / answered {home.status} without the username")
    return jar


# --- wrk ------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value.strip())
    if match is None:
        raise ValueError(f"cannot read the time {value!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    avg_ms: float
    requests: int
    non_2xx_3xx: int
    socket_errors: int


def parse_wrk(output: str) -> WrkResult:
    """Requests/s, latency percentiles and errors from `wrk --latency` output."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise ValueError(f"unexpected wrk output (no {pattern!r}):\n{output}")
        return match

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        rps=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        p50_ms=to_ms(find(r"^\s+50%\s+(\S+)").group(1)),
        p99_ms=to_ms(find(r"^\s+99%\s+(\S+)").group(1)),
        avg_ms=to_ms(find(r"^\s+Latency\s+(\S+)").group(1)),
        requests=int(find(r"^\s+(\d+) requests in").group(1)),
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


@dataclass
class Settings:
    duration: int
    warmup: int
    connections: int
    threads: int
    workers: int


def run_wrk(
    processes: Processes, url: str, seconds: int, settings: Settings, cookie: str | None
) -> str:
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    argv = [
        wrk,
        f"-t{settings.threads}",
        f"-c{settings.connections}",
        f"-d{seconds}s",
        "--latency",
        # wrk's default 2 s would drop slow responses from the percentiles.
        "--timeout",
        "10s",
        "-H",
        f"User-Agent: {USER_AGENT}",
    ]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    proc = processes.start("wrk", [*argv, url])
    try:
        out, _ = proc.communicate(timeout=seconds + 60)
    finally:
        processes.stop(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out.decode(errors='replace')}")
    return out.decode(errors="replace")


# --- one measurement ------------------------------------------------------------


@dataclass
class Measurement:
    page: str
    role: str
    path: str
    status: int | None = None
    bytes: int | None = None
    sets_cookie: bool = False
    result: WrkResult | None = None
    skipped: str | None = None
    ratio: float | None = None
    cpu: CpuUse | None = None
    warning: str | None = None
    # Baseline CPU per request / this page's: the ratio with the machine's noise removed.
    cpu_ratio: float | None = None


def measure(
    processes: Processes,
    server: subprocess.Popen[bytes],
    port: int,
    page: str,
    role: str,
    path: str,
    settings: Settings,
    jar: CookieJar | None,
    expect: str | None = None,
) -> Measurement:
    """Check the page answers 200 (with `expect` in it), warm up, then measure with wrk."""
    item = Measurement(page=page, role=role, path=path)
    # A copy: the check must not change the cookie that wrk sends.
    probe_jar = CookieJar()
    if jar is not None:
        probe_jar.cookies = dict(jar.cookies)
    first = fetch(port, "GET", path, jar=probe_jar)
    item.status, item.bytes = first.status, len(first.body)
    item.sets_cookie = bool(first.set_cookies())
    if first.status != 200:
        where = first.header("Location")
        item.skipped = f"HTTP {first.status}" + (f" -> {where}" if where else "")
        log(f"{page} as {role}: {item.skipped}, not measured")
        return item
    if expect is not None and expect not in first.text:
        item.warning = f"the page does not contain {expect!r}"
        log(f"{page} as {role}: warning: {item.warning}")
    url = f"http://{HOST}:{port}{path}"
    cookie = jar.header() if jar is not None else None
    log(f"{page} as {role}: warm-up {settings.warmup} s, then {settings.duration} s")
    if settings.warmup > 0:
        run_wrk(processes, url, settings.warmup, settings, cookie)
    before = CpuSnapshot.take(server)
    output = run_wrk(processes, url, settings.duration, settings, cookie)
    item.result = parse_wrk(output)
    item.cpu = CpuSnapshot.take(server).since(before, item.result.requests)
    return item


# --- CPU accounting ----------------------------------------------------------------
# Requests/s on a shared 2-core machine move with whatever else runs. The server's own
# CPU time per request hardly does, so it is recorded next to every measurement, with
# the share of the machine that other processes took meanwhile.

_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _process_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


@dataclass
class CpuUse:
    server_ms_per_request: float
    server_cores: float
    wrk_cores: float
    others_cores: float


@dataclass
class CpuSnapshot:
    at: float
    server: int
    wrk: float
    busy: int
    total: int

    @classmethod
    def take(cls, master: subprocess.Popen[bytes]) -> CpuSnapshot:
        pids = [master.pid, *children(master.pid)]
        # wrk has been waited for by then: its CPU time is in our children's times.
        times = os.times()
        busy, total = _machine_ticks()
        return cls(
            at=time.monotonic(),
            server=sum(_process_ticks(pid) for pid in pids),
            wrk=(times.children_user + times.children_system) * 1000,
            busy=busy,
            total=total,
        )

    def since(self, before: CpuSnapshot, requests: int) -> CpuUse:
        wall_ms = (self.at - before.at) * 1000
        server_ms = (self.server - before.server) * _TICK_MS
        wrk_ms = self.wrk - before.wrk
        busy_ms = (self.busy - before.busy) * _TICK_MS
        return CpuUse(
            server_ms_per_request=round(server_ms / max(requests, 1), 3),
            server_cores=round(server_ms / wall_ms, 2),
            wrk_cores=round(wrk_ms / wall_ms, 2),
            others_cores=round(max(busy_ms - server_ms - wrk_ms, 0) / wall_ms, 2),
        )


# --- memory -----------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """A process's resident memory in MB from /proc: all of it (VmRSS), or only its
    private memory (RssAnon; VmRSS also counts shared pages of mapped files)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def worker_memory(master: subprocess.Popen[bytes]) -> dict[str, Any]:
    pids = children(master.pid)
    return {
        "master_mb": rss_mb(master.pid),
        "workers_mb": [mb for mb in (rss_mb(pid) for pid in pids) if mb is not None],
        "workers_private_mb": [
            mb for mb in (rss_mb(pid, "RssAnon") for pid in pids) if mb is not None
        ],
    }


# --- the run ----------------------------------------------------------------------


def fill(
    out: Path, url: str | None, force: bool, *, posts: int | None = None
) -> tuple[dict[str, Any], bool]:
    """Run bench/fill.py; returns its manifest and whether the database was reused.
    `posts`: another size than fill.py's default (its own file, or manifest for `url`)."""
    argv = [sys.executable, str(BENCH / "fill.py")]
    size = "" if posts is None else f"-{posts}"
    if posts is not None:
        argv += ["--posts", str(posts)]
    if url:
        manifest = out / f"fill-forum{size}.json"
        argv += ["--url", url, "--manifest", str(manifest)]
    else:
        manifest = out / f"bench{size}.db.json"
        argv += ["--db", str(out / f"bench{size}.db"), "--manifest", str(manifest)]
    if force:
        argv.append("--force")
    before = manifest.stat().st_mtime_ns if manifest.exists() else None
    subprocess.run(argv, check=True, cwd=ROOT)
    data: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
    return data, before is not None and before == manifest.stat().st_mtime_ns


@functools.cache
def gunicorn_help() -> str:
    argv = [str(VENV_BIN / "gunicorn"), "--help"]
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def gunicorn_argv(port: int, workers: int, chdir: Path, app: str) -> list[str]:
    argv = [str(VENV_BIN / "gunicorn"), "--chdir", str(chdir), "-w", str(workers)]
    argv += ["-b", f"{HOST}:{port}", "--error-logfile", "-"]
    if "--no-control-socket" in gunicorn_help():
        # gunicorn >= 24 opens ~/.gunicorn/gunicorn.ctl; two servers would fight over it.
        argv.append("--no-control-socket")
    return [*argv, app]


def forum_env(
    out: Path,
    database_url: str,
    port: int,
    *,
    instance: Path | None = None,
    secret_key: str | None = None,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment for the forum; also written to the instance folder's forum.cfg.
    Two app servers of one forum share `secret_key` (bench/mixed.py); `extra` adds
    settings such as FORUM_SEARCH_BACKEND or FORUM_REDIS_URL."""
    instance = instance or out / "instance"
    instance.mkdir(parents=True, exist_ok=True)
    values = {
        "FORUM_DATABASE_URL": database_url,
        "FORUM_INSTANCE_PATH": str(instance),
        "FORUM_SECRET_KEY": secret_key or secrets.token_urlsafe(32),
        "FORUM_RATELIMITS": "off",
        "FORUM_BASE_URL": f"http://{HOST}:{port}",
        **(extra or {}),
    }
    cfg = "".join(
        f"{key}={value}\n" for key, value in values.items() if key != "FORUM_INSTANCE_PATH"
    )
    (instance / "forum.cfg").write_text(cfg, encoding="utf-8")
    # Start from a clean slate: no FORUM_* setting of the caller leaks into the run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
    env.update(values)
    return env


def wrk_version() -> str:
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else ""


def fmt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_report(report: dict[str, Any]) -> None:
    header = ("page", "role", "path", "HTTP", "bytes", "req/s", "p50 ms", "p99 ms", "vs base")
    rows = [(*header, "cpu ms/req", "cpu vs base", "others")]
    entries = [*report["pages"], *report["baseline"]["runs"]]
    for item in entries:
        res = item["result"] or {}
        cpu = item["cpu"] or {}
        errors = (res.get("non_2xx_3xx") or 0) + (res.get("socket_errors") or 0)
        rows.append(
            (
                item["page"],
                item["role"],
                item["path"],
                fmt(item["status"], "d"),
                fmt(item["bytes"], ",d"),
                fmt(res.get("rps"), ".1f") + ("!" if errors else ""),
                fmt(res.get("p50_ms"), ".1f"),
                fmt(res.get("p99_ms"), ".1f"),
                fmt(item["ratio"], ".0%"),
                fmt(cpu.get("server_ms_per_request"), ".2f"),
                fmt(item["cpu_ratio"], ".0%"),
                fmt(cpu.get("others_cores"), ".2f"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if column < 3 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print(
        "(cpu ms/req: CPU time of the server's processes per request; cpu vs base: the "
        "baseline's\n cpu ms/req over the page's; others: cores busy with unrelated "
        "processes during the run)"
    )
    for item in report["pages"]:
        if item["skipped"]:
            print(f"  not measured: {item['page']} as {item['role']}: {item['skipped']}")
        if item["warning"]:
            print(f"  ! {item['page']} as {item['role']}: {item['warning']}")
        res = item["result"] or {}
        if res.get("non_2xx_3xx") or res.get("socket_errors"):
            print(
                f"  ! {item['page']} as {item['role']}: {res['non_2xx_3xx']} non-2xx/3xx, "
                f"{res['socket_errors']} socket errors"
            )
    base = report["baseline"]
    print()
    runs = ", ".join(f"{r:.1f}" for r in base["rps_runs"])
    print(
        f"baseline req/s: {fmt(base['rps'], '.1f')} (runs: {runs}); "
        f"cpu ms/req: {fmt(base['cpu_ms_per_request'], '.3f')}"
    )
    memory = report["memory"]
    print(
        f"forum gunicorn workers RSS MB: {memory['forum']['workers_mb']} "
        f"(master {memory['forum']['master_mb']}); baseline workers: "
        f"{memory['baseline']['workers_mb']}"
    )
    fill_info = report["fill"]
    print(
        f"fill: {fill_info['seconds']:.1f} s"
        + (" (database reused)" if fill_info["reused"] else "")
        + f"; {fill_info['counts']}"
    )
    others = [p["cpu"]["others_cores"] for p in entries if p["cpu"]]
    if others and max(others) >= 0.25:
        print(
            f"! other processes kept up to {max(others):.2f} cores busy during the runs: "
            "req/s and latencies are noisy; cpu ms/req much less so."
        )
    print()
    print("targets (issue 2):")
    for name, target in report["targets"].items():
        verdict = {True: "ok  ", False: "MISS", None: "n/a "}[target["ok"]]
        print(f"  {verdict} {name}: {target['value']} (target {target['target']})")


def evaluate(report: dict[str, Any]) -> dict[str, Any]:
    pages = [p for p in report["pages"] if p["result"]]
    topic = next((p for p in pages if p["page"] == "topic" and p["role"] == "member"), None)
    topic_any = topic or next(
        (p for p in report["pages"] if p["page"] == "topic" and p["status"] == 200), None
    )
    p99 = max((p["result"]["p99_ms"] for p in pages), default=None)
    rss = report["memory"]["forum"]["workers_mb"]
    worst_rss = max(rss) if rss else None
    ratio = None if topic is None else topic["ratio"]
    return {
        "topic page req/s vs baseline (member)": {
            "value": None if ratio is None else f"{ratio:.0%}",
            "target": f">= {TARGET_TOPIC_RATIO:.0%}",
            "ok": None if ratio is None else ratio >= TARGET_TOPIC_RATIO,
        },
        "worst p99 over all pages": {
            "value": None if p99 is None else f"{p99:.1f} ms",
            "target": f"< {TARGET_P99_MS:.0f} ms",
            "ok": None if p99 is None else p99 < TARGET_P99_MS,
        },
        "largest gunicorn worker RSS": {
            "value": None if worst_rss is None else f"{worst_rss} MB",
            "target": f"< {TARGET_RSS_MB:.0f} MB",
            "ok": None if worst_rss is None else worst_rss < TARGET_RSS_MB,
        },
        "topic page HTML (20 posts)": {
            "value": None if topic_any is None else f"{topic_any['bytes']:,} bytes",
            "target": f"< {TARGET_TOPIC_BYTES:,} bytes",
            "ok": None if topic_any is None else topic_any["bytes"] < TARGET_TOPIC_BYTES,
        },
    }


def pages_to_measure(manifest: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, path, a string the page must contain) for each forum page measured."""
    board, topic = manifest["busy_board_id"], manifest["topic_id"]
    # A board page must list topics: page 50 would be empty with fewer than 50 pages.
    return [
        ("board index", "/", f'href="/b/{board}'),
        ("board page 1", f"/b/{board}", 'href="/t/'),
        ("board page 50", f"/b/{board}?page=50", 'href="/t/'),
        ("topic", f"/t/{topic}", "</article>"),
    ]


def run(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    out: Path = args.out.resolve()
    (out / "logs").mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    sqlite_manifest, reused = fill(out, None, args.force_fill)
    forum_manifest, forum_reused = sqlite_manifest, reused
    database_url = f"sqlite:///{out / 'bench.db'}"
    if args.url:
        forum_manifest, forum_reused = fill(out, args.url, args.force_fill)
        database_url = args.url
    if forum_manifest["topic_id"] != sqlite_manifest["topic_id"]:
        log("warning: the forum's and the baseline's topic ids differ")

    forum_port, base_port = free_port(), free_port()
    forum_log, base_log = out / "logs" / "forum.log", out / "logs" / "baseline.log"
    for log_file in (forum_log, base_log):
        log_file.write_text("", encoding="utf-8")
    report: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "wrk": wrk_version(),
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        },
        "settings": asdict(settings),
        "database": database_url.split("@")[-1],
        "fill": {
            "seconds": forum_manifest["fill_seconds"],
            "reused": forum_reused,
            "counts": forum_manifest["counts"],
        },
    }

    with managed_processes() as processes:
        forum = processes.start(
            "forum",
            gunicorn_argv(forum_port, settings.workers, ROOT, "wsgi:app"),
            env=forum_env(out, database_url, forum_port),
            log_path=forum_log,
        )
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}
        base_env["BENCH_DB"] = str(out / "bench.db")
        baseline = processes.start(
            "baseline",
            gunicorn_argv(base_port, settings.workers, BENCH, "baseline:app"),
            env=base_env,
            log_path=base_log,
        )
        topic_path = f"/t/{sqlite_manifest['topic_id']}"
        wait_until_up(forum_port, "/", forum, forum_log)
        wait_until_up(base_port, topic_path, baseline, base_log)
        log(f"forum on :{forum_port} (log {forum_log}), baseline on :{base_port}")

        jar: CookieJar | None = None
        login_error = None
        try:
            jar = login(forum_port, forum_manifest["username"], forum_manifest["password"])
            log(f"logged in as {forum_manifest['username']}: cookies {sorted(jar.cookies)}")
        except (LoginFailed, OSError) as exc:
            login_error = f"login failed: {exc}"
            log(login_error)

        baseline_runs = [
            measure(
                processes, baseline, base_port, "baseline topic", "-", topic_path, settings, None
            )
        ]
        measured: list[Measurement] = []
        for role in ("member", "guest"):
            for page, path, expect in pages_to_measure(forum_manifest):
                if role == "member" and jar is None:
                    measured.append(Measurement(page, role, path, skipped=login_error))
                    continue
                measured.append(
                    measure(
                        processes,
                        forum,
                        forum_port,
                        page,
                        role,
                        path,
                        settings,
                        jar if role == "member" else None,
                        expect,
                    )
                )
        report["memory"] = {"forum": worker_memory(forum)}
        baseline_runs.append(
            measure(
                processes, baseline, base_port, "baseline topic", "-", topic_path, settings, None
            )
        )
        report["memory"]["baseline"] = worker_memory(baseline)

    rps_runs = [m.result.rps for m in baseline_runs if m.result]
    base_rps = sum(rps_runs) / len(rps_runs) if rps_runs else None
    cpu_runs = [m.cpu.server_ms_per_request for m in baseline_runs if m.cpu]
    base_cpu = sum(cpu_runs) / len(cpu_runs) if cpu_runs else None
    for item in measured:
        if item.result and base_rps:
            item.ratio = round(item.result.rps / base_rps, 3)
        if item.cpu and base_cpu and item.cpu.server_ms_per_request:
            item.cpu_ratio = round(base_cpu / item.cpu.server_ms_per_request, 3)
    last = baseline_runs[-1]
    report["baseline"] = {
        "path": topic_path,
        "bytes": last.bytes,
        "rps": None if base_rps is None else round(base_rps, 1),
        "rps_runs": rps_runs,
        "cpu_ms_per_request": None if base_cpu is None else round(base_cpu, 3),
        "runs": [asdict(m) for m in baseline_runs],
    }
    report["pages"] = [asdict(m) for m in measured]
    report["targets"] = evaluate(report)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, help="seconds per measured run (default 20)")
    parser.add_argument("--warmup", type=int, help="seconds of discarded warm-up (default 5)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--quick", action="store_true", help="5 s runs, 1 s warm-up")
    parser.add_argument("--url", help="serve the forum from this database URL (PostgreSQL)")
    parser.add_argument("--force-fill", action="store_true", help="rebuild the database")
    parser.add_argument("--out", type=Path, default=BENCH / "out", help="output folder")
    args = parser.parse_args(argv)
    settings = Settings(
        duration=args.duration or (5 if args.quick else 20),
        warmup=args.warmup if args.warmup is not None else (1 if args.quick else 5),
        connections=args.connections,
        threads=args.threads,
        workers=args.workers,
    )
    if settings.connections < settings.threads:
        parser.error("--connections must be at least --threads")
    if not (shutil.which("wrk") or Path("/usr/bin/wrk").exists()):
        parser.error("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    try:
        report = run(args, settings)
    except KeyboardInterrupt:
        log("interrupted; every process the run started has been stopped")
        return 130
    results = args.out.resolve() / "results.json"
    results.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_report(report)
    print(f"\nwritten: {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
