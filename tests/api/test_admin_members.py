"""The admins' member directory through the API: every account, filters, never groups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import update

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.users import User
from forum.moderation import sanctions
from tests import factories

API = "/api/v1/admin/users"


def _names(body: dict) -> list[str]:
    return [u["username"] for u in body["users"]]


def _joined(user: User, days_ago: int) -> None:
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(created_at=utcnow() - timedelta(days=days_ago))
    )
    db.session.commit()


def test_admin_finds_a_member_who_never_posted(client: FlaskClient, bearer: Callable) -> None:
    """Appointing a member who never posted said "There is no member with that username":
    there was no member list anywhere."""
    factories.make_user("quiet_river")
    admin = factories.make_admin("sam_admin")
    body = client.get(f"{API}?q=RIVER", headers=bearer(admin)).get_json()
    assert _names(body) == ["quiet_river"]
    [row] = body["users"]
    assert row["posts_count"] == 0 and row["sanctions"] == [] and row["trust_level"] == 0
    assert row["url"] == "/u/quiet_river" and row["joined_at"].endswith("Z")
    assert (body["page"], body["pages"], body["total"]) == (1, 1, 1)
    assert "groups" not in row


def test_directory_filters_by_level_join_date_and_sanction(
    client: FlaskClient, bearer: Callable
) -> None:
    admin = factories.make_admin("sam_admin")
    old, new = factories.make_user("old_timer", trust_level=2), factories.make_user("newbie")
    loud = factories.make_user("loud_voice", trust_level=1)
    _joined(old, 400)
    _joined(admin, 500)
    sanctions.silence_member(factories.actor(admin), loud, group=None, days=3, reason="Shouting.")
    lifted = sanctions.suspend_member(factories.actor(admin), new, group=None, days=2, reason="x")
    sanctions.lift_sanction(factories.actor(admin), lifted, reason="A mistake.")
    db.session.commit()
    headers = bearer(admin)

    def names(query: str) -> list[str]:
        response = client.get(f"{API}?{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return _names(response.get_json())

    assert names("level=2") == ["old_timer"]
    before = (utcnow() - timedelta(days=100)).date().isoformat()
    assert names(f"joined_before={before}&sort=name") == ["old_timer", "sam_admin"]
    assert names(f"joined_after={before}&sort=name") == ["loud_voice", "newbie"]
    assert names("sanction=now") == ["loud_voice"]
    assert names("sanction=silenced") == ["loud_voice"]
    assert names("sanction=suspended") == []
    assert sorted(names("sanction=ever")) == ["loud_voice", "newbie"]
    assert names("sort=oldest")[0] == "sam_admin"
    assert names("joined_before=9999-12-31&joined_after=0001-01-01&sort=name") == [
        "loud_voice",
        "newbie",
        "old_timer",
        "sam_admin",
    ]
    [row] = client.get(f"{API}?q=loud", headers=headers).get_json()["users"]
    assert [(s["kind"], s["group"]) for s in row["sanctions"]] == [("silence", None)]


def test_directory_never_tells_an_admin_who_is_in_a_secret_group(
    client: FlaskClient, bearer: Callable
) -> None:
    """A member who only posts in a secret group, silenced there, reads exactly like a
    member with no groups and no posts: counts and sanction filters included."""
    owner = factories.make_user("circle_owner")
    inside = factories.make_user("inside_one", trust_level=1)
    factories.make_user("outside_one", trust_level=1)
    group = factories.make_group(secret=True, owner=owner, members=(inside,))
    factories.make_topic(factories.make_board(group=group), inside)
    sanctions.silence_member(factories.actor(owner), inside, group=group, days=3, reason="No.")
    db.session.commit()
    headers = bearer(factories.make_admin("sam_admin"))
    rows = {
        u["username"]: u for u in client.get(f"{API}?q=_one", headers=headers).get_json()["users"]
    }
    volatile = ("id", "username", "url", "joined_at", "created_at")
    strip = {k: v for k, v in rows["inside_one"].items() if k not in volatile}
    assert strip == {k: v for k, v in rows["outside_one"].items() if k not in volatile}
    for sanction in ("now", "silenced", "ever"):
        found = client.get(f"{API}?sanction={sanction}", headers=headers).get_json()
        assert found["total"] == 0 and found["users"] == [], sanction


def test_directory_is_for_admins_and_checks_its_filters(
    client: FlaskClient, bearer: Callable
) -> None:
    assert client.get(API).status_code == 401
    assert client.get(f"{API}?level=9").status_code == 401
    member = client.get(API, headers=bearer(factories.make_user(moderator=True)))
    assert member.status_code == 403 and member.get_json()["error"]["code"] == "forbidden"
    headers = bearer(factories.make_admin())
    for query, field in (
        ("level=5", "level"),
        ("level=x", "level"),
        ("joined_after=2026-02-30", "joined_after"),
        ("joined_before=20260101", "joined_before"),
        ("joined_before=99999-01-01", "joined_before"),
        ("sanction=banned", "sanction"),
        ("sort=random", "sort"),
        ("q=" + "x" * 21, "q"),
        ("page=0", "page"),
    ):
        answer = client.get(f"{API}?{query}", headers=headers)
        assert answer.status_code == 400, query
        assert field in answer.get_json()["error"]["fields"], query
