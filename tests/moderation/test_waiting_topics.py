"""A new member's topic that waits for approval: nobody but its author and the board's
moderators sees it, in any list or by id, until a moderator approves it."""

from __future__ import annotations

import pytest

from forum import listings
from forum import policy
from forum.errors import NotFound
from forum.moderation import actions
from forum.services import groups
from forum.services import topics
from tests import factories as f


@pytest.fixture
def waiting(db):
    reader = f.make_user()
    group = f.make_group(members=(reader,))
    groups.update_group_moderation(f.actor(f.owner_of(group)), group, approve_first_posts=1)
    board = f.make_board(group=group)
    newcomer = f.make_newcomer(group)
    db.session.commit()
    topic, post = topics.create_topic(
        f.actor(newcomer), board, title="Cheap pills here", body="Buy now"
    )
    db.session.commit()
    return group, board, newcomer, reader, topic, post


def _listed(user, board) -> list[int]:
    found = listings.board_topics(f.actor(user), board, 1, 30)
    return [t.id for t in found.items]


def test_waiting_topic_is_invisible_to_other_members(db, waiting):
    group, board, _newcomer, reader, topic, post = waiting
    actor = f.actor(reader)
    assert topic.awaiting_approval
    assert topic.id not in _listed(reader, board)
    assert not policy.can_see_topic(actor, topic)
    with pytest.raises(NotFound):
        policy.require_topic(actor, topic.id)
    with pytest.raises(NotFound):
        policy.require_post(actor, post.id)
    assert topic.id not in [t.id for t in listings.latest_topics(actor, 1, 30).items]
    db.session.refresh(board)
    assert board.topics_count == 0


def test_waiting_topic_is_shown_to_its_author_by_id_but_not_in_shared_lists(db, waiting):
    _group, board, newcomer, _reader, topic, _post = waiting
    actor = f.actor(newcomer)
    assert policy.require_topic(actor, topic.id) == topic
    # The board list is shared between readers, so it never holds anyone's own waiting topic.
    assert topic.id not in _listed(newcomer, board)


def test_moderators_see_the_waiting_topic_and_approving_publishes_it(db, waiting):
    group, board, _newcomer, reader, topic, post = waiting
    owner = f.owner_of(group)
    assert topic.id in _listed(owner, board)
    assert policy.board_view_variant(f.actor(owner), board) == "moderator"
    assert policy.board_view_variant(f.actor(reader), board) == "reader"
    assert actions.approve_post(f.actor(owner), post, reason="Looks fine")
    db.session.commit()
    db.session.refresh(board)
    assert not topic.awaiting_approval
    assert board.topics_count == 1 and board.last_topic_id == topic.id
    assert topic.id in _listed(reader, board)
    assert policy.require_topic(f.actor(reader), topic.id) == topic


def test_rejected_waiting_topic_stays_invisible(db, waiting):
    group, board, _newcomer, reader, topic, post = waiting
    assert actions.reject_post(f.actor(f.owner_of(group)), post, reason="Spam")
    db.session.commit()
    assert topic.awaiting_approval
    assert topic.id not in _listed(reader, board)
