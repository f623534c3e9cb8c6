"""The audit layer: one writer for every log row, group actions included, with ranks."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from forum import audit
from forum import policy
from forum.errors import Invalid
from forum.models.modlog import ModerationLog
from forum.services import groups as group_service
from tests import factories as f


def _last(db, action: audit.Action) -> ModerationLog:
    return db.session.scalar(
        select(ModerationLog)
        .where(ModerationLog.action == action)
        .order_by(ModerationLog.id.desc())
        .limit(1)
    )


def test_group_actions_are_logged_with_the_actors_rank(db):
    """The old second writer (`log_action`) left every group row at rank 0."""
    admin = f.make_admin()
    group = group_service.create_group(
        f.actor(admin), name="Evening circle", slug="evening", visibility="public"
    )
    db.session.commit()
    created = _last(db, audit.Action.CREATE_GROUP)
    assert created.actor_id == admin.id and created.actor_rank == policy.RANK_ADMIN
    owner, member = f.make_user("circle_owner"), f.make_user("quiet_one")
    group = f.make_group("Recovery circle", slug="recovery", owner=owner, members=(member,))
    group_service.set_member_role(f.actor(owner), group, "quiet_one", role="moderator")
    db.session.commit()
    role = _last(db, audit.Action.SET_ROLE)
    assert (role.actor_id, role.actor_rank, role.group_id) == (
        owner.id,
        policy.RANK_GROUP_OWNER,
        group.id,
    )
    assert role.reason == "moderator" and json.loads(role.data) == {}


def test_a_member_leaving_is_logged_at_no_rank(db):
    owner, member = f.make_user(), f.make_user("leaver")
    group = f.make_group(owner=owner, members=(member,))
    group_service.remove_member(f.actor(member), group, "leaver")
    db.session.commit()
    left = _last(db, audit.Action.LEAVE_GROUP)
    assert (left.actor_id, left.actor_rank) == (member.id, policy.RANK_NONE)


def test_record_writes_in_the_callers_transaction(db):
    entry = audit.record(
        policy.SYSTEM,
        audit.Action.MEMBER_JOINED,
        rank=policy.RANK_NONE,
        target_type="user",
        target_id=1,
        group=None,
        data={"door": "link"},
    )
    assert entry.id is not None and entry.actor_id is None
    assert entry.action == "member_joined" and json.loads(entry.data) == {"door": "link"}
    db.session.rollback()
    assert db.session.get(ModerationLog, entry.id) is None


@pytest.mark.parametrize("reason", ["", "   ", "x" * (audit.REASON_MAX + 1), None, 5])
def test_a_required_reason_is_one_to_500_characters(reason):
    with pytest.raises(Invalid):
        audit.clean_reason(reason)


def test_a_reason_is_trimmed_and_may_be_left_out_when_optional():
    assert audit.clean_reason("  Spam.  ") == "Spam."
    assert audit.clean_reason("", required=False) == ""
    assert audit.clean_reason("x" * audit.REASON_MAX) == "x" * audit.REASON_MAX
