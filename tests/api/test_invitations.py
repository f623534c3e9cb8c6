"""Invitation links through the API: making, listing, revoking, accepting, registering.

Every dead token (unknown, forged, revoked, expired, used up) answers the same 404.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.invitations import Invitation
from forum.models.users import User
from tests import factories

API = "/api/v1"
NEW = {"username": "newcomer", "password": "a fresh long passphrase"}


@pytest.fixture
def secret() -> Group:
    moderator = factories.make_user("harbour-mod")
    member = factories.make_user("harbour-member")
    return factories.make_group(
        "Hidden Harbour",
        slug="hidden-harbour",
        secret=True,
        owner=factories.make_user("harbour-owner"),
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


def _memberships(group: Group, user: User) -> int:
    return len(
        db.session.scalars(
            db.select(Membership.id).where(
                Membership.group_id == group.id, Membership.user_id == user.id
            )
        ).all()
    )


def _accept(client: FlaskClient, token: str, headers: dict[str, str]):  # noqa: ANN202
    return client.post(f"{API}/invitations/{token}/accept", headers=headers)


def _time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# --- making invitations ---------------------------------------------------------


def test_owner_makes_an_invitation_with_defaults(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    before = utcnow()
    response = client.post(
        f"{API}/groups/hidden-harbour/invitations", headers=bearer(_user("harbour-owner"))
    )
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "token", "url", "link", "expires_at", "max_uses", "uses"}
    assert body["url"] == f"/invite/{body['token']}"
    assert body["link"] == f"http://localhost/invite/{body['token']}"
    assert (body["max_uses"], body["uses"]) == (1, 0)
    lifetime = _time(body["expires_at"]) - before
    assert timedelta(hours=167, minutes=59) < lifetime <= timedelta(hours=168, seconds=1)
    # Only a hash of the token is stored.
    stored = db.session.get(Invitation, body["id"])
    assert stored.token_hash != body["token"] and body["token"] not in stored.token_hash


def test_invitation_link_in_the_answer_points_at_the_host_and_port_used(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    """The link to share names where the client reached the forum, not FORUM_BASE_URL."""
    response = client.post(
        f"{API}/groups/hidden-harbour/invitations",
        headers=bearer(_user("harbour-owner")),
        base_url="http://192.168.1.20:8100",
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["link"] == f"http://192.168.1.20:8100/invite/{body['token']}"
    # The landing page it names works.
    assert client.get(body["url"]).status_code == 200


def test_moderator_makes_an_invitation_with_limits(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    response = client.post(
        f"{API}/groups/hidden-harbour/invitations",
        json={"max_uses": 3, "expires_in_hours": 720},
        headers=bearer(_user("harbour-mod")),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["max_uses"] == 3
    assert _time(body["expires_at"]) - utcnow() > timedelta(hours=719)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"expires_in_hours": 721}, "expires_in_hours"),
        ({"expires_in_hours": 0}, "expires_in_hours"),
        ({"expires_in_hours": "soon"}, "expires_in_hours"),
        ({"expires_in_hours": 1.5}, "expires_in_hours"),
        ({"max_uses": 0}, "max_uses"),
        ({"max_uses": -1}, "max_uses"),
        ({"max_uses": 501}, "max_uses"),
        ({"max_uses": True}, "max_uses"),
        ({"token": "mine"}, "token"),
    ],
)
def test_invitation_limits_are_checked(
    client: FlaskClient, bearer: Callable, secret: Group, payload: dict, field: str
) -> None:
    count = db.select(db.func.count()).select_from(Invitation)
    before = db.session.scalar(count)
    response = client.post(
        f"{API}/groups/hidden-harbour/invitations",
        json=payload,
        headers=bearer(_user("harbour-owner")),
    )
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(count) == before


def test_inviting_into_a_group_you_cannot_see_is_not_found(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    for user in (
        factories.make_user(),
        factories.make_user(moderator=True),
        factories.make_admin(),
    ):
        headers = bearer(user)
        hidden = client.post(f"{API}/groups/hidden-harbour/invitations", json={}, headers=headers)
        missing = client.post(f"{API}/groups/no-such-group/invitations", json={}, headers=headers)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_data() == missing.get_data()
    assert client.post(f"{API}/groups/hidden-harbour/invitations", json={}).status_code == 401


def test_inviting_into_a_group_you_see_but_do_not_moderate_is_forbidden(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    member = bearer(_user("harbour-member"))
    for path in ("/groups/hidden-harbour/invitations",):
        assert client.post(API + path, json={}, headers=member).status_code == 403
        assert client.get(API + path, headers=member).status_code == 403
    factories.make_group(slug="open-circle")
    outsider = bearer(factories.make_user(moderator=True))
    response = client.post(f"{API}/groups/open-circle/invitations", json={}, headers=outsider)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


# --- listing and revoking -------------------------------------------------------


def test_open_invitations_are_listed_without_tokens(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    owner = _user("harbour-owner")
    open_token = factories.make_invitation(secret, max_uses=5)
    used_up = factories.make_invitation(secret)
    revoked = factories.make_invitation(secret)
    expired = factories.make_invitation(secret)
    _accept(client, used_up, bearer(factories.make_user()))
    _invitation(expired).expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    headers = bearer(owner)
    client.delete(
        f"{API}/groups/hidden-harbour/invitations/{_invitation(revoked).id}", headers=headers
    )
    _accept(client, open_token, bearer(factories.make_user()))
    response = client.get(f"{API}/groups/hidden-harbour/invitations", headers=headers)
    assert response.status_code == 200
    listed = response.get_json()["invitations"]
    assert [i["id"] for i in listed] == [_invitation(open_token).id]
    assert set(listed[0]) == {
        "id",
        "created_at",
        "created_by",
        "expires_at",
        "max_uses",
        "uses",
        "working",
    }
    assert (listed[0]["max_uses"], listed[0]["uses"]) == (5, 1)
    assert (listed[0]["created_by"], listed[0]["working"]) == ("harbour-owner", True)
    text = response.get_data(as_text=True)
    for token in (open_token, used_up, revoked, expired):
        assert token not in text
    moderator = client.get(
        f"{API}/groups/hidden-harbour/invitations", headers=bearer(_user("harbour-mod"))
    )
    assert moderator.get_json() == response.get_json()


def test_revoked_invitation_answers_not_found(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    token = factories.make_invitation(secret)
    invitation_id = _invitation(token).id
    path = f"{API}/groups/hidden-harbour/invitations/{invitation_id}"
    assert client.delete(path, headers=bearer(_user("harbour-member"))).status_code == 403
    assert client.delete(path, headers=bearer(_user("harbour-mod"))).status_code == 204
    assert client.delete(path, headers=bearer(_user("harbour-mod"))).status_code == 204
    response = _accept(client, token, bearer(factories.make_user()))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_revoking_an_unknown_or_other_groups_invitation_is_not_found(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    other = factories.make_group(secret=True)
    elsewhere = _invitation(factories.make_invitation(other)).id
    headers = bearer(_user("harbour-owner"))
    for invitation_id in (elsewhere, 99999):
        response = client.delete(
            f"{API}/groups/hidden-harbour/invitations/{invitation_id}", headers=headers
        )
        assert response.status_code == 404
    db.session.rollback()
    assert db.session.get(Invitation, elsewhere).revoked_at is None


# --- accepting ------------------------------------------------------------------


def test_accepting_makes_a_member_and_again_changes_nothing(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    token = factories.make_invitation(secret)
    newcomer = factories.make_user("newcomer")
    headers = bearer(newcomer)
    topic = factories.make_topic(
        factories.make_board(group=secret), _user("harbour-member"), title="Inside"
    )
    assert client.get(f"{API}/topics/{topic.id}", headers=headers).status_code == 404
    first = _accept(client, token, headers)
    assert first.status_code == 200
    body = first.get_json()
    assert body["group"]["slug"] == "hidden-harbour"
    assert (body["group"]["role"], body["group"]["members_count"]) == ("member", 4)
    assert (body["member"]["username"], body["member"]["role"]) == ("newcomer", "member")
    again = _accept(client, token, headers)
    assert again.status_code == 200
    assert again.get_json() == body
    db.session.rollback()
    assert _memberships(secret, newcomer) == 1
    assert _invitation(token).uses == 1
    assert client.get(f"{API}/topics/{topic.id}", headers=headers).status_code == 200
    # An existing account gains no trust level by a link: only one registered with it.
    assert db.session.get(User, newcomer.id).trust_level == 0


def test_guest_accepting_must_log_in_whatever_the_token(client: FlaskClient, secret: Group) -> None:
    token = factories.make_invitation(secret)
    real = _accept(client, token, {})
    forged = _accept(client, "x" * len(token), {})
    assert real.status_code == forged.status_code == 401
    assert real.get_data() == forged.get_data()
    assert _invitation(token).uses == 0


def test_dead_tokens_all_answer_alike(client: FlaskClient, bearer: Callable, secret: Group) -> None:
    revoked = factories.make_invitation(secret)
    _invitation(revoked).revoked_at = utcnow()
    expired = factories.make_invitation(secret)
    _invitation(expired).expires_at = utcnow() - timedelta(seconds=1)
    used_up = factories.make_invitation(secret)
    db.session.commit()
    _accept(client, used_up, bearer(factories.make_user()))
    headers = bearer(factories.make_user("latecomer"))
    missing = client.get(f"{API}/topics/99999", headers=headers)
    forged = factories.make_invitation(secret)[:-4] + "abcd"
    for token in (revoked, expired, used_up, forged, "short", "not-a-token-%00", "x" * 101):
        response = _accept(client, token, headers)
        assert response.status_code == 404, token
        assert response.get_data() == missing.get_data(), token
    assert _memberships(secret, _user("latecomer")) == 0


def test_reuse_beyond_max_uses_is_not_found(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    token = factories.make_invitation(secret, max_uses=2)
    first, second, third = (factories.make_user() for _ in range(3))
    assert _accept(client, token, bearer(first)).status_code == 200
    assert _accept(client, token, bearer(second)).status_code == 200
    assert _accept(client, token, bearer(third)).status_code == 404
    # Those who used it may still accept again (same answer, no new use).
    assert _accept(client, token, bearer(second)).status_code == 200
    db.session.rollback()
    assert _invitation(token).uses == 2
    assert _memberships(secret, third) == 0


def test_a_member_accepting_spends_no_use(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    token = factories.make_invitation(secret)
    response = _accept(client, token, bearer(_user("harbour-mod")))
    assert response.status_code == 200
    assert response.get_json()["member"]["role"] == "moderator"
    assert _invitation(token).uses == 0
    assert _accept(client, token, bearer(factories.make_user())).status_code == 200


def test_a_token_for_one_group_does_not_open_another(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    other_owner = factories.make_user()
    other = factories.make_group("Other Shore", slug="other-shore", secret=True, owner=other_owner)
    other_topic = factories.make_topic(factories.make_board(group=other), other_owner)
    token = factories.make_invitation(secret)
    newcomer = factories.make_user()
    headers = bearer(newcomer)
    assert _accept(client, token, headers).get_json()["group"]["slug"] == "hidden-harbour"
    assert client.get(f"{API}/groups/other-shore", headers=headers).status_code == 404
    assert client.get(f"{API}/topics/{other_topic.id}", headers=headers).status_code == 404
    assert _memberships(other, newcomer) == 0


def test_leaving_after_accepting_closes_the_group_again(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    token = factories.make_invitation(secret, max_uses=3)
    headers = bearer(factories.make_user("visitor"))
    _accept(client, token, headers)
    left = client.delete(f"{API}/groups/hidden-harbour/members/visitor", headers=headers)
    assert left.status_code == 204
    assert client.get(f"{API}/groups/hidden-harbour", headers=headers).status_code == 404
    # The link (still open for others) is spent for them: it answers like a forged one.
    again = _accept(client, token, headers)
    forged = _accept(client, "forged-token-123456", headers)
    assert again.status_code == forged.status_code == 404
    assert again.get_data() == forged.get_data()
    assert _memberships(secret, _user("visitor")) == 0


def test_a_removed_member_cannot_come_back_through_the_old_link(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    token = factories.make_invitation(secret, max_uses=1)
    headers = bearer(factories.make_user("visitor"))
    assert _accept(client, token, headers).status_code == 200
    removed = client.delete(
        f"{API}/groups/hidden-harbour/members/visitor", headers=bearer(_user("harbour-owner"))
    )
    assert removed.status_code == 204
    again = _accept(client, token, headers)
    assert again.status_code == 404
    assert "Harbour" not in again.get_data(as_text=True)
    assert _memberships(secret, _user("visitor")) == 0


# --- registering with an invitation -----------------------------------------------


def test_registration_with_a_group_invitation_lands_in_the_group(
    client: FlaskClient, secret: Group
) -> None:
    token = factories.make_invitation(secret)  # registration stays invite_only
    response = client.post(f"{API}/users", json={**NEW, "invite": token})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["username"], body["group"]) == ("newcomer", "hidden-harbour")
    assert len(body["recovery_codes"]) == 8
    login = client.post(f"{API}/auth/token", json=NEW).get_json()
    headers = {"Authorization": f"Bearer {login['token']}"}
    shown = client.get(f"{API}/groups/hidden-harbour", headers=headers)
    assert shown.status_code == 200
    assert shown.get_json()["role"] == "member"
    assert _invitation(token).uses == 1


def test_registration_with_a_site_invitation_has_no_group(client: FlaskClient) -> None:
    token = factories.make_invitation(None)
    response = client.post(f"{API}/users", json={**NEW, "invite": token})
    assert response.status_code == 201
    assert response.get_json()["group"] is None


def test_registration_with_a_dead_invitation_is_not_found(
    client: FlaskClient, bearer: Callable, secret: Group
) -> None:
    used = factories.make_invitation(secret)
    _accept(client, used, bearer(factories.make_user()))
    for token in (used, "made-up-token", 5):
        response = client.post(f"{API}/users", json={**NEW, "invite": token})
        assert response.status_code == 404, token
    assert db.session.scalar(db.select(User.id).where(User.username == "newcomer")) is None


def test_registration_with_a_bad_name_spends_no_invitation(
    client: FlaskClient, secret: Group
) -> None:
    token = factories.make_invitation(secret)
    response = client.post(
        f"{API}/users", json={"username": "x", "password": "short", "invite": token}
    )
    assert response.status_code == 400
    assert _invitation(token).uses == 0
    assert client.post(f"{API}/users", json={**NEW, "invite": token}).status_code == 201


def test_registration_without_invitation_still_refused(client: FlaskClient) -> None:
    response = client.post(f"{API}/users", json=NEW)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "invite_required"
