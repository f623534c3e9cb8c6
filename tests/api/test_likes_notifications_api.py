"""Likes, notifications and trust levels through the API.

Likes live inside a post's audience; notifications show only while their post (or group)
is still visible to the member; trust levels are granted by admins, and by group owners
for their members.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from forum.extensions import db
from forum.models.users import User
from forum.services import notifications
from tests import factories

API = "/api/v1"
MISSING = {"error": {"code": "not_found", "message": "Not found."}}


@pytest.fixture
def call(client: FlaskClient, bearer: Callable) -> Callable[..., TestResponse]:
    tokens: dict[int, dict[str, str]] = {}

    def _call(method: str, path: str, user: User | None = None, json: Any = None) -> TestResponse:
        headers = {}
        if user is not None:
            headers = tokens.setdefault(user.id, bearer(user))
        return client.open(f"{API}{path}", method=method, json=json, headers=headers)

    return _call


# --- likes -----------------------------------------------------------------------


def test_like_and_unlike_a_post(call: Callable[..., TestResponse]) -> None:
    author, reader, other = (factories.make_user(n) for n in ("author", "reader", "other"))
    topic = factories.make_topic(author=author)
    post = factories.make_post(topic, author, body="Worth a like.")
    path = f"/posts/{post.id}/like"
    liked = call("PUT", path, reader)
    assert liked.status_code == 200
    assert liked.get_json() == {"liked": True, "likes_count": 1}
    # Liking again changes nothing.
    assert call("PUT", path, reader).get_json() == {"liked": True, "likes_count": 1}
    assert call("PUT", path, other).get_json() == {"liked": True, "likes_count": 2}
    shown = call("GET", f"/posts/{post.id}", reader).get_json()
    assert (shown["likes_count"], shown["liked"]) == (2, True)
    page = call("GET", f"/topics/{topic.id}", reader).get_json()["posts"]
    assert [(p["liked"], p["likes_count"]) for p in page] == [(False, 0), (True, 2)]
    assert call("GET", f"/posts/{post.id}", author).get_json()["liked"] is False
    assert call("DELETE", path, reader).get_json() == {"liked": False, "likes_count": 1}
    assert call("DELETE", path, reader).get_json() == {"liked": False, "likes_count": 1}


def test_likes_refused(call: Callable[..., TestResponse]) -> None:
    author, reader, insider = (factories.make_user(n) for n in ("author", "reader", "insider"))
    post = factories.make_post(factories.make_topic(author=author), author)
    assert call("PUT", f"/posts/{post.id}/like").status_code == 401
    own = call("PUT", f"/posts/{post.id}/like", author)
    assert own.status_code == 403
    secret = factories.make_group(secret=True, owner=insider)
    secret_post = factories.make_post(
        factories.make_topic(factories.make_board(group=secret), insider), insider
    )
    for method in ("PUT", "DELETE"):
        hidden = call(method, f"/posts/{secret_post.id}/like", reader)
        missing = call(method, "/posts/987654/like", reader)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_json() == missing.get_json() == MISSING
    moderator = factories.make_user("keeper", moderator=True)
    call("POST", f"/posts/{post.id}/hide", moderator, {"reason": "Not for now."})
    assert call("PUT", f"/posts/{post.id}/like", reader).status_code == 403


# --- notifications ------------------------------------------------------------------


def test_notifications_list_and_mark_read(call: Callable[..., TestResponse]) -> None:
    author, reader = factories.make_user("author"), factories.make_user("reader")
    moderator = factories.make_user("keeper", moderator=True)
    post = factories.make_post(factories.make_topic(author=author), author, body="Hmm.")
    assert call("GET", "/notifications").status_code == 401
    assert call("POST", "/notifications/read").status_code == 401
    empty = call("GET", "/notifications", reader).get_json()
    assert empty == {
        "notifications": [],
        "page": 1,
        "pages": 1,
        "unread": 0,
        "next_before": None,
    }
    report = call("POST", f"/posts/{post.id}/reports", reader, {"reason": "abuse"}).get_json()
    call("POST", f"/reports/{report['id']}/resolve", moderator, {"action": "hide_post"})
    mine = call("GET", "/notifications", reader).get_json()
    assert mine["unread"] == 1
    [note] = mine["notifications"]
    assert note["kind"] == "report_handled" and note["post_url"] == f"/p/{post.id}"
    assert note["read"] is False and note["created_at"].endswith("Z")
    # The author is told too, with the reason; the reporter is never named to them.
    told = call("GET", "/notifications", author).get_json()["notifications"]
    assert [n["kind"] for n in told] == ["post_hidden"]
    assert "reader" not in told[0]["text"]
    assert call("POST", "/notifications/read", reader).get_json() == {"marked": 1}
    assert call("POST", "/notifications/read", reader).get_json() == {"marked": 0}
    after = call("GET", "/notifications", reader).get_json()
    assert after["unread"] == 0 and after["notifications"][0]["read"] is True
    assert "page" in call("GET", "/notifications?page=-1", reader).get_json()["error"]["fields"]


def test_notification_goes_with_the_group_a_member_leaves(
    call: Callable[..., TestResponse],
) -> None:
    owner, member = factories.make_user("owner"), factories.make_user("member")
    group = factories.make_group(secret=True, owner=owner, members=(member,))
    post = factories.make_post(
        factories.make_topic(factories.make_board(group=group), owner), member, body="Mine."
    )
    notifications.notify(member.id, "reply", "Someone answered you.", post_id=post.id)
    notifications.notify(member.id, "welcome", "Welcome to the forum.")
    db.session.commit()
    assert len(call("GET", "/notifications", member).get_json()["notifications"]) == 2
    assert call("DELETE", f"/groups/{group.slug}/members/member", member).status_code == 204
    after = call("GET", "/notifications", member).get_json()
    assert [n["kind"] for n in after["notifications"]] == ["welcome"]
    assert after["unread"] == 1
    # Marking read touches only what the member can see.
    assert call("POST", "/notifications/read", member).get_json() == {"marked": 1}


def test_marking_chosen_notifications_read_leaves_the_others(
    call: Callable[..., TestResponse],
) -> None:
    member, other = factories.make_user("member"), factories.make_user("other")
    first = notifications.notify(member.id, "welcome", "Welcome.")
    notifications.notify(member.id, "reply", "Someone answered you.")
    foreign = notifications.notify(other.id, "reply", "Not yours.")
    db.session.commit()
    ids = [first.id, foreign.id]
    assert call("POST", "/notifications/read", member, {"ids": ids}).get_json() == {"marked": 1}
    listed = call("GET", "/notifications", member).get_json()
    assert listed["unread"] == 1
    assert {n["kind"]: n["read"] for n in listed["notifications"]} == {
        "welcome": True,
        "reply": False,
    }
    assert call("GET", "/notifications", other).get_json()["unread"] == 1
    for bad in ({"ids": "all"}, {"ids": [0]}, {"ids": [True]}, {"ids": list(range(1, 102))}):
        answer = call("POST", "/notifications/read", member, bad)
        assert answer.status_code == 400 and "ids" in answer.get_json()["error"]["fields"]
    assert call("GET", "/notifications", member).get_json()["unread"] == 1


# --- trust levels ----------------------------------------------------------------


def test_admin_grants_and_locks_a_trust_level(call: Callable[..., TestResponse]) -> None:
    admin = factories.make_admin("boss")
    member = factories.make_user("climber")
    factories.make_topic(author=member)
    path = "/users/climber/trust-level"
    assert call("PUT", path, None, {"level": 2}).status_code == 401
    assert call("PUT", path, member, {"level": 4}).status_code == 403
    granted = call("PUT", path, admin, {"level": 2, "reason": "Long-time helper."})
    assert granted.status_code == 200
    body = granted.get_json()
    assert (body["trust_level"], body["trust_level_locked"], body["changed"]) == (2, True, True)
    assert call("PUT", path, admin, {"level": 2}).get_json()["changed"] is False
    unlocked = call("PUT", path, admin, {"level": 2, "lock": False}).get_json()
    assert unlocked["trust_level_locked"] is False and unlocked["changed"] is True
    progress = call("GET", "/me/trust", member).get_json()
    assert progress["level"] == 2 and progress["next_level"] == 3
    assert isinstance(progress["requirements"], list)
    assert call("GET", "/me/trust").status_code == 401


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"level": 5}, "level"),
        ({"level": -1}, "level"),
        ({"level": "two"}, "level"),
        ({}, "level"),
        ({"level": 1, "lock": "yes"}, "lock"),
        ({"level": 1, "colour": "red"}, "colour"),
    ],
)
def test_bad_trust_grant_is_refused(
    call: Callable[..., TestResponse], payload: dict[str, Any], field: str
) -> None:
    admin = factories.make_admin("boss")
    member = factories.make_user("climber")
    factories.make_topic(author=member)
    response = call("PUT", "/users/climber/trust-level", admin, payload)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]
    db.session.rollback()
    assert db.session.get(User, member.id).trust_level == 0  # type: ignore[union-attr]


def test_group_owner_grants_trust_to_their_members(call: Callable[..., TestResponse]) -> None:
    owner, member, stranger = (factories.make_user(n) for n in ("owner", "member", "stranger"))
    factories.make_topic(author=stranger)
    group = factories.make_group(slug="garden", owner=owner, members=(member,))
    path = "/users/member/trust-level"
    assert call("PUT", path, owner, {"level": 2}).status_code == 403  # not as the group's
    granted = call("PUT", path, owner, {"level": 3, "group": group.slug})
    assert granted.status_code == 200
    body = granted.get_json()
    # The grant counts inside the group only: the site level (1, from the invitation) and
    # its lock are untouched.
    assert (body["trust_level"], body["trust_level_locked"]) == (1, False)
    assert (body["group"], body["group_trust_level"], body["changed"]) == ("garden", 3, True)
    too_high = call("PUT", path, owner, {"level": 4, "group": group.slug})
    assert too_high.status_code == 400 and "level" in too_high.get_json()["error"]["fields"]
    taken_back = call("PUT", path, owner, {"level": 0, "group": group.slug}).get_json()
    assert (taken_back["group_trust_level"], taken_back["trust_level"]) == (None, 1)
    outside = call("PUT", "/users/stranger/trust-level", owner, {"level": 2, "group": "garden"})
    assert outside.status_code == 403
    assert call("PUT", path, owner, {"level": 2, "group": "nowhere"}).get_json() == MISSING


def test_notifications_name_who_acted_when_read(call: Callable[..., TestResponse]) -> None:
    ann, bob = factories.make_user("ann"), factories.make_user("bob")
    topic = factories.make_topic(author=ann, title="Night shifts")
    post = factories.make_post(topic, bob)
    [item] = call("GET", "/notifications", ann).get_json()["notifications"]
    assert item["kind"] == "topic_reply"
    assert item["text"] == "bob replied in your topic \u201cNight shifts\u201d."
    assert item["url"] == item["post_url"] == f"/p/{post.id}"
    assert item["count"] == 1


def test_notifications_cursor_paging_with_before(call: Callable[..., TestResponse]) -> None:
    reader = factories.make_user()
    for number in range(35):
        notifications.notify(reader.id, "n", f"Number {number}.")
    db.session.commit()
    first = call("GET", "/notifications", reader).get_json()
    assert len(first["notifications"]) == 30 and first["unread"] == 35
    cursor = first["next_before"]
    assert cursor == first["notifications"][-1]["id"]
    # New ones arriving do not shift the next page, as page numbers would.
    notifications.notify(reader.id, "n", "Newer.")
    db.session.commit()
    rest = call("GET", f"/notifications?before={cursor}", reader).get_json()
    assert [n["text"] for n in rest["notifications"]] == [f"Number {n}." for n in range(4, -1, -1)]
    assert rest["next_before"] is None
    assert call("GET", "/notifications?before=x", reader).status_code == 400


def test_mark_one_read_and_another_members_id_is_not_found(
    call: Callable[..., TestResponse],
) -> None:
    reader, other = factories.make_user(), factories.make_user()
    mine = notifications.notify(reader.id, "n", "Mine.")
    theirs = notifications.notify(other.id, "n", "Theirs.")
    db.session.commit()
    mine_id, theirs_id = mine.id, theirs.id
    assert call("POST", f"/notifications/{mine_id}/read", reader).get_json() == {"marked": 1}
    assert call("POST", f"/notifications/{mine_id}/read", reader).get_json() == {"marked": 0}
    answer = call("POST", f"/notifications/{theirs_id}/read", reader)
    assert answer.status_code == 404 and answer.get_json() == MISSING
    assert call("GET", "/notifications", other).get_json()["unread"] == 1


def test_watch_endpoints_get_and_put(call: Callable[..., TestResponse]) -> None:
    reader = factories.make_user()
    group = factories.make_group(members=(reader,))
    board = factories.make_board(group=group)
    topic = factories.make_topic(board, reader)
    paths = (
        f"/topics/{topic.id}/watch",
        f"/boards/{board.id}/watch",
        f"/groups/{group.slug}/watch",
    )
    for path in paths:
        assert call("GET", path, reader).get_json() == {"level": "tracking", "chosen": False}
        answer = call("PUT", path, reader, json={"level": "muted"})
        assert answer.get_json() == {"level": "muted", "chosen": True}
        assert call("GET", path, reader).get_json() == {"level": "muted", "chosen": True}
        bad = call("PUT", path, reader, json={"level": "loud"})
        assert bad.status_code == 400
        assert call("GET", path).status_code == 401
    assert call("GET", "/topics/999999/watch", reader).get_json() == MISSING


def test_notification_preferences_get_put_and_unknown_kinds(
    call: Callable[..., TestResponse],
) -> None:
    ann, bob = factories.make_user("ann"), factories.make_user("bob")
    mine = call("GET", "/me/notification-preferences", ann).get_json()
    assert mine["reply"] == {"in_app": True, "email": "never"}
    changed = call(
        "PUT",
        "/me/notification-preferences",
        ann,
        json={"topic_reply": {"in_app": False}, "mention": {"email": "digest"}},
    ).get_json()
    assert changed["topic_reply"] == {"in_app": False, "email": "never"}
    assert changed["mention"] == {"in_app": True, "email": "digest"}
    assert call("PUT", "/me/notification-preferences", ann, json={"nope": {}}).status_code == 400
    bad = call("PUT", "/me/notification-preferences", ann, json={"reply": {"email": "hourly"}})
    assert bad.status_code == 400
    assert call("GET", "/me/notification-preferences").status_code == 401
    # Turned off in-app: that kind is not written.
    factories.make_post(factories.make_topic(author=ann), bob)
    assert call("GET", "/notifications", ann).get_json()["notifications"] == []


def test_mention_suggestions_name_only_members_the_asker_may_see(
    call: Callable[..., TestResponse],
) -> None:
    asker = factories.make_user("asker")
    fellow = factories.make_user("rita_walks")
    factories.make_group(members=(asker, fellow))
    hidden = factories.make_user("rick_quiet")
    factories.make_group(secret=True, members=(hidden,))
    factories.make_user("rival_nobody")  # never posted, in no group of the asker's
    assert call("GET", "/users/suggest?q=ri", asker).get_json() == {"users": ["rita_walks"]}
    assert call("GET", "/users/suggest?q=RI", asker).get_json() == {"users": ["rita_walks"]}
    assert call("GET", "/users/suggest?q=r%25", asker).get_json() == {"users": []}
    assert call("GET", "/users/suggest?q=", asker).get_json() == {"users": []}
    assert call("GET", "/users/suggest?q=ri").status_code == 401


def test_reply_and_new_topic_answers_say_whether_mentions_went_untold(
    call: Callable[..., TestResponse],
) -> None:
    ann, bob = factories.make_user("ann"), factories.make_user("bob", trust_level=1)
    factories.make_post(factories.make_topic(author=ann), ann)  # public: bob may see ann
    secret = factories.make_group(secret=True, members=(bob,))
    board = factories.make_board(group=secret)
    started = call("POST", f"/boards/{board.id}/topics", bob, {"title": "Plans", "body": "@ann hi"})
    assert started.status_code == 201
    # ann cannot read the secret group's topic: told nothing, and the answer never says who.
    assert started.get_json()["unreached_mentions"] is True
    topic_id = started.get_json()["topic"]["id"]
    for body, unreached in (("@ann again", True), ("@bob no one else", False)):
        answer = call("POST", f"/topics/{topic_id}/posts", bob, {"body": body})
        assert answer.status_code == 201
        assert answer.get_json()["unreached_mentions"] is unreached
    public = factories.make_topic(author=ann)
    told = call("POST", f"/topics/{public.id}/posts", bob, {"body": "@ann can read this"})
    assert told.get_json()["unreached_mentions"] is False
    newest = call("GET", "/notifications", ann).get_json()["notifications"][0]
    assert newest["kind"] == "mention"
