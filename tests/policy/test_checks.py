"""Checks: each rule raises with its reason once, and its predicate is derived from it.

Statuses follow the contract: 401 for a guest, 404 for what the actor cannot see, 403
(with a code) for what they see but may not do, 409 for a state that stops it.
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from forum import policy
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import ForumError
from forum.errors import NotFound
from forum.errors import NotLoggedIn
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.modlog import ModerationLog
from forum.moderation import actions
from forum.moderation import reports
from forum.services import posts as post_service
from tests import factories as f

POLICY = Path(__file__).resolve().parents[2] / "forum" / "policy"

# Predicates whose check is named differently from `check_<rest>`.
CHECK_OF = {
    "can_moderate_anywhere": "require_moderator",
    "can_administer": "require_admin",
}


def _functions() -> dict[str, ast.FunctionDef]:
    found = {}
    for path in POLICY.glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = node
    return found


def test_every_predicate_with_a_check_is_derived_from_it():
    functions = _functions()
    pairs = {name: CHECK_OF.get(name, "check_" + name[4:]) for name in functions}
    derived = {name: check for name, check in pairs.items() if check in functions}
    # The rules converted so far; a new check must bring its predicate along.
    assert len(derived) >= 20
    for name, check in derived.items():
        body = [n for n in functions[name].body if not isinstance(n, ast.Expr)]
        assert len(body) == 1 and isinstance(body[0], ast.Return), name
        call = body[0].value
        assert isinstance(call, ast.Call) and ast.unparse(call.func) == "passes", name
        assert ast.unparse(call.args[0]) == check, name


def _raises(check, *args) -> tuple[int, str]:
    try:
        check(*args)
    except ForumError as exc:
        return exc.status, exc.code
    return 200, ""


def _silenced(user):
    user.silenced_until = utcnow() + timedelta(days=1)
    return f.actor(user)


# --- the moderator guards ---------------------------------------------------------------


def test_require_moderator_asks_guests_to_log_in_and_refuses_members_with_403(db):
    assert _raises(policy.require_moderator, f.actor(None, guests_read=True)) == (
        401,
        "not_logged_in",
    )
    # The queue's existence is no secret: 403, with the code the API always answered.
    assert _raises(policy.require_moderator, f.actor(f.make_user())) == (403, "forbidden")
    assert not policy.can_moderate_anywhere(f.actor(f.make_user()))


def test_require_moderator_lets_site_and_group_moderators_in(db):
    group_mod = f.make_user()
    f.make_group(moderators=(group_mod,))
    for user in (f.make_user(moderator=True), group_mod, f.make_admin()):
        assert _raises(policy.require_moderator, f.actor(user)) == (200, "")
        assert policy.can_moderate_anywhere(f.actor(user))


def test_require_moderator_refuses_a_silenced_moderator(db):
    assert _raises(policy.require_moderator, _silenced(f.make_user(moderator=True)))[0] == 403


def test_check_moderate_scope_keeps_site_moderators_out_of_secret_groups(db):
    site_mod = f.actor(f.make_user(moderator=True))
    secret = f.make_group(secret=True)
    public = f.make_group()
    assert _raises(policy.check_moderate_scope, site_mod, secret) == (403, "forbidden")
    assert _raises(policy.check_moderate_scope, site_mod, public) == (200, "")
    assert _raises(policy.check_moderate_scope, site_mod, None) == (200, "")
    owner = f.actor(f.owner_of(secret))
    assert _raises(policy.check_moderate_scope, owner, secret) == (200, "")
    assert _raises(policy.check_moderate_scope, owner, None) == (403, "forbidden")


def test_check_moderate_names_the_board(db):
    board = f.make_board()
    member = f.actor(f.make_user())
    with pytest.raises(Denied, match="this board's moderators"):
        policy.check_moderate(member, board)
    with pytest.raises(NotLoggedIn):
        policy.check_moderate(f.actor(None, guests_read=True), board)
    policy.check_moderate(f.actor(f.make_user(moderator=True)), board)
    assert policy.can_moderate(f.actor(f.make_user(moderator=True)), board)
    assert not policy.can_moderate(member, board)


# --- ranks ------------------------------------------------------------------------------


def test_check_act_on_member_gives_each_reason(db):
    owner = f.make_user()
    moderator = f.make_user()
    member = f.make_user()
    group = f.make_group(owner=owner, members=(member,), moderators=(moderator,))
    acting = f.actor(moderator)
    with pytest.raises(Denied, match="yourself"):
        policy.check_act_on_member(acting, moderator, group)
    with pytest.raises(Denied, match="do not moderate there"):
        policy.check_act_on_member(f.actor(member), owner, group)
    with pytest.raises(Denied, match="your rank or above"):
        policy.check_act_on_member(acting, owner, group)
    with pytest.raises(Denied, match="your rank or above"):
        policy.check_act_on_member(f.actor(owner), f.make_admin(), group)
    policy.check_act_on_member(acting, member, group)
    assert policy.can_act_on_member(f.actor(owner), moderator, group)
    assert not policy.can_act_on_member(acting, owner, group)


def test_check_appoint_site_moderators_is_for_admins(db):
    site_mod = f.actor(f.make_user(moderator=True))
    assert _raises(policy.check_appoint_site_moderators, site_mod) == (403, "forbidden")
    assert not policy.can_appoint_site_moderators(site_mod)
    assert policy.can_appoint_site_moderators(f.actor(f.make_admin()))


# --- groups -------------------------------------------------------------------------------


def test_check_manage_group_words_the_refusal_for_its_caller(db):
    group = f.make_group()
    member = f.make_user()
    with pytest.raises(Denied, match="^Only the group's owners can set roles.$"):
        policy.check_manage_group(f.actor(member), group, "can set roles")
    with pytest.raises(NotLoggedIn):
        policy.check_manage_group(f.actor(None, guests_read=True), group)
    assert policy.can_manage_group(f.actor(f.owner_of(group)), group)
    assert policy.can_manage_group(f.actor(f.make_admin()), group)
    # Inside a secret group an admin runs nothing unless broken in.
    assert not policy.can_manage_group(f.actor(f.make_admin()), f.make_group(secret=True))


def test_check_request_to_join_refuses_members_and_secret_groups(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    outsider = f.actor(f.make_user())
    assert policy.can_request_to_join(outsider, group)
    with pytest.raises(Denied, match="cannot ask to join"):
        policy.check_request_to_join(f.actor(member), group)
    assert not policy.can_request_to_join(outsider, f.make_group(secret=True))


# --- decisions: the log, reports ----------------------------------------------------------


def _locked_by(user, topic) -> ModerationLog:
    actions.lock_topic(f.actor(user), topic, reason="Cooling down")
    db_entry = db.session.scalar(select(ModerationLog).order_by(ModerationLog.id.desc()))
    assert db_entry is not None
    return db_entry


def test_check_undo_log_entry_asks_for_the_same_rank_and_only_once(db):
    owner = f.make_user()
    moderator = f.make_user()
    other_moderator = f.make_user()
    group = f.make_group(owner=owner, moderators=(moderator, other_moderator))
    topic = f.make_topic(f.make_board(group=group), owner)
    entry = _locked_by(owner, topic)
    with pytest.raises(Denied, match="same or a higher rank"):
        policy.check_undo_log_entry(f.actor(moderator), entry, group)
    with pytest.raises(Denied, match="scope's moderators"):
        policy.check_undo_log_entry(f.actor(f.make_user()), entry, group)
    assert policy.can_undo_log_entry(f.actor(owner), entry, group)
    mine = _locked_by(moderator, f.make_topic(f.make_board(group=group), owner))
    policy.check_undo_log_entry(f.actor(other_moderator), mine, group)
    mine.undone_at = utcnow()
    with pytest.raises(Conflict):
        policy.check_undo_log_entry(f.actor(other_moderator), mine, group)
    assert not policy.can_undo_log_entry(f.actor(owner), mine, group)


def test_check_resolve_report_refuses_own_post_outsiders_and_handled_cases(db):
    author = f.make_user()
    site_mod = f.make_user(moderator=True)
    post = f.make_post(author=author)
    report = f.make_report(post, f.make_user())
    with pytest.raises(Denied, match="do not moderate there"):
        policy.check_resolve_report(f.actor(f.make_user()), report, None)
    assert policy.can_resolve_report(f.actor(site_mod), report, None)
    own = f.make_report(f.make_post(author=site_mod), f.make_user())
    with pytest.raises(Denied, match="your own post"):
        policy.check_resolve_report(f.actor(site_mod), own, None)
    reports.resolve_report(f.actor(site_mod), report, action="dismiss", reason="Nothing wrong")
    with pytest.raises(Conflict):
        policy.check_resolve_report(f.actor(site_mod), report, None)


# --- redacting an earlier version ----------------------------------------------------------


def test_check_redact_revision_answers_404_403_401_in_that_order(db):
    author = f.make_user()
    post = f.make_post(author=author, body="My real name is here.")
    post_service.edit_post(f.actor(author), post, body="No name now.")
    db.session.commit()
    reader = f.actor(f.make_user())
    assert _raises(policy.check_redact_revision, reader, post) == (403, "forbidden")
    guest = f.actor(None, guests_read=True)
    assert _raises(policy.check_redact_revision, guest, post) == (401, "not_logged_in")
    assert policy.can_redact_revision(f.actor(author), post)
    site_mod = f.make_user(moderator=True)
    assert policy.can_redact_revision(f.actor(site_mod), post)
    actions.hide_post(f.actor(site_mod), post, reason="Names a person")
    db.session.commit()
    # A reader cannot read a hidden post's history: as if it were not there.
    with pytest.raises(NotFound):
        policy.check_redact_revision(reader, post)
    assert policy.can_redact_revision(f.actor(author), post)
