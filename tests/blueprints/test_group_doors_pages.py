"""Group doors in the browser (issue 10, findings 1, 2 and 5): a removal sticks at every
door, owners allow people back, join requests can be declined for good, members answer
invitations by name on their own page, and their standing shows group sanctions.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from forum.extensions import db
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.users import User
from forum.moderation import sanctions
from forum.services import groups
from tests import factories
from tests.blueprints.conftest import flat
from tests.blueprints.conftest import log_in
from tests.blueprints.conftest import without_csrf

Clients = Callable[[], FlaskClient]
FORGED = "forgedTOKENforgedTOKEN0123456789abcdef"


def _body(text: str) -> str:
    return without_csrf(text)


def _client(new_client: Clients, user: User) -> FlaskClient:
    client = new_client()
    assert log_in(client, user.username).status_code == 302
    return client


def _known(username: str) -> User:
    user = factories.make_user(username)
    factories.make_topic(author=user, title=f"Hello from {username}")
    return user


def _in(group: Group, user: User) -> bool:
    db.session.rollback()
    found = db.session.scalar(
        select(Membership.id).where(Membership.group_id == group.id, Membership.user_id == user.id)
    )
    return found is not None


def test_removed_member_finds_an_old_link_leads_nowhere_until_allowed_back(
    new_client: Clients,
) -> None:
    owner, member = factories.make_user("rosa"), factories.make_user("ben")
    group = factories.make_group(
        "Circle", slug="circle", secret=True, owner=owner, members=(member,)
    )
    token = factories.make_invitation(group, max_uses=20)
    rosa, ben = _client(new_client, owner), _client(new_client, member)
    assert rosa.post("/g/circle/members/ben/remove").status_code == 302
    # The link still works for others, but for ben it is exactly a dead link.
    old, forged = ben.get(f"/invite/{token}"), ben.get(f"/invite/{FORGED}")
    assert old.status_code == forged.status_code == 404
    assert _body(old.text).replace(token, "T") == _body(forged.text).replace(FORGED, "T")
    assert ben.post(f"/invite/{token}").status_code == 404
    assert not _in(group, member)
    # The owner sees why, and lets him back.
    page = flat(rosa.get("/g/circle/members").text)
    assert "Kept out" in page and "ben removed" in page
    allowed = rosa.post("/g/circle/exclusions/ben/allow")
    assert allowed.headers["Location"] == "/g/circle/members"
    assert "ben may come back" in flat(rosa.get("/g/circle/members").text)
    assert "The group keeps nobody out." in flat(rosa.get("/g/circle/members").text)
    assert ben.post(f"/invite/{token}").headers["Location"] == "/g/circle"
    assert _in(group, member)
    # Inviting him by name after a second removal tells the owner what to do.
    rosa.post("/g/circle/members/ben/remove")
    factories.make_topic(author=member)
    refused = rosa.post("/g/circle/members", data={"username": "ben", "role": "member"})
    assert refused.status_code == 409
    assert "They were removed from this group: allow them back first." in flat(refused.text)


def test_members_and_others_cannot_allow_anyone_back(new_client: Clients) -> None:
    owner, member = factories.make_user("rosa"), factories.make_user("ben")
    plain = factories.make_user("cat")
    group = factories.make_group("Walkers", slug="walkers", owner=owner, members=(member, plain))
    groups.remove_member(factories.actor(owner), group, member.username)
    db.session.commit()
    cat = _client(new_client, plain)
    assert cat.post("/g/walkers/exclusions/ben/allow").status_code == 403
    # Guests do not see the group at all while guests read nothing (the default).
    assert new_client().post("/g/walkers/exclusions/ben/allow").status_code == 404
    rosa = _client(new_client, owner)
    assert rosa.post("/g/walkers/exclusions/nobody/allow").status_code == 404


def test_join_request_declined_for_good_from_the_requests_page(new_client: Clients) -> None:
    owner, asker = factories.make_user("rosa"), factories.make_user("asker")
    group = factories.make_group("Walkers", slug="walkers", owner=owner)
    ask = _client(new_client, asker)
    assert ask.post("/g/walkers/join").status_code == 302
    rosa = _client(new_client, owner)
    page = rosa.get("/g/walkers/requests").text
    assert "If declined, do not let them ask again" in flat(page)
    request_id = re.search(r'action="/g/walkers/requests/([0-9]+)"', page).group(1)
    decided = rosa.post(
        f"/g/walkers/requests/{request_id}", data={"decision": "decline", "keep_out": "yes"}
    )
    assert decided.status_code == 302
    assert "They cannot ask again" in flat(rosa.get("/g/walkers/requests").text)
    again = ask.post("/g/walkers/join")
    assert again.status_code == 403
    assert "You cannot ask to join this group." in flat(again.text)
    assert "asker request declined for good" in flat(rosa.get("/g/walkers/members").text)
    assert not _in(group, asker)


def test_member_answers_invitations_by_name_on_their_own_page(new_client: Clients) -> None:
    owner = factories.make_user("rosa")
    group = factories.make_group("Circle", slug="circle", secret=True, owner=owner)
    group.description = "Thursday evenings, online."
    other = factories.make_group("Allotment", slug="allotment", owner=owner)
    db.session.commit()
    kim = _known("kim")
    rosa = _client(new_client, owner)
    for slug in ("circle", "allotment"):
        sent = rosa.post(f"/g/{slug}/members", data={"username": "kim", "role": "member"})
        assert sent.status_code == 302
    client = _client(new_client, kim)
    # Told, without the group's name in the notification itself.
    notes = flat(client.get("/notifications").text)
    assert "You have been invited to join a group." in notes and "Circle" not in notes
    assert "You have 2 invitations to join a group" in flat(client.get("/groups").text)
    assert client.get("/g/circle").status_code == 404
    page = client.get("/account/invitations")
    text = flat(page.text)
    assert "Circle Secret" in text and "Thursday evenings, online." in text
    assert "rosa invited you" in text
    ids = re.findall(r'action="/account/invitations/([0-9]+)/accept"', page.text)
    assert len(ids) == 2
    # Someone else's invitation answers exactly like one that does not exist.
    stranger = _client(new_client, factories.make_user("stranger"))
    theirs = stranger.post(f"/account/invitations/{ids[0]}/accept")
    missing = stranger.post("/account/invitations/987654/accept")
    assert theirs.status_code == missing.status_code == 404
    assert _body(theirs.text) == _body(missing.text)
    circle_id, allotment_id = ids[1], ids[0]  # newest first
    declined = client.post(f"/account/invitations/{allotment_id}/decline")
    assert declined.headers["Location"] == "/account/invitations"
    assert "Invitation declined. The group&#39;s owners see only that you declined." in flat(
        client.get("/account/invitations").text
    )
    joined = client.post(f"/account/invitations/{circle_id}/accept")
    assert joined.headers["Location"] == "/g/circle"
    assert "Welcome to Circle." in flat(client.get("/g/circle").text)
    assert _in(group, kim) and not _in(other, kim)
    assert "No invitations are waiting for you." in flat(client.get("/account/invitations").text)
    assert "kim Declined" in flat(rosa.get("/g/allotment/members").text)
    assert client.post(f"/account/invitations/{circle_id}/accept").status_code == 404


def test_owner_withdraws_an_invitation_by_name(new_client: Clients) -> None:
    owner = factories.make_user("rosa")
    factories.make_group("Circle", slug="circle", owner=owner)
    kim = _known("kim")
    rosa = _client(new_client, owner)
    rosa.post("/g/circle/members", data={"username": "kim", "role": "moderator"})
    page = rosa.get("/g/circle/members").text
    withdraw = re.search(r'action="(/g/circle/member-invitations/[0-9]+/withdraw)"', page).group(1)
    assert rosa.post(withdraw).headers["Location"] == "/g/circle/members"
    assert "Nobody is waiting to answer an invitation." in flat(rosa.get("/g/circle/members").text)
    client = _client(new_client, kim)
    assert "No invitations are waiting for you." in flat(client.get("/account/invitations").text)


def test_guests_are_sent_to_log_in_for_invitations(client: FlaskClient) -> None:
    answer = client.get("/account/invitations")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_invitation_list_says_who_made_each_link(new_client: Clients) -> None:
    owner, mod = factories.make_user("rosa"), factories.make_user("ana")
    group = factories.make_group(
        "Circle", slug="circle", secret=True, owner=owner, moderators=(mod,)
    )
    factories.make_invitation(group, by=mod, max_uses=3)
    factories.make_invitation(group, by=owner)
    page = flat(_client(new_client, owner).get("/g/circle/invitations").text)
    assert "Made by ana" in page and "Made by rosa" in page


def test_break_glass_admin_sees_links_but_makes_none(new_client: Clients) -> None:
    owner = factories.make_user("rosa")
    group = factories.make_group("Circle", slug="circle", secret=True, owner=owner)
    factories.make_invitation(group, by=owner)
    admin = factories.make_admin("boss")
    groups.break_glass(factories.actor(admin), group, reason="Checking a safeguarding report.")
    db.session.commit()
    client = _client(new_client, admin)
    page = client.get("/g/circle/invitations")
    assert page.status_code == 200
    assert "Made by rosa" in flat(page.text) and "Make the link" not in page.text
    refused = client.post("/g/circle/invitations", data={"max_uses": "1"})
    assert refused.status_code == 403
    members = flat(client.get("/g/circle/members").text)
    assert "Send the invitation" not in members
    assert "never an admin through break-glass" in members
    assert not _in(group, admin)


def test_standing_page_shows_a_group_silence_after_leaving(new_client: Clients) -> None:
    owner, member = factories.make_user("rosa"), factories.make_user("ben")
    group = factories.make_group("Walkers", slug="walkers", owner=owner, members=(member,))
    sanctions.silence_member(
        factories.actor(owner), member, group=group, days=5, reason="Too heated."
    )
    db.session.commit()
    ben = _client(new_client, member)
    assert ben.post("/g/walkers/leave").status_code == 302
    page = flat(ben.get("/account/standing").text)
    assert "Silenced in Walkers" in page and "Too heated." in page
    assert "If you join it again before this ends, it applies there again." in page
