"""Groups through the API: creating, seeing, members and roles, join requests, break-glass.

Secret groups answer every outsider exactly like something that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from forum import policy
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import BreakGlass
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.invitations import MemberInvitation
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.services import groups
from forum.services import invitations
from tests import factories

API = "/api/v1"
MISSING_BODY = {"error": {"code": "not_found", "message": "Not found."}}


def _add(group: Group, username: str, role: str, *, by: User) -> None:
    """Put a member into a group with a role: `by` (one of its owners) invites them by
    name and they accept, committed."""
    _known(username)
    invited = groups.set_member_role(factories.actor(by), group, username, role=role)
    if isinstance(invited, MemberInvitation):
        invitations.accept_member_invitation(factories.actor(invited.user), invited.id)
    db.session.commit()


def _user(username: str) -> User:
    user: User = db.session.scalar(db.select(User).where(User.username_key == username.lower()))
    return user


def _known(username: str) -> None:
    """Give the member a post on a site board, so that other members know the name."""
    user = db.session.scalar(db.select(User).where(User.username_key == username.lower()))
    factories.make_topic(author=user)


def _members_of(group: Group) -> dict[str, str]:
    rows = db.session.execute(
        db.select(User.username, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group.id)
    )
    return {name: role.value for name, role in rows}


# --- creating groups ------------------------------------------------------------


def test_admin_creates_a_public_group_and_owns_it(client: FlaskClient, bearer: Callable) -> None:
    admin = factories.make_admin("boss")
    response = client.post(
        f"{API}/groups",
        json={
            "name": "Sober Sundays",
            "slug": "sober-sundays",
            "visibility": "public",
            "description": "Weekend check-ins",
        },
        headers=bearer(admin),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "name": "Sober Sundays",
        "slug": "sober-sundays",
        "description": "Weekend check-ins",
        "visibility": "public",
        "url": "/g/sober-sundays",
        "members_count": 1,
        "role": "owner",
    }
    assert _members_of(db.session.get(Group, body["id"])) == {"boss": "owner"}


def test_admin_creates_a_secret_group_for_another_owner(
    client: FlaskClient, bearer: Callable
) -> None:
    factories.make_user("carer")
    headers = bearer(factories.make_admin())
    response = client.post(
        f"{API}/groups",
        json={"name": "Families", "slug": "families", "visibility": "secret", "owner": "CARER"},
        headers=headers,
    )
    assert response.status_code == 201
    body = response.get_json()
    assert (body["visibility"], body["description"], body["role"]) == ("secret", "", None)
    # The admin is outside the group now: no member count, and no way in by slug.
    assert body["members_count"] is None
    assert _members_of(db.session.get(Group, body["id"])) == {"carer": "owner"}
    hidden = client.get(f"{API}/groups/families", headers=headers)
    assert hidden.status_code == 404
    assert hidden.get_json() == MISSING_BODY


def test_duplicate_slug_conflicts_with_a_clear_message(
    client: FlaskClient, bearer: Callable
) -> None:
    factories.make_group(slug="families", secret=True)
    response = client.post(
        f"{API}/groups",
        json={"name": "Other", "slug": "families", "visibility": "public"},
        headers=bearer(factories.make_admin()),
    )
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "slug_taken"
    assert "slug" in error["message"] and "already" in error["message"]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"name": "G", "slug": "g-1", "visibility": "private"}, {"visibility"}),
        ({"name": "G", "slug": "g-1", "visibility": None}, {"visibility"}),
        ({"name": "G", "slug": "g-1"}, {"visibility"}),
        ({"name": "G", "slug": "Not A Slug", "visibility": "public"}, {"slug"}),
        ({"name": "G", "slug": "-edge", "visibility": "public"}, {"slug"}),
        ({"name": "G", "slug": "x" * 41, "visibility": "public"}, {"slug"}),
        ({"name": "", "slug": "g-1", "visibility": "public"}, {"name"}),
        ({"name": "G", "slug": "g-1", "visibility": "public", "owner": "nobody"}, {"owner"}),
        ({"name": "G", "slug": "g-1", "visibility": "public", "owner": 5}, {"owner"}),
        ({"name": 5, "slug": 5, "visibility": 5}, {"name", "slug", "visibility"}),
        ({"name": "G", "slug": "g-1", "visibility": "public", "secret": True}, {"secret"}),
    ],
)
def test_create_group_validates_every_field(
    client: FlaskClient, bearer: Callable, payload: dict, fields: set[str]
) -> None:
    response = client.post(f"{API}/groups", json=payload, headers=bearer(factories.make_admin()))
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) == fields
    assert db.session.scalar(db.select(db.func.count()).select_from(Group)) == 0


def test_only_admins_create_groups(client: FlaskClient, bearer: Callable) -> None:
    payload = {"name": "Mine", "slug": "mine", "visibility": "public"}
    owner = factories.owner_of(factories.make_group())
    for user in (factories.make_user(), factories.make_user(moderator=True), owner):
        assert client.post(f"{API}/groups", json=payload, headers=bearer(user)).status_code == 403
    assert client.post(f"{API}/groups", json=payload).status_code == 401


# --- seeing groups --------------------------------------------------------------


@dataclass
class World:
    """A public and a secret group, with the people around them."""

    public: Group
    secret: Group
    owner: User  # owns the secret group
    moderator: User  # moderates the secret group
    member: User  # an ordinary member of the secret group
    board: Board  # the secret group's board
    topic: Topic
    post: Post


@pytest.fixture
def world() -> World:
    owner = factories.make_user("secret-owner")
    moderator = factories.make_user("secret-mod")
    member = factories.make_user("secret-member")
    public = factories.make_group("Open Circle", slug="open-circle")
    secret = factories.make_group(
        "Hidden Harbour",
        slug="hidden-harbour",
        secret=True,
        owner=owner,
        members=(member,),
        moderators=(moderator,),
    )
    board = factories.make_board("Harbour board", group=secret)
    topic = factories.make_topic(board, member, title="Harbour topic")
    post = factories.make_post(topic, member, body="Harbour words")
    return World(public, secret, owner, moderator, member, board, topic, post)


OUTSIDERS = ["guest", "member", "site_moderator", "admin", "other_group", "removed"]


def _outsider(kind: str, world: World, bearer: Callable) -> dict[str, str]:
    """Headers for one kind of outsider to the secret group (guests: none)."""
    if kind == "guest":
        factories.set_settings(guest_access="public_boards")
        return {}
    if kind == "member":
        return bearer(factories.make_user())
    if kind == "site_moderator":
        return bearer(factories.make_user(moderator=True))
    if kind == "admin":
        return bearer(factories.make_admin())
    if kind == "other_group":
        other = factories.make_user()
        factories.make_group(secret=True, owner=other)
        return bearer(other)
    assert kind == "removed"
    headers = bearer(world.member)
    groups.remove_member(factories.actor(world.owner), world.secret, world.member.username)
    db.session.commit()
    return headers


def test_group_list_shows_public_groups_and_your_own_secret_ones(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    outside = client.get(f"{API}/groups", headers=bearer(factories.make_admin())).get_json()
    assert [g["slug"] for g in outside["groups"]] == ["open-circle"]
    inside = client.get(f"{API}/groups", headers=bearer(world.member)).get_json()
    assert [(g["slug"], g["role"]) for g in inside["groups"]] == [
        ("hidden-harbour", "member"),
        ("open-circle", None),
    ]
    assert client.get(f"{API}/groups").get_json() == {"groups": []}
    factories.set_settings(guest_access="public_boards")
    assert [g["slug"] for g in client.get(f"{API}/groups").get_json()["groups"]] == ["open-circle"]


def test_members_count_only_for_who_may_see_members(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    path = f"{API}/groups/open-circle"
    outsider = client.get(path, headers=bearer(factories.make_user())).get_json()
    assert outsider["members_count"] is None and outsider["role"] is None
    owner = factories.owner_of(world.public)
    assert client.get(path, headers=bearer(owner)).get_json()["members_count"] == 1
    admin = client.get(path, headers=bearer(factories.make_admin())).get_json()
    assert admin["members_count"] == 1  # admins manage public groups
    inside = client.get(f"{API}/groups/hidden-harbour", headers=bearer(world.member)).get_json()
    assert (inside["members_count"], inside["role"]) == (3, "member")


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_secret_group_answers_outsiders_like_a_missing_one(
    client: FlaskClient, bearer: Callable, world: World, kind: str
) -> None:
    headers = _outsider(kind, world, bearer)
    invitation = factories.make_invitation(world.secret)
    request_id = 1
    calls = [
        ("get", "/groups/{}", None),
        ("get", "/groups/{}/members", None),
        ("get", "/groups/{}/invitations", None),
        ("get", "/groups/{}/join-requests", None),
        ("post", "/groups/{}/join-requests", None),
        ("post", f"/groups/{{}}/join-requests/{request_id}/accept", None),
        ("post", f"/groups/{{}}/join-requests/{request_id}/decline", None),
        ("post", "/groups/{}/invitations", {}),
        ("delete", "/groups/{}/invitations/1", None),
        ("put", f"/groups/{{}}/members/{world.member.username}", {"role": "owner"}),
        ("delete", f"/groups/{{}}/members/{world.member.username}", None),
    ]
    for method, template, payload in calls:
        hidden = getattr(client, method)(
            API + template.format("hidden-harbour"), json=payload, headers=headers
        )
        missing = getattr(client, method)(
            API + template.format("no-such-group"), json=payload, headers=headers
        )
        assert hidden.status_code == missing.status_code, (method, template)
        assert hidden.get_data() == missing.get_data(), (method, template)
        assert hidden.status_code in (401, 404), (method, template)
        if headers:  # members are told "not found"; guests "log in" for every slug alike
            assert hidden.status_code == 404, (method, template)
    listed = client.get(f"{API}/groups", headers=headers).get_data(as_text=True)
    assert "Hidden Harbour" not in listed and "hidden-harbour" not in listed
    if headers:
        mine = client.get(f"{API}/me/groups", headers=headers).get_data(as_text=True)
        assert "hidden-harbour" not in mine
    # Nothing changed inside.
    expected = {"secret-owner": "owner", "secret-mod": "moderator", "secret-member": "member"}
    if kind == "removed":
        del expected["secret-member"]
    assert _members_of(world.secret) == expected
    assert invitations.find_open_invitation(invitation).group_id == world.secret.id


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_secret_content_answers_outsiders_like_missing_ids(
    client: FlaskClient, bearer: Callable, world: World, kind: str
) -> None:
    headers = _outsider(kind, world, bearer)
    pairs = [
        (f"/boards/{world.board.id}", "/boards/99999"),
        (f"/boards/{world.board.id}/topics", "/boards/99999/topics"),
        (f"/topics/{world.topic.id}", "/topics/99999"),
        (f"/posts/{world.post.id}", "/posts/99999"),
        (f"/posts/{world.post.id}/revisions", "/posts/99999/revisions"),
    ]
    for hidden_path, missing_path in pairs:
        hidden = client.get(API + hidden_path, headers=headers)
        missing = client.get(API + missing_path, headers=headers)
        assert hidden.status_code == missing.status_code == 404, hidden_path
        assert hidden.get_data() == missing.get_data(), hidden_path
    writes = [
        ("post", f"/topics/{world.topic.id}/posts", "/topics/99999/posts", {"body": "hi"}),
        ("patch", f"/posts/{world.post.id}", "/posts/99999", {"body": "hi"}),
        ("delete", f"/posts/{world.post.id}", "/posts/99999", None),
        (
            "post",
            f"/boards/{world.board.id}/topics",
            "/boards/99999/topics",
            {"title": "Sneaky", "body": "hi"},
        ),
    ]
    for method, hidden_path, missing_path, payload in writes:
        hidden = getattr(client, method)(API + hidden_path, json=payload, headers=headers)
        missing = getattr(client, method)(API + missing_path, json=payload, headers=headers)
        assert hidden.status_code == missing.status_code, hidden_path
        assert hidden.get_data() == missing.get_data(), hidden_path
    db.session.rollback()
    assert db.session.get(Post, world.post.id).body == "Harbour words"


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_lists_and_counts_leave_secret_content_out(
    client: FlaskClient, bearer: Callable, world: World, kind: str
) -> None:
    headers = _outsider(kind, world, bearer)
    shown = factories.make_board("Open board")
    factories.make_topic(shown, world.member, title="Open topic")
    boards = client.get(f"{API}/boards", headers=headers).get_json()["boards"]
    assert [b["name"] for b in boards] == ["Open board"]
    latest = client.get(f"{API}/latest", headers=headers).get_json()
    assert [t["title"] for t in latest["topics"]] == ["Open topic"]
    if headers:
        profile = client.get(f"{API}/users/secret-member", headers=headers).get_json()
        assert (profile["topics_count"], profile["posts_count"]) == (1, 1)
    for path in ("/boards", "/latest", "/groups"):
        text = client.get(API + path, headers=headers).get_data(as_text=True)
        assert "Harbour" not in text and "hidden-harbour" not in text, path


def test_members_see_the_secret_groups_boards_with_its_slug(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    headers = bearer(world.member)
    boards = client.get(f"{API}/boards", headers=headers).get_json()["boards"]
    assert [(b["name"], b["group"]) for b in boards] == [("Harbour board", "hidden-harbour")]
    assert client.get(f"{API}/topics/{world.topic.id}", headers=headers).status_code == 200
    public_board = factories.make_board(group=world.public)
    shown = client.get(f"{API}/boards/{public_board.id}", headers=headers).get_json()
    assert shown["group"] == "open-circle"


# --- members and roles ----------------------------------------------------------


def test_members_list_owners_first_with_join_month(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    membership = db.session.scalar(
        db.select(Membership).where(Membership.user_id == world.member.id)
    )
    membership.created_at = datetime(2026, 3, 17, 9, 30, tzinfo=UTC)
    db.session.commit()
    for user in (world.member, world.owner):
        response = client.get(f"{API}/groups/hidden-harbour/members", headers=bearer(user))
        assert response.status_code == 200
        members = response.get_json()["members"]
        assert [(m["username"], m["role"]) for m in members] == [
            ("secret-owner", "owner"),
            ("secret-mod", "moderator"),
            ("secret-member", "member"),
        ]
        assert members[2] == {
            "username": "secret-member",
            "role": "member",
            "joined_at": "2026-03-01T00:00:00Z",
            "label": None,
            "url": "/u/secret-member",
        }


def test_public_group_members_are_for_members_only(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    path = f"{API}/groups/open-circle/members"
    refused = client.get(path, headers=bearer(factories.make_user(moderator=True)))
    assert refused.status_code == 403
    factories.set_settings(guest_access="public_boards")
    assert client.get(path).status_code == 401
    owner = factories.owner_of(world.public)
    assert client.get(path, headers=bearer(owner)).status_code == 200
    assert client.get(path, headers=bearer(factories.make_admin())).status_code == 200


def test_owner_cannot_add_a_name_they_have_never_seen(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    factories.make_user("stranger")
    path = f"{API}/groups/hidden-harbour/members/stranger"
    refused = client.put(path, json={"role": "member"}, headers=bearer(world.owner))
    missing = client.put(
        f"{API}/groups/hidden-harbour/members/nobody-at-all",
        json={"role": "member"},
        headers=bearer(world.owner),
    )
    assert refused.status_code == missing.status_code == 404
    assert refused.get_json() == missing.get_json()


def test_adding_by_name_needs_the_members_consent(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    newcomer = factories.make_user("newcomer")
    # The owner knows the newcomer from the site's boards; unknown names are "not found".
    factories.make_topic(author=newcomer)
    headers = bearer(world.owner)
    path = f"{API}/groups/hidden-harbour/members/Newcomer"
    invited = client.put(path, json={"role": "member"}, headers=headers)
    assert invited.status_code == 202
    body = invited.get_json()
    assert (body["username"], body["role"], body["state"]) == ("newcomer", "member", "pending")
    assert body["invited_by"] == "secret-owner"
    # Not a member yet: the secret group still does not exist for them.
    assert "newcomer" not in _members_of(world.secret)
    mine = bearer(newcomer)
    assert client.get(f"{API}/groups/hidden-harbour", headers=mine).status_code == 404
    # Asking again while it waits changes the role offered, not the number of invitations.
    again = client.put(path, json={"role": "moderator"}, headers=headers)
    assert again.status_code == 202
    assert (again.get_json()["id"], again.get_json()["role"]) == (body["id"], "moderator")
    listed = client.get(f"{API}/me/invitations", headers=mine).get_json()["invitations"]
    assert [(i["id"], i["group"]["name"], i["invited_by"]) for i in listed] == [
        (body["id"], "Hidden Harbour", "secret-owner")
    ]
    accepted = client.post(f"{API}/me/invitations/{body['id']}/accept", headers=mine)
    assert accepted.status_code == 200
    assert accepted.get_json()["group"]["slug"] == "hidden-harbour"
    assert accepted.get_json()["member"]["role"] == "moderator"
    assert _members_of(world.secret)["newcomer"] == "moderator"
    # Now a member: the same PUT changes the role at once.
    demoted = client.put(path, json={"role": "member"}, headers=headers)
    assert demoted.status_code == 200
    assert demoted.get_json()["role"] == "member"
    promoted = client.put(path, json={"role": "moderator"}, headers=headers)
    assert promoted.get_json()["role"] == "moderator"
    assert _members_of(world.secret)["newcomer"] == "moderator"
    # At once: the new moderator sees the group and may invite.
    assert (
        client.post(
            f"{API}/groups/hidden-harbour/invitations", json={}, headers=bearer(newcomer)
        ).status_code
        == 201
    )


@pytest.mark.parametrize("role", ["admin", "Owner", "", None, 5, ["owner"], "root"])
def test_bad_role_names_are_invalid(
    client: FlaskClient, bearer: Callable, world: World, role: object
) -> None:
    response = client.put(
        f"{API}/groups/hidden-harbour/members/secret-member",
        json={"role": role},
        headers=bearer(world.owner),
    )
    assert response.status_code == 400
    assert "role" in response.get_json()["error"]["fields"]
    assert _members_of(world.secret)["secret-member"] == "member"


def test_only_owners_and_admins_set_roles(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    secret_path = f"{API}/groups/hidden-harbour/members/secret-member"
    for user in (world.member, world.moderator):
        refused = client.put(secret_path, json={"role": "owner"}, headers=bearer(user))
        assert refused.status_code == 403
    assert client.put(secret_path, json={"role": "owner"}).status_code == 401
    # An admin manages a public group without being in it.
    _known(factories.make_user("joiner").username)
    public_path = f"{API}/groups/open-circle/members/joiner"
    admin = bearer(factories.make_admin())
    assert client.put(public_path, json={"role": "moderator"}, headers=admin).status_code == 202
    [invited] = client.get(f"{API}/me/invitations", headers=bearer(_user("joiner"))).get_json()[
        "invitations"
    ]
    client.post(f"{API}/me/invitations/{invited['id']}/accept", headers=bearer(_user("joiner")))
    assert client.put(public_path, json={"role": "moderator"}, headers=admin).status_code == 200
    assert _members_of(world.public)["joiner"] == "moderator"


def test_unknown_member_name_is_not_found(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    headers = bearer(world.owner)
    for name in ("nobody-here", "x", "%00"):
        path = f"{API}/groups/hidden-harbour/members/{name}"
        assert client.put(path, json={"role": "member"}, headers=headers).status_code == 404
        assert client.delete(path, headers=headers).status_code == 404
    # Someone who exists but is not in the group: there is nothing to remove.
    factories.make_user("outsider")
    path = f"{API}/groups/hidden-harbour/members/outsider"
    assert client.delete(path, headers=headers).status_code == 404


def test_last_owner_cannot_be_demoted_or_leave(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    headers = bearer(world.owner)
    path = f"{API}/groups/hidden-harbour/members/secret-owner"
    demoted = client.put(path, json={"role": "member"}, headers=headers)
    assert demoted.status_code == 409
    assert "owner" in demoted.get_json()["error"]["message"]
    assert client.delete(path, headers=headers).status_code == 409
    assert _members_of(world.secret)["secret-owner"] == "owner"


def test_ownership_is_transferred_then_the_old_owner_steps_down(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    headers = bearer(world.owner)
    base = f"{API}/groups/hidden-harbour/members"
    assert client.put(
        f"{base}/secret-mod", json={"role": "owner"}, headers=headers
    ).status_code == (200)
    stepped = client.put(f"{base}/secret-owner", json={"role": "member"}, headers=headers)
    assert stepped.status_code == 200
    assert _members_of(world.secret) == {
        "secret-owner": "member",
        "secret-mod": "owner",
        "secret-member": "member",
    }
    # The former owner manages nothing any more.
    again = client.put(f"{base}/secret-member", json={"role": "owner"}, headers=headers)
    assert again.status_code == 403


def test_owner_removes_and_member_leaves(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    base = f"{API}/groups/hidden-harbour/members"
    other = factories.make_user("other-member")
    factories.make_group(secret=True, owner=factories.make_user())  # unrelated
    _add(world.secret, "other-member", "member", by=world.owner)
    # A member cannot remove someone else; the moderator cannot either.
    for user in (world.member, world.moderator):
        refused = client.delete(f"{base}/other-member", headers=bearer(user))
        assert refused.status_code == 403
    assert client.delete(f"{base}/other-member", headers=bearer(world.owner)).status_code == 204
    assert client.delete(f"{base}/secret-member", headers=bearer(world.member)).status_code == 204
    assert set(_members_of(world.secret)) == {"secret-owner", "secret-mod"}
    # Gone at once: both now see the group as missing.
    for user in (other, world.member):
        response = client.get(f"{API}/groups/hidden-harbour", headers=bearer(user))
        assert response.status_code == 404
        assert response.get_json() == MISSING_BODY


def test_removed_members_token_loses_access_at_once(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    headers = bearer(world.member)
    topic_path = f"{API}/topics/{world.topic.id}"
    assert client.get(topic_path, headers=headers).status_code == 200
    removed = client.delete(
        f"{API}/groups/hidden-harbour/members/secret-member", headers=bearer(world.owner)
    )
    assert removed.status_code == 204
    hidden = client.get(topic_path, headers=headers)
    missing = client.get(f"{API}/topics/99999", headers=headers)
    assert hidden.status_code == 404
    assert hidden.get_data() == missing.get_data()
    reply = client.post(f"{topic_path}/posts", json={"body": "still here?"}, headers=headers)
    assert reply.status_code == 404
    mine = client.get(f"{API}/me/groups", headers=headers).get_json()
    assert mine == {"groups": []}


def test_my_groups_with_roles(client: FlaskClient, bearer: Callable, world: World) -> None:
    _add(world.public, world.moderator.username, "member", by=factories.owner_of(world.public))
    body = client.get(f"{API}/me/groups", headers=bearer(world.moderator)).get_json()
    assert [(g["slug"], g["role"], g["members_count"]) for g in body["groups"]] == [
        ("hidden-harbour", "moderator", 3),
        ("open-circle", "member", 2),
    ]
    assert client.get(f"{API}/me/groups").status_code == 401
    assert client.get(f"{API}/me/groups", headers=bearer(factories.make_user())).get_json() == {
        "groups": []
    }


# --- join requests (public groups) ----------------------------------------------


def test_join_request_accepted_by_an_owner(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    asker = factories.make_user("asker")
    base = f"{API}/groups/open-circle/join-requests"
    made = client.post(base, headers=bearer(asker))
    assert made.status_code == 201
    request = made.get_json()
    assert (request["username"], request["state"], request["decided_at"]) == (
        "asker",
        "pending",
        None,
    )
    again = client.post(base, headers=bearer(asker))
    assert again.status_code == 201
    assert again.get_json()["id"] == request["id"]
    owner = bearer(factories.owner_of(world.public))
    listed = client.get(base, headers=owner).get_json()["join_requests"]
    assert [r["id"] for r in listed] == [request["id"]]
    accepted = client.post(f"{base}/{request['id']}/accept", headers=owner)
    assert accepted.status_code == 200
    assert accepted.get_json()["state"] == "accepted"
    assert accepted.get_json()["decided_at"].endswith("Z")
    assert _members_of(world.public)["asker"] == "member"
    assert client.get(base, headers=owner).get_json() == {"join_requests": []}
    # Deciding again answers the request as it stands.
    late = client.post(f"{base}/{request['id']}/decline", headers=owner)
    assert late.status_code == 200
    assert late.get_json()["state"] == "accepted"
    # A member cannot ask again.
    assert client.post(base, headers=bearer(asker)).status_code == 403


def test_join_request_declined_by_a_moderator(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    moderator = factories.make_user()
    _add(world.public, moderator.username, "moderator", by=factories.owner_of(world.public))
    base = f"{API}/groups/open-circle/join-requests"
    request_id = client.post(base, headers=bearer(factories.make_user("asker"))).get_json()["id"]
    declined = client.post(f"{base}/{request_id}/decline", headers=bearer(moderator))
    assert declined.status_code == 200
    assert declined.get_json()["state"] == "declined"
    assert "asker" not in _members_of(world.public)


def test_join_requests_are_decided_by_owners_and_moderators_only(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    base = f"{API}/groups/open-circle/join-requests"
    request_id = client.post(base, headers=bearer(factories.make_user())).get_json()["id"]
    for user in (factories.make_user(), factories.make_user(moderator=True)):
        headers = bearer(user)
        assert client.get(base, headers=headers).status_code == 403
        assert client.post(f"{base}/{request_id}/accept", headers=headers).status_code == 403
    assert client.post(base).status_code == 401
    owner = bearer(factories.owner_of(world.public))
    assert client.post(f"{base}/99999/accept", headers=owner).status_code == 404


def test_join_request_from_another_group_is_not_found(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    other = factories.make_group(slug="other-circle")
    other_request = client.post(
        f"{API}/groups/other-circle/join-requests", headers=bearer(factories.make_user())
    ).get_json()["id"]
    owner = bearer(factories.owner_of(world.public))
    response = client.post(
        f"{API}/groups/open-circle/join-requests/{other_request}/accept", headers=owner
    )
    assert response.status_code == 404
    assert len(_members_of(other)) == 1


def test_secret_groups_take_no_join_requests(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    response = client.post(
        f"{API}/groups/hidden-harbour/join-requests", headers=bearer(world.member)
    )
    assert response.status_code == 403


# --- boards in groups -----------------------------------------------------------


def test_admin_and_group_owner_create_the_groups_boards(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    admin = client.post(
        f"{API}/boards",
        json={"name": "Open board", "group": "open-circle"},
        headers=bearer(factories.make_admin()),
    )
    assert admin.status_code == 201
    assert admin.get_json()["group"] == "open-circle"
    owned = client.post(
        f"{API}/boards",
        json={"name": "Harbour two", "group": "hidden-harbour", "parent_id": world.board.id},
        headers=bearer(world.owner),
    )
    assert owned.status_code == 201
    assert (owned.get_json()["group"], owned.get_json()["parent_id"]) == (
        "hidden-harbour",
        world.board.id,
    )
    member_sees = client.get(f"{API}/boards", headers=bearer(world.member)).get_json()["boards"]
    # Site boards first, then each group's (by group, as the index groups them), each
    # group's numbered on its own: positions no longer count other scopes' boards.
    assert [b["name"] for b in member_sees] == ["Open board", "Harbour board", "Harbour two"]
    assert [b["position"] for b in member_sees] == [1, 1, 1]


def test_group_board_creation_denied_to_those_who_do_not_run_the_group(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    for user in (world.moderator, world.member):
        response = client.post(
            f"{API}/boards",
            json={"name": "Mine", "group": "hidden-harbour"},
            headers=bearer(user),
        )
        assert response.status_code == 403
    # The owner of one group makes no site boards and no boards in other groups.
    headers = bearer(world.owner)
    assert client.post(f"{API}/boards", json={"name": "Site"}, headers=headers).status_code == 403
    response = client.post(
        f"{API}/boards", json={"name": "x", "group": "open-circle"}, headers=headers
    )
    assert response.status_code == 403
    guest = client.post(f"{API}/boards", json={"name": "x", "group": "open-circle"})
    assert guest.status_code == 401


def test_board_in_an_invisible_group_is_not_found_like_an_unknown_one(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    headers = bearer(factories.make_admin())
    hidden = client.post(
        f"{API}/boards", json={"name": "Sneaky", "group": "hidden-harbour"}, headers=headers
    )
    missing = client.post(
        f"{API}/boards", json={"name": "Sneaky", "group": "no-such-group"}, headers=headers
    )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_data() == missing.get_data()
    assert db.session.scalar(db.select(Board.id).where(Board.name == "Sneaky")) is None


# --- the admin area and break-glass ---------------------------------------------


def test_admin_overview_lists_every_group_with_counts_only(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    response = client.get(f"{API}/admin/groups", headers=bearer(factories.make_admin()))
    assert response.status_code == 200
    assert response.get_json() == {
        "groups": [
            {
                "id": world.secret.id,
                "name": "Hidden Harbour",
                "slug": "hidden-harbour",
                "visibility": "secret",
                "members_count": 3,
            },
            {
                "id": world.public.id,
                "name": "Open Circle",
                "slug": "open-circle",
                "visibility": "public",
                "members_count": 1,
            },
        ]
    }
    text = response.get_data(as_text=True)
    assert "secret-member" not in text and "Harbour board" not in text


def test_admin_overview_is_for_admins_only(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    for user in (world.owner, factories.make_user(moderator=True)):
        assert client.get(f"{API}/admin/groups", headers=bearer(user)).status_code == 403
    assert client.get(f"{API}/admin/groups").status_code == 401


def _break_glass(client: FlaskClient, headers: dict, group_id: int, reason: str = "") -> object:
    return client.post(
        f"{API}/admin/groups/{group_id}/break-glass",
        json={"reason": reason or "A member reported a threat of self-harm."},
        headers=headers,
    )


def test_break_glass_lets_an_admin_read_for_an_hour_and_is_logged_for_owners(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    admin = factories.make_admin("boss")
    headers = bearer(admin)
    topic_path = f"{API}/topics/{world.topic.id}"
    assert client.get(topic_path, headers=headers).status_code == 404
    before = utcnow()
    response = _break_glass(client, headers, world.secret.id)
    assert response.status_code == 201
    body = response.get_json()
    assert body["group"]["slug"] == "hidden-harbour"
    assert body["group"]["members_count"] == 3
    assert body["group"]["role"] is None
    expires = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(minutes=59) < expires - before <= timedelta(hours=1, seconds=1)
    # Now the admin reads the group, its members and its content.
    assert client.get(topic_path, headers=headers).status_code == 200
    assert client.get(f"{API}/groups/hidden-harbour", headers=headers).status_code == 200
    members = client.get(f"{API}/groups/hidden-harbour/members", headers=headers)
    assert members.status_code == 200
    # The group's owners see the entry, with the reason; outsiders do not.
    db.session.rollback()
    entries = db.session.scalars(policy.visible_log_entries(factories.actor(world.owner))).all()
    glass = [e for e in entries if e.action == "break_glass"]
    assert len(glass) == 1
    assert (glass[0].actor_id, glass[0].group_id) == (admin.id, world.secret.id)
    assert glass[0].reason == "A member reported a threat of self-harm."
    moderator = factories.actor(factories.make_user(moderator=True))
    seen = db.session.scalars(policy.visible_log_entries(moderator))
    assert not [e for e in seen if e.group_id == world.secret.id]
    # An hour later the glass has closed again.
    entry = db.session.scalar(db.select(BreakGlass).where(BreakGlass.admin_id == admin.id))
    entry.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    hidden = client.get(topic_path, headers=headers)
    assert hidden.status_code == 404
    assert hidden.get_data() == client.get(f"{API}/topics/99999", headers=headers).get_data()
    assert client.get(f"{API}/groups/hidden-harbour", headers=headers).status_code == 404


def test_break_glass_refused_where_it_does_not_apply(
    client: FlaskClient, bearer: Callable, world: World
) -> None:
    admin = bearer(factories.make_admin())
    assert _break_glass(client, admin, world.public.id).status_code == 403
    assert _break_glass(client, admin, 99999).status_code == 404
    short = _break_glass(client, admin, world.secret.id, reason="because")
    assert short.status_code == 400
    assert "reason" in short.get_json()["error"]["fields"]
    # An admin who is a member is not outside: nothing to break.
    inside = factories.make_admin()
    _add(world.secret, inside.username, "member", by=world.owner)
    assert _break_glass(client, bearer(inside), world.secret.id).status_code == 403
    # Others are refused alike for every id, so ids tell them nothing.
    for user in (world.owner, factories.make_user(moderator=True)):
        headers = bearer(user)
        real = _break_glass(client, headers, world.secret.id)
        fake = _break_glass(client, headers, 99999)
        assert real.status_code == fake.status_code == 403
        assert real.get_data() == fake.get_data()
    assert _break_glass(client, {}, world.secret.id).status_code == 401
    assert db.session.scalar(db.select(db.func.count()).select_from(BreakGlass)) == 0
