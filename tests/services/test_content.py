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


# --- edit history: grace period, cap, redaction (issue 10) ---------------------------


def _history(db, post) -> list[tuple[int, str]]:
    from forum.models.posts import PostRevision

    rows = db.session.scalars(
        db.select(PostRevision)
        .where(PostRevision.post_id == post.id)
        .order_by(PostRevision.number.desc())
    )
    return [(r.number, r.body) for r in rows]


def _age_revisions(db, post, minutes: int) -> None:
    from datetime import timedelta

    from forum.models.base import utcnow
    from forum.models.posts import PostRevision

    db.session.execute(
        db.update(PostRevision)
        .where(PostRevision.post_id == post.id)
        .values(replaced_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def test_authors_quick_edits_replace_the_last_revision_instead_of_stacking(db):
    post = f.make_post(body="v0 original")
    author = f.actor(post.author)
    for text in ("v1 typo", "v2 typo fixed", "v3 final"):
        assert posts.edit_post(author, post, body=text)
        db.session.commit()
    assert _history(db, post) == [(1, "v0 original")]
    assert post.body == "v3 final" and post.revisions_count == 1


def test_an_edit_after_the_grace_period_keeps_a_new_revision(db):
    post = f.make_post(body="v0 original")
    author = f.actor(post.author)
    posts.edit_post(author, post, body="v1")
    db.session.commit()
    _age_revisions(db, post, minutes=6)
    posts.edit_post(author, post, body="v2")
    db.session.commit()
    assert _history(db, post) == [(2, "v1"), (1, "v0 original")]


def test_a_moderators_edit_is_never_folded_into_the_authors(db):
    moderator = f.make_user(moderator=True)
    post = f.make_post(body="v0 original")
    posts.edit_post(f.actor(post.author), post, body="v1 by the author")
    db.session.commit()
    posts.edit_post(f.actor(moderator), post, body="v2 by a moderator")
    db.session.commit()
    posts.edit_post(f.actor(post.author), post, body="v3 by the author again")
    db.session.commit()
    assert _history(db, post) == [
        (3, "v2 by a moderator"),
        (2, "v1 by the author"),
        (1, "v0 original"),
    ]


def test_at_most_twenty_revisions_are_kept_the_original_and_the_newest(db):
    post = f.make_post(body="version 0")
    author = f.actor(post.author)
    for n in range(1, 26):
        _age_revisions(db, post, minutes=6)
        posts.edit_post(author, post, body=f"version {n}")
        db.session.commit()
    history = _history(db, post)
    assert len(history) == posts.MAX_REVISIONS == 20
    assert history[-1] == (1, "version 0")
    assert [number for number, _ in history[:-1]] == list(range(25, 6, -1))
    assert history[0] == (25, "version 24")


def _edited_out(db):
    post = f.make_post(body="Hi, I am Jane Realname from Leeds.")
    posts.edit_post(f.actor(post.author), post, body="Hi, I am jr from the north.")
    db.session.commit()
    return post


def test_author_redacts_a_revision_and_its_text_is_gone(db):
    from forum.models.modlog import ModerationLog

    post = _edited_out(db)
    revision, changed = posts.redact_revision(f.actor(post.author), post, 1)
    db.session.commit()
    assert changed and revision.is_redacted
    assert (revision.body, revision.html, revision.redacted_as) == ("", "", "author")
    assert revision.redacted_by_id == post.author_id
    assert db.session.scalar(db.select(db.func.count()).select_from(ModerationLog)) == 0
    again, changed = posts.redact_revision(f.actor(post.author), post, 1)
    assert not changed and again.redacted_at == revision.redacted_at


def test_moderator_redaction_is_logged_with_the_reason_never_the_text(db):
    from forum.models.modlog import ModerationLog

    moderator = f.make_user(moderator=True)
    post = _edited_out(db)
    revision, _ = posts.redact_revision(
        f.actor(moderator), post, 1, reason="A real name, at the author's request"
    )
    db.session.commit()
    assert revision.redacted_as == "moderator"
    entry = db.session.scalar(db.select(ModerationLog))
    assert (entry.action, entry.target_type, entry.target_id) == (
        "revision_redacted",
        "post",
        post.id,
    )
    assert entry.reason == "A real name, at the author's request"
    assert "Realname" not in entry.data and "Realname" not in entry.reason


def test_readers_cannot_redact_and_outsiders_find_nothing(db):
    post = _edited_out(db)
    with pytest.raises(Denied):
        posts.redact_revision(f.actor(f.make_user()), post, 1)
    with pytest.raises(NotLoggedIn):
        posts.redact_revision(f.actor(None, guests_read=True), post, 1)
    secret = f.make_group(secret=True)
    owner = f.owner_of(secret)
    hidden = f.make_post(f.make_topic(f.make_board(group=secret), owner), owner)
    with pytest.raises(NotFound):
        posts.redact_revision(f.actor(f.make_user()), hidden, 1)
    with pytest.raises(NotFound):
        posts.redact_revision(f.actor(post.author), post, 2)


def test_a_redacted_name_is_nowhere_in_the_database(db):
    """Every text column of every table, after the author edited the name out and
    removed the version that held it (revisions are never indexed for search)."""
    from sqlalchemy import String
    from sqlalchemy import Text

    post = _edited_out(db)
    moderator = f.make_user(moderator=True)
    posts.redact_revision(f.actor(moderator), post, 1, reason="Real name")
    db.session.commit()
    found = []
    for table in db.metadata.sorted_tables:
        columns = [
            c
            for c in table.columns
            if isinstance(c.type, String | Text) and not getattr(c.type, "enums", None)
        ]
        for column in columns:
            hits = db.session.scalar(
                db.select(db.func.count()).select_from(table).where(column.contains("Realname"))
            )
            if hits:
                found.append(f"{table.name}.{column.name}")
    assert found == []


# --- direction controls in names and titles (issue 10) ------------------------------


@pytest.mark.parametrize("char", ["\u202e", "\u202a", "\u2066", "\u2069"])
def test_titles_with_direction_controls_are_refused(db, char):
    with pytest.raises(Invalid) as caught:
        topics.create_topic(
            f.actor(f.make_user()), f.make_board(), title=f"Help {char}gnp.exe", body="Hi"
        )
    assert "invisible direction control" in caught.value.fields["title"]


def test_board_and_group_names_with_direction_controls_are_refused(db):
    from forum.policy import OPERATOR
    from forum.services import groups

    with pytest.raises(Invalid) as caught:
        boards.create_board(f.actor(f.make_admin()), name="News\u202e")
    assert "name" in caught.value.fields
    with pytest.raises(Invalid) as caught:
        groups.create_group(
            OPERATOR, name="\u2067Circle", slug="circle", visibility="public", owner=None
        )
    assert "name" in caught.value.fields


def test_right_to_left_titles_and_direction_marks_are_welcome(db):
    topic, _ = topics.create_topic(
        f.actor(f.make_user()), f.make_board(), title="مرحبا \u200fشكرا", body="שלום"
    )
    assert topic.title == "مرحبا \u200fشكرا"


def test_a_body_with_an_override_is_kept_as_typed_and_rendered_without_it(db):
    post = f.make_post(body="see \u202egnp.exe")
    assert post.body == "see \u202egnp.exe"
    assert "\u202e" not in post.html


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("| a |\n|---|\n" + "| x |\n" * 201, "Tables can have at most 200 rows; this one has 201."),
        ("> " * 12 + "deep", "Lists and quotes can be nested at most 10 levels deep."),
    ],
)
def test_a_post_over_the_rendering_limits_is_invalid_and_writes_nothing(db, body, message):
    topic = f.make_topic()
    with pytest.raises(Invalid) as caught:
        posts.reply_to_topic(f.actor(f.make_user()), topic, body=body)
    assert caught.value.fields["body"].startswith(message)
    db.session.rollback()
    assert topic.posts_count == 1
