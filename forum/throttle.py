"""Counting events per key in a time window, shared by every worker.

Keys are HMACs of what they count (an IP address, a username) under a secret salt, so
the store never holds either in the clear. The store is the database by default and
Redis when FORUM_REDIS_URL is set; while Redis cannot be reached, the database counts
instead (`Fallback`), so a Redis outage neither fails logins nor lifts the limits.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from forum.database import write_intent
from forum.errors import RateLimited
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.security import ThrottleEvent

# Hashed addresses are kept for abuse handling at most this long.
RETENTION = timedelta(days=14)
# A Redis that does not answer within this long counts as down (seconds).
REDIS_TIMEOUT = 0.5

log = logging.getLogger(__name__)


class Store(Protocol):
    def count(self, key: str, window: int) -> int: ...

    def add(self, key: str, window: int, *, with_transaction: bool = False) -> None: ...

    def reserve(self, key: str, window: int, now: float) -> tuple[str, list[float]]:
        """Count an event at `now` (Unix seconds), committed at once; its handle, and the
        times of every other event under the key in the window, this one not included."""
        ...

    def release(self, key: str, handle: str, *, with_transaction: bool = False) -> None:
        """Forget one reserved event."""
        ...

    def clear(self, key: str, *, with_transaction: bool = False) -> None:
        """Forget every event under the key."""
        ...


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

    def reserve(self, key: str, window: int, now: float) -> tuple[str, list[float]]:
        at = datetime.fromtimestamp(now, UTC)
        # Committed on a connection of its own (the caller must hold no SQLite write lock
        # yet), *then* counted: counting inside the inserting transaction would let each
        # of many simultaneous attempts on PostgreSQL see only itself. This way the n-th
        # attempt to commit sees at least n.
        writing = write_intent.set(True)
        try:
            with db.engine.begin() as conn:
                event_id = conn.execute(
                    insert(ThrottleEvent).values(key=key, created_at=at).returning(ThrottleEvent.id)
                ).scalar_one()
                conn.execute(delete(ThrottleEvent).where(ThrottleEvent.created_at < at - RETENTION))
        finally:
            write_intent.reset(writing)
        since = at - timedelta(seconds=window)
        reading = write_intent.set(False)
        try:
            with db.engine.connect() as conn:
                rows = conn.execute(
                    select(ThrottleEvent.id, ThrottleEvent.created_at).where(
                        ThrottleEvent.key == key, ThrottleEvent.created_at > since
                    )
                ).all()
        finally:
            write_intent.reset(reading)
        return str(event_id), [at.timestamp() for row_id, at in rows if row_id != event_id]

    def release(self, key: str, handle: str, *, with_transaction: bool = False) -> None:
        self._delete(ThrottleEvent.id == int(handle), with_transaction)

    def clear(self, key: str, *, with_transaction: bool = False) -> None:
        self._delete(ThrottleEvent.key == key, with_transaction)

    def _delete(self, condition: ColumnElement[bool], with_transaction: bool) -> None:
        if with_transaction:
            # With the caller's transaction: on SQLite it may hold the write lock already.
            db.session.execute(delete(ThrottleEvent).where(condition))
            return
        writing = write_intent.set(True)
        try:
            with db.engine.begin() as conn:
                conn.execute(delete(ThrottleEvent).where(condition))
        finally:
            write_intent.reset(writing)


class RedisStore:
    """A sorted set per key, trimmed to the window; shared by several app servers."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
        )

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

    def reserve(self, key: str, window: int, now: float) -> tuple[str, list[float]]:
        name = f"forum:throttle:{key}"
        member = f"{now:.6f}:{secrets.token_hex(6)}"
        # One MULTI/EXEC: the add and the read happen together, so of many simultaneous
        # attempts the n-th sees n.
        pipe = self.client.pipeline(transaction=True)
        pipe.zremrangebyscore(name, 0, now - window)
        pipe.zadd(name, {member: now})
        pipe.zrange(name, 0, -1, withscores=True)
        pipe.expire(name, window)
        _trimmed, _added, events, _expiry = pipe.execute()
        mine = member.encode()
        return member, [float(score) for item, score in events if item != mine]

    def release(self, key: str, handle: str, *, with_transaction: bool = False) -> None:
        self.client.zrem(f"forum:throttle:{key}", handle)

    def clear(self, key: str, *, with_transaction: bool = False) -> None:
        self.client.delete(f"forum:throttle:{key}")


class Fallback:
    """Redis first; the database while Redis fails (said in the log once a minute).

    Limits stay in force through an outage: the database is shared by every app server
    too, only slower. Events counted in one store are not seen by the other, so around
    a switch a key's count restarts at most once (a few more attempts, never fewer).
    """

    LOG_EVERY = 60.0

    def __init__(self, primary: Store, fallback: Store) -> None:
        import redis

        self.primary = primary
        self.fallback = fallback
        self.errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self.logged_at = -math.inf

    def _use(self, method: str, *args: object, **kwargs: object) -> Any:
        try:
            return getattr(self.primary, method)(*args, **kwargs)
        except self.errors as exc:
            now = time.monotonic()
            if now - self.logged_at >= self.LOG_EVERY:
                self.logged_at = now
                log.warning("Redis unreachable (%s): counting throttles in the database", exc)
            return getattr(self.fallback, method)(*args, **kwargs)

    def count(self, key: str, window: int) -> int:
        return int(self._use("count", key, window))

    def add(self, key: str, window: int, *, with_transaction: bool = False) -> None:
        self._use("add", key, window, with_transaction=with_transaction)

    def reserve(self, key: str, window: int, now: float) -> tuple[str, list[float]]:
        handle, others = self._use("reserve", key, window, now)
        return str(handle), list(others)

    def release(self, key: str, handle: str, *, with_transaction: bool = False) -> None:
        self._use("release", key, handle, with_transaction=with_transaction)

    def clear(self, key: str, *, with_transaction: bool = False) -> None:
        self._use("clear", key, with_transaction=with_transaction)


# Backoff: once `backoff_after` events are in the window, each further attempt waits
# BACKOFF_FIRST seconds after the latest one, doubling with every event (5 s, 10 s, 20 s...).
BACKOFF_FIRST = 5


@dataclass(frozen=True)
class Limit:
    """At most `limit` events under `key` per `window` seconds; with `backoff_after`, the
    attempts after that many must also wait longer and longer after the latest one."""

    key: str
    limit: int
    window: int
    backoff_after: int | None = None

    def wait(self, others: list[float], now: float) -> int:
        """Seconds before an attempt may go ahead, given the other events' times (0: now)."""
        if len(others) >= self.limit:
            ordered = sorted(others)
            # The window must lose enough events for this one to be within the limit.
            frees_at = ordered[len(ordered) - self.limit] + self.window
            return max(1, _whole_seconds(frees_at - now))
        if self.backoff_after is not None and len(others) >= self.backoff_after:
            delay = min(BACKOFF_FIRST * 2 ** (len(others) - self.backoff_after), self.window)
            return max(0, _whole_seconds(max(others) + delay - now))
        return 0


def _whole_seconds(span: float) -> int:
    # Up to the next second, ignoring the microsecond a stored time may gain on its way
    # through the database (a wait of exactly 5 s must not say 6).
    return math.ceil(span - 0.001)


def _wait_message(seconds: int) -> str:
    if seconds < 90:
        amount = f"{seconds} second{'' if seconds == 1 else 's'}"
    else:
        minutes = math.ceil(seconds / 60)
        amount = f"{minutes} minutes"
    return f"Too many attempts. Please wait {amount} and try again."


class Attempt:
    """An attempt counted before it was checked; `succeeded()` takes it back."""

    def __init__(self, throttle: Throttle, held: list[tuple[str, str]], clear: str | None):
        self.throttle = throttle
        self.held = held
        self.clear_key = clear

    def succeeded(self, *, with_transaction: bool = True) -> None:
        """Uncount the attempt (it was no guess) and the earlier failures under `clear`.

        By default saved with the caller's transaction, which by now may hold SQLite's
        write lock; `with_transaction=False` saves it at once (the caller holds no lock).
        """
        store = self.throttle.store
        for key, handle in self.held:
            store.release(key, handle, with_transaction=with_transaction)
        if self.clear_key is not None and self.held:
            store.clear(self.clear_key, with_transaction=with_transaction)


class Throttle:
    """Limits on events per key; `enabled=False` (FORUM_RATELIMITS=off) lets all through."""

    def __init__(
        self,
        store: Store,
        salt: bytes,
        *,
        enabled: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.salt = salt
        self.enabled = enabled
        # Unix seconds; tests move it instead of sleeping.
        self.clock = clock

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

    def attempt(self, limits: list[Limit], *, clear_on_success: str | None = None) -> Attempt:
        """Count an attempt under every limit's key first, then refuse it if that makes one
        too many (or it comes too soon); raises `RateLimited` with the wait.

        Recording before checking is what makes the limit hold under parallel requests:
        checking first let 40 simultaneous wrong passwords through 13-17 times instead of
        10. A refused attempt is taken back at once (it tested nothing); an accepted one
        stays counted unless the caller says it `succeeded()`. The caller must hold no
        SQLite write lock yet (the events are committed on connections of their own).
        """
        if not self.enabled:
            return Attempt(self, [], None)
        held: list[tuple[str, str]] = []
        wait = 0
        now = self.clock()
        for limit in limits:
            handle, others = self.store.reserve(limit.key, limit.window, now)
            held.append((limit.key, handle))
            wait = max(wait, limit.wait(others, now))
        if wait:
            for key, handle in held:
                self.store.release(key, handle)
            raise RateLimited(_wait_message(wait), retry_after=wait)
        return Attempt(self, held, clear_on_success)


LOGIN_WINDOW = 15 * 60
# Per account and address together: an owner's typos meet a growing wait after
# LOGIN_FREE_PAIR failures, and 429 at LOGIN_LIMIT_PAIR, without locking out the owner
# elsewhere or other members at that address.
LOGIN_FREE_PAIR = 3
LOGIN_LIMIT_PAIR = 10
# Per address, whatever the account: one address guessing at many accounts.
LOGIN_LIMIT_IP = 30
# Per account, from every address: distributed guessing. One address adds at most
# LOGIN_LIMIT_PAIR per window, so this takes five or more addresses failing on one
# account within 15 minutes, which an owner's typos never do; and it caps guessing at
# 200 an hour per account.
LOGIN_LIMIT_ACCOUNT = 50


def current() -> Throttle:
    """The app's throttle (set up in `create_app`)."""
    from flask import current_app

    throttle: Throttle = current_app.extensions["forum_throttle"]
    return throttle


def login_attempt(username: str, ip: str | None) -> Attempt:
    """Count a login (or recovery) attempt before it is checked; `RateLimited` if it is
    one too many for the account at this address, the address or the account."""
    throttle = current()
    name = username.strip().lower()
    pair = Limit(
        throttle.key("pair", f"{name}\n{ip or ''}"),
        LOGIN_LIMIT_PAIR,
        LOGIN_WINDOW,
        backoff_after=LOGIN_FREE_PAIR,
    )
    limits = [pair, Limit(throttle.key("acct", name), LOGIN_LIMIT_ACCOUNT, LOGIN_WINDOW)]
    if ip:
        limits.append(Limit(throttle.key("ip", ip), LOGIN_LIMIT_IP, LOGIN_WINDOW))
    # A success forgives the owner's earlier typos at this address (only there).
    return throttle.attempt(limits, clear_on_success=pair.key)


RESET_WINDOW = 60 * 60
RESET_LIMIT_ADDRESS = 3
RESET_LIMIT_IP = 20


def check_and_record_reset(address: str, ip: str | None) -> None:
    """Allow a few reset mails per address and per client an hour; count this one."""
    throttle = current()
    limits = [Limit(throttle.key("reset", address), RESET_LIMIT_ADDRESS, RESET_WINDOW)]
    if ip:
        limits.append(Limit(throttle.key("reset-ip", ip), RESET_LIMIT_IP, RESET_WINDOW))
    # Counted first, like logins, so that parallel requests cannot send a fourth mail.
    throttle.attempt(limits)
