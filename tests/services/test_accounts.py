"""Accounts: registration, login, passwords, recovery codes, tokens."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.errors import NotLoggedIn
from forum.models.base import utcnow
from forum.models.users import User
from forum.services import accounts
from tests import factories as f


def test_registration_refused_while_invite_only(db):
    with pytest.raises(Denied) as caught:
        accounts.register_member(f.actor(None), username="newbie", password=f.PASSWORD)
    assert caught.value.code == "invite_required"


def test_registration_allowed_when_open(db):
    f.set_settings(registration="open")
    user = accounts.register_member(f.actor(None), username="newbie", password=f.PASSWORD)
    assert user.id and user.trust_level == 0


@pytest.mark.parametrize(
    ("username", "field"),
    [("ab", "username"), ("a" * 21, "username"), ("bad name", "username"), ("x\x00y", "username")],
)
def test_bad_usernames_rejected(db, username, field):
    with pytest.raises(Invalid) as caught:
        accounts.create_user(username=username, password=f.PASSWORD)
    assert field in caught.value.fields


def test_username_unique_regardless_of_case(db):
    f.make_user("Sam_Walker")
    with pytest.raises(Conflict):
        accounts.create_user(username="sam_walker", password=f.PASSWORD)


@pytest.mark.parametrize("password", ["short", "1234567890", "password123", "aaaaaaaaaaaa"])
def test_weak_passwords_rejected(db, password):
    with pytest.raises(Invalid) as caught:
        accounts.create_user(username="someone", password=password)
    assert "password" in caught.value.fields


def test_password_equal_to_username_rejected(db):
    with pytest.raises(Invalid):
        accounts.create_user(username="longusername", password="longusername")


def test_passwords_are_hashed_with_scrypt(db):
    user = f.make_user()
    assert user.password_hash.startswith("scrypt:")
    assert f.PASSWORD not in user.password_hash


def test_authenticate_accepts_right_password(db):
    user = f.make_user("river")
    assert accounts.authenticate("RIVER", f.PASSWORD, ip="10.0.0.1") == user


def test_wrong_password_and_unknown_user_fail_alike(db):
    f.make_user("river")
    with pytest.raises(NotLoggedIn) as wrong:
        accounts.authenticate("river", "not the password", ip=None)
    with pytest.raises(NotLoggedIn) as unknown:
        accounts.authenticate("nobody_here", "not the password", ip=None)
    assert (wrong.value.code, wrong.value.message) == (unknown.value.code, unknown.value.message)


def test_suspended_member_cannot_log_in(db):
    from datetime import timedelta

    user = f.make_user("river")
    user.suspended_until = utcnow() + timedelta(days=2)
    db.session.commit()
    with pytest.raises(Denied) as caught:
        accounts.authenticate("river", f.PASSWORD, ip=None)
    assert caught.value.code == "suspended"


def test_change_password_ends_tokens_and_sessions(db):
    user = f.make_user()
    token = accounts.issue_api_token(user)
    epoch = user.auth_epoch
    accounts.change_password(f.actor(user), user, current=f.PASSWORD, new="another long passphrase")
    db.session.commit()
    assert user.auth_epoch == epoch + 1
    assert accounts.user_for_api_token(token) is None


def test_change_password_needs_current_password(db):
    user = f.make_user()
    with pytest.raises(Invalid) as caught:
        accounts.change_password(f.actor(user), user, current="wrong", new="another passphrase")
    assert "current_password" in caught.value.fields


def test_recovery_code_resets_password_once(db):
    user = f.make_user("river")
    codes = accounts.issue_recovery_codes(user)
    db.session.commit()
    assert len(codes) == accounts.RECOVERY_CODES
    accounts.reset_password_with_code(
        username="river", code=codes[0].upper(), new_password="brand new passphrase", ip=None
    )
    db.session.commit()
    assert accounts.authenticate("river", "brand new passphrase", ip=None) == user
    with pytest.raises(Invalid):
        accounts.reset_password_with_code(
            username="river", code=codes[0], new_password="yet another passphrase", ip=None
        )
    assert accounts.unused_recovery_codes(user) == accounts.RECOVERY_CODES - 1


def test_recovery_codes_are_stored_hashed(db):
    from forum.models.users import RecoveryCode

    user = f.make_user()
    codes = accounts.issue_recovery_codes(user)
    stored = {row.code_hash for row in db.session.scalars(db.select(RecoveryCode))}
    assert not stored & set(codes)


def test_reset_link_works_once(db):
    user = f.make_user("river", email="river@example.org")
    mail = accounts.request_password_reset("River@Example.org")
    assert mail is not None and mail.to == "river@example.org"
    token = mail.body.split("/reset/")[1].split()[0]
    accounts.reset_password_with_token(token=token, new_password="brand new passphrase")
    db.session.commit()
    assert accounts.authenticate("river", "brand new passphrase", ip=None) == user
    with pytest.raises(NotFound):
        accounts.reset_password_with_token(token=token, new_password="third new passphrase")


def test_reset_request_for_unknown_address_sends_nothing(db):
    assert accounts.request_password_reset("nobody@example.org") is None


def test_email_waits_for_confirmation(db):
    f.set_settings(registration="open")
    user = accounts.register_member(
        f.actor(None), username="newbie", password=f.PASSWORD, email="New@Example.org"
    )
    assert user.email is None and user.pending_email == "new@example.org"
    mail = accounts.request_email_confirmation(user)
    token = mail.body.split("/account/confirm/")[1].split()[0]
    accounts.confirm_email(token)
    assert user.email == "new@example.org" and user.pending_email is None


def test_taken_email_is_not_revealed_at_registration(db):
    f.make_user("owner", email="shared@example.org")
    f.set_settings(registration="open")
    user = accounts.register_member(
        f.actor(None), username="newbie", password=f.PASSWORD, email="shared@example.org"
    )
    mail = accounts.request_email_confirmation(user)
    assert mail.to == "shared@example.org"
    assert "/account/confirm/" not in mail.body
    assert user.email is None


def test_api_token_is_stored_hashed_and_revocable(db):
    from forum.models.users import ApiToken

    user = f.make_user()
    token = accounts.issue_api_token(user)
    db.session.commit()
    assert token not in {t.token_hash for t in db.session.scalars(db.select(ApiToken))}
    assert accounts.user_for_api_token(token) == user
    assert accounts.revoke_api_token(token)
    assert accounts.user_for_api_token(token) is None


@pytest.mark.app_config(FORUM_RATELIMITS="on")
def test_reset_mails_to_one_address_are_limited(db):
    from forum.errors import RateLimited

    f.make_user("river", email="river@example.org")
    for _ in range(3):
        assert accounts.request_password_reset("river@example.org", ip="203.0.113.5")
        db.session.commit()
    with pytest.raises(RateLimited):
        accounts.request_password_reset("river@example.org", ip="203.0.113.5")
    db.session.rollback()
    # Unknown addresses count too, so the limit reveals nothing.
    for _ in range(3):
        assert accounts.request_password_reset("nobody@example.org", ip="203.0.113.6") is None
        db.session.commit()
    with pytest.raises(RateLimited):
        accounts.request_password_reset("nobody@example.org", ip="203.0.113.6")


def test_a_recovery_code_spent_twice_at_once_works_only_once(app, db, backend, monkeypatch):
    # Two requests with the same code, both past the lookup before either spends it.
    if backend != "postgres":
        pytest.skip("SQLite's write lock already serialises the two requests")
    user = f.make_user("river")
    code = accounts.issue_recovery_codes(user)[0]
    db.session.commit()
    user_id = user.id
    db.session.remove()
    both_read = threading.Barrier(2)
    hash_password = accounts._hash_password

    def hash_when_both_have_read(password: str) -> str:
        both_read.wait(timeout=10)
        return hash_password(password)

    monkeypatch.setattr(accounts, "_hash_password", hash_when_both_have_read)

    def spend(new_password: str) -> str:
        with app.app_context():
            try:
                accounts.reset_password_with_code(
                    username="river", code=code, new_password=new_password, ip=None
                )
                db.session.commit()
            except Invalid:
                return "refused"
            finally:
                db.session.remove()
        return "spent"

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(spend, ["first new passphrase", "second new passphrase"]))
    assert sorted(results) == ["refused", "spent"]
    user = db.session.get(User, user_id)
    assert accounts.unused_recovery_codes(user) == accounts.RECOVERY_CODES - 1
