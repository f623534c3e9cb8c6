"""Group doors through the API (issue 10, findings 1, 2 and 5): removals that stick,
who made each link, invitations by name that need consent, live sanctions on re-entry.

Someone the group keeps out meets every door exactly as if it did not exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from forum.extensions import db
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.invitations import Invitation
from forum.models.users import User
from forum.moderation import sanctions
from tests import factories

API = "/api/v1"
FORGED = "forgedTOKENforgedTOKEN0123456789abcdef"


@pytest.fixture
def circle() -> Group:
    """A secret group: its owner, a moderator and a member (all known on the site)."""
    owner = factories.make_user("circle-owner")
    moderator = factories.make_user("circle-mod")
    member = factories.make_user("circle-member")
    for user in (owner, moderator, member):
        factories.make_topic(author=user, title=f"Hello from {user.username}")
    return factories.make_group(
        "Quiet Circle",
        slug="quiet-circle",
        secret=True,
        owner=owner,
        members=(member,),
        moderators=(moderator,),
    )


def _user(name: str) -> User:
    user = db.session.scalar(db.select(User).where(User.username == name))
    assert user is not None
    return user


def _invitation(token: str) -> Invitation:
    digest = hashlib.sha256(token.encode()).hexdigest()
    found = db.session.scalar(db.select(Invitation).where(Invitation.token_hash == digest))
    assert found is not None
    return found


def _is_member(group: Group, name: str) -> bool:
    db.session.rollback()
    found = db.session.scalar(
        db.select(Membership.id).where(
            Membership.group_id == group.id, Membership.user_id == _user(name).id
        )
    )
    return found is not None


def _remove(client: FlaskClient, bearer: Callable, name: str) -> None:
    path = f"{API}/groups/quiet-circle/members/{name}"
    assert client.delete(path, headers=bearer(_user("circle-owner"))).status_code == 204


# --- removals stick ------------------------------------------------------------------


def test_removed_member_meets_an_open_link_like_a_dead_one(
    client: FlaskClient, bearer: Callable, circle: Group
) -> None:
    spare = factories.make_invitation(circle, by=_user("circle-mod"), max_uses=500)
    headers = bearer(_user("circle-member"))
    _remove(client, bearer, "circle-member")
    again = client.post(f"{API}/invitations/{spare}/accept", headers=headers)
    forged = client.post(f"{API}/invitations/{FORGED}/accept", headers=headers)
    assert again.status_code == forged.status_code == 404
    assert again.get_data() == forged.get_data()
    assert not _is_member(circle, "circle-member")
    assert _invitation(spare).uses == 0


def test_removed_moderators_own_link_is_revoked(
    client: FlaskClient, bearer: Callable, circle: Group
) -> None:
    mod_headers = bearer(_user("circle-mod"))
    made = client.post(
        f"{API}/groups/quiet-circle/invitations", json={"max_uses": 500}, headers=mod_headers
    )
    token = made.get_json()["token"]
    owner = bearer(_user("circle-owner"))
    listed = client.get(f"{API}/groups/quiet-circle/invitations", headers=owner).get_json()
    assert [(i["created_by"], i["working"]) for i in listed["invitations"]] == [
        ("circle-mod", True)
    ]
    _remove(client, bearer, "circle-mod")
    assert client.get(f"{API}/groups/quiet-circle/invitations", headers=owner).get_json() == {
        "invitations": []
    }
    for user in ("circle-mod", "circle-member"):
        answer = client.post(f"{API}/invitations/{token}/accept", headers=bearer(_user(user)))
        assert answer.status_code == 404, user
    assert not _is_member(circle, "circle-mod")


def test_owners_see_who_is_kept_out_and_allow_them_back(
    client: FlaskClient, bearer: Callable, circle: Group
) -> None:
    owner = bearer(_user("circle-owner"))
    _remove(client, bearer, "circle-member")
    kept = client.get(f"{API}/groups/quiet-circle/exclusions", headers=owner)
    assert kept.status_code == 200
    [row] = kept.get_json()["exclusions"]
    assert (row["username"], row["kind"], row["by"]) == ("circle-member", "removed", "circle-owner")
    # Inviting them by name is refused, with the reason (the owners removed them).
    invite = client.put(
        f"{API}/groups/quiet-circle/members/circle-member", json={"role": "member"}, headers=owner
    )
    assert invite.status_code == 409
    assert invite.get_json()["error"]["code"] == "excluded"
    # Moderators neither see the list nor let anyone back.
    mod = bearer(_user("circle-mod"))
    assert client.get(f"{API}/groups/quiet-circle/exclusions", headers=mod).status_code == 403
    path = f"{API}/groups/quiet-circle/exclusions/circle-member"
    assert client.delete(path, headers=mod).status_code == 403
    assert client.delete(path, headers=owner).status_code == 204
    assert client.delete(path, headers=owner).status_code == 404
    assert client.get(f"{API}/groups/quiet-circle/exclusions", headers=owner).get_json() == {
        "exclusions": []
    }
    token = factories.make_invitation(circle)
    back = client.post(f"{API}/invitations/{token}/accept", headers=bearer(_user("circle-member")))
    assert back.status_code == 200
    assert _is_member(circle, "circle-member")


def test_decline_for_good_through_the_api(client: FlaskClient, bearer: Callable) -> None:
    owner = factories.make_user("club-owner")
    asker = factories.make_user("asker")
    factories.make_group("Walking club", slug="walking", owner=owner)
    asked = client.post(f"{API}/groups/walking/join-requests", headers=bearer(asker))
    request_id = asked.get_json()["id"]
    path = f"{API}/groups/walking/join-requests/{request_id}/decline"
    bad = client.post(path, json={"keep_out": "yes"}, headers=bearer(owner))
    assert bad.status_code == 400 and "keep_out" in bad.get_json()["error"]["fields"]
    declined = client.post(path, json={"keep_out": True}, headers=bearer(owner))
    assert declined.status_code == 200
    assert declined.get_json()["state"] == "declined"
    again = client.post(f"{API}/groups/walking/join-requests", headers=bearer(asker))
    assert again.status_code == 403
    assert again.get_json()["error"]["message"] == "You cannot ask to join this group."
    kept = client.get(f"{API}/groups/walking/exclusions", headers=bearer(owner)).get_json()
    assert [(e["username"], e["kind"]) for e in kept["exclusions"]] == [("asker", "declined")]


def test_break_glass_admin_makes_no_link_and_invites_nobody(
    client: FlaskClient, bearer: Callable, circle: Group
) -> None:
    admin = factories.make_admin("glass-admin")
    headers = bearer(admin)
    entered = client.post(
        f"{API}/admin/groups/{circle.id}/break-glass",
        json={"reason": "Checking a safeguarding complaint."},
        headers=headers,
    )
    assert entered.status_code == 201
    link = client.post(f"{API}/groups/quiet-circle/invitations", json={}, headers=headers)
    assert link.status_code == 403
    factories.make_topic(author=factories.make_user("outsider"))
    for name in ("glass-admin", "outsider"):
        added = client.put(
            f"{API}/groups/quiet-circle/members/{name}", json={"role": "owner"}, headers=headers
        )
        assert added.status_code == 403, name
    # They can still look.
    assert client.get(f"{API}/groups/quiet-circle/members", headers=headers).status_code == 200
    assert not _is_member(circle, "glass-admin")


# --- consent to be added -----------------------------------------------------------------


def test_invitee_lists_accepts_and_declines_their_invitations(
    client: FlaskClient, bearer: Callable, circle: Group
) -> None:
    owner = bearer(_user("circle-owner"))
    for name in ("ana", "ben"):
        factories.make_topic(author=factories.make_user(name))
        put = client.put(
            f"{API}/groups/quiet-circle/members/{name}", json={"role": "member"}, headers=owner
        )
        assert put.status_code == 202
    ana, ben = bearer(_user("ana")), bearer(_user("ben"))
    [mine] = client.get(f"{API}/me/invitations", headers=ana).get_json()["invitations"]
    assert mine["group"] == {
        "name": "Quiet Circle",
        "description": "",
        "visibility": "secret",
    }
    assert (mine["role"], mine["invited_by"], mine["url"]) == (
        "member",
        "circle-owner",
        "/account/invitations",
    )
    notes = client.get(f"{API}/notifications", headers=ana).get_json()["notifications"]
    assert [n["kind"] for n in notes] == ["group_invitation"]
    assert "Quiet Circle" not in notes[0]["text"]
    # Ben cannot answer Ana's invitation: it answers like an id never used.
    theirs = client.post(f"{API}/me/invitations/{mine['id']}/accept", headers=ben)
    missing = client.post(f"{API}/me/invitations/987654/accept", headers=ben)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_data() == missing.get_data()
    [bens] = client.get(f"{API}/me/invitations", headers=ben).get_json()["invitations"]
    assert client.post(f"{API}/me/invitations/{bens['id']}/decline", headers=ben).status_code == 204
    accepted = client.post(f"{API}/me/invitations/{mine['id']}/accept", headers=ana)
    assert accepted.status_code == 200
    assert accepted.get_json()["group"]["slug"] == "quiet-circle"
    assert _is_member(circle, "ana") and not _is_member(circle, "ben")
    listed = client.get(f"{API}/groups/quiet-circle/member-invitations", headers=owner)
    assert [(i["username"], i["state"]) for i in listed.get_json()["invitations"]] == [
        ("ben", "declined")
    ]
    assert client.get(f"{API}/me/invitations", headers=ana).get_json() == {"invitations": []}


def test_withdrawn_invitation_answers_like_a_missing_one(
    client: FlaskClient, bearer: Callable, circle: Group
) -> None:
    owner = bearer(_user("circle-owner"))
    factories.make_topic(author=factories.make_user("cara"))
    invited = client.put(
        f"{API}/groups/quiet-circle/members/cara", json={"role": "moderator"}, headers=owner
    ).get_json()
    listed = client.get(f"{API}/groups/quiet-circle/member-invitations", headers=owner).get_json()
    assert [(i["id"], i["state"], i["role"]) for i in listed["invitations"]] == [
        (invited["id"], "pending", "moderator")
    ]
    path = f"{API}/groups/quiet-circle/member-invitations/{invited['id']}"
    assert client.delete(path, headers=bearer(_user("circle-mod"))).status_code == 403
    assert client.delete(path, headers=owner).status_code == 204
    assert client.delete(path, headers=owner).status_code == 204
    cara = bearer(_user("cara"))
    assert client.get(f"{API}/me/invitations", headers=cara).get_json() == {"invitations": []}
    for verb in ("accept", "decline"):
        gone = client.post(f"{API}/me/invitations/{invited['id']}/{verb}", headers=cara)
        missing = client.post(f"{API}/me/invitations/987654/{verb}", headers=cara)
        assert gone.status_code == 404
        assert gone.get_data() == missing.get_data()


def test_guests_are_asked_to_log_in_for_invitations(client: FlaskClient) -> None:
    assert client.get(f"{API}/me/invitations").status_code == 401
    assert client.post(f"{API}/me/invitations/1/accept").status_code == 401


# --- sanctions and standing ------------------------------------------------------------


def test_standing_shows_a_live_group_silence_while_outside(
    client: FlaskClient, bearer: Callable, circle: Group
) -> None:
    member = _user("circle-member")
    sanctions.silence_member(
        factories.actor(_user("circle-owner")),
        member,
        group=circle,
        days=5,
        reason="Cooling off.",
    )
    db.session.commit()
    headers = bearer(member)
    assert (
        client.delete(f"{API}/groups/quiet-circle/members/circle-member", headers=headers)
    ).status_code == 204
    standing = client.get(f"{API}/me/standing", headers=headers).get_json()["sanctions"]
    assert [(s["kind"], s["group_id"], s["state"]) for s in standing] == [
        ("silence", circle.id, "active")
    ]
    # Back in by a link: still silenced there.
    accepted = client.post(
        f"{API}/invitations/{factories.make_invitation(circle)}/accept", headers=headers
    )
    assert accepted.status_code == 200
    board = factories.make_board(group=circle)
    posted = client.post(
        f"{API}/boards/{board.id}/topics",
        json={"title": "Back again", "body": "Hello all."},
        headers=headers,
    )
    assert posted.status_code == 403


def test_rejoining_a_secret_group_while_suspended_answers_no_group(
    client: FlaskClient, bearer: Callable, circle: Group
) -> None:
    owner, member = _user("circle-owner"), _user("circle-member")
    sanctions.suspend_member(
        factories.actor(owner), member, group=circle, days=3, reason="A break."
    )
    db.session.commit()
    _remove(client, bearer, "circle-member")
    path = f"{API}/groups/quiet-circle/exclusions/circle-member"
    assert client.delete(path, headers=bearer(owner)).status_code == 204
    accepted = client.post(
        f"{API}/invitations/{factories.make_invitation(circle)}/accept", headers=bearer(member)
    )
    assert accepted.status_code == 200
    # In again, but the suspension runs on: the group stays closed to them for its time.
    assert accepted.get_json() == {
        "group": None,
        "member": accepted.get_json()["member"],
    }
    assert accepted.get_json()["member"]["username"] == "circle-member"
    assert client.get(f"{API}/groups/quiet-circle", headers=bearer(member)).status_code == 404


# --- invitations give newcomers, not members, trust level 1 -------------------------------


def test_member_accepting_a_site_invitation_changes_nothing(
    client: FlaskClient, bearer: Callable
) -> None:
    member = factories.make_user("plain", trust_level=0)
    token = factories.make_invitation(None)
    answer = client.post(f"{API}/invitations/{token}/accept", headers=bearer(member))
    assert answer.status_code == 200
    assert answer.get_json() == {"group": None, "member": None}
    db.session.rollback()
    assert db.session.get(User, member.id).trust_level == 0
    assert _invitation(token).uses == 0
