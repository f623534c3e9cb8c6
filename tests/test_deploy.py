"""The server install: the systemd units `forum install-systemd` writes, and the reverse
proxy's configuration (deploy/Caddyfile) keeping slow and idle clients away from
gunicorn's sync workers.

TLS is not tested: Caddy's automatic certificates need a public name and the internet.
The proxy test runs the documented Caddyfile with its site address changed to plain
HTTP on a loopback port; everything else in it is as shipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from gunicorn.config import KNOWN_SETTINGS

from forum import create_app
from forum.cli import DEPLOY_PATH
from forum.cli import UNITS
from forum.cli import main
from forum.cli import render_units
from forum.extensions import db
from tests.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent
FORUM = Path(sys.executable).parent / "forum"
_NO_CONTROL_SOCKET = (
    ["--no-control-socket"]
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS)
    else []
)


def _settings(unit: str) -> dict[str, list[str]]:
    """A unit file's `Key=value` lines (a key may repeat)."""
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def _render(tmp_path: Path, user: str = "forum") -> dict[str, str]:
    return render_units(
        root=ROOT,
        forum=FORUM,
        user=user,
        env_file=tmp_path / "forum.env",
        port=8000,
        workers=2,
    )


def test_the_web_service_runs_gunicorn_as_the_forum_user_on_loopback(tmp_path):
    web = _settings(_render(tmp_path)["forum.service"])
    assert web["User"] == ["forum"] and web["Group"] == ["forum"]
    assert web["UMask"] == ["0077"]
    assert web["Restart"] == ["always"]
    assert web["ExecStartPre"] == [f"{FORUM} init"]
    assert web["ExecStart"] == [f"{FORUM} serve --host 127.0.0.1 --port 8000 --workers 2"]
    assert web["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert web["EnvironmentFile"] == [str(tmp_path / "forum.env")]
    assert web["WorkingDirectory"] == [str(ROOT)]
    assert f"FORUM_INSTANCE_PATH={ROOT}/instance" in web["Environment"]
    assert not any("@" in value for values in web.values() for value in values)


@pytest.mark.parametrize(
    ("job", "command", "schedule"),
    [
        ("outbox", "outbox drain", "*:0/5"),
        ("trust", "trust", "*-*-* 03:30:00"),
        ("prune", "prune", "*-*-* 04:10:00"),
        ("backup", "backup --scheduled", "*-*-* 02:50:00"),
    ],
)
def test_each_periodic_job_has_a_timer_and_a_oneshot_service(tmp_path, job, command, schedule):
    units = _render(tmp_path)
    timer = _settings(units[f"forum-{job}.timer"])
    service = _settings(units[f"forum-{job}.service"])
    assert timer["OnCalendar"] == [schedule] and timer["Persistent"] == ["true"]
    assert timer["WantedBy"] == ["timers.target"]
    assert service["Type"] == ["oneshot"]
    assert service["ExecStart"] == [f"{FORUM} {command}"]
    assert service["User"] == ["forum"] and service["UMask"] == ["0077"]
    assert service["EnvironmentFile"] == web_env(units)
    # Spread over a window, not on the minute with every other machine's timers.
    assert timer.get("RandomizedDelaySec")


def test_the_backup_timer_runs_daily_behind_the_web_workers(tmp_path):
    units = _render(tmp_path)
    service = _settings(units["forum-backup.service"])
    assert service["Nice"] == ["10"] and service["IOSchedulingPriority"] == ["7"]
    assert f"FORUM_INSTANCE_PATH={ROOT}/instance" in service["Environment"]
    assert _settings(units["forum-backup.timer"])["RandomizedDelaySec"] == ["30min"]


def web_env(units: dict[str, str]) -> list[str]:
    return _settings(units["forum.service"])["EnvironmentFile"]


def test_systemd_accepts_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the units were not verified by systemd")
    (tmp_path / "forum.env").write_text("")
    # root exists everywhere; systemd-analyze checks the user only when it runs the unit.
    for name, text in _render(tmp_path, user="root").items():
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings; any about our files is a mistake.
    ours = [line for line in result.stderr.splitlines() if str(tmp_path) in line]
    assert ours == []


def test_install_systemd_prints_the_units_and_the_settings():
    result = CliRunner().invoke(main, ["install-systemd", "--domain", "talk.example.net"])
    assert result.exit_code == 0, result.output
    for name in UNITS:
        assert f"# ----- /etc/systemd/system/{name}\n" in result.output
    assert "FORUM_BASE_URL=https://talk.example.net\n" in result.output
    assert "FORUM_TRUSTED_PROXIES=127.0.0.1\n" in result.output


def test_install_systemd_writes_the_units_and_keeps_an_existing_settings_file(tmp_path):
    env_file = tmp_path / "etc" / "forum.env"
    args = ["install-systemd", "--write", "--unit-dir", str(tmp_path), "--env-file", str(env_file)]
    result = CliRunner().invoke(main, args)
    if os.geteuid() != 0:
        assert result.exit_code == 1 and "--write needs root" in result.output
        assert not env_file.exists()
        return
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == sorted(UNITS)
    next_step = result.output.strip().splitlines()[-1]
    assert all(name in next_step for name in UNITS if name.endswith(".timer"))
    assert (tmp_path / "forum.service").read_text() == _render(tmp_path / "etc")["forum.service"]
    assert env_file.stat().st_mode & 0o777 == 0o600
    env_file.write_text("FORUM_BASE_URL=https://mine.example\n")
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and f"kept {env_file}" in again.output
    assert env_file.read_text() == "FORUM_BASE_URL=https://mine.example\n"


def test_caddy_accepts_the_caddyfile(tmp_path):
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (Debian package `caddy`; .ci/run installs it)")
    result = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(DEPLOY_PATH / "Caddyfile")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_nginx_accepts_the_alternative_configuration(tmp_path):
    nginx = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )
    if nginx is None:
        pytest.skip("nginx is not installed: deploy/nginx.conf was not checked")
    # The site file as /etc/nginx/sites-enabled/ would include it, in a minimal nginx.conf.
    (tmp_path / "logs").mkdir()
    main_conf = tmp_path / "nginx.conf"
    main_conf.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/logs/error.log;\n"
        f"events {{}}\nhttp {{\n  access_log off;\n  include {DEPLOY_PATH / 'nginx.conf'};\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main_conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


# --- Slow and idle clients behind the documented proxy -------------------------------


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing answers on port {port}:\n{log.read_text()}")


def _get(port: int, timeout: float) -> tuple[int, float]:
    """GET / on a new connection: the status and the seconds the answer took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        head = conn.recv(64)
    return int(head.split()[1]), time.monotonic() - started


def _caddyfile(proxy_port: int, app_port: int) -> str:
    """deploy/Caddyfile on loopback: plain HTTP, no admin endpoint (tests run side by side)."""
    text = (DEPLOY_PATH / "Caddyfile").read_text()
    adapted = (
        text.replace("{\n\tservers {", "{\n\tadmin off\n\tservers {", 1)
        .replace("forum.example.org {", f"http://127.0.0.1:{proxy_port} {{", 1)
        .replace("reverse_proxy 127.0.0.1:8000", f"reverse_proxy 127.0.0.1:{app_port}", 1)
    )
    assert adapted.count(str(app_port)) == 1 and "admin off" in adapted
    return adapted


_SLOW_HEADERS = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 10_000
# The headers at once, then a body that never arrives in full (a slow upload).
_SLOW_BODY = (
    b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\n"
)


class _Clients:
    """Idle connections that never send a byte; slowloris clients that send their request
    line and headers one byte every 0.2 s and never finish; slow uploads that send
    their headers whole, then their body one byte every 0.2 s."""

    def __init__(self, port: int, *, idle: int, slow: int, uploads: int) -> None:
        self.stop = threading.Event()
        self.sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle)]
        self.threads = [
            threading.Thread(target=self._trickle, args=(port, b"", _SLOW_HEADERS))
            for _ in range(slow)
        ] + [
            threading.Thread(target=self._trickle, args=(port, _SLOW_BODY, b"a" * 10_000))
            for _ in range(uploads)
        ]
        for thread in self.threads:
            thread.start()
        time.sleep(0.5)  # the slow clients are all connected and trickling

    def _trickle(self, port: int, start: bytes, trickled: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(start)
            for byte in trickled:
                if self.stop.wait(0.2):
                    return
                try:
                    conn.send(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(5)
        for conn in self.sockets:
            conn.close()


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter, or the proxy found on PATH
            args,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_slow_and_idle_clients_do_not_reach_gunicorn_behind_caddy(backend, tmp_path, monkeypatch):
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed (Debian package `caddy`; .ci/run installs it)")
    env = {
        **os.environ,
        "FORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'forum.db'}",
        "FORUM_INSTANCE_PATH": str(tmp_path / "instance"),
        "FORUM_SECRET_KEY": "a test secret key that is long enough",
        "FORUM_BASE_URL": "http://forum.example",
        "FORUM_TRUSTED_PROXIES": "127.0.0.1",
        "FORUM_RATELIMITS": "off",
        "PYTHONPATH": str(ROOT),
        # Caddy keeps its state (certificates, autosaved config) under these.
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    for key, value in env.items():
        if key.startswith("FORUM_"):
            monkeypatch.setenv(key, value)
    setup = create_app()
    with setup.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()

    app_port, proxy_port = free_port(), free_port()
    config = tmp_path / "Caddyfile"
    config.write_text(_caddyfile(proxy_port, app_port))
    gunicorn = _start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            *_NO_CONTROL_SOCKET,
            "--bind",
            f"127.0.0.1:{app_port}",
            "wsgi:app",
        ],
        env,
        tmp_path / "gunicorn.log",
    )
    proxy = _start(
        [caddy, "run", "--adapter", "caddyfile", "--config", str(config)],
        env,
        tmp_path / "caddy.log",
    )
    try:
        _wait_for_port(app_port, gunicorn, tmp_path / "gunicorn.log")
        _wait_for_port(proxy_port, proxy, tmp_path / "caddy.log")
        assert _get(proxy_port, timeout=10)[0] == 200  # and the workers are warm

        clients = _Clients(proxy_port, idle=200, slow=8, uploads=4)
        try:
            # Answered at all is the point (a frozen gunicorn answers nobody until the
            # slow clients give up, 30 s and more); how fast is for benchmarks, not here.
            for _ in range(5):
                status, _seconds = _get(proxy_port, timeout=5)
                assert status == 200
        finally:
            clients.close()

        # The controls: against gunicorn alone, two of either kind take both workers.
        for idle, slow, uploads in ((2, 0, 0), (0, 2, 0), (0, 0, 2)):
            clients = _Clients(app_port, idle=idle, slow=slow, uploads=uploads)
            try:
                with pytest.raises(TimeoutError):
                    _get(app_port, timeout=1.0)
            finally:
                clients.close()
    finally:
        _stop(proxy)
        _stop(gunicorn)
