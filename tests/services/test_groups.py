"""Groups and invitations through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.models.base import utcnow
from forum.models.groups import Membership
from forum.models.groups import Role
from forum.models.invitations import Invitation
from forum.services import accounts
from forum.services import groups
from forum.services import invitations
from tests import factories as f


def _members(db, group) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(Membership.group_id == group.id)
    )


def test_admin_creates_group_with_creator_as_owner(db):
    admin = f.make_admin()
    group = groups.create_group(
        f.actor(admin), name="Night owls", slug="night-owls", visibility="secret"
    )
    assert groups.membership_of(group, admin.id).role == Role.OWNER


def test_member_cannot_create_group(db):
    with pytest.raises(Denied):
        groups.create_group(f.actor(f.make_user()), name="X", slug="x", visibility="public")


def test_duplicate_slug_is_a_conflict(db):
    f.make_group(slug="taken")
    with pytest.raises(Conflict):
        groups.create_group(f.actor(f.make_admin()), name="Y", slug="taken", visibility="public")


@pytest.mark.parametrize(
    ("slug", "visibility", "field"),
    [("Bad Slug", "public", "slug"), ("-dash", "public", "slug"), ("ok", "hidden", "visibility")],
)
def test_bad_group_input_is_invalid(db, slug, visibility, field):
    with pytest.raises(Invalid) as caught:
        groups.create_group(f.actor(f.make_admin()), name="N", slug=slug, visibility=visibility)
    assert field in caught.value.fields


def test_owner_sets_roles_and_bad_roles_are_invalid(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    owner = f.actor(f.owner_of(group))
    assert (
        groups.set_member_role(owner, group, member.username, role="moderator").role == "moderator"
    )
    with pytest.raises(Invalid):
        groups.set_member_role(owner, group, member.username, role="king")


def test_last_owner_cannot_leave_or_be_demoted(db):
    group = f.make_group()
    owner = f.owner_of(group)
    with pytest.raises(Conflict):
        groups.remove_member(f.actor(owner), group, owner.username)
    with pytest.raises(Conflict):
        groups.set_member_role(f.actor(owner), group, owner.username, role="member")


def test_ownership_transfer_then_old_owner_leaves(db):
    heir = f.make_user()
    group = f.make_group(members=(heir,))
    owner = f.owner_of(group)
    groups.set_member_role(f.actor(owner), group, heir.username, role="owner")
    assert groups.remove_member(f.actor(owner), group, owner.username)
    assert groups.membership_of(group, owner.id) is None


def test_member_can_leave_but_not_remove_others(db):
    one, two = f.make_user(), f.make_user()
    group = f.make_group(members=(one, two))
    with pytest.raises(Denied):
        groups.remove_member(f.actor(one), group, two.username)
    assert groups.remove_member(f.actor(one), group, one.username)


def test_join_request_accepted_makes_a_member(db):
    asker = f.make_user()
    group = f.make_group()
    request = groups.request_to_join(f.actor(asker), group)
    assert groups.request_to_join(f.actor(asker), group).id == request.id
    owner = f.actor(f.owner_of(group))
    assert groups.decide_join_request(owner, group, request.id, accept=True)
    assert groups.membership_of(group, asker.id) is not None
    assert not groups.decide_join_request(owner, group, request.id, accept=False)


def test_nobody_asks_to_join_a_secret_group(db):
    group = f.make_group(secret=True)
    with pytest.raises(Denied):
        groups.request_to_join(f.actor(f.make_user()), group)


def test_invitation_makes_a_member_once(db):
    group = f.make_group(secret=True)
    token = f.make_invitation(group, max_uses=1)
    guest = f.make_user()
    joined, membership = invitations.accept_invitation(f.actor(guest), token)
    assert joined.id == group.id and membership.role == Role.MEMBER
    again, _ = invitations.accept_invitation(f.actor(guest), token)
    assert again.id == group.id
    assert _members(db, group) == 2


def test_used_up_invitation_refuses_a_second_person(db):
    group = f.make_group(secret=True)
    token = f.make_invitation(group, max_uses=1)
    invitations.accept_invitation(f.actor(f.make_user()), token)
    with pytest.raises(NotFound):
        invitations.accept_invitation(f.actor(f.make_user()), token)


def test_expired_revoked_and_forged_invitations_are_not_found(db):
    group = f.make_group(secret=True)
    expired = f.make_invitation(group)
    row = db.session.scalar(select(Invitation).order_by(Invitation.id.desc()))
    row.expires_at = utcnow() - timedelta(minutes=1)
    revoked = f.make_invitation(group)
    newest = db.session.scalar(select(Invitation).order_by(Invitation.id.desc()))
    invitations.revoke_invitation(f.actor(f.owner_of(group)), group, newest.id)
    db.session.commit()
    for token in (expired, revoked, "forged-token-123456", ""):
        with pytest.raises(NotFound):
            invitations.accept_invitation(f.actor(f.make_user()), token)


def test_token_for_one_group_does_not_open_another(db):
    first, second = f.make_group(secret=True), f.make_group(secret=True)
    user = f.make_user()
    invitations.accept_invitation(f.actor(user), f.make_invitation(first))
    assert groups.membership_of(first, user.id) is not None
    assert groups.membership_of(second, user.id) is None


def test_inviting_needs_owner_or_moderator(db):
    member = f.make_user()
    group = f.make_group(secret=True, members=(member,))
    with pytest.raises(Denied):
        invitations.create_invitation(f.actor(member), group)


@pytest.mark.parametrize(("uses", "hours"), [(0, 1), (1, 0), (1, 721), ("x", 1)])
def test_bad_invitation_limits_are_invalid(db, uses, hours):
    group = f.make_group()
    with pytest.raises(Invalid):
        invitations.create_invitation(
            f.actor(f.owner_of(group)), group, max_uses=uses, expires_in_hours=hours
        )


def test_registration_with_invitation_on_invite_only_site_joins_the_group(db):
    group = f.make_group(secret=True)
    token = f.make_invitation(group)
    user = accounts.register_member(
        f.actor(None), username="newcomer", password=f.PASSWORD, invite=token
    )
    assert groups.membership_of(group, user.id) is not None
    assert user.trust_level == invitations.INVITED_TRUST_LEVEL


def test_registration_with_bad_invitation_makes_no_account(db):
    with pytest.raises(NotFound):
        accounts.register_member(
            f.actor(None), username="newcomer", password=f.PASSWORD, invite="no-such-token"
        )
    db.session.rollback()
    assert accounts.find_user("newcomer") is None


def test_site_invitation_lets_a_newcomer_register(db):
    token = f.make_invitation(None)
    user = accounts.register_member(
        f.actor(None), username="newcomer", password=f.PASSWORD, invite=token
    )
    assert user.id


def test_group_owner_creates_boards_in_own_group_only(db):
    group, other = f.make_group(), f.make_group()
    owner = f.actor(f.owner_of(group))
    from forum.services import boards

    board = boards.create_board(owner, name="Our board", group=group)
    assert board.group_id == group.id
    with pytest.raises(Denied):
        boards.create_board(owner, name="Theirs", group=other)
    with pytest.raises(Denied):
        boards.create_board(owner, name="Site board")


def test_admin_lists_and_revokes_site_invitations(db):
    admin = f.actor(f.make_admin())
    token = f.make_invitation(None)
    [open_one] = invitations.open_invitations(admin, None)
    assert invitations.revoke_invitation(admin, None, open_one.id)
    db.session.commit()
    assert invitations.open_invitations(admin, None) == []
    with pytest.raises(NotFound):
        invitations.find_open_invitation(token)
    with pytest.raises(Denied):
        invitations.open_invitations(f.actor(f.make_user()), None)
