"""Reporting posts: one flag per member, weights, rate limits and the community's defences."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select

from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.errors import NotLoggedIn
from forum.errors import RateLimited
from forum.models.moderation import Flag
from forum.models.moderation import Report
from forum.models.moderation import ReportStatus
from forum.models.moderation import Sanction
from forum.models.moderation import SanctionState
from forum.models.modlog import ModerationLog
from forum.models.notifications import Notification
from forum.models.posts import HiddenKind
from forum.moderation import actions
from forum.moderation import reports
from forum.policy import Actor
from forum.services import invitations
from forum.services import trust
from tests import factories as f


def _post(author_level: int = 0, **kwargs):
    author = f.make_user(trust_level=author_level)
    return f.make_post(f.make_topic(**kwargs), author)


def _members(count: int, level: int):
    return [f.make_user(trust_level=level) for _ in range(count)]


def _flags(db, post) -> int:
    return db.session.scalar(select(func.count()).select_from(Flag).where(Flag.post_id == post.id))


def test_member_reports_post_and_a_case_opens(db):
    post = _post()
    reporter = f.make_user(trust_level=1)
    report = f.make_report(post, reporter, reason="abuse", note="Rude.")
    assert report.status == ReportStatus.OPEN
    assert report.group_id is None
    assert [(fl.reason, fl.note, fl.weight) for fl in report.flags] == [("abuse", "Rude.", 2)]
    assert report.score == 2


def test_report_case_takes_the_group_of_the_posts_board(db):
    reporter, author = f.make_user(), f.make_user()
    group = f.make_group(members=(reporter, author))
    post = f.make_post(f.make_topic(f.make_board(group=group), author), author)
    assert f.make_report(post, reporter, reason="other").group_id == group.id


@pytest.mark.parametrize(
    ("reason", "note"), [("nonsense", ""), ("spam", "x" * 1001), (None, ""), ("spam", 7)]
)
def test_bad_reason_or_note_is_invalid(db, reason, note):
    post = _post()
    with pytest.raises(Invalid):
        reports.report_post(f.actor(f.make_user()), post, reason=reason, note=note)


def test_guest_own_post_and_silenced_member_cannot_report(db):
    post = _post()
    with pytest.raises(NotLoggedIn):
        reports.report_post(Actor(reads_public=True), post, reason="spam")
    with pytest.raises(Denied):
        reports.report_post(f.actor(post.author), post, reason="spam")
    silenced = f.make_user()
    silenced.silenced_until = post.created_at + timedelta(days=3650)
    db.session.commit()
    with pytest.raises(Denied):
        reports.report_post(f.actor(silenced), post, reason="spam")


def test_outsider_cannot_report_a_secret_groups_post(db):
    group = f.make_group(secret=True)
    owner = f.owner_of(group)
    post = f.make_post(f.make_topic(f.make_board(group=group), owner), owner)
    with pytest.raises(NotFound):
        reports.report_post(f.actor(f.make_user()), post, reason="spam")


def test_reporting_again_updates_the_members_flag(db):
    post = _post(author_level=1)
    reporter = f.make_user(trust_level=1)
    f.make_report(post, reporter, reason="other", note="first")
    report, created = reports.report_post_with_outcome(
        f.actor(reporter), post, reason="abuse", note="second"
    )
    assert not created
    assert _flags(db, post) == 1
    assert [(fl.reason, fl.note) for fl in report.flags] == [("abuse", "second")]
    assert report.score == 2


def test_reporting_after_a_moderator_dealt_with_it_is_a_conflict(db):
    post = _post(author_level=1)
    reporter = f.make_user(trust_level=1)
    report = f.make_report(post, reporter, reason="other")
    reports.resolve_report(f.actor(f.make_user(moderator=True)), report, action="dismiss")
    db.session.commit()
    with pytest.raises(Conflict):
        reports.report_post(f.actor(reporter), post, reason="spam")


def test_flags_gather_under_one_open_case(db):
    post = _post(author_level=1)
    for reporter in _members(2, 1):
        f.make_report(post, reporter, reason="off_topic")
    assert db.session.scalar(select(func.count()).select_from(Report)) == 1
    assert _flags(db, post) == 2


def test_reports_are_rate_limited_per_member_per_hour(db):
    reporter = f.make_user(trust_level=1)
    f.set_settings(reports_per_hour="3")
    for _ in range(3):
        f.make_report(_post(author_level=1), reporter, reason="other")
    with pytest.raises(RateLimited) as caught:
        reports.report_post(f.actor(reporter), _post(author_level=1), reason="other")
    assert 0 < caught.value.retry_after <= 3600


def test_rate_limit_counts_only_the_last_hour(db):
    reporter = f.make_user(trust_level=1)
    f.set_settings(reports_per_hour="2")
    for _ in range(2):
        f.make_report(_post(author_level=1), reporter, reason="other")
    for flag in db.session.scalars(select(Flag).where(Flag.reporter_id == reporter.id)):
        flag.created_at = flag.created_at - timedelta(hours=2)
    db.session.commit()
    assert reports.report_post(f.actor(reporter), _post(author_level=1), reason="other")


# --- weights ------------------------------------------------------------------------


def test_weight_is_one_plus_trust_level_and_five_for_moderators(db):
    assert reports.flag_weight(f.make_user(trust_level=0)) == 1
    assert reports.flag_weight(f.make_user(trust_level=3)) == 4
    assert reports.flag_weight(f.make_user(moderator=True)) == 5
    assert reports.flag_weight(f.make_admin()) == 5
    group_mod = f.make_user()
    group = f.make_group(moderators=(group_mod,))
    assert reports.flag_weight(group_mod, group) == 5
    # Outside their group they weigh what their trust level says (invited: level 1).
    assert reports.flag_weight(group_mod, None) == 1 + group_mod.trust_level


def _sockpuppet(db, level: int = 3):
    """A site-level-0 member whose group's owner granted them `level` inside the group."""
    puppet = f.make_user()
    group = f.make_group(members=(puppet,))
    puppet.trust_level = 0
    db.session.commit()
    trust.grant_level(f.actor(f.owner_of(group)), puppet, level=level, lock=True, group=group)
    db.session.commit()
    return puppet, group


def test_a_level_granted_in_a_group_weighs_nothing_outside_it(db):
    puppet, group = _sockpuppet(db)
    assert reports.flag_weight(puppet, None) == 1
    assert reports.flag_weight(puppet, f.make_group()) == 1
    assert reports.flag_weight(puppet, group) == 4


def test_spam_report_from_a_group_granted_level_3_does_not_hide_a_post_outside_it(db):
    puppet, _group = _sockpuppet(db)
    post = _post(author_level=0)
    report = f.make_report(post, puppet, reason="spam")
    assert not post.is_hidden
    assert [(fl.weight, fl.trust_level) for fl in report.flags] == [(1, 0)]


def test_spam_report_from_a_group_granted_level_3_hides_a_new_members_post_inside_it(db):
    puppet, group = _sockpuppet(db)
    author = f.make_user()
    invitations.accept_invitation(f.actor(author), f.make_invitation(group))
    author.trust_level = 0
    db.session.commit()
    post = f.make_post(f.make_topic(f.make_board(group=group), f.owner_of(group)), author)
    report = f.make_report(post, puppet, reason="spam")
    assert post.hidden_kind == HiddenKind.COMMUNITY
    assert [(fl.weight, fl.trust_level) for fl in report.flags] == [(4, 3)]


def test_a_group_grant_spares_its_member_the_new_member_defences_there_only(db):
    author, group = _sockpuppet(db, level=1)
    spotter = f.make_user(trust_level=3)
    invitations.accept_invitation(f.actor(spotter), f.make_invitation(group))
    db.session.commit()
    inside = f.make_post(f.make_topic(f.make_board(group=group), f.owner_of(group)), author)
    outside = _post(author_level=1)
    outside = f.make_post(outside.topic, author)
    f.make_report(inside, spotter, reason="spam")
    f.make_report(outside, spotter, reason="spam")
    assert not inside.is_hidden
    assert outside.hidden_kind == HiddenKind.COMMUNITY


def _record(reporter, *, upheld: int, dismissed: int) -> None:
    moderator = f.actor(f.make_user(moderator=True))
    for index in range(upheld + dismissed):
        post = _post(author_level=1)
        report = reports.report_post(f.actor(reporter), post, reason="other")
        action = "hide_post" if index < upheld else "dismiss"
        reports.resolve_report(moderator, report, action=action, reason="Decided.")
    from forum.extensions import db

    db.session.commit()


def test_record_does_not_count_until_more_than_five_handled(db):
    reporter = f.make_user(trust_level=2)
    _record(reporter, upheld=0, dismissed=5)
    assert reports.flag_weight(reporter) == 3


def test_mostly_dismissed_reporter_loses_weight(db):
    reporter = f.make_user(trust_level=2)
    _record(reporter, upheld=1, dismissed=5)
    # round(3 * 1 / 6) = round(0.5) = 0
    assert reports.flag_weight(reporter) == 0


def test_reporter_with_a_good_record_keeps_weight(db):
    reporter = f.make_user(trust_level=2)
    _record(reporter, upheld=5, dismissed=1)
    assert reports.flag_weight(reporter) == round(3 * 5 / 6)


# --- auto-hide ---------------------------------------------------------------------


def test_three_trust_level_2_members_hide_a_post(db):
    post = _post(author_level=1)
    for reporter in _members(3, 2):
        f.make_report(post, reporter, reason="abuse")
    assert post.hidden_kind == HiddenKind.COMMUNITY
    assert post.hidden_by_id is None
    entry = db.session.scalar(
        select(ModerationLog).where(ModerationLog.action == "post_hidden_by_community")
    )
    assert entry.actor_id is None and entry.target_id == post.id
    told = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == post.author_id)
    ).all()
    assert told == ["post_hidden"]


def test_hide_bumps_topic_and_board_revisions(db):
    post = _post(author_level=1)
    topic_rev, board_rev = post.topic.revision, post.topic.board.revision
    for reporter in _members(3, 2):
        f.make_report(post, reporter, reason="abuse")
    db.session.refresh(post.topic)
    db.session.refresh(post.topic.board)
    assert post.topic.revision > topic_rev and post.topic.board.revision > board_rev


def test_three_new_members_do_not_hide_a_post(db):
    post = _post(author_level=1)
    for reporter in _members(3, 0):
        f.make_report(post, reporter, reason="abuse")
    assert not post.is_hidden


def test_spam_report_from_trust_level_3_hides_a_new_members_post_at_once(db):
    post = _post(author_level=0)
    f.make_report(post, f.make_user(trust_level=3), reason="spam")
    assert post.hidden_kind == HiddenKind.COMMUNITY


def test_spam_report_from_trust_level_3_does_not_hide_a_trusted_members_post(db):
    post = _post(author_level=1)
    f.make_report(post, f.make_user(trust_level=3), reason="spam")
    assert not post.is_hidden


def test_members_reports_never_hide_a_moderators_post(db):
    post = _post(author_level=0)
    post.author.is_moderator = True
    db.session.commit()
    for reporter in _members(4, 3):
        f.make_report(post, reporter, reason="spam")
    assert not post.is_hidden


def test_members_reports_never_hide_a_group_moderators_post(db):
    mod = f.make_user()
    reporters = _members(4, 3)
    group = f.make_group(moderators=(mod,), members=tuple(reporters))
    post = f.make_post(f.make_topic(f.make_board(group=group), mod), mod)
    for reporter in reporters:
        f.make_report(post, reporter, reason="spam")
    assert not post.is_hidden


def test_cleared_post_is_not_hidden_again_by_the_same_reporters(db):
    post = _post(author_level=1)
    reporters = _members(3, 2)
    for reporter in reporters:
        f.make_report(post, reporter, reason="abuse")
    assert post.is_hidden
    actions.unhide_post(f.actor(f.make_user(moderator=True)), post, reason="It is fine.")
    db.session.commit()
    assert not post.is_hidden
    for reporter in reporters:
        with pytest.raises(Conflict):
            reports.report_post(f.actor(reporter), post, reason="spam")
    # New reporters open a new case, with a score of their own.
    fresh = f.make_report(post, f.make_user(trust_level=2), reason="abuse")
    assert fresh.status == ReportStatus.OPEN and fresh.score == 3
    assert not post.is_hidden


def test_dismissing_a_community_hide_shows_the_post_again(db):
    post = _post(author_level=1)
    for reporter in _members(3, 2):
        report = f.make_report(post, reporter, reason="abuse")
    reports.resolve_report(f.actor(f.make_user(moderator=True)), report, action="dismiss")
    assert not post.is_hidden and report.status == ReportStatus.DISMISSED


def test_hide_threshold_is_a_setting(db):
    f.set_settings(hide_threshold="4")
    post = _post(author_level=1)
    for reporter in _members(2, 1):
        f.make_report(post, reporter, reason="abuse")
    assert post.is_hidden


# --- auto-silence ---------------------------------------------------------------------


def _spam_wave(author, reporters, posts: int = 3):
    topic = f.make_topic()
    made = [f.make_post(topic, author) for _ in range(posts)]
    for post, reporter in zip(made, reporters, strict=False):
        f.make_report(post, reporter, reason="spam")
    return made


def test_spam_reports_from_three_members_silence_a_new_member(db):
    author = f.make_user(trust_level=0)
    _spam_wave(author, _members(3, 0))
    db.session.refresh(author)
    assert author.is_silenced()
    sanction = db.session.scalar(select(Sanction).where(Sanction.user_id == author.id))
    assert (sanction.created_by_id, sanction.ends_at, sanction.state) == (
        None,
        None,
        SanctionState.ACTIVE,
    )
    assert (
        db.session.scalar(
            select(ModerationLog.actor_id).where(ModerationLog.action == "member_auto_silenced")
        )
        is None
    )


def test_two_spam_reporters_do_not_silence(db):
    author = f.make_user(trust_level=0)
    _spam_wave(author, _members(2, 0))
    db.session.refresh(author)
    assert not author.is_silenced()


def test_spam_reports_do_not_silence_a_trusted_member(db):
    author = f.make_user(trust_level=1)
    _spam_wave(author, _members(3, 0))
    db.session.refresh(author)
    assert not author.is_silenced()


def test_auto_silence_in_a_group_silences_only_there(db):
    author = f.make_user(trust_level=0)
    reporters = _members(3, 0)
    group = f.make_group(members=(author, *reporters))
    author.trust_level = 0  # invited members start at level 1
    db.session.commit()
    topic = f.make_topic(f.make_board(group=group), author)
    for reporter in reporters:
        f.make_report(f.make_post(topic, author), reporter, reason="spam")
    db.session.refresh(author)
    assert not author.is_silenced()
    assert group.id in f.actor(author).silenced_group_ids


def test_after_a_moderator_lifts_an_auto_silence_old_flags_do_not_silence_again(db):
    author = f.make_user(trust_level=0)
    reporters = _members(4, 0)
    posts = _spam_wave(author, reporters[:3], posts=4)
    sanction = db.session.scalar(select(Sanction).where(Sanction.user_id == author.id))
    from forum.moderation import sanctions

    sanctions.lift_sanction(f.actor(f.make_user(moderator=True)), sanction, reason="Not spam.")
    db.session.commit()
    f.make_report(posts[3], reporters[3], reason="spam")
    db.session.refresh(author)
    assert not author.is_silenced()


def test_spam_flags_under_dismissed_cases_do_not_count(db):
    author = f.make_user(trust_level=0)
    reporters = _members(3, 0)
    posts = _spam_wave(author, reporters[:2])
    mod = f.actor(f.make_user(moderator=True))
    for post in posts[:2]:
        reports.resolve_report(mod, actions.open_case(post), action="dismiss")
    db.session.commit()
    f.make_report(posts[2], reporters[2], reason="spam")
    db.session.refresh(author)
    assert not author.is_silenced()


def test_undo_a_dismissal_reopens_the_case_and_hides_again(db):
    from forum.moderation import undo

    post = _post(author_level=1)
    for reporter in _members(3, 2):
        report = f.make_report(post, reporter, reason="abuse")
    reports.resolve_report(f.actor(f.make_user(moderator=True)), report, action="dismiss")
    db.session.commit()
    entry = db.session.scalar(
        select(ModerationLog).where(ModerationLog.action == "report_dismissed")
    )
    assert undo.undo(f.actor(f.make_user(moderator=True)), entry, reason="Too hasty.")
    assert report.status == ReportStatus.OPEN and post.hidden_kind == HiddenKind.COMMUNITY


def test_undo_a_community_hide_clears_the_post(db):
    from forum.moderation import undo

    post = _post(author_level=0)
    reporter = f.make_user(trust_level=3)
    report = f.make_report(post, reporter, reason="spam")
    entry = db.session.scalar(
        select(ModerationLog).where(ModerationLog.action == "post_hidden_by_community")
    )
    assert undo.undo(f.actor(f.make_user(moderator=True)), entry, reason="Not spam.")
    assert not post.is_hidden and report.status == ReportStatus.DISMISSED
    with pytest.raises(Conflict):
        reports.report_post(f.actor(reporter), post, reason="spam")


def test_spam_wave_is_handled_by_reports_alone_and_logged(db):
    """Twenty spam posts from five new accounts; three trusted members report them."""
    topic = f.make_topic()
    spammers = _members(5, 0)
    waves = [[f.make_post(topic, spammer) for _ in range(4)] for spammer in spammers]
    watchers = _members(3, 3)
    for posts in waves:
        for index, post in enumerate(posts):
            if not post.is_hidden:
                f.make_report(post, watchers[index % 3], reason="spam")
    assert all(post.is_hidden for posts in waves for post in posts)
    for spammer in spammers:
        db.session.refresh(spammer)
        assert spammer.is_silenced()
    logged = db.session.scalars(select(ModerationLog.action)).all()
    assert logged.count("post_hidden_by_community") == 20
    assert logged.count("member_auto_silenced") == 5
