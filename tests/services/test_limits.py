"""New members' daily caps and slow mode, through the posting services."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from forum.errors import RateLimited
from forum.models.base import utcnow
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor
from forum.services import limits
from forum.services import posts
from forum.services import topics
from forum.services import trust
from forum.services.settings import get_settings
from tests import factories as f


def _posts_cap() -> int:
    return int(get_settings().get(limits.POSTS_PER_DAY_KEY, limits.POSTS_PER_DAY_DEFAULT))


def _topics_cap() -> int:
    return int(get_settings().get(limits.TOPICS_PER_DAY_KEY, limits.TOPICS_PER_DAY_DEFAULT))


def _as_trusted(user: User) -> Actor:
    """The member's actor at trust level 1: writes without the new-member caps."""
    return dataclasses.replace(f.actor(user), trust_level=1)


def _fill_posts(db, user: User, topic: Topic, count: int) -> None:
    """`count` replies by the member, written past the caps (they count all the same)."""
    for n in range(count):
        posts.reply_to_topic(_as_trusted(user), topic, body=f"Reply number {n}")
    db.session.commit()


def _count_posts(db, user: User) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Post).where(Post.author_id == user.id)
    )


def _backdate_posts(db, user: User, age: timedelta) -> None:
    db.session.execute(
        update(Post).where(Post.author_id == user.id).values(created_at=utcnow() - age)
    )
    db.session.commit()


def test_new_member_reply_at_the_daily_cap_is_refused_and_writes_nothing(db):
    topic = f.make_topic(author=f.make_user(trust_level=1))
    member = f.make_user()
    _fill_posts(db, member, topic, _posts_cap())
    db.session.refresh(topic)
    before = (topic.posts_count, topic.next_number, topic.revision, topic.last_post_at)
    with pytest.raises(RateLimited) as refused:
        posts.reply_to_topic(f.actor(member), topic, body="One too many")
    assert f"New members can write {_posts_cap()} posts a day" in refused.value.message
    assert "about 24 hours" in refused.value.message
    assert 23 * 3600 < refused.value.retry_after <= 24 * 3600
    db.session.rollback()
    db.session.refresh(topic)
    assert (topic.posts_count, topic.next_number, topic.revision, topic.last_post_at) == before
    assert _count_posts(db, member) == _posts_cap()


def test_new_member_can_post_one_below_the_cap(db):
    topic = f.make_topic(author=f.make_user(trust_level=1))
    member = f.make_user()
    _fill_posts(db, member, topic, _posts_cap() - 1)
    assert posts.reply_to_topic(f.actor(member), topic, body="The last one today").id


def test_daily_cap_is_a_rolling_window(db):
    topic = f.make_topic(author=f.make_user(trust_level=1))
    member = f.make_user()
    _fill_posts(db, member, topic, _posts_cap())
    # All posted 23 hours ago: the oldest leaves the window in about an hour.
    _backdate_posts(db, member, timedelta(hours=23))
    with pytest.raises(RateLimited) as refused:
        posts.reply_to_topic(f.actor(member), topic, body="Still too soon")
    assert "about 1 hour" in refused.value.message
    assert 3500 < refused.value.retry_after <= 3600
    db.session.rollback()
    _backdate_posts(db, member, timedelta(hours=24, minutes=1))
    assert posts.reply_to_topic(f.actor(member), topic, body="A new day").id


def test_deleting_posts_does_not_make_room_under_the_cap(db):
    topic = f.make_topic(author=f.make_user(trust_level=1))
    member = f.make_user()
    _fill_posts(db, member, topic, _posts_cap())
    mine = db.session.scalars(select(Post).where(Post.author_id == member.id)).first()
    posts.delete_post(f.actor(member), mine)
    db.session.commit()
    with pytest.raises(RateLimited):
        posts.reply_to_topic(f.actor(member), topic, body="Deleted one, try again")


def test_new_member_topic_at_the_daily_cap_is_refused_and_writes_nothing(db):
    board = f.make_board()
    member = f.make_user()
    for n in range(_topics_cap()):
        topics.create_topic(f.actor(member), board, title=f"Topic {n}", body="Hello")
    db.session.commit()
    db.session.refresh(board)
    before = (board.topics_count, board.posts_count, board.revision, board.last_topic_id)
    with pytest.raises(RateLimited) as refused:
        topics.create_topic(f.actor(member), board, title="One too many", body="Hello")
    assert f"New members can start {_topics_cap()} topics a day" in refused.value.message
    assert 23 * 3600 < refused.value.retry_after <= 24 * 3600
    db.session.rollback()
    db.session.refresh(board)
    assert (board.topics_count, board.posts_count, board.revision, board.last_topic_id) == before
    assert (
        db.session.scalar(
            select(func.count()).select_from(Topic).where(Topic.author_id == member.id)
        )
        == _topics_cap()
    )


def test_first_post_of_a_new_topic_counts_towards_the_post_cap(db):
    board = f.make_board()
    topic = f.make_topic(board, f.make_user(trust_level=1))
    member = f.make_user()
    _fill_posts(db, member, topic, _posts_cap())
    with pytest.raises(RateLimited) as refused:
        topics.create_topic(f.actor(member), board, title="A fresh topic", body="Hello")
    assert "posts a day" in refused.value.message


def test_new_member_can_still_reply_after_the_topic_cap(db):
    board = f.make_board()
    member = f.make_user()
    for n in range(_topics_cap()):
        topic = topics.create_topic(f.actor(member), board, title=f"Topic {n}", body="Hi")[0]
    db.session.commit()
    assert posts.reply_to_topic(f.actor(member), topic, body="Replies are still fine").id


def test_trust_level_1_is_not_capped(db):
    board = f.make_board()
    topic = f.make_topic(board, f.make_user(trust_level=1))
    member = f.make_user(trust_level=1)
    for n in range(_posts_cap() + 1):
        posts.reply_to_topic(f.actor(member), topic, body=f"Reply {n}")
    for n in range(_topics_cap() + 1):
        topics.create_topic(f.actor(member), board, title=f"Topic {n}", body="Hi")
    db.session.commit()
    assert _count_posts(db, member) == _posts_cap() + _topics_cap() + 2


def test_site_moderator_at_trust_level_0_is_not_capped(db):
    board = f.make_board()
    topic = f.make_topic(board, f.make_user(trust_level=1))
    moderator = f.make_user(moderator=True)
    _fill_posts(db, moderator, topic, _posts_cap())
    assert posts.reply_to_topic(f.actor(moderator), topic, body="Moderators write on").id
    for n in range(_topics_cap() + 1):
        topics.create_topic(f.actor(moderator), board, title=f"Topic {n}", body="Hi")


def test_group_moderator_is_exempt_on_the_groups_boards_only(db):
    moderator = f.make_user()
    group = f.make_group(moderators=(moderator,))
    moderator.trust_level = 0
    db.session.commit()
    inside = f.make_topic(f.make_board(group=group), f.owner_of(group))
    outside = f.make_topic(author=f.make_user(trust_level=1))
    _fill_posts(db, moderator, inside, _posts_cap())
    assert posts.reply_to_topic(f.actor(moderator), inside, body="My own group's board").id
    with pytest.raises(RateLimited):
        posts.reply_to_topic(f.actor(moderator), outside, body="Somewhere else")


def test_a_groups_trust_grant_lifts_the_caps_on_its_boards_only(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    member.trust_level = 0
    db.session.commit()
    trust.grant_level(f.actor(f.owner_of(group)), member, level=1, lock=True, group=group)
    db.session.commit()
    inside = f.make_topic(f.make_board(group=group), f.owner_of(group))
    outside = f.make_topic(author=f.make_user(trust_level=1))
    _fill_posts(db, member, inside, _posts_cap())
    assert posts.reply_to_topic(f.actor(member), inside, body="Granted level 1 here").id
    # Elsewhere they are a new member still: every post they wrote counts.
    with pytest.raises(RateLimited):
        posts.reply_to_topic(f.actor(member), outside, body="Somewhere else")


def test_caps_hold_with_request_throttles_off(app, db):
    # The test configuration turns request throttles off; the caps apply regardless.
    assert app.config["FORUM_RATELIMITS"] == "off"
    board = f.make_board()
    member = f.make_user()
    for n in range(_topics_cap()):
        topics.create_topic(f.actor(member), board, title=f"Topic {n}", body="Hi")
    with pytest.raises(RateLimited):
        topics.create_topic(f.actor(member), board, title="Another", body="Hi")


def test_check_can_post_rejects_an_unknown_kind(db):
    with pytest.raises(ValueError):
        limits.check_can_post(f.actor(f.make_user()), board=f.make_board(), kind="poll")


# --- slow mode -------------------------------------------------------------------


def _slow_topic(db, minutes: int) -> Topic:
    topic = f.make_topic(author=f.make_user(trust_level=1))
    topic.slow_mode_minutes = minutes
    db.session.commit()
    return topic


def test_slow_mode_refuses_a_second_reply_too_soon_and_writes_nothing(db):
    topic = _slow_topic(db, 10)
    member = f.make_user(trust_level=2)
    posts.reply_to_topic(f.actor(member), topic, body="My first word")
    db.session.commit()
    db.session.refresh(topic)
    before = (topic.posts_count, topic.next_number, topic.revision)
    with pytest.raises(RateLimited) as refused:
        posts.reply_to_topic(f.actor(member), topic, body="And another thing")
    assert refused.value.message == (
        "This topic is in slow mode: one post every 10 minutes. You can post again in 10 minutes."
    )
    assert 590 < refused.value.retry_after <= 600
    db.session.rollback()
    db.session.refresh(topic)
    assert (topic.posts_count, topic.next_number, topic.revision) == before


def test_slow_mode_allows_the_next_reply_after_n_minutes(db):
    topic = _slow_topic(db, 10)
    member = f.make_user(trust_level=2)
    earlier = posts.reply_to_topic(f.actor(member), topic, body="My first word")
    earlier.created_at = utcnow() - timedelta(minutes=7)
    db.session.commit()
    with pytest.raises(RateLimited) as refused:
        posts.reply_to_topic(f.actor(member), topic, body="Too soon")
    assert "You can post again in 3 minutes." in refused.value.message
    db.session.rollback()
    earlier.created_at = utcnow() - timedelta(minutes=10, seconds=1)
    db.session.commit()
    assert posts.reply_to_topic(f.actor(member), topic, body="Now it is fine").id


def test_slow_mode_is_per_member(db):
    topic = _slow_topic(db, 10)
    posts.reply_to_topic(f.actor(f.make_user(trust_level=1)), topic, body="First member")
    assert posts.reply_to_topic(f.actor(f.make_user(trust_level=1)), topic, body="Second").id


def test_slow_mode_counts_a_deleted_post(db):
    topic = _slow_topic(db, 5)
    member = f.make_user(trust_level=1)
    mine = posts.reply_to_topic(f.actor(member), topic, body="Oops")
    posts.delete_post(f.actor(member), mine)
    with pytest.raises(RateLimited):
        posts.reply_to_topic(f.actor(member), topic, body="Second try")


def test_slow_mode_counts_the_topics_first_post(db):
    author = f.make_user(trust_level=1)
    topic = f.make_topic(author=author)
    topic.slow_mode_minutes = 1
    db.session.commit()
    with pytest.raises(RateLimited) as refused:
        posts.reply_to_topic(f.actor(author), topic, body="Replying to myself")
    assert "one post a minute" in refused.value.message


def test_slow_mode_does_not_apply_to_the_boards_moderators(db):
    topic = _slow_topic(db, 30)
    moderator = f.make_user(moderator=True, trust_level=1)
    posts.reply_to_topic(f.actor(moderator), topic, body="Please keep it calm")
    assert posts.reply_to_topic(f.actor(moderator), topic, body="Thank you all").id


def test_slow_mode_off_allows_quick_replies(db):
    topic = _slow_topic(db, 0)
    member = f.make_user(trust_level=1)
    posts.reply_to_topic(f.actor(member), topic, body="One")
    assert posts.reply_to_topic(f.actor(member), topic, body="Two").id


# --- posting and editing speed per trust level (issue 10, finding 4) -----------------
# Request throttles: on only with FORUM_RATELIMITS=on, which these tests set.

speed_on = pytest.mark.usefixtures("in_a_request")


@pytest.fixture
def in_a_request(app):
    """Request throttles on, and a request under way (they pace requests, not commands)."""
    app.config["FORUM_RATELIMITS_ON"] = True
    with app.test_request_context():
        yield


def test_speed_limits_are_for_requests_not_the_operators_commands(app, db):
    app.config["FORUM_RATELIMITS_ON"] = True
    topic = f.make_topic()
    member = f.make_user(trust_level=0)
    for n in range(5):  # as `forum demo` does, with no request
        posts.reply_to_topic(f.actor(member), topic, body=f"Reply {n}")
    db.session.commit()


@speed_on
def test_posting_faster_than_the_level_allows_is_rate_limited(db):
    topic = f.make_topic(author=f.make_user(trust_level=1))
    member = f.make_user(trust_level=1)
    for n in range(4):  # level 1: 4 posts a minute
        posts.reply_to_topic(f.actor(member), topic, body=f"Quick reply {n}")
        db.session.commit()
    with pytest.raises(RateLimited) as caught:
        posts.reply_to_topic(f.actor(member), topic, body="One too many")
    assert caught.value.message.startswith(
        "You are posting quickly: at trust level 1 you can write 4 posts a minute."
    )
    assert 1 <= caught.value.retry_after <= 60


@speed_on
def test_posting_speed_counts_new_topics_and_grows_with_the_level(db):
    board = f.make_board()
    newcomer, regular = f.make_user(trust_level=0), f.make_user(trust_level=3)
    for n in range(2):  # level 0: 2 posts a minute
        topics.create_topic(f.actor(newcomer), board, title=f"Topic {n}", body="Hi")
        db.session.commit()
    with pytest.raises(RateLimited):
        topics.create_topic(f.actor(newcomer), board, title="Third", body="Hi")
    db.session.rollback()
    topic = f.make_topic(board)
    for n in range(10):  # level 3: 10 a minute
        posts.reply_to_topic(f.actor(regular), topic, body=f"Reply {n}")
        db.session.commit()
    with pytest.raises(RateLimited):
        posts.reply_to_topic(f.actor(regular), topic, body="Eleventh")


@speed_on
def test_posting_speed_is_a_site_setting(db):
    f.set_settings(tl1_posts_per_minute="1")
    topic = f.make_topic()
    member = f.make_user(trust_level=1)
    posts.reply_to_topic(f.actor(member), topic, body="First")
    db.session.commit()
    with pytest.raises(RateLimited) as caught:
        posts.reply_to_topic(f.actor(member), topic, body="Second")
    assert "1 post a minute" in caught.value.message


@speed_on
def test_posts_older_than_a_minute_do_not_count(db):
    topic = f.make_topic()
    member = f.make_user(trust_level=0)
    for n in range(2):
        posts.reply_to_topic(f.actor(member), topic, body=f"Reply {n}")
    db.session.execute(
        update(Post)
        .where(Post.author_id == member.id)
        .values(created_at=utcnow() - limits.POSTS_WINDOW - timedelta(seconds=1))
    )
    db.session.commit()
    assert posts.reply_to_topic(f.actor(member), topic, body="A minute later").id


def test_posting_speed_is_off_with_request_throttles_off(app, db):
    assert app.config["FORUM_RATELIMITS"] == "off"
    topic = f.make_topic()
    member = f.make_user(trust_level=1)
    for n in range(10):
        posts.reply_to_topic(f.actor(member), topic, body=f"Reply {n}")
    db.session.commit()


@speed_on
def test_moderators_are_exempt_from_posting_speed_on_their_boards(db):
    moderator = f.make_user(moderator=True, trust_level=1)
    topic = f.make_topic()
    for n in range(8):
        posts.reply_to_topic(f.actor(moderator), topic, body=f"Moderator reply {n}")
    db.session.commit()


def _edit(db, actor: Actor, post: Post, n: int) -> None:
    posts.edit_post(actor, post, body=f"Edited text number {n}")
    db.session.commit()


@speed_on
def test_editing_more_than_the_level_allows_in_an_hour_is_rate_limited(db):
    member = f.make_user(trust_level=0)
    post = f.make_post(author=member, body="First text")
    for n in range(10):  # level 0: 10 edits an hour, coalesced or not
        _edit(db, f.actor(member), post, n)
    with pytest.raises(RateLimited) as caught:
        posts.edit_post(f.actor(member), post, body="Eleventh edit")
    assert caught.value.message.startswith(
        "You have made 10 edits in the last hour, the most for trust level 0."
    )
    assert 3000 < caught.value.retry_after <= 3600
    db.session.rollback()
    db.session.refresh(post)
    assert post.body == "Edited text number 9"


@speed_on
def test_edits_older_than_an_hour_do_not_count(db):
    from forum.models.posts import PostEdit

    member = f.make_user(trust_level=0)
    post = f.make_post(author=member, body="First text")
    for n in range(10):
        _edit(db, f.actor(member), post, n)
    db.session.execute(
        update(PostEdit).values(created_at=utcnow() - limits.EDITS_WINDOW - timedelta(seconds=1))
    )
    db.session.commit()
    _edit(db, f.actor(member), post, 10)


def test_editing_speed_is_off_with_request_throttles_off(db):
    member = f.make_user(trust_level=0)
    post = f.make_post(author=member, body="First text")
    for n in range(15):
        _edit(db, f.actor(member), post, n)


@speed_on
def test_moderators_are_exempt_from_editing_speed(db):
    moderator = f.make_user(moderator=True, trust_level=0)
    post = f.make_post(body="Someone's text")
    for n in range(15):
        _edit(db, f.actor(moderator), post, n)


@speed_on
def test_an_edit_refused_for_speed_costs_no_rendering(db, monkeypatch):
    member = f.make_user(trust_level=0)
    post = f.make_post(author=member, body="First text")
    for n in range(10):
        _edit(db, f.actor(member), post, n)

    def fail(*args: object, **kwargs: object) -> str:
        raise AssertionError("rendered before the speed check")

    monkeypatch.setattr(posts, "render_markdown", fail)
    with pytest.raises(RateLimited):
        posts.edit_post(f.actor(member), post, body="Too fast")
