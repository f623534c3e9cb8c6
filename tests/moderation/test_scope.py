"""Who may see and decide which reports: scopes, ranks and reports about oneself."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum import policy
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.models.moderation import ReportStatus
from forum.models.moderation import Sanction
from forum.models.moderation import SanctionState
from forum.models.notifications import Notification
from forum.moderation import reports
from forum.services import groups
from forum.services import invitations
from tests import factories as f


def _report_in(db, group=None, *, author=None):
    """An open case about a post on a board of the group (or the site)."""
    author = author or f.make_user(trust_level=1)
    reporter = f.make_user(trust_level=1)
    if group is not None:
        for user in (author, reporter):
            if groups.membership_of(group, user.id) is None:
                invitations.accept_invitation(f.actor(user), f.make_invitation(group))
        db.session.commit()
    board = f.make_board(group=group)
    post = f.make_post(f.make_topic(board, author), author)
    return f.make_report(post, reporter, reason="abuse", note="Nasty.")


def _require(actor, report):
    return policy.require_report(actor, report.id)


def test_group_moderator_sees_only_their_groups_reports(db):
    group_mod = f.make_user()
    mine = f.make_group(moderators=(group_mod,))
    other = f.make_group()
    secret = f.make_group(secret=True)
    inside = _report_in(db, mine)
    outside = [_report_in(db, other), _report_in(db, secret), _report_in(db)]
    me = f.actor(group_mod)
    assert _require(me, inside) == inside
    for report in outside:
        with pytest.raises(NotFound):
            _require(me, report)
    assert [r.id for r in reports.open_reports(me).items] == [inside.id]


def test_group_moderator_cannot_resolve_a_site_report(db):
    group_mod = f.make_user()
    f.make_group(moderators=(group_mod,))
    report = _report_in(db)
    with pytest.raises(Denied):
        reports.resolve_report(f.actor(group_mod), report, action="dismiss")


def test_site_moderator_sees_site_and_public_groups_not_secret_ones(db):
    site_mod = f.actor(f.make_user(moderator=True))
    public = _report_in(db, f.make_group())
    site = _report_in(db)
    secret = _report_in(db, f.make_group(secret=True))
    assert {_require(site_mod, public), _require(site_mod, site)} == {public, site}
    with pytest.raises(NotFound):
        _require(site_mod, secret)


def test_admin_sees_a_secret_groups_reports_only_while_broken_in(db):
    admin = f.make_admin()
    group = f.make_group(secret=True)
    report = _report_in(db, group)
    with pytest.raises(NotFound):
        _require(f.actor(admin), report)
    groups.break_glass(f.actor(admin), group, reason="A member asked for help urgently.")
    db.session.commit()
    assert _require(f.actor(admin), report) == report


def test_nobody_reviews_a_report_about_their_own_post(db):
    mod = f.make_user(moderator=True)
    report = _report_in(db, author=mod)
    with pytest.raises(NotFound):
        _require(f.actor(mod), report)
    with pytest.raises(Denied):
        reports.resolve_report(f.actor(mod), report, action="dismiss")


def test_members_do_not_see_reports_or_the_queue(db):
    member = f.actor(f.make_user(trust_level=4))
    report = _report_in(db)
    with pytest.raises(NotFound):
        _require(member, report)
    with pytest.raises(Denied):
        reports.open_reports(member)
    with pytest.raises(Denied):
        reports.queue(member)


def test_silenced_moderator_sees_no_reports(db):
    mod = f.make_user(moderator=True)
    report = _report_in(db)
    mod.silenced_until = report.created_at.replace(year=report.created_at.year + 1)
    db.session.commit()
    with pytest.raises(NotFound):
        _require(f.actor(mod), report)


# --- resolving -------------------------------------------------------------------------


def _reporters_told(db, report) -> list[str]:
    ids = [flag.reporter_id for flag in report.flags]
    return db.session.scalars(
        select(Notification.text).where(
            Notification.user_id.in_(ids), Notification.kind == "report_handled"
        )
    ).all()


def test_dismiss_closes_the_case_and_thanks_reporters(db):
    report = _report_in(db)
    mod = f.actor(f.make_user(moderator=True))
    reports.resolve_report(mod, report, action="dismiss", reason="Robust, not rude.")
    db.session.commit()
    assert report.status == ReportStatus.DISMISSED and report.resolved_by_id == mod.user_id
    assert _reporters_told(db, report) == ["A moderator reviewed a post you reported. Thank you."]
    with pytest.raises(Conflict):
        reports.resolve_report(mod, report, action="hide_post")


@pytest.mark.parametrize("action", ["hide_post", "delete_post"])
def test_upholding_acts_on_the_post(db, action):
    report = _report_in(db)
    reports.resolve_report(f.actor(f.make_user(moderator=True)), report, action=action)
    db.session.commit()
    assert report.status == ReportStatus.UPHELD and report.resolution == action
    assert report.post.is_hidden if action == "hide_post" else report.post.is_deleted
    assert len(_reporters_told(db, report)) == 1


@pytest.mark.parametrize(
    ("action", "field"), [("silence_user", "silenced_until"), ("suspend_user", "suspended_until")]
)
def test_upholding_sanctions_the_author(db, action, field):
    report = _report_in(db)
    reports.resolve_report(
        f.actor(f.make_user(moderator=True)), report, action=action, reason="Again.", days=3
    )
    db.session.commit()
    assert getattr(report.post.author, field) is not None
    sanction = db.session.scalar(select(Sanction).where(Sanction.report_id == report.id))
    assert sanction.state == SanctionState.ACTIVE


def test_bad_action_or_days_are_invalid(db):
    report = _report_in(db)
    mod = f.actor(f.make_user(moderator=True))
    with pytest.raises(Invalid):
        reports.resolve_report(mod, report, action="ban_forever")
    with pytest.raises(Invalid):
        reports.resolve_report(mod, report, action="silence_user", days=400)
    assert report.status == ReportStatus.OPEN


def test_cannot_sanction_an_equal_rank_through_a_report(db):
    report = _report_in(db, author=f.make_user(moderator=True))
    with pytest.raises(Denied):
        reports.resolve_report(
            f.actor(f.make_user(moderator=True)), report, action="silence_user", days=1
        )


def test_reporter_notifications_vanish_after_leaving_the_group(db):
    from forum.services import notifications

    group_mod = f.make_user()
    group = f.make_group(secret=True, moderators=(group_mod,))
    report = _report_in(db, group)
    reporter = report.flags[0].reporter
    reports.resolve_report(f.actor(group_mod), report, action="hide_post", reason="Rude.")
    db.session.commit()
    assert notifications.unread_count(f.actor(reporter)) == 1
    groups.remove_member(f.actor(reporter), group, reporter.username)
    db.session.commit()
    assert notifications.unread_count(f.actor(reporter)) == 0
    assert notifications.notifications(f.actor(reporter)).items == []
