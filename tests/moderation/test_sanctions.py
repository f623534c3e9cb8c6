"""Silences and suspensions: rank rules, the second moderator, lifting, standing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.models.base import utcnow
from forum.models.groups import Membership
from forum.models.moderation import SanctionState
from forum.models.modlog import ModerationLog
from forum.models.notifications import Notification
from forum.moderation import sanctions
from forum.moderation import undo
from tests import factories as f


def _site_mods(count: int = 2):
    return [f.make_user(moderator=True) for _ in range(count)]


def test_short_silence_is_active_at_once_and_mirrored(db):
    mod = f.make_user(moderator=True)
    member = f.make_user()
    made = sanctions.silence_member(f.actor(mod), member, group=None, days=3, reason="Cool down.")
    db.session.commit()
    assert made.state == SanctionState.ACTIVE
    assert member.silenced_until == made.ends_at
    assert f.actor(member).silenced
    told = db.session.scalar(select(Notification.text).where(Notification.user_id == member.id))
    assert "Cool down." in told and "silenced" in told


@pytest.mark.parametrize("days", [0, 366, -3, "many", 1.5])
def test_days_out_of_range_are_invalid(db, days):
    mod, member = f.make_user(moderator=True), f.make_user()
    with pytest.raises(Invalid) as caught:
        sanctions.suspend_member(f.actor(mod), member, group=None, days=days, reason="R.")
    assert "days" in caught.value.fields


def test_site_suspension_ends_sessions(db):
    mod, member = f.make_user(moderator=True), f.make_user()
    epoch = member.auth_epoch
    sanctions.suspend_member(f.actor(mod), member, group=None, days=2, reason="Abuse.")
    db.session.commit()
    assert member.auth_epoch == epoch + 1 and member.is_suspended()


def test_long_suspension_runs_seven_days_until_a_second_moderator_confirms(db):
    first, second = _site_mods()
    member = f.make_user()
    made = sanctions.suspend_member(f.actor(first), member, group=None, days=30, reason="Abuse.")
    db.session.commit()
    assert made.state == SanctionState.UNCONFIRMED and made.requested_days == 30
    assert member.suspended_until - utcnow() < timedelta(days=7, minutes=1)
    with pytest.raises(Denied):
        sanctions.confirm_sanction(f.actor(first), made)
    assert sanctions.confirm_sanction(f.actor(second), made)
    assert not sanctions.confirm_sanction(f.actor(second), made)
    db.session.commit()
    assert made.state == SanctionState.ACTIVE and made.confirmed_by_id == second.id
    assert member.suspended_until - utcnow() > timedelta(days=29)


def test_permanent_silence_needs_confirmation_then_has_no_end(db):
    first, second = _site_mods()
    member = f.make_user()
    made = sanctions.silence_member(f.actor(first), member, group=None, days=None, reason="Spam.")
    assert made.state == SanctionState.UNCONFIRMED
    sanctions.confirm_sanction(f.actor(second), made)
    db.session.commit()
    assert made.ends_at is None
    assert member.silenced_until > utcnow() + timedelta(days=3650)


def test_lower_rank_cannot_confirm_a_higher_ranks_sanction(db):
    group_mod, site_mod = f.make_user(), f.make_user(moderator=True)
    member = f.make_user()
    group = f.make_group(moderators=(group_mod,), members=(member,))
    made = sanctions.silence_member(
        f.actor(site_mod), member, group=group, days=None, reason="Spam."
    )
    with pytest.raises(Denied):
        sanctions.confirm_sanction(f.actor(group_mod), made)


def test_group_silence_is_mirrored_into_the_membership(db):
    group_mod, member = f.make_user(), f.make_user()
    group = f.make_group(moderators=(group_mod,), members=(member,))
    sanctions.silence_member(f.actor(group_mod), member, group=group, days=2, reason="Heated.")
    db.session.commit()
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == member.id, Membership.group_id == group.id)
    )
    assert membership.silenced_until is not None and member.silenced_until is None
    assert group.id in f.actor(member).silenced_group_ids


def test_group_suspension_takes_the_group_away(db):
    group_mod, member = f.make_user(), f.make_user()
    group = f.make_group(secret=True, moderators=(group_mod,), members=(member,))
    sanctions.suspend_member(f.actor(group_mod), member, group=group, days=2, reason="Out.")
    db.session.commit()
    assert group.id not in f.actor(member).group_ids


def test_group_sanction_needs_a_member_of_the_group(db):
    group_mod = f.make_user()
    group = f.make_group(moderators=(group_mod,))
    with pytest.raises(Invalid):
        sanctions.silence_member(
            f.actor(group_mod), f.make_user(), group=group, days=2, reason="Who?"
        )


def test_rank_rules_for_sanctions(db):
    site_mod, other_mod = _site_mods()
    group_mod, owner_like = f.make_user(), f.make_user()
    group = f.make_group(moderators=(group_mod, owner_like))
    cases = [
        (site_mod, site_mod, None),  # oneself
        (site_mod, f.make_admin(), None),  # an admin
        (site_mod, other_mod, None),  # equal rank
        (group_mod, owner_like, group),  # equal rank in the group
        (group_mod, site_mod, group),  # higher rank
        (group_mod, f.make_user(), None),  # outside their scope
    ]
    for by, target, scope in cases:
        with pytest.raises(Denied):
            sanctions.silence_member(f.actor(by), target, group=scope, days=1, reason="No.")


def test_lift_recomputes_from_other_live_sanctions(db):
    first, second = _site_mods()
    member = f.make_user()
    short = sanctions.silence_member(f.actor(first), member, group=None, days=2, reason="One.")
    longer = sanctions.silence_member(f.actor(second), member, group=None, days=5, reason="Two.")
    db.session.commit()
    assert sanctions.lift_sanction(f.actor(first), longer, reason="Too harsh.")
    assert not sanctions.lift_sanction(f.actor(first), longer, reason="Again.")
    db.session.commit()
    assert member.silenced_until == short.ends_at
    sanctions.lift_sanction(f.actor(second), short, reason="Over.")
    db.session.commit()
    assert member.silenced_until is None and not f.actor(member).silenced


def test_undo_a_silence_lifts_it_and_undo_a_lift_puts_it_back(db):
    first, second = _site_mods()
    member = f.make_user()
    made = sanctions.silence_member(f.actor(first), member, group=None, days=3, reason="One.")
    db.session.commit()
    entry = db.session.scalar(
        select(ModerationLog).where(ModerationLog.action == "member_silenced")
    )
    assert undo.undo(f.actor(second), entry, reason="Mistake.")
    db.session.commit()
    assert made.state == SanctionState.LIFTED and member.silenced_until is None
    lifted = db.session.scalar(select(ModerationLog).where(ModerationLog.action == "undo"))
    assert lifted is not None
    sanctions.silence_member(f.actor(first), member, group=None, days=2, reason="Again.")
    again = db.session.scalars(
        select(ModerationLog).where(ModerationLog.action == "member_silenced")
    ).all()[-1]
    db.session.commit()
    sanctions.lift_sanction(
        f.actor(second), db.session.get(type(made), again.target_id), reason="R."
    )
    db.session.commit()
    lift = db.session.scalar(select(ModerationLog).where(ModerationLog.action == "sanction_lifted"))
    assert undo.undo(f.actor(first), lift, reason="Keep it.")
    db.session.commit()
    assert member.is_silenced()


def test_silenced_moderator_loses_moderation_rights(db):
    mod, other = _site_mods()
    sanctions.silence_member(f.actor(f.make_admin()), mod, group=None, days=2, reason="Pause.")
    db.session.commit()
    with pytest.raises(Denied):
        sanctions.silence_member(f.actor(mod), f.make_user(), group=None, days=1, reason="Me?")
    assert not f.actor(mod).is_site_moderator
    assert f.actor(other).is_site_moderator


def test_group_silenced_moderator_loses_that_groups_moderation(db):
    group_mod, member = f.make_user(), f.make_user()
    group = f.make_group(moderators=(group_mod,), members=(member,))
    sanctions.silence_member(
        f.actor(f.owner_of(group)), group_mod, group=group, days=2, reason="Pause."
    )
    db.session.commit()
    with pytest.raises(Denied):
        sanctions.silence_member(f.actor(group_mod), member, group=group, days=1, reason="X.")


def test_member_sees_own_standing_and_outsiders_do_not(db):
    mod, member = f.make_user(moderator=True), f.make_user()
    sanctions.silence_member(f.actor(mod), member, group=None, days=1, reason="Seen.")
    db.session.commit()
    assert [s.reason for s in sanctions.member_standing(f.actor(member), member)] == ["Seen."]
    assert len(sanctions.member_standing(f.actor(mod), member)) == 1
    with pytest.raises(NotFound):
        sanctions.member_standing(f.actor(f.make_user()), member)


def test_group_moderator_sees_standing_of_their_members_only(db):
    group_mod, member, outsider = f.make_user(), f.make_user(), f.make_user()
    group = f.make_group(moderators=(group_mod,), members=(member,))
    sanctions.silence_member(f.actor(group_mod), member, group=group, days=1, reason="In.")
    sanctions.silence_member(
        f.actor(f.make_user(moderator=True)), member, group=None, days=1, reason="Site."
    )
    db.session.commit()
    assert [s.reason for s in sanctions.member_standing(f.actor(group_mod), member)] == ["In."]
    with pytest.raises(NotFound):
        sanctions.member_standing(f.actor(group_mod), outsider)


def test_automatic_silence_is_kept_by_a_moderator_or_replaced_by_a_decision(db):
    mod = f.make_user(moderator=True)
    spammer = f.make_user(trust_level=0)
    auto = sanctions.auto_silence(spammer, None, report=None)
    db.session.commit()
    assert auto is not None and spammer.is_silenced()
    assert sanctions.auto_silence(spammer, None, report=None) is None
    made = sanctions.silence_member(f.actor(mod), spammer, group=None, days=3, reason="Spam.")
    db.session.commit()
    assert auto.state == SanctionState.LIFTED
    assert spammer.silenced_until == made.ends_at


def test_confirming_an_automatic_silence_keeps_it(db):
    spammer = f.make_user(trust_level=0)
    auto = sanctions.auto_silence(spammer, None, report=None)
    assert sanctions.confirm_sanction(f.actor(f.make_user(moderator=True)), auto)
    db.session.commit()
    assert auto.state == SanctionState.ACTIVE and auto.confirmed_by_id is not None
    assert spammer.is_silenced()
