"""Groups in the browser: running a group, invitation links, break-glass, and the 404 rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from werkzeug.test import TestResponse

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import BreakGlass
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.groups import Role
from forum.models.invitations import Invitation
from forum.models.topics import Topic
from forum.models.users import User
from tests import factories
from tests.blueprints.conftest import flat
from tests.blueprints.conftest import log_in
from tests.blueprints.conftest import without_csrf

NEW_PASSWORD = "a different long passphrase"
LAST_OWNER = "A group needs at least one owner: make someone else owner first."
# The link names the host the page was asked on (the test client's: localhost).
LINK = re.compile(r'value="http://localhost/invite/([A-Za-z0-9_-]+)"')
Clients = Callable[[], FlaskClient]


# --- helpers ------------------------------------------------------------------


# A guest's 404 offers to log in and come back to the address asked for: an echo.
LOGIN_NEXT = re.compile(r'/login\?next=[^"]*"')


def _body(response: TestResponse) -> str:
    """The page without its CSRF token, which carries a timestamp (the log-out form), and
    without the asked-for address echoed in a guest's log-in link."""
    return LOGIN_NEXT.sub('/login?next=<ASKED>"', without_csrf(response.text))


def _member_client(new_client: Clients, user: User) -> FlaskClient:
    client = new_client()
    assert log_in(client, user.username).status_code == 302
    return client


def _make_link(client: FlaskClient, slug: str, **form: str) -> str:
    page = client.post(f"/g/{slug}/invitations", data=form)
    assert page.status_code == 200, flat(page.text)
    found = LINK.search(page.text)
    assert found, flat(page.text)
    return found.group(1)


def _register_with(client: FlaskClient, token: str, username: str) -> str:
    """Open the link as a guest and register through the form on it; the codes page."""
    landing = client.get(f"/invite/{token}")
    assert landing.status_code == 200
    assert f'name="invite" value="{token}"' in landing.text
    page = client.post(
        "/register", data={"username": username, "password": NEW_PASSWORD, "invite": token}
    )
    assert page.status_code == 200, flat(page.text)
    return page.text


def _role(group: Group, user: User) -> Role | None:
    role: Role | None = db.session.scalar(
        select(Membership.role).where(
            Membership.group_id == group.id, Membership.user_id == user.id
        )
    )
    return role


def _memberships(group: Group) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(Membership).where(Membership.group_id == group.id)
        )
        or 0
    )


def _user(username: str) -> User:
    user: User = db.session.scalar(select(User).where(User.username == username))
    return user


def _known_member(username: str) -> User:
    """A member others know of: they have posted on a site board."""
    user = factories.make_user(username)
    factories.make_topic(author=user, title=f"Hello from {username}")
    return user


def _secret_setup() -> tuple[Group, User, Board, Topic]:
    owner = factories.make_user("hostuser")
    insider = factories.make_user("insider")
    group = factories.make_group(
        "Canary circle", slug="canary", secret=True, owner=owner, members=(insider,)
    )
    group.description = "Canary description"
    db.session.commit()
    board = factories.make_board("Canary board", group=group)
    topic = factories.make_topic(board, insider, title="Canary topic", body="Canary body")
    return group, owner, board, topic


# --- the whole story ----------------------------------------------------------


def test_owner_who_is_not_an_admin_runs_a_secret_group_in_the_browser(
    client: FlaskClient, new_client: Clients
) -> None:
    # The site is invite-only (the default); the admin made the group and walked away.
    owner = factories.make_user("rosa")
    group = factories.make_group("Thursday circle", slug="thursday", secret=True, owner=owner)
    known = factories.make_user("kim")
    assert log_in(client, "rosa").status_code == 302

    # Two newcomers share one link (two uses); someone with an account gets another.
    pair = _make_link(client, "thursday", max_uses="2", expires_in_hours="48")
    single = _make_link(client, "thursday")
    open_list = flat(client.get("/g/thursday/invitations").text)
    assert "Used 0 of 2" in open_list and "Used 0 of 1" in open_list
    assert pair not in client.get("/g/thursday/invitations").text  # shown once only

    newcomers = {}
    for name in ("ana", "ben"):
        phone = new_client()
        codes = _register_with(phone, pair, name)
        assert 'href="/g/thursday"' in codes
        assert phone.get("/g/thursday").status_code == 200
        newcomers[name] = phone
    kim = new_client()
    landing = kim.get(f"/invite/{single}")
    assert "You are invited to join Thursday circle" in flat(landing.text)
    login_link = f"/login?next=/invite/{single}"
    assert login_link in landing.text
    assert kim.get(login_link).status_code == 200
    answer = log_in(kim, "kim", next=f"/invite/{single}")
    assert answer.headers["Location"] == f"/invite/{single}"
    assert "Join Thursday circle" in kim.get(f"/invite/{single}").text
    assert kim.post(f"/invite/{single}").headers["Location"] == "/g/thursday"
    assert _memberships(group) == 4

    # Ana becomes a moderator, and can now make links herself.
    done = client.post("/g/thursday/members/ana/role", data={"role": "moderator"})
    assert done.status_code == 302
    assert _role(group, _user("ana")) == Role.MODERATOR
    assert newcomers["ana"].get("/g/thursday/invitations").status_code == 200
    assert newcomers["ben"].get("/g/thursday/invitations").status_code == 403

    # The owner runs the group's boards: a board, a topic, a reply from a member.
    made = client.post("/g/thursday/boards/new", data={"name": "Check-ins"})
    board_url = made.headers["Location"]
    started = client.post(f"{board_url}/new", data={"title": "This week", "body": "How are you?"})
    topic_url = started.headers["Location"]
    assert newcomers["ben"].post(f"{topic_url}/reply", data={"body": "Good."}).status_code == 302
    assert "Check-ins" in flat(client.get("/g/thursday").text)

    # Ben is removed: his very next request answers like a topic that never existed.
    confirm = client.get("/g/thursday/members/ben/remove")
    assert "Remove ben from Thursday circle?" in flat(confirm.text)
    assert client.post("/g/thursday/members/ben/remove").status_code == 302
    gone = newcomers["ben"].get(topic_url)
    missing = newcomers["ben"].get("/t/999999")
    assert gone.status_code == missing.status_code == 404
    assert _body(gone) == _body(missing)
    assert _body(newcomers["ben"].get("/g/thursday")) == _body(newcomers["ben"].get("/g/nothing"))
    assert newcomers["ben"].get(board_url).status_code == 404
    assert _role(group, known) == Role.MEMBER
    assert newcomers["ana"].get(topic_url).status_code == 200


# --- the 404 rule -------------------------------------------------------------

OUTSIDERS = ["guest", "member", "site_moderator", "admin", "other_group"]
GROUP_PATHS = [
    "/g/{slug}",
    "/g/{slug}/members",
    "/g/{slug}/invitations",
    "/g/{slug}/requests",
    "/g/{slug}/boards/new",
    "/g/{slug}/leave",
    "/g/{slug}/members/insider/remove",
]


def _outsider(kind: str, new_client: Clients) -> FlaskClient:
    if kind == "guest":
        return new_client()
    user = {
        "member": lambda: factories.make_user("plain"),
        "site_moderator": lambda: factories.make_user("sitemod", moderator=True),
        "admin": lambda: factories.make_admin("siteadmin"),
        "other_group": lambda: factories.make_group(slug="other").id and owner_other(),
    }[kind]()
    return _member_client(new_client, user)


def owner_other() -> User:
    return factories.owner_of(db.session.scalar(select(Group).where(Group.slug == "other")))


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_secret_group_answers_outsiders_exactly_like_nothing(
    kind: str, new_client: Clients
) -> None:
    group, _owner, board, topic = _secret_setup()
    factories.set_settings(guest_access="public_boards")
    client = _outsider(kind, new_client)
    for path in GROUP_PATHS:
        hidden = client.get(path.format(slug="canary"))
        missing = client.get(path.format(slug="no-such-group"))
        assert hidden.status_code == missing.status_code == 404, path
        assert _body(hidden) == _body(missing), path
    for post_path in ("/g/{slug}/join", "/g/{slug}/leave", "/g/{slug}/invitations"):
        hidden = client.post(post_path.format(slug="canary"), data={"max_uses": "1"})
        missing = client.post(post_path.format(slug="no-such-group"), data={"max_uses": "1"})
        assert hidden.status_code == missing.status_code == 404, post_path
        assert _body(hidden) == _body(missing), post_path
    for hidden_path, missing_path in (
        (f"/b/{board.id}", "/b/999999"),
        (f"/t/{topic.id}", "/t/9999"),
    ):
        hidden, missing = client.get(hidden_path), client.get(missing_path)
        assert hidden.status_code == missing.status_code == 404
        assert _body(hidden) == _body(missing)
    for listing in ("/groups", "/", "/latest"):
        text = client.get(listing).text
        assert "Canary" not in text and "canary" not in text, listing


def test_members_of_another_kind_see_a_secret_group_in_lists(
    client: FlaskClient, new_client: Clients
) -> None:
    group, owner, board, _topic = _secret_setup()
    insider = _member_client(new_client, _user("insider"))
    mine = flat(insider.get("/groups").text)
    assert "My groups Canary circle Secret" in mine
    index = insider.get("/")
    assert 'href="/g/canary">Canary circle</a>' in index.text
    assert f'<h3><a href="/b/{board.id}">Canary board</a></h3>' in index.text
    page = flat(insider.get("/g/canary").text)
    assert "Canary description" in page and "Canary board" in page
    assert "Members (2)" in page and "hostuser Owner" in page
    # A plain member sees neither the running links nor the break-glass log.
    assert "Invitations" not in page and "Break-glass" not in page
    assert "Leave this group" in page


# --- break-glass ----------------------------------------------------------------


def test_admin_sees_only_name_and_size_of_a_secret_group_then_breaks_the_glass(
    client: FlaskClient, new_client: Clients
) -> None:
    group, owner, board, topic = _secret_setup()
    admin = _member_client(new_client, factories.make_admin("boss"))
    directory = admin.get("/admin/groups")
    text = flat(directory.text)
    assert "Canary circle Secret" in text and "/g/canary · 2 members" in text
    for hidden in ("Canary description", "Canary board", "insider", "hostuser", f"/b/{board.id}"):
        assert hidden not in directory.text, hidden
    assert admin.get("/g/canary").status_code == 404

    too_short = admin.post(f"/admin/groups/{group.id}/break-glass", data={"reason": "look"})
    assert too_short.status_code == 400
    assert "Reason must be at least 10 characters." in flat(too_short.text)
    assert admin.get("/g/canary").status_code == 404

    reason = "A member reported a threat of harm here."
    entered = admin.post(f"/admin/groups/{group.id}/break-glass", data={"reason": reason})
    assert entered.headers["Location"] == "/g/canary"
    inside = flat(admin.get("/g/canary").text)
    assert "through break-glass" in inside and "Canary board" in inside
    assert admin.get(f"/t/{topic.id}").status_code == 200

    # The owners are shown who came in, why, and until when.
    owner_page = flat(_member_client(new_client, owner).get("/g/canary").text)
    assert "Break-glass entries" in owner_page
    assert "boss entered" in owner_page and reason in owner_page
    assert "until" in owner_page and "Still inside" in owner_page
    insider_page = flat(_member_client(new_client, _user("insider")).get("/g/canary").text)
    assert reason not in insider_page

    # An hour later (here: now) it is over, and the group is gone for the admin again.
    db.session.execute(update(BreakGlass).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    for hidden_path, missing_path in (("/g/canary", "/g/nope"), (f"/t/{topic.id}", "/t/9999")):
        hidden, missing = admin.get(hidden_path), admin.get(missing_path)
        assert hidden.status_code == missing.status_code == 404
        assert _body(hidden) == _body(missing)
    later = flat(_member_client(new_client, owner).get("/g/canary").text)
    assert reason in later and "Still inside" not in later


def test_break_glass_is_refused_for_public_groups_and_admins_who_are_members(
    new_client: Clients,
) -> None:
    admin_user = factories.make_admin("boss")
    public = factories.make_group(slug="open")
    own = factories.make_group(slug="mine", secret=True, owner=admin_user)
    admin = _member_client(new_client, admin_user)
    directory = admin.get("/admin/groups").text
    assert "Break glass" not in directory
    reason = {"reason": "Checking on something important."}
    assert admin.post(f"/admin/groups/{public.id}/break-glass", data=reason).status_code == 403
    assert admin.post(f"/admin/groups/{own.id}/break-glass", data=reason).status_code == 403
    assert admin.post("/admin/groups/999999/break-glass", data=reason).status_code == 404
    member = _member_client(new_client, factories.make_user())
    assert member.post(f"/admin/groups/{own.id}/break-glass", data=reason).status_code == 403
    assert member.get("/admin/groups").status_code == 403


# --- roles, leaving, the last owner -----------------------------------------------


def test_last_owner_can_neither_leave_nor_step_down(new_client: Clients) -> None:
    owner = factories.make_user("rosa")
    group = factories.make_group("Circle", slug="circle", secret=True, owner=owner)
    client = _member_client(new_client, owner)
    confirm = client.get("/g/circle/leave")
    assert "Leave Circle?" in flat(confirm.text)
    refused = client.post("/g/circle/leave")
    assert refused.status_code == 409
    assert LAST_OWNER in flat(refused.text)
    demoted = client.post("/g/circle/members/rosa/role", data={"role": "member"})
    assert demoted.status_code == 409
    assert LAST_OWNER in flat(demoted.text)
    removed = client.post("/g/circle/members/rosa/remove")
    assert removed.status_code == 409
    assert LAST_OWNER in flat(removed.text)
    assert _role(group, owner) == Role.OWNER
    assert _memberships(group) == 1
    # With a second owner, stepping down works and leads back to the group's page.
    _known_member("sam")
    client.post("/g/circle/members", data={"username": "sam", "role": "owner"})
    sam = _member_client(new_client, _user("sam"))
    _accept_from_my_page(sam, "Circle")
    stepped = client.post("/g/circle/members/rosa/role", data={"role": "member"})
    assert stepped.headers["Location"] == "/g/circle"
    assert _role(group, owner) == Role.MEMBER
    assert client.get("/g/circle/members").status_code == 403
    # Sam hands the group back, then removes himself through the members page: he has left.
    sam.post("/g/circle/members/rosa/role", data={"role": "owner"})
    assert sam.post("/g/circle/members/sam/remove").headers["Location"] == "/groups"
    assert sam.get("/g/circle").status_code == 404


def test_member_leaves_and_a_secret_group_is_gone_for_them(new_client: Clients) -> None:
    leaver = factories.make_user("leaver")
    group = factories.make_group("Circle", slug="circle", secret=True, members=(leaver,))
    client = _member_client(new_client, leaver)
    assert "Leave this group" in client.get("/g/circle").text
    left = client.post("/g/circle/leave")
    assert left.headers["Location"] == "/groups"
    assert "You have left Circle." in flat(client.get("/groups").text)
    assert client.get("/g/circle").status_code == 404
    assert _role(group, leaver) is None


def _accept_from_my_page(client: FlaskClient, group_name: str) -> TestResponse:
    """Accept the one invitation by name to the group on the member's invitations page."""
    page = client.get("/account/invitations")
    assert page.status_code == 200
    found = re.search(
        r'action="(/account/invitations/[0-9]+/accept)"[^<]*<input[^>]*>'
        rf"<button[^>]*>Accept<span[^>]*> the invitation to {re.escape(group_name)}<",
        page.text,
    )
    assert found, flat(page.text)
    answer = client.post(found.group(1))
    assert answer.status_code == 302
    return answer


def test_members_page_invites_by_username_and_checks_input(new_client: Clients) -> None:
    owner = factories.make_user("rosa")
    group = factories.make_group("Circle", slug="circle", owner=owner)
    _known_member("kim")
    # Someone who has never posted where the owner can read is unknown, like a missing name.
    factories.make_user("stranger")
    client = _member_client(new_client, owner)
    stranger = client.post("/g/circle/members", data={"username": "stranger", "role": "member"})
    assert stranger.status_code == 400
    assert "There is no member with that username." in flat(stranger.text)
    unknown = client.post("/g/circle/members", data={"username": "nobody", "role": "member"})
    assert unknown.status_code == 400
    assert "There is no member with that username." in flat(unknown.text)
    assert 'value="nobody"' in unknown.text
    bad_role = client.post("/g/circle/members", data={"username": "kim", "role": "king"})
    assert bad_role.status_code == 400
    assert "role must be one of" in flat(bad_role.text)
    invited = client.post("/g/circle/members", data={"username": "KIM", "role": "moderator"})
    assert invited.headers["Location"] == "/g/circle/members"
    # Consent first: kim is invited, not added.
    assert _role(group, _user("kim")) is None
    page = flat(client.get("/g/circle/members").text)
    assert "kim is invited to join as a moderator." in page
    assert "kim Waiting as moderator" in page
    kim = _member_client(new_client, _user("kim"))
    assert _accept_from_my_page(kim, "Circle").headers["Location"] == "/g/circle"
    assert _role(group, _user("kim")) == Role.MODERATOR
    assert "Welcome to Circle." in flat(kim.get("/g/circle").text)
    # A member already: the same form changes the role at once.
    client.post("/g/circle/members", data={"username": "kim", "role": "member"})
    assert _role(group, _user("kim")) == Role.MEMBER
    assert "kim is now a member of the group." in flat(client.get("/g/circle/members").text)
    assert client.get("/g/circle/members/nobody/remove").status_code == 404


def test_running_pages_refuse_members_and_send_guests_to_log_in(
    client: FlaskClient, new_client: Clients
) -> None:
    plain = factories.make_user("plain")
    moderator = factories.make_user("mod")
    factories.make_group(slug="open", members=(plain,), moderators=(moderator,))
    factories.set_settings(guest_access="public_boards")
    member = _member_client(new_client, plain)
    for path in (
        "/g/open/members",
        "/g/open/invitations",
        "/g/open/requests",
        "/g/open/boards/new",
    ):
        assert member.get(path).status_code == 403, path
        assert client.get(path).headers["Location"].startswith("/login"), path
    assert member.post("/g/open/invitations", data={}).status_code == 403
    mod = _member_client(new_client, moderator)
    assert mod.get("/g/open/invitations").status_code == 200
    assert mod.get("/g/open/requests").status_code == 200
    assert mod.get("/g/open/members").status_code == 403
    assert mod.get("/g/open/boards/new").status_code == 403


def test_members_list_is_for_members_only(client: FlaskClient, new_client: Clients) -> None:
    insider = factories.make_user("insider")
    factories.make_group("Walkers", slug="walkers", members=(insider,))
    factories.set_settings(guest_access="public_boards")
    outsider = _member_client(new_client, factories.make_user("outsider"))
    for viewer in (client, outsider):
        page = viewer.get("/g/walkers")
        assert page.status_code == 200
        assert "Walkers" in page.text
        assert "insider" not in page.text and "Members (" not in page.text
    assert "insider" in _member_client(new_client, insider).get("/g/walkers").text


# --- join requests ----------------------------------------------------------------


def test_public_group_join_request_accepted_makes_a_member(
    client: FlaskClient, new_client: Clients
) -> None:
    owner = factories.make_user("rosa")
    group = factories.make_group("Walkers", slug="walkers", owner=owner)
    asker = factories.make_user("asker")
    factories.make_user("other")
    member = _member_client(new_client, asker)
    listed = flat(member.get("/groups").text)
    assert "Public groups Walkers" in listed and "Ask to join" in listed
    assert member.post("/g/walkers/join").headers["Location"] == "/g/walkers"
    member.post("/g/walkers/join")  # twice: still one request
    assert "You asked to join." in flat(member.get("/g/walkers").text)
    assert "You asked to join." in flat(member.get("/groups").text)

    runner = _member_client(new_client, owner)
    assert "Join requests (1)" in flat(runner.get("/g/walkers").text)
    pending = runner.get("/g/walkers/requests")
    assert "asker" in flat(pending.text)
    request_id = re.search(r'/g/walkers/requests/(\d+)"', pending.text).group(1)
    bad = runner.post(f"/g/walkers/requests/{request_id}", data={"decision": "maybe"})
    assert bad.status_code == 400
    accepted = runner.post(f"/g/walkers/requests/{request_id}", data={"decision": "accept"})
    assert accepted.headers["Location"] == "/g/walkers/requests"
    assert _role(group, asker) == Role.MEMBER
    assert "You are a member of this group." in flat(member.get("/g/walkers").text)
    assert "Nobody is waiting to join." in flat(runner.get("/g/walkers/requests").text)


def test_declined_request_leaves_the_asker_outside(new_client: Clients) -> None:
    owner = factories.make_user("rosa")
    group = factories.make_group("Walkers", slug="walkers", owner=owner)
    asker = factories.make_user("asker")
    _member_client(new_client, asker).post("/g/walkers/join")
    runner = _member_client(new_client, owner)
    request_id = re.search(
        r'/g/walkers/requests/(\d+)"', runner.get("/g/walkers/requests").text
    ).group(1)
    runner.post(f"/g/walkers/requests/{request_id}", data={"decision": "decline"})
    assert _role(group, asker) is None
    assert runner.post("/g/walkers/requests/999999", data={"decision": "accept"}).status_code == 404


# --- invitation links ------------------------------------------------------------


def _token_states(group: Group) -> dict[str, str]:
    expired = factories.make_invitation(group)
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == db.session.scalar(select(func.max(Invitation.id))))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    used_up = factories.make_invitation(group)
    from forum.policy import actor_for
    from forum.services import invitations

    invitations.accept_invitation(
        actor_for(factories.make_user("first"), guests_read=False), used_up
    )
    db.session.commit()
    return {"expired": expired, "used_up": used_up, "forged": "A" * 32}


@pytest.mark.parametrize("state", ["expired", "used_up", "forged", "revoked"])
def test_dead_invitation_links_answer_like_nothing(
    client: FlaskClient, new_client: Clients, state: str
) -> None:
    owner = factories.make_user("rosa")
    group = factories.make_group("Circle", slug="circle", secret=True, owner=owner)
    if state == "revoked":
        runner = _member_client(new_client, owner)
        token = _make_link(runner, "circle")
        invitation_id = re.search(
            r"/invitations/(\d+)/revoke", runner.get("/g/circle/invitations").text
        ).group(1)
        revoked = runner.post(f"/g/circle/invitations/{invitation_id}/revoke")
        assert revoked.status_code == 302
        assert "No open invitations." in flat(runner.get("/g/circle/invitations").text)
    else:
        token = _token_states(group)[state]
    before = _memberships(group)
    for viewer in (client, _member_client(new_client, factories.make_user("second"))):
        missing = viewer.get("/invite/nothing-like-a-token")
        dead = viewer.get(f"/invite/{token}")
        assert dead.status_code == 404
        assert _body(dead) == _body(missing)
        assert "Circle" not in dead.text
    member = _member_client(new_client, factories.make_user("third"))
    assert member.post(f"/invite/{token}").status_code == 404
    form = {"username": "newbie", "password": NEW_PASSWORD, "invite": token}
    assert client.post("/register", data=form).status_code == 404
    assert _user("newbie") is None
    assert _memberships(group) == before


def test_token_for_one_group_does_not_open_another(new_client: Clients) -> None:
    first = factories.make_group("First", slug="first", secret=True)
    second = factories.make_group("Second", slug="second", secret=True)
    token = factories.make_invitation(first)
    joiner = factories.make_user("joiner")
    client = _member_client(new_client, joiner)
    assert client.post(f"/invite/{token}").headers["Location"] == "/g/first"
    assert client.get("/g/first").status_code == 200
    assert client.get("/g/second").status_code == 404
    assert _role(first, joiner) == Role.MEMBER and _role(second, joiner) is None


def test_accepting_twice_makes_one_membership_and_spends_one_use(new_client: Clients) -> None:
    group = factories.make_group("Circle", slug="circle", secret=True)
    token = factories.make_invitation(group, max_uses=3)
    joiner = factories.make_user("joiner")
    client = _member_client(new_client, joiner)
    assert client.post(f"/invite/{token}").status_code == 302
    again = client.get(f"/invite/{token}")
    assert "You are already in Circle." in flat(again.text)
    assert client.post(f"/invite/{token}").status_code == 302
    assert _memberships(group) == 2
    assert db.session.scalar(select(Invitation.uses)) == 1


def test_accepting_a_single_use_link_again_is_harmless(new_client: Clients) -> None:
    group = factories.make_group("Circle", slug="circle", secret=True)
    token = factories.make_invitation(group)
    client = _member_client(new_client, factories.make_user("joiner"))
    assert client.post(f"/invite/{token}").headers["Location"] == "/g/circle"
    assert client.post(f"/invite/{token}").headers["Location"] == "/g/circle"
    assert _memberships(group) == 2
    # Used up now: for anyone else, and on the landing page, it is gone.
    other = _member_client(new_client, factories.make_user("other"))
    assert other.post(f"/invite/{token}").status_code == 404
    assert client.get(f"/invite/{token}").status_code == 404


def test_members_spend_nothing_of_a_site_invitation(new_client: Clients) -> None:
    token = factories.make_invitation(None)
    client = _member_client(new_client, factories.make_user("plain"))
    assert "this invitation is not for you" in flat(client.get(f"/invite/{token}").text)
    assert client.post(f"/invite/{token}").headers["Location"] == "/"
    assert db.session.scalar(select(Invitation.uses)) == 0
    assert _user("plain").trust_level == 0


def test_guest_posting_an_acceptance_is_sent_to_log_in_first(client: FlaskClient) -> None:
    group = factories.make_group("Circle", slug="circle", secret=True)
    token = factories.make_invitation(group)
    answer = client.post(f"/invite/{token}")
    assert answer.headers["Location"] == f"/login?next=/invite/{token}"
    assert _memberships(group) == 1


def test_guest_registers_through_a_link_and_lands_inside_the_group(
    client: FlaskClient,
) -> None:
    group = factories.make_group("Circle", slug="circle", secret=True)
    token = factories.make_invitation(group)
    assert "invitation only" in flat(client.get("/register").text)
    assert client.get(f"/register?invite={token}").headers["Location"] == f"/invite/{token}"
    landing = flat(client.get(f"/invite/{token}").text)
    assert "You are invited to join Circle" in landing and "Register and join Circle" in landing
    weak = client.post(
        "/register", data={"username": "newbie", "password": "short", "invite": token}
    )
    assert weak.status_code == 400
    assert "invitation to join Circle" in flat(weak.text)
    assert f'name="invite" value="{token}"' in weak.text and 'value="newbie"' in weak.text
    codes = _register_with(client, token, "newbie")
    assert 'href="/g/circle"' in codes
    page = client.get("/g/circle")
    assert page.status_code == 200 and "You are a member of this group." in flat(page.text)
    assert _role(group, _user("newbie")) == Role.MEMBER
    assert _user("newbie").trust_level == 1


def test_site_invitation_made_by_an_admin_lets_a_guest_register(
    client: FlaskClient, new_client: Clients
) -> None:
    admin = _member_client(new_client, factories.make_admin("boss"))
    assert admin.get("/admin/invitations").status_code == 200
    too_long = admin.post("/admin/invitations", data={"max_uses": "1", "expires_in_hours": "721"})
    assert too_long.status_code == 400
    made = admin.post("/admin/invitations", data={"max_uses": "1", "expires_in_hours": "24"})
    token = LINK.search(made.text).group(1)
    landing = flat(client.get(f"/invite/{token}").text)
    assert "You are invited to join Our forum" in landing
    codes = _register_with(client, token, "newbie")
    assert 'href="/"' in codes
    assert client.get("/").status_code == 200 and _user("newbie") is not None
    # Used once: the next person gets the ordinary 404.
    assert new_client().get(f"/invite/{token}").status_code == 404
    member = _member_client(new_client, factories.make_user("plain"))
    assert member.get("/admin/invitations").status_code == 403


def test_invitation_form_checks_its_numbers(new_client: Clients) -> None:
    owner = factories.make_user("rosa")
    factories.make_group("Circle", slug="circle", owner=owner)
    client = _member_client(new_client, owner)
    for form in ({"max_uses": "0"}, {"expires_in_hours": "721"}, {"max_uses": "many"}):
        page = client.post("/g/circle/invitations", data=form)
        assert page.status_code == 400, form
        assert LINK.search(page.text) is None
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    assert "hours" in flat(client.get("/g/circle/invitations").text)


# --- admin: creating groups ---------------------------------------------------------


def test_admin_creates_groups_and_a_taken_slug_is_a_clear_conflict(new_client: Clients) -> None:
    factories.make_user("rosa")
    admin = _member_client(new_client, factories.make_admin("boss"))
    form = {
        "name": "Tuesday group",
        "slug": "tuesday",
        "description": "Peer support on Tuesdays.",
        "visibility": "secret",
        "owner": "rosa",
    }
    assert admin.post("/admin/groups", data=form).headers["Location"] == "/admin/groups"
    group = db.session.scalar(select(Group).where(Group.slug == "tuesday"))
    assert group.is_secret and _role(group, _user("rosa")) == Role.OWNER
    # The admin is not in it: it exists for them only in the directory.
    assert admin.get("/g/tuesday").status_code == 404
    taken = admin.post("/admin/groups", data={**form, "name": "Another"})
    assert taken.status_code == 409
    assert "That slug is already used by another group." in flat(taken.text)
    assert 'value="Another"' in taken.text
    bad = admin.post("/admin/groups", data={**form, "slug": "Not A Slug", "owner": "ghost"})
    assert bad.status_code == 400
    assert "There is no member with that username." in flat(bad.text)
    assert db.session.scalar(select(func.count()).select_from(Group)) == 1
    mine = admin.post(
        "/admin/groups", data={**form, "slug": "open", "visibility": "public", "owner": ""}
    )
    assert mine.status_code == 302
    assert admin.get("/g/open").status_code == 200


# --- the groups page and the index -------------------------------------------------


def test_groups_page_for_guests_shows_only_what_they_may_read(client: FlaskClient) -> None:
    factories.make_group("Walkers", slug="walkers")
    factories.make_group("Hidden", slug="hidden", secret=True)
    # Where guests read nothing, the page invites them to log in (and come back).
    closed = client.get("/groups")
    assert closed.headers["Location"] == "/login?next=/groups"
    assert "Walkers" not in closed.text and "Hidden" not in closed.text
    assert 'href="/groups"' not in client.get("/help").text
    factories.set_settings(guest_access="public_boards")
    public = flat(client.get("/groups").text)
    assert "Walkers" in public and "Log in to ask to join." in public and "Hidden" not in public
    assert client.get("/g/walkers").status_code == 200
    assert client.post("/g/walkers/join").headers["Location"].startswith("/login")


def test_board_index_puts_group_boards_under_their_group(new_client: Clients) -> None:
    insider = factories.make_user("insider")
    group = factories.make_group("Circle", slug="circle", secret=True, members=(insider,))
    factories.make_board("Site board")
    factories.make_board("Circle board", group=group)
    inside = _member_client(new_client, insider).get("/").text
    assert inside.index("Site board") < inside.index('href="/g/circle">Circle</a>')
    assert inside.index('href="/g/circle">Circle</a>') < inside.index("Circle board")
    outside = _member_client(new_client, factories.make_user()).get("/").text
    assert "Site board" in outside and "Circle" not in outside


def test_group_board_form_creates_a_board_in_the_group(new_client: Clients) -> None:
    owner = factories.make_user("rosa")
    group = factories.make_group("Circle", slug="circle", secret=True, owner=owner)
    client = _member_client(new_client, owner)
    empty = client.post("/g/circle/boards/new", data={"name": "  "})
    assert empty.status_code == 400 and "Name must not be empty." in flat(empty.text)
    made = client.post("/g/circle/boards/new", data={"name": "News", "description": "Updates"})
    board = db.session.scalar(select(Board).where(Board.name == "News"))
    assert made.headers["Location"] == f"/b/{board.id}" and board.group_id == group.id


def test_admin_revokes_a_site_invitation_from_the_page(client: FlaskClient) -> None:
    factories.make_admin("siteboss")
    token = factories.make_invitation(None)
    log_in(client, "siteboss")
    page = client.get("/admin/invitations").text
    assert "Used 0 of 1" in page
    invitation = db.session.scalar(select(Invitation).order_by(Invitation.id.desc()))
    assert client.post(f"/admin/invitations/{invitation.id}/revoke").status_code == 302
    assert client.get(f"/invite/{token}").status_code == 404
    assert "None open." in client.get("/admin/invitations").text


# --- links name the address the member is using (issue 10) ---------------------------


def _client_on(new_client: Clients, base_url: str, user: User) -> FlaskClient:
    """A client that reaches the forum at `base_url`, logged in there through the form."""
    client = new_client()
    answer = client.post(
        "/login",
        data={"username": user.username, "password": factories.PASSWORD},
        base_url=base_url,
    )
    assert answer.status_code == 302
    return client


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8100", "http://forum.example:9000"])
def test_invitation_link_made_in_the_browser_points_at_the_port_and_host_in_use(
    new_client: Clients, base_url: str
) -> None:
    """`PORT=8100 make run` used to hand out http://127.0.0.1:8000/... links."""
    owner = factories.make_user("porthost")
    factories.make_group("Port circle", slug="port-circle", secret=True, owner=owner)
    admin = factories.make_admin("portadmin")
    group_page = _client_on(new_client, base_url, owner).post(
        "/g/port-circle/invitations", data={"max_uses": "1"}, base_url=base_url
    )
    site_page = _client_on(new_client, base_url, admin).post(
        "/admin/invitations", data={"max_uses": "1", "expires_in_hours": "24"}, base_url=base_url
    )
    link = re.compile(r'value="' + re.escape(base_url) + r'/invite/([A-Za-z0-9_-]{20,})"')
    for page in (group_page, site_page):
        assert page.status_code == 200, flat(page.text)
        assert link.search(page.text), flat(page.text)
        assert ":8000/" not in page.text


@pytest.mark.app_config(FORUM_BASE_URL="https://forum.example")
def test_invitation_link_keeps_https_when_the_site_is_configured_for_it(
    new_client: Clients,
) -> None:
    """Behind a proxy that ends TLS the app sees http: a token is never put on an http link."""
    owner = factories.make_user("tlsowner")
    factories.make_group("TLS circle", slug="tls-circle", owner=owner)
    page = _client_on(new_client, "http://forum.example", owner).post(
        "/g/tls-circle/invitations", data={"max_uses": "1"}, base_url="http://forum.example"
    )
    assert 'value="https://forum.example/invite/' in page.text


def test_group_log_reads_as_sentences(new_client: Clients) -> None:
    """It read "sam_admin create group group 2" and "Reason: moderator"."""
    owner, member = factories.make_user("circle_owner"), factories.make_user("quiet_one")
    factories.make_group("Recovery circle", slug="recovery", owner=owner, members=(member,))
    client = _member_client(new_client, owner)
    assert client.post(
        "/g/recovery/members/quiet_one/role", data={"role": "moderator"}
    ).status_code in (200, 302)
    # Tags out without a space: a link's text runs on into the sentence.
    text = " ".join(re.sub(r"<[^>]+>", "", client.get("/g/recovery/log").text).split())
    assert "The forum created the group Recovery circle." in text
    assert "circle_owner made quiet_one a moderator." in text
    assert "Reason: moderator" not in text and "set role" not in text
