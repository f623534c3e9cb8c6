"""Role labels through the API: giving them, where post, user and member objects carry
them, and the holder's choice per group."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from tests import factories

API = "/api/v1"


def test_admin_gives_a_site_label_that_user_and_post_objects_carry(
    client: FlaskClient, bearer: Callable
) -> None:
    member = factories.make_user("helper")
    topic = factories.make_topic(author=member)
    admin = bearer(factories.make_admin())
    path = f"{API}/users/helper/label"
    answer = client.put(path, json={"label": "Peer supporter", "reason": "Trained"}, headers=admin)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["label"], body["group"], body["group_label"], body["changed"]) == (
        "Peer supporter",
        None,
        None,
        True,
    )
    reader = bearer(factories.make_user())
    assert client.get(f"{API}/users/helper", headers=reader).get_json()["label"] == "Peer supporter"
    posts = client.get(f"{API}/topics/{topic.id}", headers=reader).get_json()["posts"]
    assert posts[0]["author_label"] == "Peer supporter"
    # The holder cannot write their own label; neither can other members.
    mine = client.put(path, json={"label": "Doctor"}, headers=bearer(member))
    assert mine.status_code == 403
    assert client.put(path, json={"label": "x" * 61}, headers=admin).status_code == 400
    gone = client.put(path, json={"label": ""}, headers=admin).get_json()
    assert (gone["label"], gone["changed"]) == (None, True)


def test_group_label_shows_in_the_group_and_its_member_may_hide_it(
    client: FlaskClient, bearer: Callable
) -> None:
    member = factories.make_user("mentor")
    group = factories.make_group(members=(member,), secret=True)
    topic = factories.make_topic(factories.make_board(group=group), member)
    owner = bearer(factories.owner_of(group))
    given = client.put(
        f"{API}/users/mentor/label",
        json={"label": "Probation-approved mentor", "group": group.slug},
        headers=owner,
    )
    assert given.status_code == 200
    assert (given.get_json()["label"], given.get_json()["group_label"]) == (
        None,
        "Probation-approved mentor",
    )
    posts = client.get(f"{API}/topics/{topic.id}", headers=owner).get_json()["posts"]
    assert posts[0]["author_label"] == "Probation-approved mentor"
    members = client.get(f"{API}/groups/{group.slug}/members", headers=owner).get_json()
    assert {m["username"]: m["label"] for m in members["members"]}["mentor"] == (
        "Probation-approved mentor"
    )
    holder = bearer(member)
    choice = f"{API}/groups/{group.slug}/my-label"
    assert client.get(choice, headers=holder).get_json() == {
        "label": "Probation-approved mentor",
        "shown": True,
    }
    hidden = client.put(choice, json={"shown": False}, headers=holder)
    assert hidden.get_json() == {"label": "Probation-approved mentor", "shown": False}
    posts = client.get(f"{API}/topics/{topic.id}", headers=owner).get_json()["posts"]
    assert posts[0]["author_label"] is None
    # Outside the group: nobody else may choose, and a secret group answers 404.
    outsider = bearer(factories.make_user())
    assert client.get(choice, headers=outsider).status_code == 404
    assert client.put(choice, json={"shown": "no"}, headers=holder).status_code == 400
