"""The login throttle: keys are hashed, limits hold, stores are shared."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from forum.errors import Invalid
from forum.errors import NotLoggedIn
from forum.errors import RateLimited
from forum.extensions import db
from forum.models.users import User
from forum.services import accounts
from forum.throttle import DatabaseStore
from forum.throttle import Fallback
from forum.throttle import Limit
from forum.throttle import RedisStore
from forum.throttle import Store
from forum.throttle import Throttle
from tests import factories
from tests.conftest import throttle_clock


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


# --- counted before checked (issue 10) --------------------------------------------


def _redis_url() -> str:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis not available at 127.0.0.1:6379: {exc}")
    finally:
        client.close()
    return REDIS_URL


REDIS_URL = "redis://127.0.0.1:6379/15"
PARALLEL = 40


def _in_parallel(app: Flask, work: Callable[[], str]) -> list[str]:
    """Run `work` in PARALLEL threads at once, each in an app context of its own."""
    start = threading.Barrier(PARALLEL)

    def run() -> str:
        with app.app_context():
            try:
                start.wait(timeout=30)
                return work()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(lambda _n: run(), range(PARALLEL)))


def _store(kind: str) -> Store:
    return RedisStore(_redis_url()) if kind == "redis" else DatabaseStore()


@pytest.mark.parametrize("store_kind", ["database", "redis"])
def test_parallel_attempts_never_pass_the_limit(app: Flask, store_kind: str) -> None:
    store = _store(store_kind)
    throttle = Throttle(store, b"salt")
    key = throttle.key("acct", f"river-{uuid.uuid4().hex}")
    db.session.remove()  # the test's own transaction must hold no lock

    def attempt() -> str:
        try:
            throttle.attempt([Limit(key, 10, 60)])
        except RateLimited:
            return "refused"
        return "counted"

    counted = _in_parallel(app, attempt).count("counted")
    # Never more; fewer when refused attempts, taken back at once, were seen meanwhile.
    assert counted <= 10
    with app.app_context():
        assert store.count(key, 60) == counted  # refused attempts were taken back
        # One at a time, the limit is exactly ten.
        while attempt() == "counted":
            counted += 1
        assert counted == store.count(key, 60) == 10


@pytest.mark.parametrize("store_kind", ["database", "redis"])
def test_forty_parallel_wrong_passwords_get_at_most_ten_tries(
    app: Flask, backend: str, store_kind: str
) -> None:
    # What the tester did: 40 wrong passwords at once for one account, from one address.
    # Checking before recording let 13-17 of them test a password.
    app.config["FORUM_RATELIMITS_ON"] = True
    salt = app.extensions["forum_throttle"].salt
    app.extensions["forum_throttle"] = Throttle(_store(store_kind), salt)
    name = f"river{uuid.uuid4().hex[:12]}"  # Redis keeps keys between runs
    factories.make_user(name)
    db.session.remove()

    def guess() -> str:
        try:
            accounts.authenticate(name, "not the password", ip="198.51.100.7")
        except NotLoggedIn:
            return "tried"
        except RateLimited:
            return "refused"
        return "in"  # pragma: no cover - the password is wrong

    results = _in_parallel(app, guess)
    assert results.count("refused") + results.count("tried") == PARALLEL
    # At most ten; with the backoff after three, usually far fewer get to guess at once.
    assert results.count("tried") <= 10, results.count("tried")


def test_backoff_grows_after_three_failures_and_stops_at_ten() -> None:
    pair = Limit("pair:x", 10, 900, backoff_after=3)
    now = 1_000_000.0
    assert [pair.wait([now - 1] * n, now) for n in range(3)] == [0, 0, 0]
    # After the 3rd failure 5 s, then 10, 20, 40...: measured from the latest failure.
    assert [pair.wait([now] * n, now) for n in range(3, 10)] == [5, 10, 20, 40, 80, 160, 320]
    assert pair.wait([now - 300] * 5, now) == 0  # waited long enough
    assert pair.wait([now - 4.9999996] * 3, now) == 0  # a stored time's rounding is no wait
    # Ten in the window: stop until the oldest leaves it.
    assert pair.wait([now - 600] + [now - 10] * 9, now) == 300


def test_wait_counts_only_what_must_leave_the_window() -> None:
    limit = Limit("ip:x", 3, 900)
    now = 1_000_000.0
    assert limit.wait([now - 800, now - 700], now) == 0
    # Four others: two must leave before a fourth attempt fits; the second oldest decides.
    assert limit.wait([now - 800, now - 700, now - 10, now - 5], now) == 200


@pytest.mark.app_config(FORUM_RATELIMITS="on")
def test_an_account_under_distributed_guessing_stops_everywhere(app: Flask) -> None:
    factories.make_user("river")
    db.session.remove()
    # Fifty wrong guesses from 17 addresses, three each: none of them waits or stops...
    for n in range(50):
        with pytest.raises(NotLoggedIn):
            accounts.authenticate("river", "a wrong guess", ip=f"198.51.100.{n // 3}")
        db.session.rollback()
    # ...but the account has had enough: a fresh address is refused, the owner's too.
    with pytest.raises(RateLimited):
        accounts.authenticate("river", factories.PASSWORD, ip="203.0.113.99")


@pytest.mark.app_config(FORUM_RATELIMITS="on")
def test_a_success_forgives_earlier_typos_at_that_address(app: Flask) -> None:
    clock = throttle_clock(app)
    factories.make_user("river")
    db.session.remove()
    for _ in range(3):
        with pytest.raises(NotLoggedIn):
            accounts.authenticate("river", "a typo", ip="198.51.100.7")
        db.session.rollback()
    clock.advance(5)
    accounts.authenticate("river", factories.PASSWORD, ip="198.51.100.7")
    db.session.commit()
    with pytest.raises(NotLoggedIn):  # no wait: the slate is clean
        accounts.authenticate("river", "another typo", ip="198.51.100.7")


@pytest.mark.app_config(FORUM_RATELIMITS="on")
def test_parallel_reset_requests_send_at_most_three_mails(app: Flask) -> None:
    factories.make_user("river", email=f"river-{uuid.uuid4().hex[:8]}@example.org")
    address = db.session.scalar(select(User.email))
    db.session.remove()

    def ask() -> str:
        try:
            mail = accounts.request_password_reset(address, ip="198.51.100.7")
        except RateLimited:
            return "refused"
        return "sent" if mail is not None else "none"

    # Never a fourth; fewer when refused requests were seen meanwhile.
    assert _in_parallel(app, ask).count("sent") <= 3


def test_first_request_through_an_untrusted_proxy_is_warned_about_once(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.5"}
    with caplog.at_level(logging.WARNING, logger="forum.blueprints.context"):
        client.get("/help")
        assert not caplog.records  # no header, nothing to say
        client.get("/help", headers=forwarded)
        client.get("/help", headers=forwarded)
    warnings = [r for r in caplog.records if "FORUM_TRUSTED_PROXIES" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.app_config(FORUM_TRUSTED_PROXIES="127.0.0.1")
def test_no_warning_when_the_proxy_is_trusted(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="forum.blueprints.context"):
        client.get("/help", headers={"X-Forwarded-For": "203.0.113.5"})
    assert not [r for r in caplog.records if "FORUM_TRUSTED_PROXIES" in r.getMessage()]


@pytest.mark.app_config(FORUM_RATELIMITS="on")
def test_a_right_password_with_a_refused_change_counts_as_no_failure(app: Flask) -> None:
    # Confirming the password, then choosing a new one that is too common, four times:
    # the member typed their password right every time and must not be made to wait.
    user = factories.make_user("river")
    for _ in range(4):
        with pytest.raises(Invalid):
            accounts.change_password(
                factories.actor(user),
                user,
                current=factories.PASSWORD,
                new="password123",
                ip="198.51.100.7",
            )
        db.session.rollback()
    accounts.change_password(
        factories.actor(user),
        user,
        current=factories.PASSWORD,
        new="a brand new passphrase",
        ip="198.51.100.7",
    )


def test_a_redis_outage_counts_in_the_database_and_says_so_once(db, caplog):
    pytest.importorskip("redis")
    # Nothing listens on port 1: every Redis call fails at once.
    store = Fallback(RedisStore("redis://127.0.0.1:1/0"), DatabaseStore())
    throttle = Throttle(store, b"salt")
    key = throttle.key("acct", "river")
    with caplog.at_level(logging.WARNING, logger="forum.throttle"):
        for _ in range(3):
            throttle.attempt([Limit(key, 3, 60)])
        # The limit still holds, counted where every app server can see it.
        with pytest.raises(RateLimited):
            throttle.attempt([Limit(key, 3, 60)])
    assert DatabaseStore().count(key, 60) == 3
    warnings = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(warnings) == 1
