"""Every door into a group checks the group's history (issue 10, findings 1, 2 and 5).

The doors: an invitation link (also when registering with one), a join request accepted,
an invitation by name accepted, the group's creation. One service makes every membership
(`forum.services.membership.admit_member`); these tests walk each door.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from forum import policy
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import NotFound
from forum.models.base import utcnow
from forum.models.groups import ExclusionKind
from forum.models.groups import Group
from forum.models.groups import GroupExclusion
from forum.models.groups import Role
from forum.models.invitations import Invitation
from forum.models.invitations import MemberInvitation
from forum.models.invitations import MemberInvitationState
from forum.models.modlog import ModerationLog
from forum.models.notifications import Notification
from forum.models.users import User
from forum.moderation import sanctions
from forum.services import accounts
from forum.services import groups
from forum.services import invitations
from forum.services import membership
from tests import factories as f

DOORS = ("link", "request", "name")


def _known(user: User) -> User:
    """Give the member a post on a site board, so that owners can find them by name."""
    f.make_topic(author=user)
    return user


def _link(group: Group, by: User | None = None, **limits: int) -> str:
    return f.make_invitation(group, by=by, **limits)


def _row(token: str, db) -> Invitation:
    found: Invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == invitations._digest(token))
    )
    return found


def _come_back(door: str, group: Group, user: User, db) -> None:
    """The member comes (back) into the group by one door, committed."""
    owner = f.actor(f.owner_of(group))
    if door == "link":
        invitations.accept_invitation(f.actor(user), _link(group))
    elif door == "request":
        request = groups.request_to_join(f.actor(user), group)
        groups.decide_join_request(owner, group, request.id, accept=True)
    else:
        invited = groups.set_member_role(owner, group, _known(user).username, role="member")
        assert isinstance(invited, MemberInvitation)
        invitations.accept_member_invitation(f.actor(user), invited.id)
    db.session.commit()


def _remove(group: Group, user: User, db) -> None:
    groups.remove_member(f.actor(f.owner_of(group)), group, user.username)
    db.session.commit()


def _log(group: Group, action: str, db) -> list[ModerationLog]:
    return list(
        db.session.scalars(
            select(ModerationLog)
            .where(ModerationLog.group_id == group.id, ModerationLog.action == action)
            .order_by(ModerationLog.id)
        )
    )


def _data(entry: ModerationLog) -> dict:
    return json.loads(entry.data)


# --- removals stick ----------------------------------------------------------------


def test_removed_member_cannot_return_through_another_open_link(db):
    member = f.make_user()
    group = f.make_group(secret=True, members=(member,))
    spare = _link(group, max_uses=500)
    _remove(group, member, db)
    with pytest.raises(NotFound) as caught:
        invitations.accept_invitation(f.actor(member), spare)
    assert caught.value.message == invitations.DEAD_LINK
    db.session.rollback()
    assert groups.membership_of(group, member.id) is None
    assert _row(spare, db).uses == 0
    # The same link still works for anyone else.
    invitations.accept_invitation(f.actor(f.make_user()), spare)


def test_removed_member_sees_an_open_link_as_dead(db):
    member = f.make_user()
    group = f.make_group(secret=True, members=(member,))
    spare = _link(group, max_uses=5)
    _remove(group, member, db)
    with pytest.raises(NotFound):
        invitations.find_open_invitation(spare, user_id=member.id)
    assert invitations.find_open_invitation(spare, user_id=f.make_user().id)


def test_removed_moderators_own_links_are_revoked_with_one_log_row(db):
    moderator = f.make_user()
    group = f.make_group(secret=True, moderators=(moderator,))
    own = [_link(group, by=moderator, max_uses=500) for _ in range(2)]
    _remove(group, moderator, db)
    assert all(_row(token, db).revoked_at is not None for token in own)
    [entry] = _log(group, "invitations_revoked", db)
    assert entry.target_id == moderator.id
    assert _data(entry) == {
        "why": "removed",
        "links": sorted(_row(token, db).id for token in own),
        "member_invitations": [],
    }
    for who in (moderator, f.make_user()):
        with pytest.raises(NotFound):
            invitations.accept_invitation(f.actor(who), own[0])


def test_removed_member_cannot_ask_to_join_again(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    _remove(group, member, db)
    with pytest.raises(Denied) as caught:
        groups.request_to_join(f.actor(member), group)
    assert caught.value.message == "You cannot ask to join this group."


def test_owner_must_allow_a_removed_member_back_before_inviting_them_by_name(db):
    member = _known(f.make_user())
    group = f.make_group(secret=True, members=(member,))
    _remove(group, member, db)
    owner = f.actor(f.owner_of(group))
    with pytest.raises(Conflict) as caught:
        groups.set_member_role(owner, group, member.username, role="member")
    assert caught.value.code == "excluded"
    assert "removed" in caught.value.message and "allow them back" in caught.value.message
    db.session.rollback()
    assert groups.membership_of(group, member.id) is None


def test_removal_withdraws_what_waited_for_them(db):
    member = _known(f.make_user())
    group = f.make_group(members=(member,))
    other = f.make_group(owner=f.owner_of(group))
    invited = groups.set_member_role(
        f.actor(f.owner_of(group)), other, member.username, role="member"
    )
    db.session.commit()
    _remove(group, member, db)
    # Another group's invitation is not this group's business.
    assert invited.state == MemberInvitationState.PENDING


def test_exclusion_withdraws_a_pending_invitation_by_name(db):
    asker = _known(f.make_user())
    group = f.make_group()
    owner = f.actor(f.owner_of(group))
    invited = groups.set_member_role(owner, group, asker.username, role="member")
    request = groups.request_to_join(f.actor(asker), group)
    groups.decide_join_request(owner, group, request.id, accept=False, keep_out=True)
    db.session.commit()
    assert invited.state == MemberInvitationState.WITHDRAWN
    with pytest.raises(NotFound):
        invitations.accept_member_invitation(f.actor(asker), invited.id)


def test_decline_for_good_keeps_them_from_every_door(db):
    asker = _known(f.make_user())
    group = f.make_group()
    owner = f.actor(f.owner_of(group))
    request = groups.request_to_join(f.actor(asker), group)
    assert groups.decide_join_request(owner, group, request.id, accept=False, keep_out=True)
    db.session.commit()
    [entry] = _log(group, "join_request_declined", db)
    assert (entry.target_id, _data(entry)) == (asker.id, {"request": request.id, "keep_out": True})
    with pytest.raises(Denied):
        groups.request_to_join(f.actor(asker), group)
    with pytest.raises(NotFound):
        invitations.accept_invitation(f.actor(asker), _link(group))
    db.session.rollback()
    with pytest.raises(Conflict) as caught:
        groups.set_member_role(owner, group, asker.username, role="member")
    assert caught.value.code == "excluded" and "declined" in caught.value.message


def test_a_plain_decline_lets_them_ask_again(db):
    asker = f.make_user()
    group = f.make_group()
    owner = f.actor(f.owner_of(group))
    request = groups.request_to_join(f.actor(asker), group)
    groups.decide_join_request(owner, group, request.id, accept=False)
    db.session.commit()
    assert groups.request_to_join(f.actor(asker), group).id != request.id


def test_leaving_by_oneself_does_not_exclude(db):
    member = f.make_user()
    group = f.make_group(secret=True, members=(member,))
    groups.remove_member(f.actor(member), group, member.username)
    db.session.commit()
    assert membership.live_exclusion(group, member.id) is None
    invitations.accept_invitation(f.actor(member), _link(group))
    assert groups.membership_of(group, member.id) is not None


@pytest.mark.parametrize("door", DOORS)
def test_allowed_back_member_comes_in_again_by_any_door(db, door):
    member = f.make_user()
    group = f.make_group(members=(member,))
    _remove(group, member, db)
    owner = f.actor(f.owner_of(group))
    assert [e.user_id for e in membership.exclusions(owner, group)] == [member.id]
    with pytest.raises(Denied):
        membership.allow_back(f.actor(f.make_user()), group, member.username)
    membership.allow_back(owner, group, member.username.upper())
    db.session.commit()
    [entry] = _log(group, "member_allowed_back", db)
    assert entry.target_id == member.id and _data(entry)["kind"] == "removed"
    assert membership.exclusions(owner, group) == []
    with pytest.raises(NotFound):
        membership.allow_back(owner, group, member.username)
    _come_back(door, group, member, db)
    assert groups.membership_of(group, member.id) is not None
    # History is kept: the lifted row stays, and a second removal adds another.
    _remove(group, member, db)
    rows = db.session.scalars(
        select(GroupExclusion).where(GroupExclusion.user_id == member.id)
    ).all()
    assert [(r.kind, r.lifted_at is None) for r in rows] == [
        (ExclusionKind.REMOVED, False),
        (ExclusionKind.REMOVED, True),
    ]


def test_registering_with_a_link_is_no_way_back_for_an_old_account(db):
    # A new account is a new person to the group: only its own history counts.
    member = f.make_user()
    group = f.make_group(secret=True, members=(member,))
    token = _link(group)
    _remove(group, member, db)
    fresh = accounts.register_member(
        f.actor(None), username="freshstart", password=f.PASSWORD, invite=token
    )
    assert groups.membership_of(group, fresh.id) is not None


# --- live sanctions apply again ------------------------------------------------------


def _sanction(kind: str, group: Group, user: User, db, *, days: int = 3) -> None:
    impose = sanctions.silence_member if kind == "silence" else sanctions.suspend_member
    impose(f.actor(f.owner_of(group)), user, group=group, days=days, reason="Cooling off.")
    db.session.commit()


def _leave(group: Group, user: User, db) -> None:
    groups.remove_member(f.actor(user), group, user.username)
    db.session.commit()


@pytest.mark.parametrize("door", DOORS)
def test_group_silence_applies_again_after_leaving_and_rejoining(db, door):
    member = f.make_user()
    group = f.make_group(members=(member,))
    _sanction("silence", group, member, db)
    _leave(group, member, db)
    _come_back(door, group, member, db)
    row = groups.membership_of(group, member.id)
    assert row is not None and row.silenced_until is not None
    actor = f.actor(member)
    assert group.id in actor.group_ids and group.id in actor.silenced_group_ids
    board = f.make_board(group=group)
    assert not policy.can_post_topic(actor, board)


@pytest.mark.parametrize("door", DOORS)
def test_group_suspension_applies_again_after_leaving_and_rejoining(db, door):
    member = f.make_user()
    group = f.make_group(members=(member,))
    _sanction("suspend", group, member, db)
    # A member suspended in a public group still reads it, and may leave it.
    _leave(group, member, db)
    _come_back(door, group, member, db)
    row = groups.membership_of(group, member.id)
    assert row is not None and row.suspended_until is not None
    assert group.id in f.actor(member).suspended_group_ids


def test_removed_while_silenced_and_allowed_back_is_still_silenced(db):
    member = f.make_user()
    group = f.make_group(secret=True, members=(member,))
    _sanction("silence", group, member, db)
    _remove(group, member, db)
    membership.allow_back(f.actor(f.owner_of(group)), group, member.username)
    db.session.commit()
    _come_back("link", group, member, db)
    assert group.id in f.actor(member).silenced_group_ids


def test_ended_or_lifted_sanctions_do_not_come_back(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    _sanction("silence", group, member, db)
    _sanction("suspend", group, member, db, days=2)
    owner = f.actor(f.owner_of(group))
    [silence] = sanctions.live_sanctions(member.id, group.id, sanctions.SanctionKind.SILENCE)
    sanctions.lift_sanction(owner, silence, reason="Fine now.")
    [suspension] = sanctions.live_sanctions(member.id, group.id, sanctions.SanctionKind.SUSPEND)
    suspension.ends_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    _leave(group, member, db)
    _come_back("link", group, member, db)
    row = groups.membership_of(group, member.id)
    assert (row.silenced_until, row.suspended_until) == (None, None)


def test_standing_lists_a_live_group_silence_while_outside_the_group(db):
    member = f.make_user()
    group = f.make_group(secret=True, members=(member,))
    _sanction("silence", group, member, db)
    _leave(group, member, db)
    actor = f.actor(member)
    found = sanctions.member_standing(actor, db.session.get(User, member.id))
    assert [(s.kind.value, s.group_id) for s in found] == [("silence", group.id)]


# --- links and break-glass -----------------------------------------------------------


def test_demoted_makers_links_are_revoked(db):
    moderator = _known(f.make_user())
    group = f.make_group(secret=True, moderators=(moderator,))
    token = _link(group, by=moderator, max_uses=10)
    owner = f.actor(f.owner_of(group))
    groups.set_member_role(owner, group, moderator.username, role="member")
    db.session.commit()
    assert _row(token, db).revoked_at is not None
    assert _data(_log(group, "invitations_revoked", db)[0])["why"] == "demoted"
    with pytest.raises(NotFound):
        invitations.accept_invitation(f.actor(f.make_user()), token)


def test_maker_leaving_revokes_their_links(db):
    moderator = f.make_user()
    group = f.make_group(secret=True, moderators=(moderator,))
    token = _link(group, by=moderator)
    _leave(group, moderator, db)
    assert _row(token, db).revoked_at is not None
    assert _data(_log(group, "invitations_revoked", db)[0])["why"] == "left"


def test_link_leads_nowhere_while_its_maker_is_silenced_in_the_group(db):
    moderator = f.make_user()
    group = f.make_group(secret=True, moderators=(moderator,))
    token = _link(group, by=moderator, max_uses=5)
    _sanction("silence", group, moderator, db)
    with pytest.raises(NotFound):
        invitations.accept_invitation(f.actor(f.make_user()), token)
    db.session.rollback()
    owner = f.actor(f.owner_of(group))
    assert invitations.working_invitation_ids(
        group, invitations.open_invitations(owner, group)
    ) == (set())
    [silence] = sanctions.live_sanctions(moderator.id, group.id)
    sanctions.lift_sanction(owner, silence, reason="Done.")
    db.session.commit()
    invitations.accept_invitation(f.actor(f.make_user()), token)


def test_link_leads_nowhere_once_its_maker_is_gone_another_way(db):
    # Maker's account deleted: the link has no maker who may invite.
    moderator = f.make_user()
    group = f.make_group(secret=True, moderators=(moderator,))
    token = _link(group, by=moderator)
    _row(token, db).created_by_id = None
    db.session.commit()
    with pytest.raises(NotFound):
        invitations.find_open_invitation(token)


def test_admin_under_break_glass_turns_the_hour_into_no_membership(db):
    admin = f.make_admin()
    group = f.make_group(secret=True)
    outsider = _known(f.make_user())
    groups.break_glass(f.actor(admin), group, reason="A safeguarding complaint to check.")
    db.session.commit()
    inside = f.actor(admin)
    assert group.id in inside.glass_group_ids
    assert policy.can_moderate_scope(inside, group)
    assert not policy.can_invite(inside, group)
    assert not policy.can_invite_by_name(inside, group)
    with pytest.raises(Denied):
        invitations.create_invitation(inside, group, max_uses=1)
    for name in (admin.username, outsider.username):
        with pytest.raises(Denied):
            groups.set_member_role(inside, group, name, role="owner")
    db.session.rollback()
    assert groups.membership_of(group, admin.id) is None


def test_admins_still_invite_into_public_groups(db):
    group = f.make_group()
    admin = f.actor(f.make_admin())
    assert policy.can_invite(admin, group) and policy.can_invite_by_name(admin, group)


# --- every join is logged --------------------------------------------------------------


def test_every_door_writes_a_member_joined_row(db):
    admin = f.make_admin()
    owner = _known(f.make_user())
    group = groups.create_group(
        f.actor(admin), name="Doors", slug="doors", visibility="public", owner=owner.username
    )
    db.session.commit()
    by_link, by_request, by_name = f.make_user(), f.make_user(), _known(f.make_user())
    token = _link(group)
    invitations.accept_invitation(f.actor(by_link), token)
    request = groups.request_to_join(f.actor(by_request), group)
    groups.decide_join_request(f.actor(owner), group, request.id, accept=True)
    invited = groups.set_member_role(f.actor(owner), group, by_name.username, role="moderator")
    invitations.accept_member_invitation(f.actor(by_name), invited.id)
    db.session.commit()
    rows = [(e.actor_id, e.target_id, _data(e)) for e in _log(group, "member_joined", db)]
    assert rows == [
        (admin.id, owner.id, {"door": "creation", "role": "owner"}),
        (
            by_link.id,
            by_link.id,
            {
                "door": "link",
                "role": "member",
                "invitation": _row(token, db).id,
                "invited_by": owner.id,
            },
        ),
        (
            owner.id,
            by_request.id,
            {"door": "request", "role": "member", "request": request.id, "accepted_by": owner.id},
        ),
        (
            by_name.id,
            by_name.id,
            {
                "door": "name",
                "role": "moderator",
                "member_invitation": invited.id,
                "invited_by": owner.id,
            },
        ),
    ]


def test_accepting_again_writes_no_second_row(db):
    group = f.make_group()
    token = _link(group, max_uses=3)
    user = f.make_user()
    invitations.accept_invitation(f.actor(user), token)
    invitations.accept_invitation(f.actor(user), token)
    db.session.commit()
    joined = [e.target_id for e in _log(group, "member_joined", db)]
    assert joined.count(user.id) == 1


# --- consent to be added -----------------------------------------------------------------


def test_invitation_by_name_makes_no_member_until_accepted(db):
    invitee = _known(f.make_user())
    group = f.make_group(secret=True)
    owner = f.actor(f.owner_of(group))
    invited = groups.set_member_role(owner, group, invitee.username, role="moderator")
    db.session.commit()
    assert isinstance(invited, MemberInvitation)
    assert groups.membership_of(group, invitee.id) is None
    # The group itself stays closed to them; the invitation is their only view of it.
    with pytest.raises(NotFound):
        policy.require_group(f.actor(invitee), group.slug)
    [note] = db.session.scalars(
        select(Notification).where(Notification.user_id == invitee.id)
    ).all()
    assert note.kind == "group_invitation" and group.name not in note.text
    assert [i.id for i in invitations.my_member_invitations(f.actor(invitee))] == [invited.id]
    joined, made = invitations.accept_member_invitation(f.actor(invitee), invited.id)
    db.session.commit()
    assert joined.id == group.id and made.role == Role.MODERATOR
    assert invited.state == MemberInvitationState.ACCEPTED
    assert invitations.my_member_invitations(f.actor(invitee)) == []
    with pytest.raises(NotFound):
        invitations.accept_member_invitation(f.actor(invitee), invited.id)


def test_declining_tells_the_owners_only_declined(db):
    invitee = _known(f.make_user())
    group = f.make_group()
    owner = f.actor(f.owner_of(group))
    invited = groups.set_member_role(owner, group, invitee.username, role="member")
    invitations.decline_member_invitation(f.actor(invitee), invited.id)
    db.session.commit()
    assert groups.membership_of(group, invitee.id) is None
    [listed] = invitations.group_member_invitations(owner, group)
    assert listed.state == MemberInvitationState.DECLINED
    with pytest.raises(NotFound):
        invitations.accept_member_invitation(f.actor(invitee), invited.id)


def test_someone_elses_or_a_withdrawn_invitation_is_not_found(db):
    invitee, other = _known(f.make_user()), f.make_user()
    group = f.make_group()
    owner = f.actor(f.owner_of(group))
    invited = groups.set_member_role(owner, group, invitee.username, role="member")
    db.session.commit()
    for bad in (invited.id, 987654, "1", True):
        with pytest.raises(NotFound):
            invitations.accept_member_invitation(f.actor(other), bad)
    assert invitations.withdraw_member_invitation(owner, group, invited.id)
    assert not invitations.withdraw_member_invitation(owner, group, invited.id)
    db.session.commit()
    with pytest.raises(NotFound):
        invitations.accept_member_invitation(f.actor(invitee), invited.id)
    with pytest.raises(Denied):
        invitations.withdraw_member_invitation(f.actor(other), group, invited.id)


@pytest.mark.parametrize("fate", ["demoted", "removed", "left", "silenced"])
def test_invitation_by_name_dies_with_its_inviters_right_to_invite(db, fate):
    invitee = _known(f.make_user())
    second = _known(f.make_user())
    group = f.make_group(members=(second,))
    first = f.owner_of(group)
    groups.set_member_role(f.actor(first), group, second.username, role="owner")
    invited = groups.set_member_role(f.actor(second), group, invitee.username, role="member")
    db.session.commit()
    owner = f.actor(first)
    if fate == "demoted":
        groups.set_member_role(owner, group, second.username, role="moderator")
    elif fate == "removed":
        groups.remove_member(owner, group, second.username)
    elif fate == "left":
        groups.remove_member(f.actor(second), group, second.username)
    else:
        # An owner cannot sanction a fellow owner: an admin does (a public group).
        admin = f.actor(f.make_admin())
        sanctions.silence_member(admin, second, group=group, days=2, reason="Calm down.")
    db.session.commit()
    assert invitations.my_member_invitations(f.actor(invitee)) == []
    with pytest.raises(NotFound):
        invitations.accept_member_invitation(f.actor(invitee), invited.id)


def test_inviting_again_while_it_waits_changes_the_role_offered(db):
    invitee = _known(f.make_user())
    group = f.make_group()
    owner = f.actor(f.owner_of(group))
    first = groups.set_member_role(owner, group, invitee.username, role="member")
    again = groups.set_member_role(owner, group, invitee.username, role="owner")
    assert again.id == first.id and again.role == Role.OWNER


def test_moderators_do_not_invite_by_name(db):
    moderator = f.make_user()
    invitee = _known(f.make_user())
    group = f.make_group(moderators=(moderator,))
    with pytest.raises(Denied):
        groups.set_member_role(f.actor(moderator), group, invitee.username, role="member")


# --- invitations give newcomers, not members, trust level 1 -----------------------------


def test_existing_member_gains_nothing_from_a_site_invitation(db):
    member = f.make_user(trust_level=0)
    token = _link(None)
    assert invitations.accept_invitation(f.actor(member), token) == (None, None)
    db.session.commit()
    assert db.session.get(User, member.id).trust_level == 0
    assert _row(token, db).uses == 0


def test_existing_member_gains_no_trust_level_from_a_group_link(db):
    member = f.make_user(trust_level=0)
    group = f.make_group()
    invitations.accept_invitation(f.actor(member), _link(group))
    db.session.commit()
    assert groups.membership_of(group, member.id) is not None
    assert db.session.get(User, member.id).trust_level == 0


def test_registering_with_an_invitation_still_starts_at_level_1(db):
    for group in (None, f.make_group()):
        token = _link(group)
        user = accounts.register_member(
            f.actor(None),
            username=f"newbie{group.id if group else 0}",
            password=f.PASSWORD,
            invite=token,
        )
        assert user.trust_level == invitations.INVITED_TRUST_LEVEL
        assert _row(token, db).uses == 1
