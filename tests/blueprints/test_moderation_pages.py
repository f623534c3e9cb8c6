"""Moderation in the browser: reporting, the dashboard, decisions, standing, group settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func
from sqlalchemy import select

from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.moderation import Appeal
from forum.models.moderation import Flag
from forum.models.moderation import Report
from forum.models.moderation import ReportStatus
from forum.models.moderation import Sanction
from forum.models.modlog import ModerationLog
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.moderation import actions
from forum.moderation import reports
from forum.moderation import sanctions
from tests import factories
from tests.blueprints.conftest import flat
from tests.blueprints.conftest import without_csrf

Login = Callable[[User], FlaskClient]
NewClient = Callable[[], FlaskClient]


def _as(new_client: NewClient, user: User) -> FlaskClient:
    """A fresh client logged in as the member."""
    client = new_client()
    with client.session_transaction() as session:
        session["_user_id"] = factories.make_session(user)
        session["_fresh"] = True
    return client


def _group_world() -> tuple[Group, User, User, User, Topic, Post]:
    """A public group with a moderator, a member who reports and an author; one reply."""
    author = factories.make_user("author", trust_level=1)
    reporter = factories.make_user("reporter", trust_level=1)
    moderator = factories.make_user("groupmod", trust_level=2)
    group = factories.make_group(
        "Allotments", slug="allotments", members=(author, reporter), moderators=(moderator,)
    )
    board = factories.make_board("Beds", group=group)
    topic = factories.make_topic(board, reporter, title="Raised beds")
    post = factories.make_post(topic, author, body="Buy cheap pills at example dot com")
    return group, author, reporter, moderator, topic, post


def _report(reporter: User, post: Post, reason: str = "spam") -> Report:
    found = reports.report_post(factories.actor(reporter), post, reason=reason, note="")
    db.session.commit()
    return found


# --- reporting ------------------------------------------------------------------------


def test_member_reports_a_post_then_changes_the_report(client: FlaskClient, login_as: Login):
    _group, _author, reporter, _mod, topic, post = _group_world()
    login_as(reporter)
    form = client.get(f"/p/{post.id}/report")
    assert form.status_code == 200
    assert form.text.count('type="radio"') == 5 and 'name="note"' in form.text
    assert "Buy cheap pills" in form.text
    sent = client.post(f"/p/{post.id}/report", data={"reason": "spam", "note": "an advert"})
    assert sent.status_code == 302
    assert sent.headers["Location"] == f"/p/{post.id}"
    assert "Thank you" in client.get(f"/t/{topic.id}").text
    again = client.get(f"/p/{post.id}/report")
    assert "You reported this post on" in again.text and "Update my report" in again.text
    assert 'value="spam" required checked' in again.text and "an advert" in again.text
    client.post(f"/p/{post.id}/report", data={"reason": "abuse", "note": ""})
    flags = db.session.scalars(select(Flag).where(Flag.post_id == post.id)).all()
    assert [(f.reason.value, f.note) for f in flags] == [("abuse", "")]
    assert f"/p/{post.id}/report" in client.get(f"/t/{topic.id}").text


def test_report_form_says_what_is_wrong(client: FlaskClient, login_as: Login):
    _group, author, reporter, _mod, _topic, post = _group_world()
    login_as(reporter)
    missing = client.post(f"/p/{post.id}/report", data={"reason": "", "note": "hm"})
    assert missing.status_code == 400
    assert "Choose what is wrong with the post." in missing.text and "hm" in missing.text
    too_long = client.post(f"/p/{post.id}/report", data={"reason": "other", "note": "x" * 1001})
    assert too_long.status_code == 400 and 'aria-invalid="true"' in too_long.text
    assert db.session.scalar(select(func.count()).select_from(Flag)) == 0
    login_as(author)
    assert client.get(f"/p/{post.id}/report").status_code == 403


def test_reporting_asks_guests_to_log_in(client: FlaskClient):
    _group, _author, _reporter, _mod, _topic, post = _group_world()
    factories.set_settings(guest_access="public_boards")
    answer = client.get(f"/p/{post.id}/report")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_report_on_a_handled_case_answers_409(client: FlaskClient, login_as: Login):
    _group, _author, reporter, moderator, _topic, post = _group_world()
    found = _report(reporter, post, "off_topic")
    reports.resolve_report(factories.actor(moderator), found, action="dismiss", reason="fine")
    db.session.commit()
    login_as(reporter)
    answer = client.post(f"/p/{post.id}/report", data={"reason": "abuse", "note": ""})
    assert answer.status_code == 409
    assert "a moderator has dealt with it" in answer.text


def test_report_rate_limit_answers_429_with_a_message(client: FlaskClient, login_as: Login):
    _group, author, reporter, _mod, topic, _post = _group_world()
    factories.set_settings(reports_per_hour="1")
    first = factories.make_post(topic, author, body="one")
    second = factories.make_post(topic, author, body="two")
    login_as(reporter)
    assert client.post(f"/p/{first.id}/report", data={"reason": "other"}).status_code == 302
    answer = client.post(f"/p/{second.id}/report", data={"reason": "other", "note": "kept"})
    assert answer.status_code == 429 and "Retry-After" in answer.headers
    assert "at most 1 posts an hour" in answer.text and "kept" in answer.text


# --- the dashboard ----------------------------------------------------------------------


def test_report_queue_hide_flow_through_the_forms(client: FlaskClient, new_client: NewClient):
    _group, author, reporter, moderator, topic, post = _group_world()
    member = _as(new_client, reporter)
    member.post(f"/p/{post.id}/report", data={"reason": "spam", "note": "advert"})
    report = db.session.scalar(select(Report))
    mod = _as(new_client, moderator)
    assert "Moderation" in mod.get("/").text
    queue = mod.get("/mod")
    assert queue.status_code == 200
    assert "Reported post" in queue.text and f"/mod/reports/{report.id}" in queue.text
    assert "from a trust level 1 member" in flat(queue.text) and "advert" in queue.text
    item = mod.get(f"/mod/reports/{report.id}")
    assert item.status_code == 200 and "Buy cheap pills" in item.text
    assert 'value="hide_post"' in item.text and 'name="reason"' in item.text
    done = mod.post(
        f"/mod/reports/{report.id}", data={"action": "hide_post", "reason": "Advertising"}
    )
    assert done.status_code == 302 and done.headers["Location"] == "/mod"
    db.session.refresh(post)
    assert post.is_hidden and post.hidden_reason == "Advertising"
    assert "Nothing is waiting" in mod.get("/mod").text
    # Everyone else sees the placeholder; the reporter hears that it was handled.
    page = member.get(f"/t/{topic.id}").text
    assert "Hidden by moderators." in page and "Buy cheap pills" not in page
    # Two: the reply itself told the topic's author (the reporter) before it was hidden.
    assert "Notifications (2)" in page
    writer = _as(new_client, author)
    mine = writer.get(f"/t/{topic.id}").text
    assert "Your post is hidden" in mine and "Advertising" in mine
    assert f'href="/p/{post.id}/edit">Edit it</a> to ask for a new review' in mine
    assert f"/account/standing#appeal-post-{post.id}" in mine
    seen = mod.get(f"/t/{topic.id}").text
    assert "Buy cheap pills" in seen and "Reason: Advertising" in seen


def test_resolving_without_an_action_says_so(client: FlaskClient, login_as: Login):
    _group, _author, reporter, moderator, _topic, post = _group_world()
    report = _report(reporter, post)
    login_as(moderator)
    answer = client.post(f"/mod/reports/{report.id}", data={"action": "", "reason": "x"})
    assert answer.status_code == 400 and "Please fix the problem" in answer.text
    db.session.refresh(report)
    assert report.status == ReportStatus.OPEN


def test_silence_from_a_report_uses_the_chosen_length(client: FlaskClient, login_as: Login):
    _group, author, reporter, moderator, _topic, post = _group_world()
    report = _report(reporter, post)
    login_as(moderator)
    answer = client.post(
        f"/mod/reports/{report.id}",
        data={"action": "silence_user", "days": "3", "reason": "Spamming"},
    )
    assert answer.status_code == 302
    sanction = db.session.scalar(select(Sanction).where(Sanction.user_id == author.id))
    assert sanction.kind.value == "silence" and sanction.reason == "Spamming"
    assert (sanction.ends_at - sanction.starts_at).days == 3


def test_group_moderator_cannot_open_another_groups_report(client: FlaskClient, login_as: Login):
    _group, _author, reporter, _mod, _topic, post = _group_world()
    report = _report(reporter, post)
    other_mod = factories.make_user("othermod")
    factories.make_group("Other", slug="other", moderators=(other_mod,))
    login_as(other_mod)
    assert client.get("/mod").status_code == 200
    assert f"/mod/reports/{report.id}" not in client.get("/mod").text
    assert client.get(f"/mod/reports/{report.id}").status_code == 404
    missing = client.get("/mod/reports/987654")
    assert flat(client.get(f"/mod/reports/{report.id}").text) == flat(missing.text)
    answer = client.post(f"/mod/reports/{report.id}", data={"action": "dismiss"})
    assert answer.status_code == 404
    # The post and topic are public: seen but not moderated by them is a 403, as in the API.
    assert client.post(f"/mod/posts/{post.id}/review", data={}).status_code == 403
    assert client.get(f"/t/{post.topic_id}/moderate").status_code == 403


def test_dashboard_is_a_403_for_members_and_asks_guests_to_log_in(
    client: FlaskClient, login_as: Login
):
    # The queue's existence is no secret (the API's `GET /reports`: "others 403"); what is
    # in it is, and answers 404 outside the actor's scope (see the tests above).
    assert client.get("/mod").status_code == 302
    login_as(factories.make_user())
    for path in ("/mod", "/mod/log", "/mod/members"):
        assert client.get(path).status_code == 403, path
    assert "Moderation" not in client.get("/").text


def test_site_moderator_sees_public_group_and_site_reports(client: FlaskClient, login_as: Login):
    _group, _author, reporter, _mod, _topic, post = _group_world()
    report = _report(reporter, post)
    login_as(factories.make_user("sitemod", moderator=True))
    assert f"/mod/reports/{report.id}" in client.get("/mod").text
    assert client.get(f"/mod/reports/{report.id}").status_code == 200


def test_secret_group_report_stays_inside_the_group(client: FlaskClient, login_as: Login):
    author = factories.make_user("author")
    reporter = factories.make_user("reporter")
    owner = factories.make_user("owner")
    group = factories.make_group(secret=True, owner=owner, members=(author, reporter))
    topic = factories.make_topic(factories.make_board(group=group), reporter)
    post = factories.make_post(topic, author, body="inside words")
    report = _report(reporter, post, "abuse")
    login_as(factories.make_user("sitemod", moderator=True))
    assert client.get(f"/mod/reports/{report.id}").status_code == 404
    assert "inside words" not in client.get("/mod").text
    login_as(owner)
    assert client.get(f"/mod/reports/{report.id}").status_code == 200


def test_review_request_is_decided_from_the_queue(client: FlaskClient, login_as: Login):
    _group, author, _reporter, moderator, topic, post = _group_world()
    actions.hide_post(factories.actor(moderator), post, reason="Advert")
    post.review_requested_at = post.hidden_at
    db.session.commit()
    login_as(moderator)
    queue = client.get("/mod").text
    assert "asks for a new review" in queue and f"/mod/posts/{post.id}/review" in queue
    no_reason = client.post(f"/mod/posts/{post.id}/review", data={"decision": "unhide"})
    assert no_reason.status_code == 400 and "Reason" in no_reason.text
    ok = client.post(
        f"/mod/posts/{post.id}/review", data={"decision": "unhide", "reason": "Fixed now"}
    )
    assert ok.status_code == 302
    db.session.refresh(post)
    assert not post.is_hidden
    login_as(author)
    assert "Buy cheap pills" in client.get(f"/t/{topic.id}").text


def test_sanction_needs_a_second_moderator_to_confirm(client: FlaskClient, login_as: Login):
    group, author, _reporter, moderator, _topic, _post = _group_world()
    sanction = sanctions.suspend_member(
        factories.actor(moderator), author, group=group, days=30, reason="Repeated adverts"
    )
    db.session.commit()
    login_as(moderator)
    # Whoever asked for it cannot confirm it themselves.
    own = client.post(f"/mod/sanctions/{sanction.id}", data={"decision": "confirm"})
    assert own.status_code == 403 and "error" in own.text
    login_as(factories.owner_of(group))
    queue = client.get("/mod").text
    assert "Sanction to review" in queue and "asked for 30 days" in queue
    assert "Repeated adverts" in queue
    answer = client.post(f"/mod/sanctions/{sanction.id}", data={"decision": "confirm"})
    assert answer.status_code == 302
    db.session.refresh(sanction)
    assert sanction.state.value == "active"


def test_appeal_is_granted_from_the_queue(client: FlaskClient, new_client: NewClient):
    _group, author, _reporter, moderator, _topic, post = _group_world()
    owner = factories.owner_of(db.session.scalar(select(Group)))
    actions.hide_post(factories.actor(moderator), post, reason="Looks like an advert")
    db.session.commit()
    writer = _as(new_client, author)
    standing = writer.get("/account/standing")
    assert standing.status_code == 200
    assert (
        "Looks like an advert" in standing.text and f'id="appeal-post-{post.id}"' in standing.text
    )
    empty = writer.post(
        "/account/standing/appeal", data={"target_type": "post", "target_id": str(post.id)}
    )
    assert empty.status_code == 400
    sent = writer.post(
        "/account/standing/appeal",
        data={"target_type": "post", "target_id": str(post.id), "text": "It is my allotment."},
    )
    assert sent.status_code == 302
    assert "You appealed on" in writer.get("/account/standing").text
    appeal = db.session.scalar(select(Appeal))
    # The moderator who hid the post does not decide the appeal; the owner does.
    assert f"/mod/appeals/{appeal.id}" not in _as(new_client, moderator).get("/mod").text
    boss = _as(new_client, owner)
    assert "It is my allotment." in boss.get("/mod").text
    decided = boss.post(
        f"/mod/appeals/{appeal.id}", data={"decision": "grant", "reason": "Fair enough"}
    )
    assert decided.status_code == 302
    db.session.refresh(post)
    assert not post.is_hidden


def test_undo_from_the_log_page(client: FlaskClient, login_as: Login):
    _group, _author, _reporter, moderator, topic, _post = _group_world()
    login_as(moderator)
    page = client.get(f"/t/{topic.id}")
    assert f"/t/{topic.id}/moderate" in page.text
    assert client.post(f"/t/{topic.id}/moderate", data={"action": "lock"}).status_code == 400
    locked = client.post(f"/t/{topic.id}/moderate", data={"action": "lock", "reason": "Heated"})
    assert locked.status_code == 302
    assert "Locked" in client.get(f"/t/{topic.id}").text
    entry = db.session.scalar(select(ModerationLog).where(ModerationLog.action == "topic_locked"))
    log = client.get("/mod/log")
    assert f"locked the topic “{topic.title}”" in flat(log.text) and "Reason: Heated" in log.text
    assert f"/mod/log/{entry.id}/undo" in log.text
    undone = client.post(f"/mod/log/{entry.id}/undo", data={"reason": "Calmer now"})
    assert undone.status_code == 302
    db.session.refresh(topic)
    assert not topic.locked
    again = client.get("/mod/log").text
    assert "Undone" in again and f"/mod/log/{entry.id}/undo" not in again
    assert client.post(f"/mod/log/{entry.id}/undo", data={"reason": "x"}).status_code == 409


def test_log_entry_of_another_scope_is_a_404(client: FlaskClient, login_as: Login):
    _group, _author, _reporter, moderator, topic, _post = _group_world()
    actions.lock_topic(factories.actor(moderator), topic, reason="Heated")
    db.session.commit()
    entry = db.session.scalar(select(ModerationLog))
    login_as(factories.make_user("sitemod", moderator=True))
    assert "Heated" in client.get("/mod/log").text  # a public group: the site's scope
    login_as(factories.make_user("elsewhere"))
    assert client.post(f"/mod/log/{entry.id}/undo", data={"reason": "x"}).status_code == 404


def test_topic_page_shows_state_and_moderation_page_changes_it(
    client: FlaskClient, login_as: Login
):
    _group, _author, _reporter, moderator, topic, _post = _group_world()
    login_as(moderator)
    page = client.get(f"/t/{topic.id}/moderate")
    assert page.status_code == 200
    for label in ("Lock", "Close", "Pin", "Slow mode", "Move to another board"):
        assert label in page.text
    client.post(f"/t/{topic.id}/moderate", data={"action": "pin", "reason": "Useful"})
    client.post(f"/t/{topic.id}/moderate", data={"action": "close", "reason": "Done"})
    bad = client.post(
        f"/t/{topic.id}/moderate", data={"action": "slow_mode", "minutes": "9999", "reason": "x"}
    )
    assert bad.status_code == 400
    client.post(
        f"/t/{topic.id}/moderate", data={"action": "slow_mode", "minutes": "10", "reason": "Busy"}
    )
    shown = flat(client.get(f"/t/{topic.id}").text)
    assert "Pinned" in shown and "Closed" in shown and "Slow mode: 10 min" in shown
    login_as(factories.make_user())
    assert "This topic is closed" in client.get(f"/t/{topic.id}").text
    assert client.get(f"/t/{topic.id}/moderate").status_code == 403


def test_moving_into_a_secret_group_needs_the_confirmation(client: FlaskClient, login_as: Login):
    owner = factories.make_user("owner")
    public = factories.make_group("Open", slug="open", owner=owner)
    secret = factories.make_group("Hidden", slug="hidden", owner=owner, secret=True)
    source = factories.make_board("Open board", group=public)
    target = factories.make_board("Hidden board", group=secret)
    topic = factories.make_topic(source, owner)
    login_as(owner)
    page = client.get(f"/t/{topic.id}/moderate").text
    assert "Hidden board (changes who can read it)" in page
    form = {"action": "move", "board_id": str(target.id), "reason": "Private matter"}
    refused = client.post(f"/t/{topic.id}/moderate", data=form)
    assert refused.status_code == 400 and "confirm" in refused.text
    assert (
        client.post(f"/t/{topic.id}/moderate", data={**form, "confirm": "yes"}).status_code == 302
    )
    db.session.refresh(topic)
    assert topic.board_id == target.id
    unknown = {"action": "move", "board_id": "987654", "reason": "x"}
    assert client.post(f"/t/{topic.id}/moderate", data=unknown).status_code == 400


def test_members_tab_looks_up_and_silences_a_member(client: FlaskClient, login_as: Login):
    group, author, _reporter, moderator, _topic, _post = _group_world()
    login_as(moderator)
    assert "No member called" in client.get("/mod/members?username=nobody").text
    found = client.get("/mod/members?username=author")
    assert found.status_code == 200 and "Silence or suspend" in found.text
    assert f'value="{group.slug}"' in found.text and 'value="site"' not in found.text
    answer = client.post(
        "/mod/members/author/sanction",
        data={"kind": "silence", "scope": group.slug, "days": "3", "reason": "Cool off"},
    )
    assert answer.status_code == 302
    shown = client.get("/mod/members?username=author").text
    assert "Cool off" in shown and "Allotments" in shown
    no_reason = client.post(
        "/mod/members/author/sanction",
        data={"kind": "silence", "scope": group.slug, "days": "3", "reason": ""},
    )
    assert no_reason.status_code == 400
    wrong_scope = client.post(
        "/mod/members/author/sanction",
        data={"kind": "silence", "scope": "site", "days": "3", "reason": "x"},
    )
    assert wrong_scope.status_code == 400
    sanction = db.session.scalar(select(Sanction).where(Sanction.user_id == author.id))
    lifted = client.post(
        f"/mod/sanctions/{sanction.id}",
        data={"decision": "lift", "reason": "Talked it over", "back": "members"},
    )
    assert lifted.status_code == 302
    assert lifted.headers["Location"] == "/mod/members?username=author"
    db.session.refresh(sanction)
    assert sanction.state.value == "lifted"


def test_member_standing_shows_sanctions_with_reasons(client: FlaskClient, login_as: Login):
    group, author, _reporter, moderator, _topic, _post = _group_world()
    sanctions.silence_member(
        factories.actor(moderator), author, group=group, days=2, reason="Too many adverts"
    )
    db.session.commit()
    login_as(author)
    page = client.get("/account/standing").text
    assert "Silenced" in page and "in Allotments" in page and "Too many adverts" in page
    assert 'name="target_type" value="sanction"' in page
    assert client.get("/account/standing").status_code == 200


def test_standing_asks_guests_to_log_in(client: FlaskClient):
    assert client.get("/account/standing").status_code == 302


# --- groups, profiles, admin ---------------------------------------------------------------


def test_group_owner_opens_the_log_to_members(client: FlaskClient, new_client: NewClient):
    group, author, _reporter, moderator, topic, _post = _group_world()
    actions.lock_topic(factories.actor(moderator), topic, reason="Heated")
    db.session.commit()
    member = _as(new_client, author)
    assert member.get(f"/g/{group.slug}/log").status_code == 403
    assert "moderation log" not in member.get(f"/g/{group.slug}").text
    assert "Heated" in _as(new_client, moderator).get(f"/g/{group.slug}/log").text
    owner = _as(new_client, factories.owner_of(group))
    settings = owner.get(f"/g/{group.slug}/moderation")
    assert settings.status_code == 200 and "Open the moderation log" in settings.text
    bad = owner.post(f"/g/{group.slug}/moderation", data={"approve_first_posts": "999"})
    assert bad.status_code == 400
    saved = owner.post(
        f"/g/{group.slug}/moderation",
        data={"log_visible_to_members": "yes", "approve_first_posts": "2"},
    )
    assert saved.status_code == 302
    db.session.refresh(group)
    assert group.log_visible_to_members and group.approve_first_posts == 2
    log = member.get(f"/g/{group.slug}/log")
    assert log.status_code == 200 and "Heated" in log.text and "Undo" not in log.text
    assert member.get(f"/g/{group.slug}/moderation").status_code == 403
    assert _as(new_client, moderator).get(f"/g/{group.slug}/moderation").status_code == 403


def test_group_moderators_are_still_appointed_on_the_members_page(
    client: FlaskClient, login_as: Login
):
    group, author, _reporter, _mod, topic, _post = _group_world()
    login_as(factories.owner_of(group))
    answer = client.post(f"/g/{group.slug}/members/author/role", data={"role": "moderator"})
    assert answer.status_code == 302
    login_as(author)
    assert client.get("/mod").status_code == 200
    assert client.get(f"/t/{topic.id}/moderate").status_code == 200


def test_secret_group_log_is_a_404_for_outsiders(client: FlaskClient, login_as: Login):
    group = factories.make_group(secret=True)
    login_as(factories.make_user())
    assert client.get(f"/g/{group.slug}/log").status_code == 404
    assert client.get(f"/g/{group.slug}/moderation").status_code == 404


def test_profile_shows_trust_level_and_own_progress(client: FlaskClient, login_as: Login):
    member = factories.make_user("newbie")
    other = factories.make_user("other", trust_level=2)
    factories.make_topic(author=other)
    login_as(member)
    own = flat(client.get("/u/newbie").text)
    assert "trust level 0 (new member)" in own and "Your trust level" in own
    assert "requirements" in own and "Site trust level" not in own
    theirs = flat(client.get("/u/other").text)
    assert "trust level 2" in theirs and "Your trust level" not in theirs
    assert client.post("/u/other/trust", data={"level": "3", "scope": "site"}).status_code == 403


def test_admin_and_group_owner_grant_trust_levels(client: FlaskClient, login_as: Login):
    member = factories.make_user("grower")
    group = factories.make_group(members=(member,))
    factories.make_topic(author=member)  # known outside the group: admins see the profile
    login_as(factories.make_admin())
    assert "Site trust level" in client.get("/u/grower").text
    answer = client.post("/u/grower/trust", data={"level": "2", "lock": "yes", "scope": "site"})
    assert answer.status_code == 302
    db.session.refresh(member)
    assert (member.trust_level, member.trust_level_locked) == (2, True)
    login_as(factories.owner_of(group))
    page = flat(client.get("/u/grower").text)
    assert f"Trust level inside {group.name}" in page and "Site trust level" not in page
    assert f'value="{group.slug}"' in client.get("/u/grower").text
    # An owner's grant counts inside the group only: the site level stays the admin's.
    granted = client.post("/u/grower/trust", data={"level": "3", "scope": group.slug})
    assert granted.status_code == 302
    db.session.refresh(member)
    assert (member.trust_level, member.trust_level_locked) == (2, True)
    assert factories.actor(member).trust_level_in(group.id) == 3
    refused = client.post("/u/grower/trust", data={"level": "4", "scope": group.slug})
    assert refused.status_code == 400 and "levels go up to 3" in refused.text
    site = client.post("/u/grower/trust", data={"level": "0", "lock": "yes", "scope": "site"})
    assert site.status_code == 403 and "Only site admins" in site.text
    db.session.refresh(member)
    assert (member.trust_level, member.trust_level_locked) == (2, True)


def test_admin_appoints_and_removes_site_moderators(client: FlaskClient, login_as: Login):
    helper = factories.make_user("helper")
    factories.make_topic(author=helper)
    login_as(factories.make_admin())
    assert client.get("/admin/moderators").status_code == 200
    no_reason = client.post(
        "/admin/moderators", data={"username": "helper", "action": "appoint", "reason": ""}
    )
    assert no_reason.status_code == 400
    unknown = client.post(
        "/admin/moderators", data={"username": "nobody", "action": "appoint", "reason": "x"}
    )
    assert unknown.status_code == 400 and "no member" in unknown.text
    done = client.post(
        "/admin/moderators", data={"username": "helper", "action": "appoint", "reason": "Kind"}
    )
    assert done.status_code == 302
    db.session.refresh(helper)
    assert helper.is_moderator
    assert "helper" in client.get("/admin/moderators").text
    entry = db.session.scalar(select(ModerationLog).where(ModerationLog.target_id == helper.id))
    assert entry.action == "site_moderator_appointed" and entry.reason == "Kind"
    client.post(
        "/admin/moderators", data={"username": "helper", "action": "remove", "reason": "Busy"}
    )
    db.session.refresh(helper)
    assert not helper.is_moderator
    login_as(helper)
    assert client.get("/admin/moderators").status_code == 403


def test_silenced_members_not_allowed_page_links_to_their_standing(
    client: FlaskClient, login_as: Login
):
    member = factories.make_user("quietened")
    group = factories.make_group(members=(member,))
    group_board = factories.make_board(group=group)
    group_topic = factories.make_topic(group_board, factories.owner_of(group))
    site_topic = factories.make_topic()
    sanctions.silence_member(
        factories.actor(factories.owner_of(group)),
        member,
        group=group,
        days=3,
        reason="Heated thread.",
    )
    db.session.commit()
    first = db.session.scalar(select(Post.id).where(Post.topic_id == group_topic.id))
    login_as(member)
    for path in (f"/b/{group_board.id}/new", f"/p/{first}/reply"):
        page = client.get(path)
        assert page.status_code == 403
        text = flat(page.text)
        assert "Not allowed" in text and "silenced in this group" in text
        assert 'href="/account/standing"' in page.text
    # Outside the group they still write; the standing page says why and offers appeal.
    assert client.get(f"/b/{site_topic.board_id}/new").status_code == 200
    standing = flat(client.get("/account/standing").text)
    assert "Heated thread." in standing
    # A site-wide silence says so too.
    member.silenced_until = utcnow() + timedelta(days=1)
    db.session.commit()
    page = client.get(f"/b/{site_topic.board_id}/new")
    assert page.status_code == 403
    assert "You are silenced and cannot post for now." in flat(page.text)
    assert 'href="/account/standing"' in page.text
    # Other refusals do not point there.
    member.silenced_until = None
    db.session.commit()
    other = client.get(f"/b/{factories.make_board(group=factories.make_group()).id}/new")
    assert other.status_code == 403 and 'href="/account/standing"' not in other.text


def test_admin_finds_and_appoints_a_member_who_never_posted(client: FlaskClient, login_as: Login):
    quiet = factories.make_user("quiet_helper")
    login_as(factories.make_admin())
    assert client.get("/u/quiet_helper").status_code == 200
    done = client.post(
        "/admin/moderators",
        data={"username": "quiet_helper", "action": "appoint", "reason": "Runs the rota"},
    )
    assert done.status_code == 302
    db.session.refresh(quiet)
    assert quiet.is_moderator


def test_boards_keep_their_counts_after_a_move(client: FlaskClient, login_as: Login):
    moderator = factories.make_user("sitemod", moderator=True)
    first = factories.make_board("First")
    second = factories.make_board("Second")
    topic = factories.make_topic(first, title="Wanders off")
    login_as(moderator)
    client.post(
        f"/t/{topic.id}/moderate",
        data={"action": "move", "board_id": str(second.id), "reason": "Better there"},
    )
    assert "Wanders off" in client.get(f"/b/{second.id}").text
    assert "Wanders off" not in client.get(f"/b/{first.id}").text
    assert db.session.get(Board, second.id).topics_count == 1


def test_waiting_post_is_approved_from_the_queue(client: FlaskClient, login_as: Login):
    _group, author, _reporter, moderator, topic, _post = _group_world()
    waiting = factories.make_post(topic, author, body="My first seedlings")
    waiting.hidden_at = waiting.created_at
    waiting.hidden_kind = "approval"
    topic.revision += 1
    db.session.commit()
    login_as(moderator)
    queue = client.get("/mod").text
    assert "waiting for approval" in queue and "My first seedlings" in queue
    answer = client.post(f"/mod/posts/{waiting.id}/approval", data={"decision": "approve"})
    assert answer.status_code == 302
    db.session.refresh(waiting)
    assert not waiting.is_hidden
    login_as(factories.make_user())
    assert client.post(f"/mod/posts/{waiting.id}/approval", data={}).status_code == 403


def test_member_search_does_not_find_someone_known_only_inside_a_secret_group(
    client: FlaskClient, login_as: Login
):
    hidden = factories.make_user("onlyinside")
    group = factories.make_group(secret=True, members=(hidden,))
    factories.make_topic(factories.make_board(group=group), hidden)
    login_as(factories.make_user(moderator=True))
    secret = client.get("/mod/members", query_string={"username": "onlyinside"})
    nobody = client.get("/mod/members", query_string={"username": "nobodyever"})
    assert secret.status_code == nobody.status_code == 200
    # Identical to the page for a name nobody has, apart from the echoed input.
    page = without_csrf(secret.get_data(as_text=True))
    assert page.replace("onlyinside", "X") == without_csrf(nobody.get_data(as_text=True)).replace(
        "nobodyever", "X"
    )
    # The member's own group's owner does find them (a positive control).
    login_as(factories.owner_of(group))
    found = client.get("/mod/members", query_string={"username": "onlyinside"})
    assert "/u/onlyinside" in found.get_data(as_text=True)
