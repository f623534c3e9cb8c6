"""Moderation through the API: reports, the review queue, actions, sanctions, appeals, log.

Who may: guests 401; members 403 for what they can see but may not do; anything they
cannot see (another scope's report, a secret group's post) 404, exactly like a missing id.
Scope: a group's moderators moderate its boards; site moderators the site's boards and
public groups'; admins those, and a secret group only while broken in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select
from werkzeug.test import TestResponse

from forum.extensions import db
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.moderation import Flag
from forum.models.moderation import Report
from forum.models.moderation import Sanction
from forum.models.modlog import ModerationLog
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.moderation.reports import NOTE_MAX
from tests import factories
from tests.api.test_openapi import _conforms
from tests.api.test_openapi import _resolve

API = "/api/v1"
MISSING = {"error": {"code": "not_found", "message": "Not found."}}


class Caller:
    """Requests as a member (a bearer token each, made once) or as a guest."""

    def __init__(self, client: FlaskClient, bearer: Callable[[User], dict[str, str]]) -> None:
        self.client = client
        self.bearer = bearer
        self.headers: dict[int, dict[str, str]] = {}

    def __call__(
        self, method: str, path: str, user: User | None = None, json: Any = None
    ) -> TestResponse:
        headers = {}
        if user is not None:
            if user.id not in self.headers:
                self.headers[user.id] = self.bearer(user)
            headers = self.headers[user.id]
        return self.client.open(f"{API}{path}", method=method, json=json, headers=headers)


@pytest.fixture
def call(client: FlaskClient, bearer: Callable) -> Caller:
    return Caller(client, bearer)


@dataclass
class Hub:
    """A small hub: a site board, a public club with its own moderator, a secret circle."""

    admin: User
    site_mod: User
    second_mod: User
    owner: User
    group_mod: User
    member: User
    author: User
    insider: User
    board: Board
    other_board: Board
    club: Group
    club_board: Board
    secret: Group
    secret_board: Board
    topic: Topic
    post: Post
    club_topic: Topic
    club_post: Post
    secret_post: Post


@pytest.fixture
def hub(app: object) -> Hub:
    admin = factories.make_admin("boss")
    site_mod = factories.make_user("sitemod", moderator=True, trust_level=3)
    second_mod = factories.make_user("sitemod2", moderator=True, trust_level=3)
    owner = factories.make_user("clubowner", trust_level=2)
    group_mod = factories.make_user("clubmod", trust_level=2)
    member = factories.make_user("reader", trust_level=1)
    author = factories.make_user("writer", trust_level=1)
    insider = factories.make_user("insider", trust_level=1)
    board = factories.make_board("Lounge")
    other_board = factories.make_board("Attic")
    club = factories.make_group(
        slug="club", owner=owner, members=(member, author), moderators=(group_mod,)
    )
    club_board = factories.make_board("Club room", group=club)
    secret = factories.make_group(slug="circle", secret=True, owner=insider)
    secret_board = factories.make_board("Circle room", group=secret)
    topic = factories.make_topic(board, author, title="Opening the lounge")
    post = factories.make_post(topic, author, body="Something to report.")
    club_topic = factories.make_topic(club_board, author, title="Club news")
    club_post = factories.make_post(club_topic, author, body="A club post to report.")
    secret_topic = factories.make_topic(secret_board, insider, title="Circle business")
    secret_post = factories.make_post(secret_topic, insider, body="Inside the circle.")
    # Everyone has written somewhere visible, so that their names can be looked up.
    for user in (site_mod, second_mod, owner, group_mod, member):
        factories.make_post(topic, user, body=f"Hello from {user.username}.")
    return Hub(
        admin=admin,
        site_mod=site_mod,
        second_mod=second_mod,
        owner=owner,
        group_mod=group_mod,
        member=member,
        author=author,
        insider=insider,
        board=board,
        other_board=other_board,
        club=club,
        club_board=club_board,
        secret=secret,
        secret_board=secret_board,
        topic=topic,
        post=post,
        club_topic=club_topic,
        club_post=club_post,
        secret_post=secret_post,
    )


def _report(call: Caller, post: Post, user: User, reason: str = "abuse", **extra: Any) -> Any:
    response = call("POST", f"/posts/{post.id}/reports", user, {"reason": reason, **extra})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def _count(model: type[Any]) -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def _log_actions() -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(ModerationLog.action).order_by(ModerationLog.id)))


def _fields(response: TestResponse) -> dict[str, str]:
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    fields: dict[str, str] = error["fields"]
    return fields


# --- reporting -------------------------------------------------------------------


def test_report_creates_then_updates_the_members_report(call: Caller, hub: Hub) -> None:
    first = call("POST", f"/posts/{hub.post.id}/reports", hub.member, {"reason": "spam"})
    assert first.status_code == 201
    body = first.get_json()
    assert body["post_id"] == hub.post.id and body["topic_id"] == hub.topic.id
    assert body["status"] == "open" and body["created_at"].endswith("Z")
    assert body["reasons"] == [{"reason": "spam", "note": "", "trust_level": 1}]
    again = call(
        "POST",
        f"/posts/{hub.post.id}/reports",
        hub.member,
        {"reason": "abuse", "note": "On second thought: abuse."},
    )
    assert again.status_code == 200
    assert again.get_json()["id"] == body["id"]
    assert again.get_json()["reasons"] == [
        {"reason": "abuse", "note": "On second thought: abuse.", "trust_level": 1}
    ]
    assert _count(Flag) == 1


def test_each_reporter_sees_only_their_own_reason(call: Caller, hub: Hub) -> None:
    mine = _report(call, hub.post, hub.member, "spam", note="Mine.")
    theirs = _report(call, hub.post, hub.owner, "off_topic", note="Theirs.")
    assert mine["id"] == theirs["id"]
    assert [r["note"] for r in theirs["reasons"]] == ["Theirs."]
    review = call("GET", f"/reports/{mine['id']}", hub.site_mod).get_json()
    assert sorted(r["note"] for r in review["reasons"]) == ["Mine.", "Theirs."]
    # Reporters are never named, to anyone.
    assert "reader" not in str(review["reasons"]) and "clubowner" not in str(review["reasons"])


BAD_REPORTS = {
    "unknown_reason": ({"reason": "boring"}, "reason"),
    "missing_reason": ({"note": "No reason given."}, "reason"),
    "reason_number": ({"reason": 3}, "reason"),
    "note_too_long": ({"reason": "other", "note": "x" * (NOTE_MAX + 1)}, "note"),
    "note_not_text": ({"reason": "other", "note": ["x"]}, "note"),
    "unknown_field": ({"reason": "spam", "severity": 9}, "severity"),
}


@pytest.mark.parametrize("case", sorted(BAD_REPORTS))
def test_bad_report_is_refused_and_changes_nothing(call: Caller, hub: Hub, case: str) -> None:
    payload, field = BAD_REPORTS[case]
    response = call("POST", f"/posts/{hub.post.id}/reports", hub.member, payload)
    assert field in _fields(response)
    assert _count(Flag) == 0 and _count(Report) == 0


def test_report_refused_for_own_post_guests_and_the_silenced(call: Caller, hub: Hub) -> None:
    path = f"/posts/{hub.post.id}/reports"
    own = call("POST", path, hub.author, {"reason": "spam"})
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "forbidden"
    assert call("POST", path, None, {"reason": "spam"}).status_code == 401
    silenced = call(
        "POST",
        f"/users/{hub.member.username}/sanctions",
        hub.site_mod,
        {"kind": "silence", "days": 2, "reason": "Cooling off."},
    )
    assert silenced.status_code == 201
    refused = call("POST", path, hub.member, {"reason": "spam"})
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "silenced"
    assert _count(Flag) == 0


def test_report_of_a_secret_post_answers_like_a_missing_one(call: Caller, hub: Hub) -> None:
    secret = call("POST", f"/posts/{hub.secret_post.id}/reports", hub.member, {"reason": "spam"})
    missing = call("POST", "/posts/987654/reports", hub.member, {"reason": "spam"})
    assert secret.status_code == missing.status_code == 404
    assert secret.get_json() == missing.get_json() == MISSING
    # Even with a bad body: the target is looked up first.
    assert call("POST", f"/posts/{hub.secret_post.id}/reports", hub.member, {}).status_code == 404


def test_reporting_again_after_a_decision_conflicts(call: Caller, hub: Hub) -> None:
    report = _report(call, hub.post, hub.member)
    resolved = call("POST", f"/reports/{report['id']}/resolve", hub.site_mod, {"action": "dismiss"})
    assert resolved.status_code == 200
    again = call("POST", f"/posts/{hub.post.id}/reports", hub.member, {"reason": "spam"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "conflict"


def test_reporting_is_rate_limited_with_retry_after(call: Caller, hub: Hub) -> None:
    posts = [factories.make_post(hub.topic, hub.author, body=f"Post {n}") for n in range(11)]
    for post in posts[:10]:
        _report(call, post, hub.member)
    limited = call("POST", f"/posts/{posts[10].id}/reports", hub.member, {"reason": "spam"})
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    # Changing a report already made is not a new one: still allowed.
    assert (
        call("POST", f"/posts/{posts[0].id}/reports", hub.member, {"reason": "spam"}).status_code
        == 200
    )
    assert _count(Flag) == 10


# --- the review list --------------------------------------------------------------


def test_reports_are_listed_for_moderators_only(call: Caller, hub: Hub) -> None:
    site = _report(call, hub.post, hub.member)
    club = _report(call, hub.club_post, hub.member)
    assert call("GET", "/reports").status_code == 401
    denied = call("GET", "/reports", hub.member)
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "forbidden"
    by_site_mod = call("GET", "/reports", hub.site_mod).get_json()
    # Site moderators: site boards and public groups' boards.
    assert {r["id"] for r in by_site_mod["reports"]} == {site["id"], club["id"]}
    assert (by_site_mod["page"], by_site_mod["pages"]) == (1, 1)
    shown = by_site_mod["reports"][0]
    assert shown["post"]["body"] and shown["score"] >= 1
    by_group_mod = call("GET", "/reports", hub.group_mod).get_json()
    assert [r["id"] for r in by_group_mod["reports"]] == [club["id"]]


def test_reports_filter_by_status(call: Caller, hub: Hub) -> None:
    report = _report(call, hub.post, hub.member)
    call("POST", f"/reports/{report['id']}/resolve", hub.site_mod, {"action": "dismiss"})
    assert call("GET", "/reports?status=open", hub.site_mod).get_json()["reports"] == []
    dismissed = call("GET", "/reports?status=dismissed", hub.site_mod).get_json()["reports"]
    assert [r["id"] for r in dismissed] == [report["id"]]
    assert dismissed[0]["status"] == "dismissed" and dismissed[0]["resolution"] == "dismiss"
    assert "status" in _fields(call("GET", "/reports?status=closed", hub.site_mod))
    assert "page" in _fields(call("GET", "/reports?page=0", hub.site_mod))


def test_group_moderator_cannot_see_or_resolve_another_scope(call: Caller, hub: Hub) -> None:
    site = _report(call, hub.post, hub.member)
    for method, path, payload in (
        ("GET", f"/reports/{site['id']}", None),
        ("POST", f"/reports/{site['id']}/resolve", {"action": "dismiss"}),
    ):
        response = call(method, path, hub.group_mod, payload)
        assert response.status_code == 404, path
        assert response.get_json() == MISSING
    assert call("GET", f"/reports/{site['id']}", hub.site_mod).status_code == 200


def test_secret_group_reports_stay_inside(call: Caller, hub: Hub) -> None:
    colleague = factories.make_user("colleague", trust_level=2)
    link = factories.make_invitation(hub.secret)
    assert call("POST", f"/invitations/{link}/accept", colleague).status_code == 200
    written = factories.make_post(hub.secret_post.topic, colleague, body="Circle words.")
    report = _report(call, written, hub.insider)
    path = f"/reports/{report['id']}"
    for outsider in (hub.site_mod, hub.admin, hub.group_mod):
        assert call("GET", path, outsider).get_json() == MISSING
        listed = call("GET", "/reports", outsider)
        assert report["id"] not in {r["id"] for r in listed.get_json().get("reports", [])}
    # The circle's owner reviews it; an admin only while broken in.
    assert call("GET", path, hub.insider).status_code == 200
    glass = call(
        "POST",
        f"/admin/groups/{hub.secret.id}/break-glass",
        hub.admin,
        {"reason": "Checking a report of abuse in the circle."},
    )
    assert glass.status_code == 201
    assert call("GET", path, hub.admin).status_code == 200


def test_nobody_reviews_a_report_about_their_own_post(call: Caller, hub: Hub) -> None:
    mod_post = factories.make_post(hub.topic, hub.site_mod, body="A moderator's own words.")
    report = _report(call, mod_post, hub.member)
    assert call("GET", f"/reports/{report['id']}", hub.site_mod).status_code == 404
    assert call("GET", f"/reports/{report['id']}", hub.second_mod).status_code == 200


# --- resolving -------------------------------------------------------------------

RESOLUTIONS = {
    "dismiss": ("dismissed", "report_dismissed"),
    "hide_post": ("upheld", "post_hidden"),
    "delete_post": ("upheld", "post_deleted"),
    "silence_user": ("upheld", "member_silenced"),
    "suspend_user": ("upheld", "member_suspended"),
}


@pytest.mark.parametrize("action", sorted(RESOLUTIONS))
def test_resolve_a_report(call: Caller, hub: Hub, action: str) -> None:
    report = _report(call, hub.post, hub.member)
    payload: dict[str, Any] = {"action": action, "reason": "Looked at it closely."}
    if action in ("silence_user", "suspend_user"):
        payload["days"] = 3
    response = call("POST", f"/reports/{report['id']}/resolve", hub.site_mod, payload)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    status, logged = RESOLUTIONS[action]
    assert (body["status"], body["resolution"]) == (status, action)
    assert body["resolution_reason"] == "Looked at it closely."
    assert logged in _log_actions()
    post = call("GET", f"/posts/{hub.post.id}", hub.member).get_json()
    assert post["hidden"] is (action == "hide_post")
    assert post["deleted"] is (action == "delete_post")
    # The reporter hears that it was handled, and nothing more.
    notes = call("GET", "/notifications", hub.member).get_json()["notifications"]
    assert [n["kind"] for n in notes] == ["report_handled"]


def test_resolve_without_reason_records_the_default(call: Caller, hub: Hub) -> None:
    report = _report(call, hub.post, hub.member)
    response = call("POST", f"/reports/{report['id']}/resolve", hub.site_mod, {"action": "dismiss"})
    assert response.get_json()["resolution_reason"] == "Resolved from the review queue."
    entries = call("GET", "/moderation/log", hub.site_mod).get_json()["entries"]
    assert entries[0]["action"] == "report_dismissed"
    assert entries[0]["reason"] == "Resolved from the review queue."
    assert entries[0]["actor"] == "sitemod" and entries[0]["undone"] is False


BAD_RESOLUTIONS = {
    "unknown_action": ({"action": "ban_forever"}, "action"),
    "missing_action": ({"reason": "Because."}, "action"),
    "days_zero": ({"action": "silence_user", "days": 0}, "days"),
    "days_too_many": ({"action": "suspend_user", "days": 366}, "days"),
    "days_text": ({"action": "silence_user", "days": "x"}, "days"),
    "reason_too_long": ({"action": "dismiss", "reason": "x" * 501}, "reason"),
    "reason_not_text": ({"action": "dismiss", "reason": 5}, "reason"),
    "unknown_field": ({"action": "dismiss", "urgent": True}, "urgent"),
}


@pytest.mark.parametrize("case", sorted(BAD_RESOLUTIONS))
def test_bad_resolution_is_refused_and_changes_nothing(call: Caller, hub: Hub, case: str) -> None:
    report = _report(call, hub.post, hub.member)
    before = _log_actions()
    payload, field = BAD_RESOLUTIONS[case]
    response = call("POST", f"/reports/{report['id']}/resolve", hub.site_mod, payload)
    assert field in _fields(response)
    assert call("GET", f"/reports/{report['id']}", hub.site_mod).get_json()["status"] == "open"
    assert _log_actions() == before
    assert _count(Sanction) == 0


def test_resolving_twice_conflicts(call: Caller, hub: Hub) -> None:
    report = _report(call, hub.post, hub.member)
    path = f"/reports/{report['id']}/resolve"
    assert call("POST", path, hub.site_mod, {"action": "dismiss"}).status_code == 200
    again = call("POST", path, hub.second_mod, {"action": "hide_post"})
    assert again.status_code == 409


def test_resolving_a_report_about_a_peer_moderator_is_forbidden(call: Caller, hub: Hub) -> None:
    peer_post = factories.make_post(hub.topic, hub.second_mod, body="A peer's post.")
    report = _report(call, peer_post, hub.member)
    response = call(
        "POST", f"/reports/{report['id']}/resolve", hub.site_mod, {"action": "silence_user"}
    )
    assert response.status_code == 403
    assert _count(Sanction) == 0


# --- the queue -------------------------------------------------------------------


def test_queue_shows_reports_with_reasons_and_trust_levels(call: Caller, hub: Hub) -> None:
    _report(call, hub.post, hub.member, "spam", note="Selling things.")
    _report(call, hub.post, hub.owner, "other")
    assert call("GET", "/moderation/queue").status_code == 401
    assert call("GET", "/moderation/queue", hub.member).status_code == 403
    queue = call("GET", "/moderation/queue", hub.site_mod).get_json()
    assert (queue["page"], queue["pages"]) == (1, 1)
    [item] = queue["items"]
    assert item["kind"] == "report" and item["post"]["id"] == hub.post.id
    assert item["topic"]["id"] == hub.topic.id and item["member"] == "writer"
    assert sorted((r["reason"], r["trust_level"]) for r in item["reasons"]) == [
        ("other", 2),
        ("spam", 1),
    ]
    assert item["score"] == 2 + 3
    assert item["member_history"] == {"hidden_posts": 0, "sanctions": 0}
    # The group's moderator sees nothing of the site's queue.
    assert call("GET", "/moderation/queue", hub.group_mod).get_json()["items"] == []


# --- actions on posts -------------------------------------------------------------


def test_hide_and_unhide_a_post(call: Caller, hub: Hub) -> None:
    path = f"/posts/{hub.post.id}"
    hidden = call("POST", f"{path}/hide", hub.site_mod, {"reason": "Personal details."})
    assert hidden.status_code == 200
    body = hidden.get_json()
    assert body["changed"] is True and body["hidden"] is True
    assert body["hidden_kind"] == "moderators" and body["body"] == "Something to report."
    again = call("POST", f"{path}/hide", hub.site_mod, {"reason": "Personal details."})
    assert again.get_json()["changed"] is False
    # Readers see that it is hidden, not what it said; its author sees why.
    seen = call("GET", path, hub.member).get_json()
    assert (seen["hidden"], seen["body"], seen["html"], seen["hidden_reason"]) == (
        True,
        None,
        None,
        None,
    )
    own = call("GET", path, hub.author).get_json()
    assert own["body"] == "Something to report." and own["hidden_reason"] == "Personal details."
    shown = call("POST", f"{path}/unhide", hub.second_mod, {"reason": "Fixed by the author."})
    assert shown.get_json()["changed"] is True and shown.get_json()["hidden"] is False
    assert call("GET", path, hub.member).get_json()["body"] == "Something to report."
    assert _log_actions()[-2:] == ["post_hidden", "post_unhidden"]


@pytest.mark.parametrize("action", ["hide", "unhide", "keep-hidden", "restore", "reject"])
def test_post_actions_need_a_reason(call: Caller, hub: Hub, action: str) -> None:
    before = _log_actions()
    for payload in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}):
        response = call("POST", f"/posts/{hub.post.id}/{action}", hub.site_mod, payload)
        assert "reason" in _fields(response), payload
    assert _log_actions() == before


@pytest.mark.parametrize(
    "action", ["hide", "unhide", "keep-hidden", "restore", "approve", "reject"]
)
def test_post_actions_allow_and_deny(call: Caller, hub: Hub, action: str) -> None:
    path = f"/posts/{{}}/{action}"
    payload = {"reason": "Moderating."}
    assert call("POST", path.format(hub.post.id), None, payload).status_code == 401
    denied = call("POST", path.format(hub.post.id), hub.member, payload)
    assert denied.status_code == 403
    # A group's moderator sees the site's post but does not moderate it.
    assert call("POST", path.format(hub.post.id), hub.group_mod, payload).status_code == 403
    secret = call("POST", path.format(hub.secret_post.id), hub.site_mod, payload)
    missing = call("POST", path.format(987654), hub.site_mod, payload)
    assert secret.status_code == missing.status_code == 404
    assert secret.get_json() == missing.get_json()
    allowed = call("POST", path.format(hub.post.id), hub.site_mod, payload)
    assert allowed.status_code == 200 and allowed.get_json()["changed"] is (action == "hide")


def test_restore_a_post_a_moderator_deleted(call: Caller, hub: Hub) -> None:
    assert call("DELETE", f"/posts/{hub.post.id}", hub.site_mod).status_code == 204
    restored = call("POST", f"/posts/{hub.post.id}/restore", hub.second_mod, {"reason": "Mistake."})
    assert restored.status_code == 200
    assert restored.get_json()["changed"] is True and restored.get_json()["deleted"] is False


def test_approve_and_reject_waiting_posts(call: Caller, hub: Hub) -> None:
    settings = call("PATCH", "/groups/club/moderation", hub.owner, {"approve_first_posts": 2})
    assert settings.status_code == 200
    assert settings.get_json() == {"log_visible_to_members": False, "approve_first_posts": 2}
    newbie = factories.make_user("newbie")
    call("POST", f"/invitations/{factories.make_invitation(hub.club)}/accept", newbie)
    newbie.trust_level = 0  # invited members start at level 1; this one is brand new
    db.session.commit()
    waiting = []
    for text in ("First words here.", "Second words here."):
        made = call("POST", f"/topics/{hub.club_topic.id}/posts", newbie, {"body": text})
        assert made.status_code == 201
        assert made.get_json()["hidden_kind"] == "approval"
        waiting.append(made.get_json()["id"])
    queue = call("GET", "/moderation/queue", hub.group_mod).get_json()["items"]
    assert sorted(i["id"] for i in queue if i["kind"] == "approval") == sorted(waiting)
    approved = call("POST", f"/posts/{waiting[0]}/approve", hub.group_mod, {})
    assert approved.get_json()["changed"] is True and approved.get_json()["hidden"] is False
    rejected = call("POST", f"/posts/{waiting[1]}/reject", hub.group_mod, {"reason": "Spam."})
    assert rejected.get_json()["changed"] is True and rejected.get_json()["deleted"] is True
    assert _log_actions()[-2:] == ["post_approved", "post_rejected"]


# --- actions on topics ------------------------------------------------------------

TOPIC_ACTIONS = {
    "lock": ("locked", True),
    "unlock": ("locked", False),
    "pin": ("pinned", True),
    "unpin": ("pinned", False),
    "close": ("closed", True),
    "open": ("closed", False),
}
# The action that puts a topic into the state an "un-" action reverses.
OPPOSITE = {"unlock": "lock", "unpin": "pin", "open": "close"}


@pytest.mark.parametrize("action", sorted(TOPIC_ACTIONS))
def test_topic_actions(call: Caller, hub: Hub, action: str) -> None:
    field, value = TOPIC_ACTIONS[action]
    path = f"/topics/{hub.topic.id}/{action}"
    payload = {"reason": "Keeping order."}
    assert call("POST", path, None, payload).status_code == 401
    assert call("POST", path, hub.member, payload).status_code == 403
    secret = call("POST", f"/topics/{hub.secret_post.topic_id}/{action}", hub.site_mod, payload)
    assert secret.get_json() == MISSING
    assert "reason" in _fields(call("POST", path, hub.site_mod, {}))
    if action in OPPOSITE:
        call("POST", f"/topics/{hub.topic.id}/{OPPOSITE[action]}", hub.site_mod, payload)
    response = call("POST", path, hub.site_mod, payload)
    assert response.status_code == 200
    body = response.get_json()
    assert body[field] is value and body["changed"] is True
    assert call("POST", path, hub.site_mod, payload).get_json()["changed"] is False


def test_closed_topic_takes_replies_from_moderators_only(call: Caller, hub: Hub) -> None:
    call("POST", f"/topics/{hub.topic.id}/close", hub.site_mod, {"reason": "Done here."})
    reply = call("POST", f"/topics/{hub.topic.id}/posts", hub.member, {"body": "One more."})
    assert reply.status_code == 403
    by_mod = call("POST", f"/topics/{hub.topic.id}/posts", hub.site_mod, {"body": "Closing note."})
    assert by_mod.status_code == 201


def test_move_a_topic(call: Caller, hub: Hub) -> None:
    path = f"/topics/{hub.topic.id}/move"
    payload = {"board_id": hub.other_board.id, "reason": "Belongs in the attic."}
    assert call("POST", path, hub.member, payload).status_code == 403
    assert "board_id" in _fields(call("POST", path, hub.site_mod, {"reason": "Where?"}))
    assert "board_id" in _fields(call("POST", path, hub.site_mod, {**payload, "board_id": "x"}))
    # A board the moderator cannot see answers like one that does not exist.
    hidden = call("POST", path, hub.site_mod, {**payload, "board_id": hub.secret_board.id})
    assert hidden.get_json() == MISSING
    moved = call("POST", path, hub.site_mod, payload)
    assert moved.status_code == 200
    assert moved.get_json()["board_id"] == hub.other_board.id and moved.get_json()["changed"]
    assert call("POST", path, hub.site_mod, payload).get_json()["changed"] is False
    # A group's moderator may not take a site topic into their group.
    club = call("POST", path, hub.group_mod, {**payload, "board_id": hub.club_board.id})
    assert club.status_code == 403


def test_moving_into_a_secret_group_must_be_confirmed(call: Caller, hub: Hub) -> None:
    keeper = hub.insider
    keeper.is_moderator = True
    db.session.commit()
    factories.make_post(hub.topic, keeper, body="Visible words.")
    path = f"/topics/{hub.topic.id}/move"
    payload = {"board_id": hub.secret_board.id, "reason": "Private matter."}
    unconfirmed = call("POST", path, keeper, payload)
    assert "board" in _fields(unconfirmed)
    bad = call("POST", path, keeper, {**payload, "confirm_group_change": "yes"})
    assert "confirm_group_change" in _fields(bad)
    moved = call("POST", path, keeper, {**payload, "confirm_group_change": True})
    assert moved.status_code == 200 and moved.get_json()["board_id"] == hub.secret_board.id
    # Now it is the circle's: outside it, the topic does not exist.
    assert call("GET", f"/topics/{hub.topic.id}", hub.member).get_json() == MISSING


@pytest.mark.parametrize(
    ("minutes", "ok"), [(30, True), (0, True), (-1, False), (1441, False), ("x", False)]
)
def test_slow_mode(call: Caller, hub: Hub, minutes: Any, ok: bool) -> None:
    path = f"/topics/{hub.topic.id}/slow-mode"
    payload = {"minutes": minutes, "reason": "Heated thread."}
    assert call("PUT", path, hub.member, payload).status_code == 403
    response = call("PUT", path, hub.site_mod, payload)
    if not ok:
        assert "minutes" in _fields(response)
        return
    assert response.status_code == 200
    assert response.get_json()["slow_mode_minutes"] == minutes
    assert response.get_json()["changed"] is (minutes != 0)


# --- sanctions --------------------------------------------------------------------


def test_silence_a_member(call: Caller, hub: Hub) -> None:
    made = call(
        "POST",
        "/users/writer/sanctions",
        hub.site_mod,
        {"kind": "silence", "days": 3, "reason": "Flooding the lounge."},
    )
    assert made.status_code == 201
    body = made.get_json()
    assert (body["kind"], body["state"], body["username"]) == ("silence", "active", "writer")
    assert body["group_id"] is None and body["automatic"] is False and body["ends_at"]
    refused = call("POST", f"/topics/{hub.topic.id}/posts", hub.author, {"body": "Still here."})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "silenced"
    # They can still read, and see why.
    assert call("GET", f"/topics/{hub.topic.id}", hub.author).status_code == 200
    standing = call("GET", "/me/standing", hub.author).get_json()["sanctions"]
    assert [s["reason"] for s in standing] == ["Flooding the lounge."]
    listed = call("GET", "/users/writer/sanctions", hub.second_mod).get_json()["sanctions"]
    assert [s["id"] for s in listed] == [body["id"]]
    assert call("GET", "/users/writer/sanctions", hub.author).status_code == 200
    assert call("GET", "/users/writer/sanctions", hub.member).get_json() == MISSING
    assert call("GET", "/users/writer/sanctions").status_code == 401


BAD_SANCTIONS = {
    "days_zero": ({"kind": "silence", "days": 0, "reason": "r"}, "days"),
    "days_too_many": ({"kind": "silence", "days": 366, "reason": "r"}, "days"),
    "days_text": ({"kind": "suspend", "days": "x", "reason": "r"}, "days"),
    "unknown_kind": ({"kind": "ban", "days": 3, "reason": "r"}, "kind"),
    "missing_reason": ({"kind": "silence", "days": 3}, "reason"),
    "reason_too_long": ({"kind": "silence", "days": 3, "reason": "x" * 501}, "reason"),
    "unknown_field": ({"kind": "silence", "days": 3, "reason": "r", "note": "n"}, "note"),
}


@pytest.mark.parametrize("case", sorted(BAD_SANCTIONS))
def test_bad_sanction_is_refused(call: Caller, hub: Hub, case: str) -> None:
    payload, field = BAD_SANCTIONS[case]
    response = call("POST", "/users/writer/sanctions", hub.site_mod, payload)
    assert field in _fields(response)
    assert _count(Sanction) == 0


def test_sanction_scope_and_rank(call: Caller, hub: Hub) -> None:
    payload = {"kind": "silence", "days": 1, "reason": "Testing the rules."}
    assert call("POST", "/users/writer/sanctions", None, payload).status_code == 401
    assert call("POST", "/users/writer/sanctions", hub.member, payload).status_code == 403
    assert call("POST", "/users/sitemod/sanctions", hub.site_mod, payload).status_code == 403
    assert call("POST", "/users/sitemod2/sanctions", hub.site_mod, payload).status_code == 403
    assert call("POST", "/users/boss/sanctions", hub.site_mod, payload).status_code == 403
    # A group's moderator acts in the group only.
    assert call("POST", "/users/writer/sanctions", hub.group_mod, payload).status_code == 403
    in_club = call("POST", "/users/writer/sanctions", hub.group_mod, {**payload, "group": "club"})
    assert in_club.status_code == 201 and in_club.get_json()["group_id"] == hub.club.id
    club_reply = call("POST", f"/topics/{hub.club_topic.id}/posts", hub.author, {"body": "Hi"})
    assert club_reply.status_code == 403
    site_reply = call("POST", f"/topics/{hub.topic.id}/posts", hub.author, {"body": "Hi"})
    assert site_reply.status_code == 201
    # A group the moderator cannot see is no group at all.
    secret = call("POST", "/users/writer/sanctions", hub.site_mod, {**payload, "group": "circle"})
    assert secret.get_json() == MISSING
    assert _count(Sanction) == 1


def test_long_sanction_needs_a_second_moderator(call: Caller, hub: Hub) -> None:
    made = call(
        "POST",
        "/users/writer/sanctions",
        hub.site_mod,
        {"kind": "suspend", "days": 30, "reason": "Serious and repeated."},
    ).get_json()
    assert made["state"] == "unconfirmed" and made["requested_days"] == 30
    path = f"/sanctions/{made['id']}"
    assert call("POST", f"{path}/confirm", hub.site_mod).status_code == 403
    assert call("POST", f"{path}/confirm", hub.member).get_json() == MISSING
    confirmed = call("POST", f"{path}/confirm", hub.second_mod)
    assert confirmed.status_code == 200
    assert confirmed.get_json()["state"] == "active" and confirmed.get_json()["changed"] is True
    assert call("POST", f"{path}/confirm", hub.second_mod).get_json()["changed"] is False
    assert "reason" in _fields(call("POST", f"{path}/lift", hub.second_mod, {}))
    lifted = call("POST", f"{path}/lift", hub.second_mod, {"reason": "Apologised."})
    assert lifted.get_json()["state"] == "lifted" and lifted.get_json()["changed"] is True
    assert _log_actions()[-3:] == ["member_suspended", "sanction_confirmed", "sanction_lifted"]


# --- appeals ----------------------------------------------------------------------


def test_appeal_a_sanction_once_to_another_moderator(call: Caller, hub: Hub) -> None:
    sanction = call(
        "POST",
        "/users/writer/sanctions",
        hub.site_mod,
        {"kind": "silence", "days": 5, "reason": "Too many posts."},
    ).get_json()
    payload = {"target_type": "sanction", "target_id": sanction["id"], "text": "It was one day."}
    assert call("POST", "/appeals", hub.member, payload).get_json() == MISSING
    made = call("POST", "/appeals", hub.author, payload)
    assert made.status_code == 201
    appeal = made.get_json()
    assert (appeal["state"], appeal["username"], appeal["text"]) == (
        "open",
        "writer",
        "It was one day.",
    )
    assert call("POST", "/appeals", hub.author, payload).status_code == 409
    assert [a["id"] for a in call("GET", "/appeals", hub.author).get_json()["appeals"]] == [
        appeal["id"]
    ]
    # Not to the moderator who acted: for them it is not there.
    assert call("GET", "/appeals", hub.site_mod).get_json()["appeals"] == []
    decide = f"/appeals/{appeal['id']}/decide"
    assert call("POST", decide, hub.site_mod, {"grant": True, "reason": "Mine."}).get_json() == (
        MISSING
    )
    assert call("POST", decide, hub.author, {"grant": True, "reason": "Please."}).status_code == 403
    assert "grant" in _fields(call("POST", decide, hub.second_mod, {"grant": "yes", "reason": "r"}))
    assert "reason" in _fields(call("POST", decide, hub.second_mod, {"grant": True}))
    granted = call("POST", decide, hub.second_mod, {"grant": True, "reason": "Fair point."})
    assert granted.status_code == 200
    assert granted.get_json()["state"] == "granted"
    assert granted.get_json()["decision_reason"] == "Fair point."
    standing = call("GET", "/me/standing", hub.author).get_json()["sanctions"]
    assert standing[0]["state"] == "lifted"
    assert call("POST", decide, hub.second_mod, {"grant": False, "reason": "x"}).status_code == 409


BAD_APPEALS = {
    "unknown_target_type": ({"target_type": "topic", "target_id": 1, "text": "t"}, "target_type"),
    "target_id_text": ({"target_type": "post", "target_id": "one", "text": "t"}, "target_id"),
    "missing_text": ({"target_type": "post", "target_id": 1}, "text"),
    "text_too_long": ({"target_type": "post", "target_id": 1, "text": "x" * 2001}, "text"),
}


@pytest.mark.parametrize("case", sorted(BAD_APPEALS))
def test_bad_appeal_is_refused(call: Caller, hub: Hub, case: str) -> None:
    payload, field = BAD_APPEALS[case]
    assert field in _fields(call("POST", "/appeals", hub.author, payload))


def test_appeal_a_hidden_post(call: Caller, hub: Hub) -> None:
    call("POST", f"/posts/{hub.post.id}/hide", hub.site_mod, {"reason": "Off topic."})
    made = call(
        "POST",
        "/appeals",
        hub.author,
        {"target_type": "post", "target_id": hub.post.id, "text": "It is on topic."},
    )
    assert made.status_code == 201
    decided = call(
        "POST",
        f"/appeals/{made.get_json()['id']}/decide",
        hub.second_mod,
        {"grant": False, "reason": "It is not."},
    )
    assert decided.get_json()["state"] == "denied"
    assert call("GET", f"/posts/{hub.post.id}", hub.member).get_json()["hidden"] is True


# --- the moderation log -----------------------------------------------------------


def test_log_is_scoped(call: Caller, hub: Hub) -> None:
    call("POST", f"/posts/{hub.post.id}/hide", hub.site_mod, {"reason": "Site matter."})
    call("POST", f"/posts/{hub.club_post.id}/hide", hub.group_mod, {"reason": "Club matter."})
    secret_topic = hub.secret_post.topic_id
    call("POST", f"/topics/{secret_topic}/lock", hub.insider, {"reason": "Circle matter."})
    assert call("GET", "/moderation/log").status_code == 401

    def reasons(user: User) -> set[str]:
        response = call("GET", "/moderation/log", user)
        assert response.status_code == 200
        entries = response.get_json()["entries"]
        return {e["reason"] for e in entries if e["action"] in ("post_hidden", "topic_locked")}

    assert reasons(hub.site_mod) == {"Site matter.", "Club matter."}
    assert reasons(hub.group_mod) == {"Club matter."}
    assert reasons(hub.insider) == {"Circle matter."}
    # An admin outside the circle does not see its log; members see nothing here.
    assert "Circle matter." not in reasons(hub.admin)
    assert reasons(hub.member) == set()
    assert "page" in _fields(call("GET", "/moderation/log?page=x", hub.site_mod))


def test_group_can_open_its_log_to_members(call: Caller, hub: Hub) -> None:
    path = "/groups/club/moderation"
    assert call("PATCH", path, hub.member, {"log_visible_to_members": True}).status_code == 403
    assert call("PATCH", path, None, {"log_visible_to_members": True}).status_code == 401
    assert "log_visible_to_members" in _fields(
        call("PATCH", path, hub.owner, {"log_visible_to_members": "yes"})
    )
    assert "approve_first_posts" in _fields(
        call("PATCH", path, hub.owner, {"approve_first_posts": 999})
    )
    assert call("PATCH", "/groups/circle/moderation", hub.owner, {}).get_json() == MISSING
    opened = call("PATCH", path, hub.owner, {"log_visible_to_members": True})
    assert opened.get_json()["log_visible_to_members"] is True
    call("POST", f"/posts/{hub.club_post.id}/hide", hub.group_mod, {"reason": "Club matter."})
    entries = call("GET", "/moderation/log", hub.member).get_json()["entries"]
    assert "Club matter." in {e["reason"] for e in entries}
    hide = next(e for e in entries if e["action"] == "post_hidden")
    # Seeing an entry is not undoing it.
    undo = call("POST", f"/moderation/log/{hide['id']}/undo", hub.member, {"reason": "No."})
    assert undo.status_code == 403


def test_undo_an_action(call: Caller, hub: Hub) -> None:
    call("POST", f"/posts/{hub.post.id}/hide", hub.site_mod, {"reason": "Hasty."})
    entry = call("GET", "/moderation/log", hub.site_mod).get_json()["entries"][0]
    path = f"/moderation/log/{entry['id']}/undo"
    assert call("POST", path, hub.member, {"reason": "No."}).get_json() == MISSING
    assert call("POST", path, hub.group_mod, {"reason": "No."}).get_json() == MISSING
    assert "reason" in _fields(call("POST", path, hub.second_mod, {}))
    undone = call("POST", path, hub.second_mod, {"reason": "Too hasty."})
    assert undone.status_code == 200
    assert undone.get_json()["undone"] is True and undone.get_json()["changed"] is True
    assert call("GET", f"/posts/{hub.post.id}", hub.member).get_json()["hidden"] is False
    assert call("POST", path, hub.second_mod, {"reason": "Again."}).status_code == 409
    assert _log_actions()[-2:] == ["post_hidden", "undo"]


# --- appointing site moderators ---------------------------------------------------


def test_admin_appoints_a_site_moderator(call: Caller, hub: Hub) -> None:
    path = "/admin/moderators/reader"
    payload = {"moderator": True, "reason": "Trusted and willing."}
    assert call("PUT", path, None, payload).status_code == 401
    assert call("PUT", path, hub.site_mod, payload).status_code == 403
    assert "moderator" in _fields(call("PUT", path, hub.admin, {"reason": "Missing flag."}))
    assert "reason" in _fields(call("PUT", path, hub.admin, {"moderator": True}))
    made = call("PUT", path, hub.admin, payload)
    assert made.status_code == 200
    assert "moderator" in made.get_json()["roles"] and made.get_json()["changed"] is True
    assert call("PUT", path, hub.admin, payload).get_json()["changed"] is False
    assert call("GET", "/reports", hub.member).status_code == 200
    removed = call("PUT", path, hub.admin, {"moderator": False, "reason": "Stepped down."})
    assert removed.get_json()["roles"] == []
    assert _log_actions()[-2:] == ["site_moderator_appointed", "site_moderator_removed"]


# --- the documentation tells the truth ------------------------------------------


def test_answers_match_their_documented_schemas(call: Caller, hub: Hub) -> None:
    doc = call("GET", "/openapi.json").get_json()
    report = _report(call, hub.post, hub.member)
    sanction = call(
        "POST",
        "/users/writer/sanctions",
        hub.site_mod,
        {"kind": "silence", "days": 10, "reason": "Long one."},
    ).get_json()
    calls: list[tuple[str, str, str, User, Any]] = [
        (
            "post",
            "/posts/{post_id}/reports",
            f"/posts/{hub.club_post.id}/reports",
            hub.member,
            {"reason": "spam"},
        ),
        (
            "post",
            "/posts/{post_id}/reports",
            f"/posts/{hub.club_post.id}/reports",
            hub.member,
            {"reason": "abuse"},
        ),
        ("get", "/reports", "/reports", hub.site_mod, None),
        ("get", "/reports/{report_id}", f"/reports/{report['id']}", hub.site_mod, None),
        ("get", "/moderation/queue", "/moderation/queue", hub.second_mod, None),
        (
            "post",
            "/reports/{report_id}/resolve",
            f"/reports/{report['id']}/resolve",
            hub.site_mod,
            {"action": "hide_post"},
        ),
        ("get", "/moderation/log", "/moderation/log", hub.site_mod, None),
        (
            "post",
            "/posts/{post_id}/unhide",
            f"/posts/{hub.post.id}/unhide",
            hub.second_mod,
            {"reason": "Fine after all."},
        ),
        (
            "post",
            "/topics/{topic_id}/pin",
            f"/topics/{hub.topic.id}/pin",
            hub.site_mod,
            {"reason": "Welcome topic."},
        ),
        (
            "put",
            "/topics/{topic_id}/slow-mode",
            f"/topics/{hub.topic.id}/slow-mode",
            hub.site_mod,
            {"minutes": 5, "reason": "Busy."},
        ),
        ("get", "/users/{username}/sanctions", "/users/writer/sanctions", hub.site_mod, None),
        ("get", "/me/standing", "/me/standing", hub.author, None),
        (
            "post",
            "/sanctions/{sanction_id}/confirm",
            f"/sanctions/{sanction['id']}/confirm",
            hub.second_mod,
            None,
        ),
        (
            "post",
            "/appeals",
            "/appeals",
            hub.author,
            {"target_type": "sanction", "target_id": sanction["id"], "text": "Too long."},
        ),
        ("get", "/appeals", "/appeals", hub.author, None),
        ("get", "/notifications", "/notifications", hub.author, None),
        ("post", "/notifications/read", "/notifications/read", hub.author, None),
        ("put", "/posts/{post_id}/like", f"/posts/{hub.club_post.id}/like", hub.member, None),
        ("get", "/topics/{topic_id}", f"/topics/{hub.topic.id}", hub.member, None),
        ("get", "/me/trust", "/me/trust", hub.member, None),
        (
            "put",
            "/users/{username}/trust-level",
            "/users/reader/trust-level",
            hub.admin,
            {"level": 2},
        ),
        (
            "patch",
            "/groups/{slug}/moderation",
            "/groups/club/moderation",
            hub.owner,
            {"log_visible_to_members": True},
        ),
        (
            "put",
            "/admin/moderators/{username}",
            "/admin/moderators/reader",
            hub.admin,
            {"moderator": True, "reason": "Helpful."},
        ),
        ("get", "/settings", "/settings", hub.admin, None),
        ("delete", "/posts/{post_id}/like", f"/posts/{hub.club_post.id}/like", hub.member, None),
        (
            "post",
            "/sanctions/{sanction_id}/lift",
            f"/sanctions/{sanction['id']}/lift",
            hub.second_mod,
            {"reason": "Served enough."},
        ),
        (
            "post",
            "/topics/{topic_id}/move",
            f"/topics/{hub.topic.id}/move",
            hub.site_mod,
            {"board_id": hub.other_board.id, "reason": "Tidier there."},
        ),
    ]
    for method, template, path, user, payload in calls:
        response = call(method.upper(), path, user, payload)
        documented = doc["paths"][template][method]["responses"]
        status = str(response.status_code)
        assert status in documented, f"{method} {path}: {status} not documented"
        answer = documented[status]
        if "$ref" in answer:
            answer = _resolve(doc, answer["$ref"])
        schema = answer["content"]["application/json"]["schema"]
        _conforms(doc, schema, response.get_json(), f"{method} {path}")
    entry = call("GET", "/moderation/log", hub.site_mod).get_json()["entries"][0]
    undone = call("POST", f"/moderation/log/{entry['id']}/undo", hub.site_mod, {"reason": "Oops."})
    assert undone.status_code == 200
    _conforms(doc, _resolve(doc, "#/components/schemas/LogEntryChange"), undone.get_json(), "undo")
