"""Counting events per key in a time window, shared by every worker.

Keys are HMACs of what they count (an IP address, a username) under a secret salt, so
the store never holds either in the clear. The store is the database by default and
Redis when FORUM_REDIS_URL is set.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select

from forum.database import write_intent
from forum.errors import RateLimited
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.security import ThrottleEvent

# Hashed addresses are kept for abuse handling at most this long.
RETENTION = timedelta(days=14)


class Store(Protocol):
    def count(self, key: str, window: int) -> int: ...

    def add(self, key: str, window: int, *, with_transaction: bool = False) -> None: ...


class DatabaseStore:
    """Events as rows; written on a connection of their own so they survive a rollback."""

    def count(self, key: str, window: int) -> int:
        since = utcnow() - timedelta(seconds=window)
        stmt = select(func.count()).where(
            ThrottleEvent.key == key, ThrottleEvent.created_at > since
        )
        # A plain read: on SQLite a BEGIN IMMEDIATE here would wait for the request's own
        # write transaction (a bearer request has one open already) until busy_timeout.
        reading = write_intent.set(False)
        try:
            with db.engine.connect() as conn:
                return int(conn.execute(stmt).scalar() or 0)
        finally:
            write_intent.reset(reading)

    def add(self, key: str, window: int, *, with_transaction: bool = False) -> None:
        now = utcnow()
        if with_transaction:
            # Saved with the caller's own transaction: for events counted on success.
            db.session.add(ThrottleEvent(key=key, created_at=now))
            return
        # Failures are counted on a connection of their own so that they survive the
        # rollback that follows. The caller must hold no write lock (SQLite) by now.
        with db.engine.begin() as conn:
            conn.execute(insert(ThrottleEvent).values(key=key, created_at=now))
            conn.execute(delete(ThrottleEvent).where(ThrottleEvent.created_at < now - RETENTION))


class RedisStore:
    """A sorted set per key, trimmed to the window; shared by several app servers."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)

    def count(self, key: str, window: int) -> int:
        now = time.time()
        name = f"forum:throttle:{key}"
        self.client.zremrangebyscore(name, 0, now - window)
        return int(self.client.zcard(name))

    def add(self, key: str, window: int, *, with_transaction: bool = False) -> None:
        now = time.time()
        name = f"forum:throttle:{key}"
        pipe = self.client.pipeline()
        pipe.zadd(name, {f"{now:.6f}:{secrets.token_hex(6)}": now})
        pipe.expire(name, window)
        pipe.execute()


class Throttle:
    """Limits on events per key; `enabled=False` (FORUM_RATELIMITS=off) lets all through."""

    def __init__(self, store: Store, salt: bytes, *, enabled: bool = True) -> None:
        self.store = store
        self.salt = salt
        self.enabled = enabled

    def key(self, kind: str, value: str) -> str:
        """The stored key for a raw value: never the value itself."""
        digest = hmac.new(self.salt, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}:{digest[:40]}"

    def check(self, keys: list[tuple[str, int]], window: int) -> None:
        """Raise `RateLimited` if any key has reached its limit within the window."""
        if not self.enabled:
            return
        for key, limit in keys:
            if self.store.count(key, window) >= limit:
                raise RateLimited(retry_after=window)

    def record(self, keys: list[str], window: int, *, with_transaction: bool = False) -> None:
        """Count one event under each key (with the caller's transaction, if asked)."""
        if not self.enabled:
            return
        for key in keys:
            self.store.add(key, window, with_transaction=with_transaction)


LOGIN_WINDOW = 15 * 60
LOGIN_LIMIT_ACCOUNT = 10
LOGIN_LIMIT_IP = 30


def current() -> Throttle:
    """The app's throttle (set up in `create_app`)."""
    from flask import current_app

    throttle: Throttle = current_app.extensions["forum_throttle"]
    return throttle


def login_keys(username: str, ip: str | None) -> tuple[str, str | None]:
    """The throttle keys for a login attempt: the account, and the client address."""
    throttle = current()
    return throttle.key("acct", username.strip().lower()), (throttle.key("ip", ip) if ip else None)


def check_login(username: str, ip: str | None) -> None:
    """Raise `RateLimited` once an account or an address has too many recent failures."""
    account, address = login_keys(username, ip)
    keys = [(account, LOGIN_LIMIT_ACCOUNT)]
    if address:
        keys.append((address, LOGIN_LIMIT_IP))
    current().check(keys, LOGIN_WINDOW)


def record_login_failure(username: str, ip: str | None) -> None:
    """Count a failed login (or recovery attempt) against the account and the address."""
    account, address = login_keys(username, ip)
    current().record([k for k in (account, address) if k], LOGIN_WINDOW)


RESET_WINDOW = 60 * 60
RESET_LIMIT_ADDRESS = 3
RESET_LIMIT_IP = 20


def check_and_record_reset(address: str, ip: str | None) -> None:
    """Allow a few reset mails per address and per client an hour; count this one."""
    throttle = current()
    keys = [(throttle.key("reset", address), RESET_LIMIT_ADDRESS)]
    if ip:
        keys.append((throttle.key("reset-ip", ip), RESET_LIMIT_IP))
    throttle.check(keys, RESET_WINDOW)
    throttle.record([key for key, _limit in keys], RESET_WINDOW, with_transaction=True)
