"""Moderator actions on posts and topics, and undoing each of them from the log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum import policy
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.models.modlog import ModerationLog
from forum.models.notifications import Notification
from forum.models.posts import HiddenKind
from forum.moderation import actions
from forum.moderation import log
from forum.moderation import undo
from forum.services import posts as post_services
from tests import factories as f


def _scene(db):
    moderator = f.make_user(moderator=True)
    author = f.make_user(trust_level=1)
    topic = f.make_topic(f.make_board(), f.make_user())
    post = f.make_post(topic, author)
    return f.actor(moderator), post


def _last_entry(db, action: str) -> ModerationLog:
    return db.session.scalar(
        select(ModerationLog)
        .where(ModerationLog.action == action)
        .order_by(ModerationLog.id.desc())
        .limit(1)
    )


def _undo(db, action: str, by=None):
    entry = _last_entry(db, action)
    by = by or f.actor(f.make_user(moderator=True))
    assert undo.undo(by, entry, reason="Undone in a test.")
    db.session.commit()
    return entry


def _refresh(db, *objects):
    for obj in objects:
        db.session.refresh(obj)


def test_hide_post_shows_the_reason_to_the_author_and_logs(db):
    mod, post = _scene(db)
    assert actions.hide_post(mod, post, reason="Personal attack.")
    assert not actions.hide_post(mod, post, reason="Again.")
    db.session.commit()
    assert (post.hidden_kind, post.hidden_reason, post.hidden_by_id) == (
        HiddenKind.MODERATORS,
        "Personal attack.",
        mod.user_id,
    )
    entry = _last_entry(db, "post_hidden")
    assert (entry.actor_id, entry.target_id, entry.actor_rank) == (
        mod.user_id,
        post.id,
        policy.RANK_SITE_MODERATOR,
    )
    texts = db.session.scalars(
        select(Notification.text).where(Notification.user_id == post.author_id)
    ).all()
    assert any("Personal attack." in text for text in texts)


def test_undo_hide_shows_the_post_and_an_entry_is_undone_once(db):
    mod, post = _scene(db)
    actions.hide_post(mod, post, reason="Hidden.")
    db.session.commit()
    entry = _undo(db, "post_hidden")
    assert not post.is_hidden
    assert entry.undone_at is not None
    assert _last_entry(db, "undo").data == f'{{"action": "post_hidden", "entry": {entry.id}}}'
    with pytest.raises(Conflict):
        undo.undo(f.actor(f.make_user(moderator=True)), entry, reason="Twice.")


def test_unhide_clears_review_request_and_undo_hides_again(db):
    mod, post = _scene(db)
    actions.hide_post(mod, post, reason="Hidden.")
    post.review_requested_at = post.hidden_at
    db.session.commit()
    assert actions.unhide_post(mod, post, reason="Edited, fine now.")
    assert post.review_requested_at is None and not post.is_hidden
    assert not actions.unhide_post(mod, post, reason="Again.")
    db.session.commit()
    _undo(db, "post_unhidden")
    assert (post.hidden_kind, post.hidden_reason) == (HiddenKind.MODERATORS, "Hidden.")


def test_keep_hidden_answers_a_review_request(db):
    mod, post = _scene(db)
    actions.hide_post(mod, post, reason="Hidden.")
    post.review_requested_at = post.hidden_at
    db.session.commit()
    assert actions.keep_hidden(f.actor(f.make_user(moderator=True)), post, reason="Still rude.")
    assert post.is_hidden and post.review_requested_at is None
    assert post.hidden_reason == "Still rude."
    assert not actions.keep_hidden(mod, post, reason="Nothing asked.")


def test_delete_keeps_counters_and_undo_restores_them(db):
    mod, post = _scene(db)
    topic, board = post.topic, post.topic.board
    assert actions.delete_post(mod, post, reason="Spam link.")
    db.session.commit()
    _refresh(db, topic, board)
    assert post.is_deleted and (topic.posts_count, board.posts_count) == (1, 1)
    _undo(db, "post_deleted")
    _refresh(db, topic, board)
    assert not post.is_deleted and (topic.posts_count, board.posts_count) == (2, 2)


def test_restore_and_its_undo(db):
    mod, post = _scene(db)
    actions.delete_post(mod, post, reason="Spam link.")
    assert actions.restore_post(mod, post, reason="Was not spam.")
    assert not actions.restore_post(mod, post, reason="Again.")
    db.session.commit()
    _undo(db, "post_restored")
    _refresh(db, post.topic)
    assert post.is_deleted and post.topic.posts_count == 1


def test_moderator_does_not_restore_what_the_author_deleted(db):
    mod, post = _scene(db)
    post_services.delete_post(f.actor(post.author), post)
    with pytest.raises(Denied):
        actions.restore_post(mod, post, reason="Bring it back.")


def _awaiting(db, post):
    post.hidden_at = post.created_at
    post.hidden_kind = HiddenKind.APPROVAL
    db.session.commit()


def test_approve_and_its_undo(db):
    mod, post = _scene(db)
    _awaiting(db, post)
    assert actions.approve_post(mod, post)
    assert not post.is_hidden
    assert not actions.approve_post(mod, post)
    db.session.commit()
    _undo(db, "post_approved")
    assert post.hidden_kind == HiddenKind.APPROVAL


def test_reject_deletes_and_undo_puts_it_back_in_waiting(db):
    mod, post = _scene(db)
    _awaiting(db, post)
    assert actions.reject_post(mod, post, reason="Advertising.")
    db.session.commit()
    assert post.is_deleted
    _undo(db, "post_rejected")
    assert not post.is_deleted and post.hidden_kind == HiddenKind.APPROVAL


@pytest.mark.parametrize(
    ("act", "flag", "value", "action"),
    [
        ("lock_topic", "locked", True, "topic_locked"),
        ("pin_topic", "pinned", True, "topic_pinned"),
        ("close_topic", "closed", True, "topic_closed"),
    ],
)
def test_topic_flags_bump_revisions_and_undo(db, act, flag, value, action):
    mod, post = _scene(db)
    topic, board = post.topic, post.topic.board
    revisions = (topic.revision, board.revision)
    assert getattr(actions, act)(mod, topic, reason="Because.")
    assert not getattr(actions, act)(mod, topic, reason="Because.")
    db.session.commit()
    _refresh(db, topic, board)
    assert getattr(topic, flag) is value
    assert topic.revision > revisions[0] and board.revision > revisions[1]
    _undo(db, action)
    assert getattr(topic, flag) is not value


@pytest.mark.parametrize(
    ("setup", "act", "flag", "action"),
    [
        ("lock_topic", "unlock_topic", "locked", "topic_unlocked"),
        ("pin_topic", "unpin_topic", "pinned", "topic_unpinned"),
        ("close_topic", "open_topic", "closed", "topic_opened"),
    ],
)
def test_topic_flags_off_and_undo(db, setup, act, flag, action):
    mod, post = _scene(db)
    topic = post.topic
    getattr(actions, setup)(mod, topic, reason="On.")
    assert getattr(actions, act)(mod, topic, reason="Off.")
    db.session.commit()
    assert getattr(topic, flag) is False
    _undo(db, action)
    assert getattr(topic, flag) is True


def test_slow_mode_in_range_and_undo(db):
    mod, post = _scene(db)
    topic = post.topic
    for bad in (-1, 1441, "x"):
        with pytest.raises(Invalid):
            actions.set_slow_mode(mod, topic, minutes=bad, reason="Heated.")
    assert actions.set_slow_mode(mod, topic, minutes=15, reason="Heated.")
    assert not actions.set_slow_mode(mod, topic, minutes=15, reason="Heated.")
    db.session.commit()
    _undo(db, "slow_mode_set")
    assert topic.slow_mode_minutes == 0


def test_every_action_needs_a_reason(db):
    mod, post = _scene(db)
    for act in (actions.hide_post, actions.delete_post):
        with pytest.raises(Invalid) as caught:
            act(mod, post, reason="  ")
        assert "reason" in caught.value.fields
    with pytest.raises(Invalid):
        actions.lock_topic(mod, post.topic, reason="x" * 501)


def test_member_who_sees_the_board_cannot_moderate(db):
    _mod, post = _scene(db)
    member = f.actor(f.make_user(trust_level=4))
    with pytest.raises(Denied):
        actions.hide_post(member, post, reason="Mine now.")
    with pytest.raises(Denied):
        actions.lock_topic(member, post.topic, reason="Mine now.")


def test_moderator_cannot_act_on_own_post_or_an_admins(db):
    moderator = f.make_user(moderator=True)
    topic = f.make_topic(f.make_board(), moderator)
    own = f.make_post(topic, moderator)
    admins = f.make_post(topic, f.make_admin())
    for post in (own, admins):
        with pytest.raises(Denied):
            actions.hide_post(f.actor(moderator), post, reason="No.")


def test_group_moderator_cannot_hide_a_site_moderators_post_in_a_public_group(db):
    group_mod, site_mod = f.make_user(), f.make_user(moderator=True)
    group = f.make_group(moderators=(group_mod,), members=(site_mod,))
    post = f.make_post(f.make_topic(f.make_board(group=group), site_mod), site_mod)
    with pytest.raises(Denied):
        actions.hide_post(f.actor(group_mod), post, reason="No.")


# --- moving topics ---------------------------------------------------------------------


def test_move_topic_keeps_both_boards_counters(db):
    mod, post = _scene(db)
    topic, source = post.topic, post.topic.board
    target = f.make_board()
    assert actions.move_topic(mod, topic, target, reason="Belongs there.")
    assert not actions.move_topic(mod, topic, target, reason="Again.")
    db.session.commit()
    _refresh(db, source, target)
    assert (source.topics_count, source.posts_count, source.last_topic_id) == (0, 0, None)
    assert (target.topics_count, target.posts_count, target.last_topic_id) == (1, 2, topic.id)
    entry = _undo(db, "topic_moved")
    _refresh(db, source, target, topic)
    assert topic.board_id == source.id and (source.topics_count, target.topics_count) == (1, 0)
    assert entry.undone_at is not None


def test_move_into_a_secret_group_must_be_confirmed_and_is_logged_in_both_scopes(db):
    admin = f.make_admin()
    group = f.make_group(secret=True, moderators=(admin,))
    source = f.make_board()
    topic = f.make_topic(source)
    reporter = f.make_user(trust_level=1)
    report = f.make_report(f.make_post(topic, f.make_user(trust_level=1)), reporter, reason="other")
    # The admin, a member of the secret group, moderates both sides.
    target = f.make_board(group=group)
    with pytest.raises(Invalid) as caught:
        actions.move_topic(f.actor(admin), topic, target, reason="Private matter.")
    assert "board" in caught.value.fields
    assert actions.move_topic(
        f.actor(admin), topic, target, reason="Private matter.", confirm_group_change=True
    )
    db.session.commit()
    rows = db.session.scalars(
        select(ModerationLog.group_id).where(ModerationLog.action == "topic_moved")
    ).all()
    assert sorted(rows, key=str) == sorted([group.id, None], key=str)
    db.session.refresh(report)
    assert report.group_id == group.id
    # Undoing one side undoes the move, and both rows.
    _undo(db, "topic_moved", by=f.actor(admin))
    assert topic.board_id == source.id
    undone = db.session.scalars(
        select(ModerationLog.undone_at).where(ModerationLog.action == "topic_moved")
    ).all()
    assert all(undone)


def test_move_needs_moderation_of_both_boards(db):
    group_mod = f.make_user()
    group = f.make_group(moderators=(group_mod,))
    topic = f.make_topic(f.make_board(group=group), group_mod)
    with pytest.raises(Denied):
        actions.move_topic(f.actor(group_mod), topic, f.make_board(), reason="Out.")


# --- undo rules ---------------------------------------------------------------------------


def test_lower_rank_cannot_undo_a_higher_ranks_action(db):
    group_mod, site_mod = f.make_user(), f.make_user(moderator=True)
    group = f.make_group(moderators=(group_mod,))
    topic = f.make_topic(f.make_board(group=group), f.owner_of(group))
    actions.lock_topic(f.actor(site_mod), topic, reason="Cooling off.")
    db.session.commit()
    entry = _last_entry(db, "topic_locked")
    with pytest.raises(Denied):
        undo.undo(f.actor(group_mod), entry, reason="I disagree.")
    assert undo.undo(f.actor(f.make_admin()), entry, reason="Admin disagrees.")


def test_higher_rank_undoes_a_group_moderators_action(db):
    group_mod = f.make_user()
    group = f.make_group(moderators=(group_mod,))
    topic = f.make_topic(f.make_board(group=group), f.owner_of(group))
    actions.pin_topic(f.actor(group_mod), topic, reason="Important.")
    db.session.commit()
    entry = _last_entry(db, "topic_pinned")
    assert undo.undo(f.actor(f.owner_of(group)), entry, reason="Not that important.")
    assert topic.pinned is False


def test_undo_needs_a_reason_and_a_moderator(db):
    mod, post = _scene(db)
    actions.lock_topic(mod, post.topic, reason="Locked.")
    db.session.commit()
    entry = _last_entry(db, "topic_locked")
    with pytest.raises(Invalid):
        undo.undo(mod, entry, reason="")
    with pytest.raises(Denied):
        undo.undo(f.actor(f.make_user()), entry, reason="Members cannot.")


def test_entries_are_listed_newest_first_in_scope(db):
    mod, post = _scene(db)
    group_mod = f.make_user()
    group = f.make_group(secret=True, moderators=(group_mod,))
    topic = f.make_topic(f.make_board(group=group), group_mod)
    actions.lock_topic(mod, post.topic, reason="First.")
    actions.pin_topic(mod, post.topic, reason="Second.")
    actions.close_topic(f.actor(group_mod), topic, reason="Inside.")
    db.session.commit()
    seen = [(e.action, e.group_id) for e in log.entries(mod).items]
    assert seen[:2] == [("topic_pinned", None), ("topic_locked", None)]
    assert all(group_id != group.id for _action, group_id in seen)
    inside = [(e.action, e.group_id) for e in log.entries(f.actor(group_mod)).items]
    assert ("topic_closed", group.id) in inside
    assert all(group_id == group.id for _action, group_id in inside)
