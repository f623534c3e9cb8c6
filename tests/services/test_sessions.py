"""Browser sessions recorded server-side: lifetimes, ending them, last seen, pruning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from forum.errors import NotFound
from forum.maintenance import prune_sessions
from forum.models.base import utcnow
from forum.models.sessions import UserSession
from forum.moderation import sanctions
from forum.services import accounts
from forum.services import sessions
from tests import factories as f

FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (FIREFOX_ANDROID, "Firefox on Android"),
        (CHROME_WINDOWS, "Chrome on Windows"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        ("curl/8.5.0", "An unknown browser"),
        ("", "An unknown browser"),
        ("Mozilla/5.0 (X11; Linux x86_64)", "A browser on Linux"),
    ],
)
def test_device_label_is_coarse(agent: str, label: str) -> None:
    assert sessions.device_label(agent) == label


def test_only_a_hash_of_the_key_is_stored(db):
    user = f.make_user()
    key = f.make_session(user, user_agent=FIREFOX_ANDROID)
    row = db.session.scalar(select(UserSession))
    assert key not in (row.key_hash, row.device)
    assert row.device == "Firefox on Android"
    assert sessions.load_session(key)[0].id == user.id


def test_old_style_cookie_values_open_nothing(db):
    user = f.make_user()
    assert sessions.load_session(f"{user.id}:{user.auth_epoch}") is None


def test_remembered_session_ends_thirty_days_after_login_however_active(db):
    user = f.make_user()
    start = utcnow() - timedelta(days=29)
    row = sessions.start_session(user, remember=True, now=start)
    key = user.session_key
    db.session.commit()
    sessions.touch_session(row.id, now=utcnow())  # used every day does not extend it
    db.session.commit()
    assert sessions.load_session(key) is not None
    assert sessions.load_session(key, now=start + timedelta(days=30, seconds=1)) is None


def test_session_not_remembered_ends_after_fourteen_idle_days(db):
    user = f.make_user()
    start = utcnow() - timedelta(days=20)
    row = sessions.start_session(user, remember=False, now=start)
    key = user.session_key
    db.session.commit()
    # Active on day 10: it lives until day 24, not day 14.
    sessions.touch_session(row.id, now=start + timedelta(days=10))
    db.session.commit()
    assert sessions.load_session(key, now=start + timedelta(days=23)) is not None
    assert sessions.load_session(key, now=start + timedelta(days=24, seconds=1)) is None


def test_touch_is_due_only_every_few_minutes(db):
    user = f.make_user()
    row = sessions.start_session(user, remember=False)
    assert not sessions.touch_due(row)
    assert not sessions.touch_due(row, row.last_seen_at + timedelta(minutes=4))
    assert sessions.touch_due(row, row.last_seen_at + sessions.TOUCH_EVERY)


def test_a_member_ends_own_sessions_only(db):
    alice, bob = f.make_user(), f.make_user()
    f.make_session(alice)
    bobs = sessions.start_session(bob, remember=False)
    db.session.commit()
    with pytest.raises(NotFound):
        sessions.end_session(f.actor(alice), alice, bobs.id)
    sessions.end_session(f.actor(bob), bob, bobs.id)
    db.session.commit()
    assert sessions.live_sessions(bob) == []
    with pytest.raises(NotFound):  # ended is gone
        sessions.end_session(f.actor(bob), bob, bobs.id)


def test_end_other_sessions_keeps_this_one(db):
    user = f.make_user()
    here = sessions.start_session(user, remember=False)
    for _ in range(3):
        sessions.start_session(user, remember=True)
    db.session.commit()
    assert sessions.end_other_sessions(f.actor(user), user, keep=here.id) == 3
    db.session.commit()
    assert [s.id for s in sessions.live_sessions(user)] == [here.id]


def test_password_change_and_suspension_end_every_session(db):
    user = f.make_user()
    first = f.make_session(user)
    accounts.change_password(f.actor(user), user, current=f.PASSWORD, new="a brand new passphrase")
    db.session.commit()
    assert sessions.load_session(first) is None
    assert sessions.live_sessions(user) == []
    second = f.make_session(user)
    moderator = f.make_user(moderator=True, trust_level=2)
    sanctions.suspend_member(f.actor(moderator), user, group=None, days=3, reason="Spam.")
    db.session.commit()
    assert sessions.load_session(second) is None
    assert sessions.live_sessions(user) == []


def test_prune_deletes_sessions_that_can_never_work_again(db):
    user, other = f.make_user(), f.make_user()
    live = sessions.start_session(user, remember=False)
    ended = sessions.start_session(user, remember=False)
    expired = sessions.start_session(user, remember=True, now=utcnow() - timedelta(days=31))
    stale = sessions.start_session(other, remember=False)
    db.session.commit()
    sessions.end_own_session(ended.id)
    other.auth_epoch += 1  # as a suspension does, without touching the rows
    db.session.commit()
    assert {live.id, ended.id, expired.id, stale.id} <= {
        row.id for row in db.session.scalars(select(UserSession))
    }
    assert prune_sessions() == 3
    assert db.session.scalars(select(UserSession.id)).all() == [live.id]
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1
