"""Reports and appeals follow their post into a secret group (issue 10).

A handled report used to stay in the site scope after its topic moved into a secret
group: the site's moderators (outsiders of the group) kept it in their lists, with the
post and the reporters' notes. After the move they must see nothing of it anywhere:
lists, counts, the queue, or by id (answered exactly like a report that never existed).
"""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from forum.extensions import db
from forum.models.moderation import Appeal
from forum.models.moderation import Report
from forum.models.users import User
from forum.moderation import actions
from forum.moderation import appeals
from forum.moderation import reports
from forum.services import accounts
from tests import factories as f
from tests.blueprints.conftest import without_csrf

NOTE = "CANARYMOVED7 a reporter's note about a post that moved"
BODY = "CANARYMOVEDPOST7 words that end up in a secret group"
MISSING = 987_654


def _world() -> dict[str, int]:
    """A site topic with a dismissed report, a hidden post (upheld report) and a decided
    appeal, then moved by an admin who owns a secret group into that group's board."""
    author = f.make_user("mover_author", trust_level=1)
    reporter = f.make_user("mover_reporter", trust_level=1)
    site_mod = f.make_user("mover_sitemod", moderator=True)
    second_mod = f.make_user("mover_secondmod", moderator=True)
    topic = f.make_topic(author=author, title="A topic that will move")
    kept = f.make_post(topic, author, body=BODY)
    hidden = f.make_post(topic, author, body=BODY + " (hidden)")
    dismissed = reports.report_post(f.actor(reporter), kept, reason="abuse", note=NOTE)
    reports.resolve_report(f.actor(site_mod), dismissed, action="dismiss", reason="Fine.")
    upheld = reports.report_post(f.actor(reporter), hidden, reason="abuse", note=NOTE)
    reports.resolve_report(f.actor(site_mod), upheld, action="hide_post", reason="Rude.")
    db.session.commit()
    appeal = appeals.appeal(
        f.actor(author), target_type="post", target_id=hidden.id, text="Please look again."
    )
    db.session.commit()
    appeals.decide_appeal(f.actor(second_mod), appeal, grant=False, reason="It stays.")
    db.session.commit()
    admin = f.make_admin("mover_admin")
    group = f.make_group("CANARYMOVEDGRP7", secret=True, owner=admin)
    board = f.make_board("Inside", group=group)
    actions.move_topic(
        f.actor(admin), topic, board, reason="Belongs inside.", confirm_group_change=True
    )
    db.session.commit()
    return {
        "group": group.id,
        "dismissed": dismissed.id,
        "upheld": upheld.id,
        "appeal": appeal.id,
        "site_mod": site_mod.id,
        "second_mod": second_mod.id,
        "owner": admin.id,
    }


def _user(user_id: int) -> User:
    found = db.session.get(User, user_id)
    assert found is not None
    return found


def test_reports_and_appeals_follow_their_post_into_a_secret_group(db) -> None:
    world = _world()
    scopes = set(db.session.scalars(select(Report.group_id)))
    assert scopes == {world["group"]}
    assert db.session.scalar(select(Appeal.group_id)) == world["group"]


def test_old_scope_moderators_see_nothing_of_a_moved_report(
    db, new_client: Callable[[], FlaskClient], login_as: Callable[[User], FlaskClient]
) -> None:
    world = _world()
    for mod in ("site_mod", "second_mod"):
        client = new_client()
        token = _token(_user(world[mod]))
        api = {"Authorization": f"Bearer {token}"}
        # Lists and counts: as if there had never been a report.
        for status in ("open", "upheld", "dismissed"):
            listed = client.get(f"/api/v1/reports?status={status}", headers=api).get_json()
            assert listed["reports"] == [] and listed["pages"] == 1, (mod, status, listed)
        queue = client.get("/api/v1/moderation/queue", headers=api).get_json()
        assert queue["items"] == [], queue
        found_appeals = client.get("/api/v1/appeals", headers=api).get_json()
        assert found_appeals["appeals"] == [], found_appeals
        # By id: exactly the answer for a report that does not exist.
        for report in ("dismissed", "upheld"):
            secret = client.get(f"/api/v1/reports/{world[report]}", headers=api)
            missing = client.get(f"/api/v1/reports/{MISSING}", headers=api)
            assert (secret.status_code, secret.get_json()) == (
                missing.status_code,
                missing.get_json(),
            )
            assert secret.status_code == 404
            resolve = client.post(
                f"/api/v1/reports/{world[report]}/resolve",
                headers=api,
                json={"action": "dismiss"},
            )
            assert resolve.status_code == 404
        # The pages, for the same moderator logged in.
        pages = login_as(_user(world[mod]))
        for report in ("dismissed", "upheld"):
            secret_page = pages.get(f"/mod/reports/{world[report]}")
            missing_page = pages.get(f"/mod/reports/{MISSING}")
            assert secret_page.status_code == missing_page.status_code == 404
            assert without_csrf(secret_page.text) == without_csrf(missing_page.text)
        assert "canarymoved" not in pages.get("/mod").text.lower()
    # The group's owner (the new scope's moderator) now has them, decided as they were.
    owner_api = {"Authorization": f"Bearer {_token(_user(world['owner']))}"}
    inside = new_client().get("/api/v1/reports?status=dismissed", headers=owner_api).get_json()
    assert [r["id"] for r in inside["reports"]] == [world["dismissed"]]


def _token(user: User) -> str:
    token = accounts.issue_api_token(user)
    db.session.commit()
    return token


def test_a_topic_moved_back_out_takes_its_reports_back(db) -> None:
    world = _world()
    owner = f.actor(_user(world["owner"]))
    report = db.session.get(Report, world["dismissed"])
    assert report is not None
    topic = report.post.topic
    site_board = f.make_board("Back outside")
    actions.move_topic(owner, topic, site_board, reason="Back out.", confirm_group_change=True)
    db.session.commit()
    assert set(db.session.scalars(select(Report.group_id))) == {None}
