"""Configuration: defaults, `FORUM_*` environment overrides and `instance/forum.cfg`."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from forum.instance import ensure_private_folder

ENV_KEYS = (
    "DATABASE_URL",
    "INSTANCE_PATH",
    "SECRET_KEY",
    "SEARCH_BACKEND",
    "REDIS_URL",
    "MAIL_URL",
    "MAIL_FROM",
    "MAIL_CA_FILE",
    "RATELIMITS",
    "TRUSTED_PROXIES",
    "BASE_URL",
    "BACKUP_KEEP",
    "MAIL_LOG_LINKS",
    "REMINDER_SENDERS",
)


class BaseConfig:
    """Embedded defaults: SQLite and Whoosh in the instance folder, mail to the log."""

    DEBUG = False
    TESTING = False
    FORUM_DATABASE_URL: str | None = None
    FORUM_SECRET_KEY: str | None = None
    FORUM_SEARCH_BACKEND = "whoosh"
    # The Whoosh index's folder (default: <instance>/search); in memory for tests.
    FORUM_SEARCH_PATH: str | None = None
    FORUM_SEARCH_MEMORY = False
    FORUM_REDIS_URL: str | None = None
    FORUM_MAIL_URL: str | None = None
    FORUM_MAIL_FROM = "forum@localhost"
    # A PEM file of the CA that signed the mail server's certificate, if it is a private
    # one; by default the system's CAs are trusted (the certificate is always verified).
    FORUM_MAIL_CA_FILE: str | None = None
    # Without FORUM_MAIL_URL mail goes to the log: the recipient as a keyed hash, links
    # (which carry reset and confirmation tokens) hidden unless this is 1 (first set-up).
    FORUM_MAIL_LOG_LINKS = False
    # How reminders leave the forum besides the notifications page (forum.senders): a
    # comma-separated list of `email`, `log`, entry-point names or module:Class paths.
    FORUM_REMINDER_SENDERS = "email"
    FORUM_RATELIMITS = "on"
    # Check every API answer against its declared model (tests; a cost in production).
    FORUM_CHECK_CONTRACTS = False
    # Comma-separated addresses of reverse proxies whose X-Forwarded-For we believe.
    FORUM_TRUSTED_PROXIES = ""
    # Used in links printed by the CLI and in e-mails; pages use relative links.
    FORUM_BASE_URL = "http://127.0.0.1:8000"
    FORUM_THEME = "default"
    # Rendered topic pages kept per worker (forum.fragments); 4 MiB holds ~250 pages.
    FORUM_FRAGMENT_CACHE_BYTES = 4 * 1024 * 1024
    # `forum backup --scheduled` (the daily timer) keeps this many of its archives.
    FORUM_BACKUP_KEEP = 7
    FORUM_POSTS_PER_PAGE = 20
    FORUM_TOPICS_PER_PAGE = 30
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    # FULL: a committed post survives a power cut. Tests use OFF for speed.
    FORUM_SQLITE_SYNCHRONOUS = "FULL"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # "Remember me" lasts this long from the login, however active (the server-side
    # session ends then too: forum.services.sessions).
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    # A session that is not remembered ends after this long without a request.
    FORUM_SESSION_IDLE = timedelta(days=14)
    WTF_CSRF_TIME_LIMIT = None  # a tab left open overnight must still post
    MAX_CONTENT_LENGTH = 1024 * 1024


class TestConfig(BaseConfig):
    """Fast and deterministic; the test fixtures set the database URL and instance path."""

    TESTING = True
    FORUM_SECRET_KEY = "test-secret-key"  # noqa: S105 - tests only
    FORUM_RATELIMITS = "off"
    FORUM_SQLITE_SYNCHRONOUS = "OFF"
    FORUM_SEARCH_MEMORY = True
    WTF_CSRF_ENABLED = False
    # Password hashing dominates test time; scrypt stays, with the cheapest cost.
    FORUM_PASSWORD_METHOD = "scrypt:1024:8:1"  # noqa: S105 - a method name, not a secret
    # Every API answer is checked against its declared contract (an exception if not).
    FORUM_CHECK_CONTRACTS = True


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a `.env`-style file: KEY=value lines, `#` comments, optional quotes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip().removeprefix("export ").strip()] = value
    return values


def instance_path_from_env() -> Path:
    """The instance folder: FORUM_INSTANCE_PATH or ./instance, made absolute."""
    return Path(os.environ.get("FORUM_INSTANCE_PATH", "instance")).resolve()


def overrides(instance_path: Path) -> dict[str, str]:
    """FORUM_* settings from instance/forum.cfg, then the environment (which wins)."""
    found: dict[str, str] = {}
    file_values = read_env_file(instance_path / "forum.cfg")
    for key in ENV_KEYS:
        name = f"FORUM_{key}"
        if name in os.environ:
            found[name] = os.environ[name]
        elif name in file_values:
            found[name] = file_values[name]
    return found


def load_or_create_secret_key(instance_path: Path) -> str:
    """Read instance/secret_key, creating it (mode 0600) if missing; safe across workers."""
    path = instance_path / "secret_key"
    if path.is_file():
        return path.read_text(encoding="ascii").strip()
    ensure_private_folder(instance_path)
    # Write a private temporary file, then hard-link it into place: the link either
    # appears complete or fails because another process won, so nobody reads half a key.
    tmp = instance_path / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text(encoding="ascii").strip()
