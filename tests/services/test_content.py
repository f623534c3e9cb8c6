"""Boards, topics and posts through the services."""

from __future__ import annotations

import pytest

from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.errors import NotLoggedIn
from forum.services import boards
from forum.services import posts
from forum.services import topics
from tests import factories as f


def test_admin_creates_boards_in_order_with_sub_boards(db):
    first = f.make_board("First")
    second = f.make_board("Second")
    child = f.make_board("Child", parent=first)
    assert (first.position, second.position) == (1, 2)
    assert child.parent_id == first.id


def test_member_cannot_create_boards(db):
    with pytest.raises(Denied):
        boards.create_board(f.actor(f.make_user()), name="Mine")


def test_sub_boards_nest_one_level_only(db):
    parent = f.make_board()
    child = f.make_board(parent=parent)
    with pytest.raises(Invalid):
        boards.create_board(f.actor(f.make_admin()), name="Grandchild", parent_id=child.id)


def test_move_board_swaps_neighbours(db):
    first, second = f.make_board("A"), f.make_board("B")
    assert boards.move_board(f.actor(f.make_admin()), second, direction="up")
    assert (second.position, first.position) == (1, 2)
    assert not boards.move_board(f.actor(f.make_admin()), second, direction="up")


def test_board_positions_are_numbered_per_scope(db):
    """Numbered across the site, a gap in the positions a reader sees counted the secret
    groups' boards between them."""
    first = f.make_board("Site first")
    secret = f.make_group(secret=True)
    secret_boards = [f.make_board(f"Secret {n}", group=secret) for n in range(3)]
    second = f.make_board("Site second")
    public = f.make_group()
    public_board = f.make_board("Allotment", group=public)
    child = f.make_board("Child", parent=secret_boards[0], group=secret)
    assert (first.position, second.position) == (1, 2)
    assert [b.position for b in secret_boards] == [1, 2, 3]
    assert (public_board.position, child.position) == (1, 1)


def test_moving_a_board_renumbers_only_its_own_scope(db):
    admin = f.actor(f.make_admin())
    first, second = f.make_board("A"), f.make_board("B")
    group = f.make_group()
    group_board = f.make_board("G", group=group)
    assert boards.move_board(admin, second, direction="up")
    assert (second.position, first.position, group_board.position) == (1, 2, 1)
    # The first of its scope: nothing above it, though a group's board has a lower id.
    assert not boards.move_board(admin, second, direction="up")


def test_board_moved_under_another_parent_goes_to_the_end_of_that_level(db):
    admin = f.actor(f.make_admin())
    parent = f.make_board("Parent")
    f.make_board("Older child", parent=parent)
    f.make_board("Another")
    loose = f.make_board("Loose")
    assert loose.position == 3
    boards.update_board(admin, loose, parent_id=parent.id)
    assert loose.position == 2


def test_rename_and_describe_board(db):
    board = f.make_board("Old")
    boards.update_board(f.actor(f.make_admin()), board, name="New", description="Described")
    assert (board.name, board.description) == ("New", "Described")


def test_create_topic_updates_counters(db):
    board = f.make_board()
    topic = f.make_topic(board)
    f.make_post(topic)
    db.session.refresh(board)
    db.session.refresh(topic)
    assert (board.topics_count, board.posts_count) == (1, 2)
    assert topic.posts_count == 2 and board.last_topic_id == topic.id


@pytest.mark.parametrize(
    ("title", "body", "field"),
    [
        ("ab", "fine body", "title"),
        ("x" * 201, "fine body", "title"),
        ("Fine title", "", "body"),
        ("Fine title", "x" * 50_001, "body"),
        ("Fine title", "nul \x00 byte", "body"),
        (5, "fine body", "title"),
        ("Fine title", None, "body"),
    ],
)
def test_bad_topic_input_changes_nothing(db, title, body, field):
    board = f.make_board()
    with pytest.raises(Invalid) as caught:
        topics.create_topic(f.actor(f.make_user()), board, title=title, body=body)
    assert field in caught.value.fields
    db.session.rollback()
    db.session.refresh(board)
    assert board.topics_count == 0


def test_guest_cannot_start_topic(db):
    with pytest.raises(NotLoggedIn):
        topics.create_topic(f.actor(None, guests_read=True), f.make_board(), title="Hi!", body="x")


def test_reply_to_post_in_same_topic(db):
    topic = f.make_topic()
    first = f.make_post(topic)
    reply = f.make_post(topic, reply_to=first)
    assert reply.reply_to_id == first.id and reply.number == 3


def test_reply_to_post_in_other_topic_is_invalid(db):
    other = f.make_post()
    with pytest.raises(Invalid):
        posts.reply_to_topic(
            f.actor(f.make_user()), f.make_topic(), body="hello", reply_to=other.id
        )


def test_reply_to_missing_post_is_not_found(db):
    with pytest.raises(NotFound):
        posts.reply_to_topic(f.actor(f.make_user()), f.make_topic(), body="hi", reply_to=99999)


def test_reply_denied_when_topic_locked(db):
    topic = f.make_topic()
    topic.locked = True
    db.session.commit()
    with pytest.raises(Denied) as caught:
        posts.reply_to_topic(f.actor(f.make_user()), topic, body="hello")
    assert caught.value.code == "locked"


def test_edit_keeps_revision(db):
    post = f.make_post(body="first version")
    assert posts.edit_post(f.actor(post.author), post, body="second version")
    db.session.commit()
    assert post.edited_at is not None and post.revisions_count == 1
    history = posts.revisions(f.actor(f.make_user()), post)
    assert [r.body for r in history] == ["first version"]
    assert "second version" in post.html


def test_edit_with_same_text_keeps_no_revision(db):
    post = f.make_post(body="same")
    assert not posts.edit_post(f.actor(post.author), post, body="same")
    assert post.revisions_count == 0


def test_other_member_cannot_edit(db):
    post = f.make_post()
    with pytest.raises(Denied):
        posts.edit_post(f.actor(f.make_user()), post, body="mine now")


def test_soft_delete_keeps_text_and_counts_down(db):
    post = f.make_post(body="regrettable")
    assert posts.delete_post(f.actor(post.author), post)
    db.session.commit()
    assert post.is_deleted and post.body == "regrettable"
    assert post.topic.posts_count == 1
    assert not posts.delete_post(f.actor(post.author), post)


def test_post_html_is_sanitised(db):
    post = f.make_post(body="<script>alert(1)</script> [x](javascript:alert(1))")
    assert "<script" not in post.html and "javascript:" not in post.html


def test_deleting_a_deleted_post_is_still_refused_to_others(db):
    post = f.make_post()
    posts.delete_post(f.actor(post.author), post)
    db.session.commit()
    with pytest.raises(Denied):
        posts.delete_post(f.actor(f.make_user()), post)
