"""New members' links, the group approval queue, edits of hidden posts, group settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from forum.errors import Denied
from forum.errors import Invalid
from forum.maintenance import rerender_stale_posts
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.modlog import ModerationLog
from forum.models.posts import HiddenKind
from forum.models.posts import Post
from forum.models.posts import PostRevision
from forum.models.topics import Topic
from forum.models.users import User
from forum.rendering import RENDERER_VERSION
from forum.services import groups
from forum.services import limits
from forum.services import posts
from forum.services import topics
from forum.services import trust
from tests import factories as f

LINKED = (
    "See [the guide](https://example.org/guide), https://example.com/x "
    "and ![a cat](https://img.example/c.png)"
)


# --- links and images from trust level 1 -----------------------------------------


def test_new_members_reply_shows_links_and_images_as_text(db):
    post = f.make_post(author=f.make_user(trust_level=0), body=LINKED)
    assert "<a" not in post.html
    assert "the guide" in post.html and "https://example.com/x" in post.html
    assert "a cat" in post.html and "img.example" not in post.html
    assert post.body == LINKED


def test_trust_level_1_reply_has_links(db):
    post = f.make_post(author=f.make_user(trust_level=1), body=LINKED)
    assert 'href="https://example.org/guide"' in post.html
    assert 'href="https://example.com/x"' in post.html
    assert 'href="https://img.example/c.png"' in post.html


def test_new_members_topic_has_no_links(db):
    _topic, post = topics.create_topic(
        f.actor(f.make_user()), f.make_board(), title="Hello there", body=LINKED
    )
    assert "<a" not in post.html and "the guide" in post.html


def test_moderator_at_trust_level_0_may_post_links(db):
    post = f.make_post(author=f.make_user(moderator=True), body=LINKED)
    assert 'href="https://example.org/guide"' in post.html


def test_new_members_edit_has_no_links(db):
    member = f.make_user()
    post = f.make_post(author=member)
    posts.edit_post(f.actor(member), post, body=LINKED)
    assert "<a" not in post.html


def test_moderators_edit_of_a_new_members_post_adds_no_links(db):
    post = f.make_post(author=f.make_user())
    moderator = f.make_admin()
    posts.edit_post(f.actor(moderator), post, body=LINKED)
    assert "<a" not in post.html


def test_rerender_gives_links_once_the_author_reached_trust_level_1(db):
    newcomer, grown = f.make_user(), f.make_user()
    stays = f.make_post(author=newcomer, body=LINKED)
    gains = f.make_post(author=grown, body=LINKED)
    for post in (stays, gains):
        post.renderer_version = RENDERER_VERSION - 1
    grown.trust_level = 1
    db.session.commit()
    assert rerender_stale_posts() == 2
    db.session.refresh(stays)
    db.session.refresh(gains)
    assert "<a" not in stays.html
    assert 'href="https://example.org/guide"' in gains.html


def test_rerender_keeps_revisions_of_a_new_member_link_free(db):
    member = f.make_user()
    post = f.make_post(author=member, body=LINKED)
    posts.edit_post(f.actor(member), post, body="Better without links")
    post.renderer_version = RENDERER_VERSION - 1
    db.session.commit()
    rerender_stale_posts()
    revision = db.session.scalar(select(PostRevision).where(PostRevision.post_id == post.id))
    assert "the guide" in revision.html and "<a" not in revision.html


def _granted_newcomer(db, level: int = 1) -> tuple[User, Group]:
    """A site-level-0 member whose group's owner granted them `level` inside the group."""
    member = f.make_user()
    group = f.make_group(members=(member,))
    member.trust_level = 0
    db.session.commit()
    trust.grant_level(f.actor(f.owner_of(group)), member, level=level, lock=True, group=group)
    db.session.commit()
    return member, group


def test_links_granted_by_a_group_show_on_its_boards_only(db):
    member, group = _granted_newcomer(db)
    inside = f.make_post(
        f.make_topic(f.make_board(group=group), f.owner_of(group)), member, body=LINKED
    )
    outside = f.make_post(author=member, body=LINKED)
    assert 'href="https://example.org/guide"' in inside.html
    assert "<a" not in outside.html
    # Edits and re-rendering follow the same scope.
    posts.edit_post(f.actor(member), outside, body=LINKED + " (edited)")
    assert "<a" not in outside.html
    for post in (inside, outside):
        post.renderer_version = RENDERER_VERSION - 1
    db.session.commit()
    rerender_stale_posts()
    assert 'href="https://example.org/guide"' in inside.html and "<a" not in outside.html


def test_group_moderators_links_stay_on_the_groups_boards(db):
    moderator = f.make_user()
    group = f.make_group(moderators=(moderator,))
    moderator.trust_level = 0
    db.session.commit()
    inside = f.make_post(
        f.make_topic(f.make_board(group=group), f.owner_of(group)), moderator, body=LINKED
    )
    outside = f.make_post(author=moderator, body=LINKED)
    assert 'href="https://example.org/guide"' in inside.html
    assert "<a" not in outside.html


# --- the group approval queue ------------------------------------------------------


def _approval_group(db, first_posts: int = 2, **kwargs) -> tuple[Group, Topic]:
    group = f.make_group(**kwargs)
    groups.update_group_moderation(
        f.actor(f.owner_of(group)), group, approve_first_posts=first_posts
    )
    db.session.commit()
    topic = f.make_topic(f.make_board(group=group), f.owner_of(group))
    return group, topic


def _approve(db, post: Post) -> None:
    # What a moderator's approval leaves behind (forum.moderation.actions.approve_post).
    post.hidden_at, post.hidden_kind, post.hidden_reason = None, None, ""
    db.session.commit()


def test_new_members_reply_waits_for_approval(db):
    group, topic = _approval_group(db)
    member = f.make_newcomer(group)
    db.session.refresh(topic)
    board = topic.board
    before_topic = (topic.last_post_at, topic.last_poster_id, topic.revision, topic.posts_count)
    before_board = (board.last_post_at, board.last_topic_id, board.revision, board.posts_count)
    post = posts.reply_to_topic(f.actor(member), topic, body="Hello, I am new here")
    db.session.commit()
    db.session.refresh(topic)
    db.session.refresh(board)
    assert post.is_hidden and post.hidden_kind == HiddenKind.APPROVAL
    assert post.hidden_reason == limits.APPROVAL_REASON
    assert post.number == 2 and post.review_requested_at is None
    # It does not advertise itself as the latest post, but cached pages are retired.
    assert (topic.last_post_at, topic.last_poster_id) == before_topic[:2]
    assert (board.last_post_at, board.last_topic_id) == before_board[:2]
    assert topic.revision > before_topic[2] and board.revision > before_board[2]
    assert (topic.posts_count, board.posts_count) == (before_topic[3] + 1, before_board[3] + 1)


def test_new_members_topic_waits_for_approval(db):
    group, topic = _approval_group(db)
    member = f.make_newcomer(group)
    board = topic.board
    db.session.refresh(board)
    latest = board.last_topic_id
    new_topic, post = topics.create_topic(f.actor(member), board, title="Hello", body="New")
    db.session.commit()
    assert post.hidden_kind == HiddenKind.APPROVAL
    db.session.refresh(board)
    assert board.last_topic_id == latest != new_topic.id


def test_posts_stop_waiting_once_n_were_let_through(db):
    group, topic = _approval_group(db, 2)
    member = f.make_newcomer(group)
    first = posts.reply_to_topic(f.actor(member), topic, body="One")
    second = posts.reply_to_topic(f.actor(member), topic, body="Two")
    assert first.is_hidden and second.is_hidden
    _approve(db, first)
    # A rejected (deleted) post does not count as let through.
    second.deleted_at = utcnow()
    db.session.commit()
    third = posts.reply_to_topic(f.actor(member), topic, body="Three")
    assert third.is_hidden
    _approve(db, third)
    assert not posts.reply_to_topic(f.actor(member), topic, body="Four").is_hidden


def test_posts_elsewhere_do_not_count_towards_a_groups_approval(db):
    group, topic = _approval_group(db, 1)
    member = f.make_newcomer(group)
    f.make_post(author=member)  # on a site board
    assert limits.needs_approval(f.actor(member), topic.board)


def test_approval_off_by_default(db):
    group = f.make_group()
    member = f.make_newcomer(group)
    topic = f.make_topic(f.make_board(group=group), f.owner_of(group))
    assert group.approve_first_posts == 0
    assert not posts.reply_to_topic(f.actor(member), topic, body="Straight in").is_hidden


def test_approval_never_applies_to_site_boards(db):
    assert not f.make_post(author=f.make_user()).is_hidden


def test_group_moderator_and_trusted_members_are_not_held(db):
    moderator, invited = f.make_user(), f.make_user()
    # Members who came in by invitation start at trust level 1.
    _group, topic = _approval_group(db, members=(invited,), moderators=(moderator,))
    moderator.trust_level = 0
    db.session.commit()
    assert not posts.reply_to_topic(f.actor(moderator), topic, body="Welcome").is_hidden
    assert not posts.reply_to_topic(f.actor(invited), topic, body="Hi all").is_hidden


def test_a_groups_trust_grant_lets_posts_through_its_approval_queue(db):
    member, group = _granted_newcomer(db)
    groups.update_group_moderation(f.actor(f.owner_of(group)), group, approve_first_posts=2)
    db.session.commit()
    topic = f.make_topic(f.make_board(group=group), f.owner_of(group))
    assert not posts.reply_to_topic(f.actor(member), topic, body="Granted, not held").is_hidden


# --- the author edits a hidden post ---------------------------------------------------


def _hidden_post(db, kind: HiddenKind, ago: timedelta) -> tuple[Post, User]:
    author = f.make_user(trust_level=1)
    post = f.make_post(author=author, body="The original text")
    post.hidden_at = utcnow() - ago
    post.hidden_kind = kind.value
    post.hidden_reason = "Off topic"
    db.session.commit()
    return post, author


def test_authors_edit_of_a_post_hidden_by_moderators_asks_for_review(db):
    post, author = _hidden_post(db, HiddenKind.MODERATORS, timedelta(minutes=1))
    assert posts.edit_post(f.actor(author), post, body="Reworded, on topic now")
    assert post.review_requested_at is not None
    assert post.is_hidden and post.body == "Reworded, on topic now"


def test_author_waits_10_minutes_to_edit_a_post_the_community_hid(db):
    post, author = _hidden_post(db, HiddenKind.COMMUNITY, timedelta(minutes=5))
    topic_revision = post.topic.revision
    with pytest.raises(Denied) as refused:
        posts.edit_post(f.actor(author), post, body="Quick change")
    assert refused.value.code == "too_soon"
    assert "10 minutes after it was hidden" in refused.value.message
    db.session.rollback()
    assert post.body == "The original text" and post.review_requested_at is None
    assert post.revisions_count == 0 and post.topic.revision == topic_revision


def test_author_edits_a_post_the_community_hid_after_10_minutes(db):
    post, author = _hidden_post(db, HiddenKind.COMMUNITY, timedelta(minutes=11))
    assert posts.edit_post(f.actor(author), post, body="Please look again")
    assert post.review_requested_at is not None and post.is_hidden


def test_moderators_edit_of_a_hidden_post_asks_for_no_review(db):
    post, _author = _hidden_post(db, HiddenKind.COMMUNITY, timedelta(minutes=1))
    assert posts.edit_post(f.actor(f.make_admin()), post, body="Redacted by a moderator")
    assert post.review_requested_at is None


def test_editing_a_waiting_post_keeps_it_waiting(db):
    group, topic = _approval_group(db)
    member = f.make_newcomer(group)
    post = posts.reply_to_topic(f.actor(member), topic, body="Hello")
    assert posts.edit_post(f.actor(member), post, body="Hello, everyone")
    assert post.hidden_kind == HiddenKind.APPROVAL and post.review_requested_at is None


def test_authors_edit_of_a_visible_post_asks_for_no_review(db):
    author = f.make_user()
    post = f.make_post(author=author)
    posts.edit_post(f.actor(author), post, body="Typo fixed")
    assert post.review_requested_at is None


# --- group moderation settings ---------------------------------------------------------


def test_owner_changes_the_groups_moderation_settings_and_it_is_logged(db):
    group = f.make_group()
    owner = f.owner_of(group)
    groups.update_group_moderation(
        f.actor(owner), group, log_visible_to_members=True, approve_first_posts=3
    )
    db.session.commit()
    assert group.log_visible_to_members is True and group.approve_first_posts == 3
    entry = db.session.scalar(
        select(ModerationLog).where(ModerationLog.action == "group_settings_changed")
    )
    assert entry.group_id == group.id and entry.actor_id == owner.id
    assert entry.reason == "approve_first_posts=3, log_visible_to_members=true"


def test_unchanged_moderation_settings_log_nothing(db):
    group = f.make_group()
    groups.update_group_moderation(
        f.actor(f.owner_of(group)), group, log_visible_to_members=False, approve_first_posts=0
    )
    assert (
        db.session.scalar(
            select(ModerationLog).where(ModerationLog.action == "group_settings_changed")
        )
        is None
    )


def test_admin_changes_a_public_groups_moderation_settings(db):
    group = f.make_group()
    groups.update_group_moderation(f.actor(f.make_admin()), group, approve_first_posts=20)
    assert group.approve_first_posts == 20


@pytest.mark.parametrize("who", ["member", "moderator", "outsider"])
def test_others_cannot_change_the_groups_moderation_settings(db, who):
    member, moderator = f.make_user(), f.make_user()
    group = f.make_group(members=(member,), moderators=(moderator,))
    actor = {"member": member, "moderator": moderator, "outsider": f.make_user()}[who]
    with pytest.raises(Denied):
        groups.update_group_moderation(f.actor(actor), group, approve_first_posts=5)
    assert group.approve_first_posts == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("approve_first_posts", 21),
        ("approve_first_posts", -1),
        ("approve_first_posts", "many"),
        ("approve_first_posts", True),
        ("log_visible_to_members", "yes"),
        ("log_visible_to_members", 1),
    ],
)
def test_bad_moderation_settings_are_refused_and_change_nothing(db, field, value):
    group = f.make_group()
    changes = {"approve_first_posts": 2, "log_visible_to_members": True, field: value}
    with pytest.raises(Invalid) as refused:
        groups.update_group_moderation(f.actor(f.owner_of(group)), group, **changes)
    assert field in refused.value.fields
    assert group.approve_first_posts == 0 and group.log_visible_to_members is False
