"""The login throttle: keys are hashed, limits hold, stores are shared."""

from __future__ import annotations

import uuid

import pytest

from forum.errors import RateLimited
from forum.throttle import DatabaseStore
from forum.throttle import RedisStore
from forum.throttle import Throttle


def test_keys_never_contain_the_raw_value():
    throttle = Throttle(DatabaseStore(), b"salt")
    key = throttle.key("ip", "203.0.113.9")
    assert "203.0.113.9" not in key and key.startswith("ip:")
    assert key != Throttle(DatabaseStore(), b"other salt").key("ip", "203.0.113.9")


def test_database_store_limits_after_threshold(db):
    throttle = Throttle(DatabaseStore(), b"salt")
    key = throttle.key("acct", "river")
    for _ in range(3):
        throttle.check([(key, 3)], 60)
        throttle.record([key], 60)
    with pytest.raises(RateLimited) as caught:
        throttle.check([(key, 3)], 60)
    assert caught.value.retry_after == 60


def test_disabled_throttle_lets_everything_through(db):
    throttle = Throttle(DatabaseStore(), b"salt", enabled=False)
    key = throttle.key("acct", "river")
    for _ in range(5):
        throttle.record([key], 60)
    throttle.check([(key, 1)], 60)


def test_redis_store_counts_within_window():
    redis = pytest.importorskip("redis")
    store = RedisStore("redis://127.0.0.1:6379/15")
    try:
        store.client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis not available at 127.0.0.1:6379: {exc}")
    key = f"test:{uuid.uuid4().hex}"
    try:
        assert store.count(key, 60) == 0
        store.add(key, 60)
        store.add(key, 60)
        assert store.count(key, 60) == 2
    finally:
        store.client.delete(f"forum:throttle:{key}")
        store.client.close()
