"""Trust levels: promotion from synthetic activity, demotion from 3, locks, grants, settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from forum.cli import main
from forum.errors import Denied
from forum.errors import Invalid
from forum.extensions import db
from forum.models.activity import TopicRead
from forum.models.base import utcnow
from forum.models.groups import Membership
from forum.models.moderation import Appeal
from forum.models.moderation import AppealState
from forum.models.moderation import Report
from forum.models.moderation import ReportStatus
from forum.models.moderation import Sanction
from forum.models.moderation import SanctionKind
from forum.models.moderation import SanctionState
from forum.models.modlog import ModerationLog
from forum.models.notifications import Notification
from forum.models.posts import Post
from forum.models.users import User
from forum.services import accounts
from forum.services import groups
from forum.services import trust
from forum.services.settings import get_settings
from tests import factories as f

# Level 3 with small numbers, so that a test can build the activity quickly.
SMALL_TL3 = {
    "tl3_days_visited": 4,
    "tl3_topics_replied": 2,
    "tl3_topics_viewed_percent": 50,
    "tl3_posts_read_percent": 50,
    "tl3_likes_given": 2,
    "tl3_likes_received": 2,
}
# Level 3 decided by days visited alone.
ONLY_DAYS = {
    "tl3_days_visited": 10,
    "tl3_topics_replied": 0,
    "tl3_topics_viewed_percent": 0,
    "tl3_posts_read_percent": 0,
    "tl3_likes_given": 0,
    "tl3_likes_received": 0,
}


def _notices(user: User) -> list[str]:
    rows = db.session.scalars(
        select(Notification.text)
        .where(Notification.user_id == user.id, Notification.kind == "trust_level")
        .order_by(Notification.id)
    )
    return list(rows)


def _first_post(topic_id: int) -> Post:
    return db.session.scalar(select(Post).where(Post.topic_id == topic_id, Post.number == 1))


def _recompute(user: User, **kwargs) -> int | None:
    changed = trust.recompute_member(user, **kwargs)
    db.session.commit()
    return changed


def test_promotion_0_to_1_to_2_to_3_and_demotion_after_the_window(db):
    f.set_settings(**SMALL_TL3)
    board = f.make_board()
    writers = [f.make_user(trust_level=1), f.make_user(trust_level=1)]
    topics = [f.make_topic(board, writers[0]) for _ in range(4)]
    member = f.make_user("climber")
    assert _recompute(member) is None and member.trust_level == 0

    f.make_reading(member, topics_entered=5, posts_read=30, minutes_read=10)
    assert _recompute(member) == 1

    # Level 2: the running totals, a like each way and three topics replied to.
    f.make_reading(member, topics_entered=20, posts_read=100, minutes_read=60, days_visited=15)
    replies = [f.make_post(topic, member) for topic in topics[:3]]
    f.make_like(member, _first_post(topics[0].id))
    assert _recompute(member) is None  # no like received yet
    f.make_like(writers[0], replies[0])
    assert _recompute(member) == 2

    # Level 3 over the window: 4 days, 2 of 4 topics viewed, 4 of 7 posts read, likes.
    f.make_visits(member, 4, posts_read=1)
    for topic in topics[:2]:
        db.session.add(TopicRead(user_id=member.id, topic_id=topic.id, last_read_number=1))
    db.session.commit()
    f.make_like(member, _first_post(topics[1].id))
    assert _recompute(member) is None  # one like received of two
    f.make_like(writers[1], replies[0])
    assert _recompute(member) == 3

    # 101 days on, none of it is in the window any more.
    assert _recompute(member, now=utcnow() + timedelta(days=101)) == 2
    notices = _notices(member)
    assert len(notices) == 4
    assert notices[2].startswith("You are now trust level 3 (regular)")
    assert notices[3].startswith("Your trust level is now 2 (member)")


def test_member_meeting_level_2_goes_from_0_to_2_at_once(db):
    topic = f.make_topic(f.make_board(), f.make_user(trust_level=1))
    member = f.make_user()
    f.make_reading(member, topics_entered=20, posts_read=100, minutes_read=60, days_visited=15)
    replies = [f.make_post(topic, member) for _ in range(3)]
    assert _recompute(member) == 1  # replies in one topic only
    other = f.make_topic(topic.board, f.make_user(trust_level=1))
    f.make_post(other, member)
    third = f.make_topic(topic.board, f.make_user(trust_level=1))
    f.make_post(third, member)
    f.make_like(member, _first_post(topic.id))
    f.make_like(f.make_user(), replies[0])
    member.trust_level = 0
    db.session.commit()
    assert _recompute(member) == 2


def test_deleted_replies_do_not_count_as_topics_replied(db):
    from forum.services import posts

    board = f.make_board()
    member = f.make_user()
    f.make_reading(member, topics_entered=20, posts_read=100, minutes_read=60, days_visited=15)
    replies = [
        f.make_post(f.make_topic(board, f.make_user(trust_level=1)), member) for _ in range(3)
    ]
    f.make_like(member, _first_post(replies[0].topic_id))
    f.make_like(f.make_user(), replies[1])
    posts.delete_post(f.actor(member), replies[2])
    db.session.commit()
    assert _recompute(member) == 1


def test_just_below_a_threshold_is_not_enough(db):
    member = f.make_user()
    f.make_reading(member, topics_entered=5, posts_read=29, minutes_read=10)
    assert _recompute(member) is None
    f.set_settings(tl1_posts_read=29)
    assert _recompute(member) == 1


def test_regular_keeps_level_3_at_90_percent_and_loses_it_below(db):
    f.set_settings(**ONLY_DAYS)
    regular = f.make_user(trust_level=3)
    candidate = f.make_user(trust_level=2)
    f.make_visits(regular, 9)
    f.make_visits(candidate, 9)
    assert _recompute(regular) is None  # 9 of 10: inside the grace
    assert _recompute(candidate) is None  # but 9 is not enough to get there
    f.set_settings(tl3_keep_percent=95)
    assert _recompute(regular) == 2


def test_locked_level_is_never_changed(db):
    f.set_settings(**ONLY_DAYS)
    locked = f.make_user(trust_level=2)
    locked.trust_level_locked = True
    held = f.make_user(trust_level=3)
    held.trust_level_locked = True
    db.session.commit()
    f.make_visits(locked, 10)
    assert _recompute(locked) is None and locked.trust_level == 2
    assert _recompute(held) is None and held.trust_level == 3


def test_level_4_is_never_reached_or_lost_automatically(db):
    f.set_settings(**ONLY_DAYS)
    regular = f.make_user(trust_level=3)
    f.make_visits(regular, 10)
    leader = f.make_user(trust_level=4)
    assert trust.compute_level(regular) == 3
    assert trust.compute_level(leader) == 4
    assert _recompute(leader) is None


def test_posts_with_upheld_reports_block_level_3(db):
    f.set_settings(**{**ONLY_DAYS, "tl3_days_visited": 1, "tl3_max_flagged_posts": 0})
    member = f.make_user(trust_level=2)
    f.make_visits(member, 1)
    post = f.make_post(f.make_topic(f.make_board(), f.make_user(trust_level=1)), member)
    report = Report(post_id=post.id, status=ReportStatus.UPHELD, created_at=utcnow())
    db.session.add(report)
    db.session.commit()
    assert _recompute(member) is None
    report.status = ReportStatus.DISMISSED
    db.session.commit()
    assert _recompute(member) == 3


def test_a_suspension_in_the_window_blocks_level_3_unless_overturned(db):
    f.set_settings(**{**ONLY_DAYS, "tl3_days_visited": 1})
    member = f.make_user(trust_level=2)
    f.make_visits(member, 1)
    now = utcnow()
    old = Sanction(
        user_id=member.id,
        kind=SanctionKind.SUSPEND,
        reason="Long ago",
        starts_at=now - timedelta(days=150),
        ends_at=now - timedelta(days=140),
    )
    recent = Sanction(
        user_id=member.id,
        kind=SanctionKind.SUSPEND,
        state=SanctionState.LIFTED,
        reason="Recent",
        starts_at=now - timedelta(days=20),
        ends_at=now - timedelta(days=10),
    )
    db.session.add_all([old, recent])
    db.session.commit()
    assert _recompute(member) is None
    db.session.add(
        Appeal(
            user_id=member.id,
            target_type="sanction",
            target_id=recent.id,
            text="It was a mistake.",
            state=AppealState.GRANTED,
        )
    )
    db.session.commit()
    assert _recompute(member) == 3


def test_recompute_all_counts_and_commits_in_batches(db):
    promoted = f.make_user()
    f.make_reading(promoted, topics_entered=5, posts_read=30, minutes_read=10)
    demoted = f.make_user(trust_level=3)
    f.make_user(trust_level=1)
    locked = f.make_user()
    locked.trust_level_locked = True
    f.make_reading(locked, topics_entered=5, posts_read=30, minutes_read=10)
    f.make_user(trust_level=4)
    batches = []
    counts = trust.recompute_all(after_batch=lambda: batches.append(1), batch_size=2)
    db.session.commit()
    assert counts == {"checked": 3, "promoted": 1, "demoted": 1}
    assert len(batches) == 2
    assert (promoted.trust_level, demoted.trust_level, locked.trust_level) == (1, 2, 0)


def test_forum_trust_command_recomputes_everyone(app, tmp_path, monkeypatch):
    member = f.make_user()
    f.make_reading(member, topics_entered=5, posts_read=30, minutes_read=10)
    f.make_user(trust_level=3)
    db.session.rollback()
    url = app.config["FORUM_DATABASE_URL"]
    monkeypatch.setenv("FORUM_DATABASE_URL", url)
    monkeypatch.setenv("FORUM_INSTANCE_PATH", str(tmp_path / "cli"))
    result = CliRunner().invoke(main, ["trust"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "checked 2, promoted 1, demoted 1"
    db.session.expire_all()
    assert db.session.get(User, member.id).trust_level == 1


def test_login_checks_the_level(db):
    member = f.make_user("reader")
    f.make_reading(member, topics_entered=5, posts_read=30, minutes_read=10)
    user = accounts.authenticate("reader", f.PASSWORD, ip=None)
    db.session.commit()
    assert user.trust_level == 1


def test_invited_members_start_at_level_1(db):
    token = f.make_invitation(None)
    user = accounts.register_member(
        f.actor(None), username="invited", password=f.PASSWORD, invite=token
    )
    db.session.commit()
    assert user.trust_level == 1
    f.set_settings(registration="open")
    walked_in = accounts.register_member(f.actor(None), username="walkin", password=f.PASSWORD)
    assert walked_in.trust_level == 0


# --- granting by hand ---------------------------------------------------------------


def test_admin_grants_and_locks_level_4_logged_once(db):
    admin = f.make_admin()
    member = f.make_user()
    assert trust.grant_level(f.actor(admin), member, level=4, lock=True, reason="Founder")
    assert not trust.grant_level(f.actor(admin), member, level=4, lock=True)
    db.session.commit()
    assert (member.trust_level, member.trust_level_locked) == (4, True)
    entries = list(
        db.session.scalars(select(ModerationLog).where(ModerationLog.target_type == "user"))
    )
    assert [(e.action, e.target_type, e.target_id) for e in entries] == [
        ("trust_level_granted", "user", member.id)
    ]
    assert _notices(member) == ["Your trust level was set by hand to 4 (leader)."]
    assert _recompute(member) is None


def test_members_cannot_grant_levels(db):
    with pytest.raises(Denied):
        trust.grant_level(f.actor(f.make_user(trust_level=3)), f.make_user(), level=1, lock=False)


def _membership(group, user) -> Membership:
    return db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)
    )


def test_group_owner_grant_counts_inside_the_group_only(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    member.trust_level = 0
    db.session.commit()
    owner = f.actor(f.owner_of(group))
    assert trust.grant_level(owner, member, level=3, lock=True, group=group, reason="Helper")
    db.session.commit()
    db.session.expire_all()
    # The site level and its lock are the member's own, as before the grant.
    assert (member.trust_level, member.trust_level_locked) == (0, False)
    granted = _membership(group, member)
    assert (granted.trust_level, granted.trust_granted_by_id) == (3, owner.user_id)
    assert granted.trust_granted_at is not None
    actor = f.actor(member)
    assert actor.trust_level_in(group.id) == 3
    assert actor.trust_level_in(None) == 0
    assert actor.trust_level_in(f.make_group().id) == 0


def test_group_owner_cannot_lower_or_lock_the_site_level(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    member.trust_level = 2
    db.session.commit()
    owner = f.actor(f.owner_of(group))
    # "Level 0, locked" from an owner is no grant at all: nothing changes anywhere.
    assert not trust.grant_level(owner, member, level=0, lock=True, group=group)
    trust.grant_level(owner, member, level=1, lock=True, group=group)
    db.session.commit()
    db.session.expire_all()
    assert (member.trust_level, member.trust_level_locked) == (2, False)
    # Inside the group the higher level counts: the grant never lowers it.
    assert f.actor(member).trust_level_in(group.id) == 2
    # Removed from the group, the member keeps nothing of it (nor of any lock).
    groups.remove_member(f.actor(f.owner_of(group)), group, member.username)
    db.session.commit()
    assert f.actor(member).group_trust_levels == frozenset()
    assert (member.trust_level, member.trust_level_locked) == (2, False)


def test_only_admins_change_site_levels(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    with pytest.raises(Denied):
        trust.grant_level(f.actor(f.owner_of(group)), member, level=3, lock=True)
    with pytest.raises(Denied):
        trust.grant_level(f.actor(f.make_user(moderator=True)), member, level=3, lock=True)
    assert trust.grant_level(f.actor(f.make_admin()), member, level=3, lock=True)


def test_group_owner_grants_up_to_3_to_their_members_only(db):
    member = f.make_user()
    outsider = f.make_user()
    moderator = f.make_user()
    group = f.make_group(members=(member,), moderators=(moderator,))
    owner = f.actor(f.owner_of(group))
    assert trust.grant_level(owner, member, level=3, group=group)
    assert not trust.grant_level(owner, member, level=3, group=group)
    with pytest.raises(Invalid):
        trust.grant_level(owner, member, level=4, group=group)
    with pytest.raises(Denied):
        trust.grant_level(owner, outsider, level=2, group=group)
    with pytest.raises(Denied):
        # A moderator of the group is not an owner.
        trust.grant_level(f.actor(moderator), member, level=2, group=group)
    entry = db.session.scalar(
        select(ModerationLog).where(ModerationLog.action == "group_trust_level_granted")
    )
    assert (entry.group_id, entry.actor_id, entry.target_id) == (
        group.id,
        owner.user_id,
        member.id,
    )
    # Taking it back: 0 is "no grant".
    assert trust.grant_level(owner, member, level=0, group=group)
    assert _membership(group, member).trust_level is None


def test_member_is_told_of_a_group_grant_in_plain_words_inside_the_group_only(db):
    member = f.make_user()
    group = f.make_group("Night owls", secret=True, members=(member,))
    owner = f.actor(f.owner_of(group))
    trust.grant_level(owner, member, level=2, lock=True, group=group)
    db.session.commit()
    notice = db.session.scalar(
        select(Notification).where(
            Notification.user_id == member.id, Notification.kind == "trust_level"
        )
    )
    assert notice.text == (
        "In the group Night owls, your trust level is now 2 (member). It counts on that "
        "group's boards only; your trust level everywhere else is unchanged."
    )
    # Shown only while the member is in the (secret) group: nobody else ever gets it.
    assert notice.group_id == group.id
    assert {n.user_id for n in db.session.scalars(select(Notification))} == {member.id}
    trust.grant_level(owner, member, level=0, group=group)
    db.session.commit()
    assert _notices(member)[-1] == (
        "In the group Night owls, the trust level granted to you there was taken back: "
        "on its boards your own trust level (1, basic member) applies, as everywhere."
    )


def test_progress_lists_the_levels_groups_granted(db):
    member = f.make_user()
    group = f.make_group("Gardeners", slug="gardeners", members=(member,))
    trust.grant_level(f.actor(f.owner_of(group)), member, level=3, group=group)
    db.session.commit()
    assert trust.progress(member)["group_levels"] == [
        {"group": "gardeners", "group_name": "Gardeners", "level": 3, "name": "regular"}
    ]


def test_grant_rejects_bad_levels(db):
    admin, member = f.make_admin(), f.make_user()
    with pytest.raises(Invalid):
        trust.grant_level(f.actor(admin), member, level=5, lock=False)
    with pytest.raises(Invalid):
        trust.grant_level(f.actor(admin), member, level=2, lock="yes")


# --- what members are shown ---------------------------------------------------------


def test_progress_lists_the_next_levels_requirements(db):
    member = f.make_user()
    f.make_reading(member, topics_entered=3, posts_read=40)
    shown = trust.progress(member)
    assert (shown["level"], shown["next_level"], shown["met"]) == (0, 1, False)
    by_key = {r["key"]: r for r in shown["requirements"]}
    assert by_key["topics_entered"] == {
        "key": "topics_entered",
        "label": "Topics entered (opened to read)",
        "target": 5,
        "current": 3,
        "at_most": False,
        "relative": False,
        "met": False,
    }
    assert by_key["posts_read"]["met"] is True


def test_progress_of_a_regular_shows_what_keeps_level_3(db):
    f.set_settings(**ONLY_DAYS)
    regular = f.make_user(trust_level=3)
    shown = trust.progress(regular)
    assert shown["keeping"] and shown["next_level"] is None
    days = next(r for r in shown["requirements"] if r["key"] == "recent_days_visited")
    assert days["target"] == 9


def test_requirements_follow_the_settings(db):
    f.set_settings(tl2_days_visited=7)
    levels = trust.requirements(get_settings())
    assert {r.key: r.target for r in levels[2]}["days_visited"] == 7
    assert [r.key for r in levels[1]] == ["topics_entered", "posts_read", "minutes_read"]


# --- settings ------------------------------------------------------------------------


def test_thresholds_have_discourse_defaults(db):
    values = get_settings()
    assert values["tl1_topics_entered"] == 5
    assert values["tl2_days_visited"] == 15
    assert values["tl3_posts_read_max"] == 2000
    assert values["hide_threshold"] == 8


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("tl1_posts_read", -1),
        ("tl1_posts_read", 100_001),
        ("tl1_posts_read", "many"),
        ("tl1_posts_read", True),
        ("tl1_posts_read", 2.5),
        ("tl1_posts_read", "²"),
        ("tl3_keep_percent", 101),
        ("tl3_window_days", 0),
    ],
)
def test_threshold_settings_must_be_whole_numbers_in_range(db, key, value):
    with pytest.raises(Invalid) as caught:
        f.set_settings(**{key: value})
    assert "must be a whole number from" in caught.value.fields[key]


def test_threshold_settings_accept_form_text(db):
    f.set_settings(tl1_posts_read=" 40 ", tl2_likes_given=0)
    assert get_settings()["tl1_posts_read"] == 40
    assert get_settings()["tl2_likes_given"] == 0
