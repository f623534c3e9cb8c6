"""Policy: every rule has an allow and a deny case; scopes agree with predicates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from forum import policy
from forum.errors import NotFound
from forum.listings import PostSummary
from forum.models.base import utcnow
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.services import posts as post_service
from tests import factories as f


def _silenced(user):
    user.silenced_until = utcnow() + timedelta(days=1)
    return f.actor(user)


def test_guest_reads_nothing_when_guest_access_none(db):
    topic = f.make_topic()
    guest = f.actor(None, guests_read=False)
    assert not policy.can_see_topic(guest, topic)
    assert db.session.scalars(policy.visible_boards(guest)).all() == []
    with pytest.raises(NotFound):
        policy.require_topic(guest, topic.id)


def test_guest_reads_public_boards_when_allowed(db):
    topic = f.make_topic()
    guest = f.actor(None, guests_read=True)
    assert policy.can_see_topic(guest, topic)
    assert policy.require_topic(guest, topic.id) == topic


def test_member_reads_boards_outside_groups(db):
    topic = f.make_topic()
    assert policy.can_see_topic(f.actor(f.make_user()), topic)


def test_require_post_missing_id_is_not_found(db):
    with pytest.raises(NotFound):
        policy.require_post(f.actor(f.make_user()), 999_999)


def test_guest_cannot_post_or_reply(db):
    topic = f.make_topic()
    guest = f.actor(None, guests_read=True)
    assert not policy.can_post_topic(guest, topic.board)
    assert not policy.can_reply(guest, topic)


def test_member_can_post_and_reply(db):
    topic = f.make_topic()
    member = f.actor(f.make_user())
    assert policy.can_post_topic(member, topic.board)
    assert policy.can_reply(member, topic)


def test_silenced_member_can_read_but_not_write(db):
    topic = f.make_topic()
    silenced = _silenced(f.make_user())
    assert policy.can_see_topic(silenced, topic)
    assert not policy.can_post_topic(silenced, topic.board)
    assert not policy.can_reply(silenced, topic)


def test_reply_denied_when_topic_locked_allowed_for_moderator(db):
    topic = f.make_topic()
    topic.locked = True
    db.session.commit()
    assert not policy.can_reply(f.actor(f.make_user()), topic)
    assert policy.can_reply(f.actor(f.make_user(moderator=True)), topic)


def test_author_can_edit_own_post_others_cannot(db):
    post = f.make_post()
    assert policy.can_edit_post(f.actor(post.author), post)
    assert not policy.can_edit_post(f.actor(f.make_user()), post)


def test_moderator_can_edit_and_delete_any_post(db):
    post = f.make_post()
    moderator = f.actor(f.make_user(moderator=True))
    assert policy.can_edit_post(moderator, post)
    assert policy.can_delete_post(moderator, post)


def test_silenced_moderator_loses_moderation(db):
    post = f.make_post()
    moderator = _silenced(f.make_user(moderator=True))
    assert not policy.can_moderate(moderator, post.topic.board)
    assert not policy.can_edit_post(moderator, post)


def test_deleted_post_body_only_for_moderators(db):
    post = f.make_post()
    post_service.delete_post(f.actor(post.author), post)
    db.session.commit()
    assert policy.can_see_post(f.actor(f.make_user()), post)
    assert not policy.can_see_post_body(f.actor(f.make_user()), post)
    assert not policy.can_see_post_body(f.actor(post.author), post)
    assert policy.can_see_post_body(f.actor(f.make_user(moderator=True)), post)


def test_profiles_hidden_from_guests_shown_to_members(db):
    user = f.make_user()
    f.make_topic(author=user)
    assert not policy.can_see_user(f.actor(None, guests_read=True), user)
    assert policy.can_see_user(f.actor(f.make_user()), user)
    with pytest.raises(NotFound):
        policy.require_user(f.actor(None, guests_read=True), user.username)
    assert policy.require_user(f.actor(f.make_user()), user.username.upper()) == user


def test_only_admins_administer(db):
    assert policy.can_administer(f.actor(f.make_admin()))
    assert not policy.can_administer(f.actor(f.make_user(moderator=True)))
    assert not policy.can_administer(f.actor(None, guests_read=True))


@pytest.mark.parametrize("who", ["guest_none", "guest_public", "member", "silenced", "moderator"])
def test_scopes_agree_with_predicates(db, who):
    """can_see_topic(a, t) == (t in visible_topics(a)) for every actor and topic."""
    topics = [f.make_topic(), f.make_topic()]
    post = f.make_post(topics[0])
    actors = {
        "guest_none": lambda: f.actor(None, guests_read=False),
        "guest_public": lambda: f.actor(None, guests_read=True),
        "member": lambda: f.actor(f.make_user()),
        "silenced": lambda: _silenced(f.make_user()),
        "moderator": lambda: f.actor(f.make_user(moderator=True)),
    }
    actor = actors[who]()
    visible_topics = set(db.session.scalars(policy.visible_topics(actor)))
    all_topics = db.session.scalars(select(Topic)).all()
    for topic in all_topics:
        assert policy.can_see_topic(actor, topic) == (topic in visible_topics)
    visible_posts = set(db.session.scalars(policy.visible_posts(actor)))
    for each in db.session.scalars(select(Post)).all():
        assert policy.can_see_post(actor, each) == (each in visible_posts)
    assert post in visible_posts or not policy.can_see_post(actor, post)


@pytest.mark.parametrize("who", ["guest", "author", "other", "silenced_author", "moderator"])
@pytest.mark.parametrize("locked", [False, True])
def test_page_actions_agree_with_single_post_predicates(db, who, locked):
    author = f.make_user()
    topic = f.make_topic(author=author)
    mine = f.make_post(topic, author)
    edited = f.make_post(topic)
    post_service.edit_post(f.actor(edited.author), edited, body="changed")
    gone = f.make_post(topic, author)
    post_service.delete_post(f.actor(author), gone)
    # Hidden posts: one of the author's (they still read it), one of someone else's.
    hidden_mine = f.make_post(topic, author)
    hidden_theirs = f.make_post(topic)
    for hidden in (hidden_mine, hidden_theirs):
        hidden.hidden_at = utcnow()
        hidden.hidden_kind = "moderators"
    topic.locked = locked
    db.session.commit()
    actor = {
        "guest": lambda: f.actor(None, guests_read=True),
        "author": lambda: f.actor(author),
        "other": lambda: f.actor(f.make_user()),
        "silenced_author": lambda: _silenced(author),
        "moderator": lambda: f.actor(f.make_user(moderator=True)),
    }[who]()
    page = [topic_first_post(db, topic), mine, edited, gone, hidden_mine, hidden_theirs]
    actions = policy.topic_post_actions(actor, topic, page)
    # The cached page's summaries must decide exactly like the posts themselves.
    summaries = [PostSummary.of(post) for post in page]
    assert policy.topic_post_actions(actor, topic, summaries) == actions
    for post in page:
        assert actions[post.id] == {
            "edit": policy.can_edit_post(actor, post),
            "delete": not post.is_deleted and policy.can_delete_post(actor, post),
            "reply": policy.can_reply(actor, topic),
            "revisions": post.revisions_count > 0 and policy.can_see_revisions(actor, post),
            "body": policy.can_see_post_body(actor, post),
            "like": policy.can_like_post(actor, post),
            "report": policy.can_report_post(actor, post),
        }


def topic_first_post(db, topic):
    return db.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))


def test_member_who_only_posts_in_a_secret_group_is_unknown_outside_it(db):
    insider = f.make_user()
    group = f.make_group(secret=True, members=(insider,))
    f.make_topic(f.make_board(group=group), insider)
    outsider = f.actor(f.make_user())
    assert not policy.can_see_user(outsider, insider)
    with pytest.raises(NotFound):
        policy.require_user(outsider, insider.username)
    assert policy.can_see_user(f.actor(f.owner_of(group)), insider)
    f.make_topic(author=insider)  # once they post where the outsider reads, they are known
    assert policy.can_see_user(outsider, insider)


def test_staff_and_oneself_are_always_known(db):
    moderator = f.make_user(moderator=True)
    me = f.make_user()
    assert policy.can_see_user(f.actor(me), moderator)
    assert policy.can_see_user(f.actor(me), me)


def test_directory_lists_every_member_to_admins_only(db):
    """Admins know every member, also one who never posted (the member directory)."""
    quiet = f.make_user("never_posted")
    admin = f.make_admin()
    found = db.session.scalars(policy.directory_users(f.actor(admin))).all()
    assert quiet in found and admin in found
    for nobody in (f.actor(None), f.actor(f.make_user()), f.actor(f.make_user(moderator=True))):
        assert db.session.scalars(policy.directory_users(nobody)).all() == []
