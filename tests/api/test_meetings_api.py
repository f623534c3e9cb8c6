"""Meetings through the API (issue 14): arrange, list, answer, change, call off; the
member's calendar and feed; personal reminders. Answers are held to their contracts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import icalendar
from flask.testing import FlaskClient

from forum.models.base import utcnow
from tests import factories

API = "/api/v1"
MISSING = {"error": {"code": "not_found", "message": "Not found."}}


def _when(days: int = 10) -> str:
    return (utcnow() + timedelta(days=days)).strftime("%Y-%m-%dT19:00")


def test_meeting_journey_through_the_api(client: FlaskClient, bearer: Callable) -> None:
    ann, outsider = factories.make_user(), factories.make_user()
    group = factories.make_group(secret=True, members=(ann,))
    owner = bearer(factories.owner_of(group))
    body = {
        "title": "Peer circle",
        "starts_at": _when(),
        "timezone": "Europe/London",
        "repeat": "weekly",
        "where": "online",
        "link": "https://meet.test/circle",
        "notes": "Bring **tea**.",
    }
    made = client.post(f"{API}/groups/{group.slug}/meetings", json=body, headers=owner)
    assert made.status_code == 201, made.get_json()
    meeting = made.get_json()
    assert meeting["repeat"] == "weekly" and meeting["url"] == f"/meetings/{meeting['id']}"
    assert "<strong>tea</strong>" in meeting["notes_html"]
    # Members may not arrange; they answer.
    as_ann = bearer(ann)
    refused = client.post(f"{API}/groups/{group.slug}/meetings", json=body, headers=as_ann)
    assert refused.status_code == 403
    path = f"{API}/meetings/{meeting['id']}"
    rsvp = client.put(f"{path}/rsvp", json={"answer": "going", "hidden": True}, headers=as_ann)
    assert rsvp.status_code == 200
    assert rsvp.get_json() == {"answer": "going", "hidden": True, "reminder": None}
    listed = client.get(f"{API}/groups/{group.slug}/meetings", headers=as_ann).get_json()
    (seen,) = listed["meetings"]
    assert seen["link"] == "https://meet.test/circle" and seen["my_answer"] == "going"
    assert seen["attendance"]["going"] == [ann.username]
    # The owner sees the count, not the hidden name.
    owners_view = client.get(path, headers=owner).get_json()
    assert (
        owners_view["attendance"]["going"] == []
        and owners_view["attendance"]["counts"]["going"] == 1
    )
    # An outsider: the secret group's meeting is missing, asked, answered or changed.
    as_out = bearer(outsider)
    for method, url, json in (
        ("GET", path, None),
        ("PUT", f"{path}/rsvp", {"answer": "going"}),
        ("PATCH", path, {"title": "Mine now"}),
        ("DELETE", path, None),
        ("GET", f"{API}/groups/{group.slug}/meetings", None),
    ):
        answer = client.open(url, method=method, json=json, headers=as_out)
        assert (answer.status_code, answer.get_json()) == (404, MISSING), (method, url)
    # Changed and called off by the owner; bad input refused.
    changed = client.patch(path, json={"timezone": "America/New_York"}, headers=owner)
    assert changed.get_json()["local_start"] == meeting["local_start"]
    bad = client.patch(path, json={"starts_at": "2001-01-01T10:00"}, headers=owner)
    assert bad.status_code == 400 and bad.get_json()["error"]["fields"]["starts_at"]
    assert client.delete(path, headers=owner).status_code == 204
    assert client.get(path, headers=as_ann).status_code == 404


def test_calendar_settings_feed_and_reminders(client: FlaskClient, bearer: Callable) -> None:
    ann = factories.make_user()
    group = factories.make_group(members=(ann,))
    as_ann = bearer(ann)
    settings = client.put(
        f"{API}/me/calendar", json={"timezone": "Europe/Paris", "reminder": "2h"}, headers=as_ann
    )
    assert settings.get_json() == {"timezone": "Europe/Paris", "reminder": "2h", "feed": False}
    bad = client.put(f"{API}/me/calendar", json={"timezone": "Nowhere/Land"}, headers=as_ann)
    assert bad.status_code == 400
    owner = bearer(factories.owner_of(group))
    client.post(
        f"{API}/groups/{group.slug}/meetings",
        json={"title": "Open morning", "starts_at": _when(3), "timezone": "UTC"},
        headers=owner,
    )
    feed = client.post(f"{API}/me/calendar/feed", headers=as_ann)
    assert feed.status_code == 201
    url = feed.get_json()["url"]
    fetched = client.get(url.split("localhost", 1)[-1])
    assert fetched.status_code == 200 and fetched.mimetype == "text/calendar"
    events = icalendar.Calendar.from_ical(fetched.data).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Open morning"]
    assert client.delete(f"{API}/me/calendar/feed", headers=as_ann).status_code == 204
    assert client.get(url.split("localhost", 1)[-1]).status_code == 404
    # Personal reminders.
    post_id = factories.make_post().id
    made = client.post(f"{API}/posts/{post_id}/reminders", json={"preset": "1h"}, headers=as_ann)
    assert made.status_code == 201
    listed = client.get(f"{API}/me/reminders", headers=as_ann).get_json()["reminders"]
    assert [r["post_id"] for r in listed] == [post_id]
    other = bearer(factories.make_user())
    assert client.delete(f"{API}/reminders/{listed[0]['id']}", headers=other).status_code == 404
    assert client.delete(f"{API}/reminders/{listed[0]['id']}", headers=as_ann).status_code == 204
    bad = client.post(f"{API}/posts/{post_id}/reminders", json={"preset": "soon"}, headers=as_ann)
    assert bad.status_code == 400


def test_site_meetings_are_for_staff_to_arrange(client: FlaskClient, bearer: Callable) -> None:
    body = {"title": "Forum evening", "starts_at": _when(), "timezone": "UTC"}
    member = bearer(factories.make_user())
    assert client.post(f"{API}/meetings", json=body, headers=member).status_code == 403
    made = client.post(f"{API}/meetings", json=body, headers=bearer(factories.make_admin()))
    assert made.status_code == 201 and made.get_json()["group"] is None
    listed = client.get(f"{API}/meetings", headers=member).get_json()["meetings"]
    assert [m["title"] for m in listed] == ["Forum evening"]
    assert client.get(f"{API}/meetings").status_code == 401
