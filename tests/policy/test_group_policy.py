"""Group visibility and roles: every rule with an allow and a deny case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from forum import policy
from forum.errors import NotFound
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.services import groups as group_service
from tests import factories as f


def _world():
    member, moderator, outsider = f.make_user(), f.make_user(), f.make_user()
    secret = f.make_group(secret=True, members=(member,), moderators=(moderator,))
    public = f.make_group(members=(member,))
    secret_board = f.make_board(group=secret)
    public_board = f.make_board(group=public)
    site_board = f.make_board()
    topics = {
        "secret": f.make_topic(secret_board, member, title="Secret topic"),
        "public": f.make_topic(public_board, member, title="Public group topic"),
        "site": f.make_topic(site_board, outsider, title="Site topic"),
    }
    return {
        "member": member,
        "moderator": moderator,
        "outsider": outsider,
        "owner": f.owner_of(secret),
        "secret": secret,
        "public": public,
        "topics": topics,
    }


def test_secret_group_boards_visible_to_members_only(db):
    w = _world()
    secret_topic = w["topics"]["secret"]
    assert policy.can_see_topic(f.actor(w["member"]), secret_topic)
    for outsider in (
        f.actor(None, guests_read=True),
        f.actor(w["outsider"]),
        f.actor(f.make_user(moderator=True)),
        f.actor(f.make_admin()),
    ):
        assert not policy.can_see_topic(outsider, secret_topic)
        with pytest.raises(NotFound):
            policy.require_topic(outsider, secret_topic.id)
        with pytest.raises(NotFound):
            policy.require_group(outsider, w["secret"].slug)


def test_public_group_boards_readable_like_site_boards(db):
    w = _world()
    assert policy.can_see_topic(f.actor(w["outsider"]), w["topics"]["public"])
    assert policy.can_see_topic(f.actor(None, guests_read=True), w["topics"]["public"])
    assert not policy.can_see_topic(f.actor(None, guests_read=False), w["topics"]["public"])


def test_only_members_post_in_a_public_groups_boards(db):
    w = _world()
    board = w["topics"]["public"].board
    assert policy.can_post_topic(f.actor(w["member"]), board)
    assert not policy.can_post_topic(f.actor(w["outsider"]), board)
    assert not policy.can_reply(f.actor(w["outsider"]), w["topics"]["public"])


def test_removed_member_loses_access_at_once(db):
    w = _world()
    group_service.remove_member(f.actor(w["owner"]), w["secret"], w["member"].username)
    db.session.commit()
    assert not policy.can_see_topic(f.actor(w["member"]), w["topics"]["secret"])


def test_group_moderators_moderate_their_boards_only(db):
    w = _world()
    moderator = f.actor(w["moderator"])
    assert policy.can_moderate(moderator, w["topics"]["secret"].board)
    assert not policy.can_moderate(moderator, w["topics"]["site"].board)
    assert not policy.can_moderate(moderator, w["topics"]["public"].board)


def test_site_moderator_is_an_outsider_in_a_secret_group(db):
    w = _world()
    site_mod = f.actor(f.make_user(moderator=True))
    assert policy.can_moderate(site_mod, w["topics"]["public"].board)
    assert not policy.can_moderate(site_mod, w["topics"]["secret"].board)


def test_admin_reads_a_secret_group_only_after_breaking_the_glass(db):
    w = _world()
    admin = f.make_admin()
    assert policy.can_break_glass(f.actor(admin), w["secret"])
    group_service.break_glass(f.actor(admin), w["secret"], reason="A member reported abuse.")
    db.session.commit()
    inside = f.actor(admin)
    assert policy.can_see_topic(inside, w["topics"]["secret"])
    assert policy.can_moderate(inside, w["topics"]["secret"].board)
    log = db.session.scalars(policy.visible_log_entries(f.actor(w["owner"]))).all()
    assert [e.action for e in log if e.action == "break_glass"] == ["break_glass"]
    assert not [e for e in db.session.scalars(policy.visible_log_entries(f.actor(w["member"])))]


def test_break_glass_expires(db):
    w = _world()
    admin = f.make_admin()
    entry = group_service.break_glass(f.actor(admin), w["secret"], reason="Checking a report.")
    entry.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert not policy.can_see_topic(f.actor(admin), w["topics"]["secret"])


def test_members_of_a_group_see_its_members_outsiders_do_not(db):
    w = _world()
    assert policy.can_see_members(f.actor(w["member"]), w["secret"])
    assert not policy.can_see_members(f.actor(w["outsider"]), w["public"])
    rows = db.session.scalars(policy.visible_members(f.actor(w["outsider"]), w["public"]))
    assert rows.all() == []


def test_owners_and_moderators_invite_members_do_not(db):
    w = _world()
    assert policy.can_invite(f.actor(w["owner"]), w["secret"])
    assert policy.can_invite(f.actor(w["moderator"]), w["secret"])
    assert not policy.can_invite(f.actor(w["member"]), w["secret"])


def test_only_owners_and_admins_manage_public_groups(db):
    w = _world()
    assert policy.can_manage_group(f.actor(f.owner_of(w["public"])), w["public"])
    assert policy.can_manage_group(f.actor(f.make_admin()), w["public"])
    assert not policy.can_manage_group(f.actor(f.make_admin()), w["secret"])
    assert not policy.can_manage_group(f.actor(w["moderator"]), w["secret"])


def test_guests_and_outsiders_do_not_list_secret_groups(db):
    w = _world()
    for actor in (f.actor(None, guests_read=True), f.actor(w["outsider"])):
        slugs = {g.slug for g in db.session.scalars(policy.visible_groups(actor))}
        assert w["secret"].slug not in slugs and w["public"].slug in slugs
    assert w["secret"].slug in {
        g.slug for g in db.session.scalars(policy.visible_groups(f.actor(w["member"])))
    }


@pytest.mark.parametrize(
    "who", ["guest", "guest_public", "member", "moderator", "outsider", "site_mod", "admin"]
)
def test_group_scopes_agree_with_predicates(db, who):
    w = _world()
    # Topics waiting for approval, written by the member, in every group's board.
    for key in ("public", "secret"):
        board = w["topics"][key].board
        waiting = f.make_topic(board, w["member"], title=f"Waiting in {key}")
        waiting.awaiting_approval = True
    db.session.commit()
    actor = {
        "guest": lambda: f.actor(None),
        "guest_public": lambda: f.actor(None, guests_read=True),
        "member": lambda: f.actor(w["member"]),
        "moderator": lambda: f.actor(w["moderator"]),
        "outsider": lambda: f.actor(w["outsider"]),
        "site_mod": lambda: f.actor(f.make_user(moderator=True)),
        "admin": lambda: f.actor(f.make_admin()),
    }[who]()
    boards = set(db.session.scalars(policy.visible_boards(actor)))
    for board in db.session.scalars(select(Board)).all():
        assert policy.can_see_board(actor, board) == (board in boards)
    topics = set(db.session.scalars(policy.visible_topics(actor)))
    for topic in db.session.scalars(select(Topic)).all():
        assert policy.can_see_topic(actor, topic) == (topic in topics)
    posts = set(db.session.scalars(policy.visible_posts(actor)))
    for post in db.session.scalars(select(Post)).all():
        assert policy.can_see_post(actor, post) == (post in posts)
    groups = set(db.session.scalars(policy.visible_groups(actor)))
    for group in db.session.scalars(select(Group)).all():
        assert policy.can_see_group(actor, group) == (group in groups)


def test_cached_group_facts_are_retired_by_any_membership_change(db):
    from forum.fragments import LRU

    cache = LRU(budget=100)
    member = f.make_user()
    group = f.make_group(secret=True, members=(member,))
    db.session.refresh(member)
    assert group.id in policy.actor_for(member, guests_read=False, cache=cache).group_ids
    version = member.memberships_version
    group_service.remove_member(f.actor(f.owner_of(group)), group, member.username)
    db.session.commit()
    db.session.refresh(member)
    assert member.memberships_version > version
    assert group.id not in policy.actor_for(member, guests_read=False, cache=cache).group_ids


def test_cached_group_facts_follow_a_new_role(db):
    from forum.fragments import LRU

    cache = LRU(budget=100)
    member = f.make_user()
    f.make_topic(author=member)
    group = f.make_group(members=(member,))
    db.session.refresh(member)
    assert (
        group.id not in policy.actor_for(member, guests_read=False, cache=cache).moderated_group_ids
    )
    group_service.set_member_role(
        f.actor(f.owner_of(group)), group, member.username, role="moderator"
    )
    db.session.commit()
    db.session.refresh(member)
    assert group.id in policy.actor_for(member, guests_read=False, cache=cache).moderated_group_ids
