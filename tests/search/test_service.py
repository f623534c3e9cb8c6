"""`search_posts` on whichever backend the fixtures select: ranking, the query language,
filters, secrecy, bad input, and the index following every change.

Nothing here knows which engine answers; tests/search/conftest.py runs every test on
each working (database, search backend) pair. The factories commit directly, so the
tests drain the queue themselves, as the app does after each request's commit.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from flask import Flask

from forum.errors import Invalid
from forum.extensions import db
from forum.models.outbox import OutboxRow
from forum.models.posts import Post
from forum.models.users import User
from forum.moderation import actions
from forum.policy import Actor
from forum.search import postgres_backend
from forum.search import service
from forum.search import whoosh_backend
from forum.search.service import SearchPage
from forum.services import boards as board_service
from forum.services import groups as group_service
from forum.services import posts as post_service
from forum.services import topics as topic_service
from tests import factories

SECRET_MARKER = "zanzibarquokka"


def index(app: Flask) -> None:
    """Feed the index what the factories committed."""
    service.drain_all(app)


def find(who: User | Actor | None, q: str, **filters: object) -> SearchPage:
    """Search as a member (or an actor, or a guest who may read public boards)."""
    if isinstance(who, Actor):
        actor = who
    else:
        actor = factories.actor(who, guests_read=who is None)
    return service.search_posts(actor, q=q, **filters)


def ids(page: SearchPage) -> list[int]:
    return [item.post.id for item in page.items]


def first_post(topic_id: int) -> Post:
    post = db.session.scalar(
        db.select(Post).where(Post.topic_id == topic_id).order_by(Post.number).limit(1)
    )
    assert post is not None
    return post


@pytest.fixture
def site(app: Flask) -> dict[str, object]:
    """A public board about gardening, a secret group's board, and the people."""
    factories.set_settings(guest_access="public_boards")
    reader = factories.make_user("reader", trust_level=1)
    grower = factories.make_user("grower", trust_level=1)
    insider = factories.make_user("insider", trust_level=1)
    moderator = factories.make_user("modmo", moderator=True, trust_level=2)
    board = factories.make_board("Vegetables")
    flowers = factories.make_board("Flowers")
    topic = factories.make_topic(
        board, grower, title="Tomato blight", body="My tomatoes have blight on every leaf."
    )
    reply = factories.make_post(topic, reader, body="Copper spray helped my tomatoes.")
    roses = factories.make_topic(
        flowers, reader, title="Roses in spring", body="Prune the roses before the frost."
    )
    group = factories.make_group("Hideaway", secret=True, members=(insider,))
    hideout = factories.make_board("Hideout", group=group)
    secret = factories.make_topic(
        hideout,
        insider,
        title="Between us",
        body=f"The {SECRET_MARKER} plan: tomatoes on the roof.",
    )
    index(app)
    return {
        "reader": reader,
        "grower": grower,
        "insider": insider,
        "moderator": moderator,
        "board": board,
        "flowers": flowers,
        "topic": topic,
        "reply": reply,
        "roses": roses,
        "group": group,
        "hideout": hideout,
        "secret": secret,
    }


# --- finding ------------------------------------------------------------------------


def test_finds_posts_with_their_place_and_a_highlighted_snippet(site):
    page = find(site["reader"], "copper")
    assert page.total == 1
    assert ids(page) == [site["reply"].id]
    item = page.items[0]
    assert item.topic_title == "Tomato blight"
    assert item.board.name == "Vegetables"
    assert item.author_name == "reader"
    assert item.created_at == site["reply"].created_at
    assert "<mark>Copper</mark>" in str(item.snippet)
    assert page.query == "copper"


def test_relevance_ranks_first_and_equal_scores_newest_first(app, site):
    board = site["board"]
    author = site["grower"]
    # Same text, so the same score: the newer one must come first.
    older = factories.make_topic(board, author, title="Alpha", body="lettuce lettuce seedlings")
    newer = factories.make_topic(board, author, title="Gamma", body="lettuce lettuce seedlings")
    weak = factories.make_topic(
        board, author, title="Beta", body="seedlings " + "and other words " * 20 + "lettuce"
    )
    first_post(older.id).created_at = datetime.now(UTC) - timedelta(days=3)
    db.session.commit()
    index(app)
    page = find(site["reader"], "lettuce seedlings")
    assert ids(page) == [first_post(newer.id).id, first_post(older.id).id, first_post(weak.id).id]


def test_stemming_matches_other_forms_of_a_word(site):
    assert ids(find(site["reader"], "tomato")) == ids(find(site["reader"], "tomatoes"))
    assert site["reply"].id in ids(find(site["reader"], "helping"))


def test_phrases_match_only_words_in_that_order(site):
    assert ids(find(site["reader"], '"copper spray"')) == [site["reply"].id]
    assert find(site["reader"], '"spray copper"').total == 0


def test_exclusions_drop_posts_with_the_word(site):
    both = ids(find(site["reader"], "tomatoes"))
    assert site["reply"].id in both
    without = ids(find(site["reader"], "tomatoes -copper"))
    assert site["reply"].id not in without
    assert without


def test_usernames_titles_and_board_names_are_searchable(site):
    assert site["reply"].id in ids(find(site["reader"], "reader"))
    roses_post = first_post(site["roses"].id).id
    assert roses_post in ids(find(site["reader"], "flowers"))
    assert first_post(site["topic"].id).id in ids(find(site["reader"], "blight"))
    # The topic's title is on every post of the topic.
    assert site["reply"].id in ids(find(site["reader"], "blight"))


# --- filters ---------------------------------------------------------------------------


def test_board_filter_includes_sub_boards_and_ignores_unreadable_ones(app, site):
    sub = factories.make_board("Tomatoes only", parent=site["board"])
    inside = factories.make_topic(sub, site["grower"], title="Staking", body="Tomatoes need stakes")
    index(app)
    found = ids(find(site["reader"], "tomatoes", board=site["board"].id))
    assert first_post(inside.id).id in found
    assert first_post(site["roses"].id).id not in found
    assert find(site["reader"], "roses", board=str(site["board"].id)).total == 0
    # A board the reader may not see: the same empty page as no match, never NotFound.
    assert find(site["reader"], "tomatoes", board=site["hideout"].id).total == 0
    assert find(site["reader"], "tomatoes", board="not-a-number").total == 0


def test_author_filter_by_username(site):
    assert ids(find(site["reader"], "tomatoes", author="reader")) == [site["reply"].id]
    assert ids(find(site["reader"], "tomatoes", author="READER")) == [site["reply"].id]
    assert find(site["reader"], "tomatoes", author="nobody-here").total == 0
    # Someone who only writes in a secret group: nothing, as for a name nobody has.
    assert find(site["reader"], "tomatoes", author="insider").total == 0


def test_topic_filter(site):
    found = ids(find(site["reader"], "tomatoes", topic=site["topic"].id))
    assert set(found) == {first_post(site["topic"].id).id, site["reply"].id}
    assert find(site["reader"], "tomatoes", topic=site["secret"].id).total == 0
    assert find(site["reader"], "tomatoes", topic=10**9).total == 0


def test_date_range_filter_is_inclusive_by_day(app, site):
    post = site["reply"]
    post.created_at = datetime(2024, 3, 15, 23, 30, tzinfo=UTC)
    db.session.commit()
    db.session.add(OutboxRow(kind="search", subject_id=post.id))
    db.session.commit()
    index(app)
    assert ids(find(site["reader"], "copper", since="2024-03-15", until="2024-03-15")) == [post.id]
    assert find(site["reader"], "copper", since="2024-03-16").total == 0
    assert find(site["reader"], "copper", until="2024-03-14").total == 0


@pytest.mark.parametrize(
    "bad", ["15/03/2024", "2024-3-1", "2024-02-30", "yesterday", "2024-03-15x"]
)
def test_malformed_dates_are_invalid(site, bad):
    with pytest.raises(Invalid) as caught:
        find(site["reader"], "copper", since=bad)
    assert "since" in caught.value.fields


@pytest.mark.parametrize("field", ["since", "until"])
@pytest.mark.parametrize("day", ["9999-12-31", "3000-01-01", "1969-12-31", "0001-01-01"])
def test_days_outside_the_range_are_invalid_not_an_overflow(site, field, day):
    with pytest.raises(Invalid) as caught:
        find(site["reader"], "copper", **{field: day})
    assert caught.value.fields[field] == "Choose a day between 1970-01-01 and 2999-12-31."


def test_days_at_the_ends_of_the_range_search(site):
    assert find(site["reader"], "copper", since="1970-01-01", until="2999-12-31").total >= 1


def test_end_before_start_is_invalid(site):
    with pytest.raises(Invalid) as caught:
        find(site["reader"], "copper", since="2024-03-15", until="2024-03-01")
    assert "until" in caught.value.fields


def test_mine_restricts_to_the_readers_groups(app, site):
    open_group = factories.make_group("Allotments", members=(site["reader"],))
    plot = factories.make_board("Plots", group=open_group)
    mine = factories.make_topic(plot, site["reader"], title="Plot 9", body="tomatoes on plot nine")
    index(app)
    assert ids(find(site["reader"], "tomatoes", mine=True)) == [first_post(mine.id).id]
    assert find(site["grower"], "tomatoes", mine=True).total == 0
    assert find(None, "tomatoes", mine=True).total == 0


# --- secrecy ---------------------------------------------------------------------------


def test_a_secret_groups_posts_are_found_by_its_members_only(site):
    secret_post = first_post(site["secret"].id).id
    assert ids(find(site["insider"], SECRET_MARKER)) == [secret_post]
    admin = factories.make_admin("boss")
    for outsider in (site["reader"], site["moderator"], admin, None):
        page = find(outsider, SECRET_MARKER)
        assert page.total == 0 and page.items == [] and page.suggestion is None
    # Totals over shared words count only what the reader may see.
    assert find(site["insider"], "roof").total == 1
    assert find(site["reader"], "roof").total == 0


def test_a_removed_member_loses_the_groups_posts_at_once(site):
    insider = site["insider"]
    group = site["group"]
    assert find(insider, SECRET_MARKER).total == 1
    owner = factories.owner_of(group)
    group_service.remove_member(factories.actor(owner), group, insider.username)
    db.session.commit()
    db.session.refresh(insider)
    assert find(insider, SECRET_MARKER).total == 0


def test_hidden_deleted_and_pending_posts_only_for_moderators_in_scope(app, site):
    moderator = factories.actor(site["moderator"])
    hidden = factories.make_post(site["topic"], site["grower"], body="hidden hollyhock text")
    deleted = factories.make_post(site["topic"], site["grower"], body="deleted delphinium text")
    actions.hide_post(moderator, hidden, reason="off topic")
    actions.delete_post(moderator, deleted, reason="spam")
    db.session.commit()
    # A secret group holding new members' first posts: pending for its moderators only.
    group = site["group"]
    group.approve_first_posts = 1
    db.session.commit()
    newcomer = factories.make_newcomer(group)
    pending = post_service.reply_to_topic(
        factories.actor(newcomer), site["secret"], body="pending peony text"
    )
    db.session.commit()
    assert pending.hidden_kind == "approval"
    index(app)
    for word in ("hollyhock", "delphinium"):
        assert find(site["reader"], word).total == 0
        assert find(site["grower"], word).total == 0  # not even the author
        assert find(None, word).total == 0
        assert find(site["moderator"], word).total == 1
    owner = factories.owner_of(group)
    assert find(site["insider"], "peony").total == 0
    assert find(newcomer, "peony").total == 0
    # Site moderators do not moderate a secret group; its owner does.
    assert find(site["moderator"], "peony").total == 0
    assert ids(find(owner, "peony")) == [pending.id]
    # Totals never count what the reader may not see.
    assert find(site["reader"], "text").total == 0
    assert find(site["moderator"], "text").total == 2


def test_snippets_come_from_the_posts_own_text(app, site):
    factories.make_post(site["secret"], site["insider"], body=f"more {SECRET_MARKER} and beans")
    factories.make_post(site["topic"], site["reader"], body="beans are easy")
    index(app)
    page = find(site["insider"], "beans")
    assert page.total == 2
    for item in page.items:
        text = str(item.snippet).replace("<mark>", "").replace("</mark>", "")
        assert text.replace("&#39;", "'") in item.post.body or "beans" in text
        if item.post.topic_id == site["topic"].id:
            assert SECRET_MARKER not in str(item.snippet)


def test_snippets_escape_html_in_posts(app, site):
    post = factories.make_post(
        site["topic"], site["reader"], body="Use `<script>alert(1)</script>` & squash"
    )
    index(app)
    page = find(site["reader"], "squash")
    assert ids(page) == [post.id]
    snippet = str(page.items[0].snippet)
    assert "<script>" not in snippet
    assert "&lt;script&gt;" in snippet
    assert "<mark>squash</mark>" in snippet


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["", "   ", "\x00", '""', "\t\n"])
def test_an_empty_query_asks_for_something(site, q):
    with pytest.raises(Invalid) as caught:
        find(site["reader"], q)
    assert caught.value.fields == {"q": "Type something to search for."}


def test_a_long_query_is_refused_with_a_message(site):
    with pytest.raises(Invalid) as caught:
        find(site["reader"], "tomato " * 300)
    assert caught.value.fields == {"q": "Search for at most 200 characters."}


@pytest.mark.parametrize(
    "q",
    [
        "title:(",
        "*",
        "tom*",
        "AND OR NOT",
        "tomatoes OR",
        "~",
        "tomatoes~2",
        "^",
        "tomatoes^3",
        '"unbalanced quote',
        'tomatoes "',
        '"""',
        "a\x00b tomatoes",
        "(((",
        "[1 TO 5]",
        "!:*&|() <-> \\ '",
        "-",
        "--tomatoes",
        "-tomatoes",
        "{}",
        "body:tomatoes",
        "tomatoes & copper | x",
        "'; DROP TABLE posts; --",
        "\u202etomatoes",
        "🍅",
    ],
)
def test_syntax_characters_never_raise(site, q):
    try:
        page = find(site["reader"], q)
    except Invalid as exc:  # nothing left to search for: a message, not an error
        assert exc.fields == {"q": "Type something to search for."}
        return
    assert page.total >= 0
    assert len(page.items) <= page.total


def test_unbalanced_quotes_are_closed(site):
    page = find(site["reader"], '"copper spray')
    assert page.query == '"copper spray"'
    assert ids(page) == [site["reply"].id]


def test_nul_bytes_are_removed(site):
    assert ids(find(site["reader"], "cop\x00per")) == [site["reply"].id]


@pytest.mark.parametrize("page", [-1, 0, "-1", "x", None, ""])
def test_pages_below_one_mean_the_first(site, page):
    found = find(site["reader"], "copper", page=page)
    assert found.page == 1
    assert ids(found) == [site["reply"].id]


@pytest.mark.parametrize("page", [2, 10**9, "1000000000", 10**30])
def test_pages_beyond_the_last_are_empty(site, page):
    found = find(site["reader"], "copper", page=page)
    assert found.items == []
    assert found.pages == 1


def test_paging_splits_results(app, site):
    for n in range(5):
        factories.make_post(site["topic"], site["grower"], body=f"parsnip note {n}")
    index(app)
    first = find(site["reader"], "parsnip", per_page=2)
    second = find(site["reader"], "parsnip", per_page=2, page=2)
    third = find(site["reader"], "parsnip", per_page=2, page=3)
    assert (first.total, first.pages) == (5, 3)
    assert len(first.items) == 2 and len(second.items) == 2 and len(third.items) == 1
    assert len(set(ids(first) + ids(second) + ids(third))) == 5
    assert first.has_next and not third.has_next and second.has_prev


def test_a_search_matching_more_than_the_limit_answers_from_the_newest(
    app, site, client, login_as, monkeypatch
):
    """Past MATCH_LIMIT matches the reader may find: the newest MATCH_LIMIT, ranked;
    `total` is the limit and says it is not exact (page, API). Secret posts neither
    count nor take a place."""
    monkeypatch.setattr(whoosh_backend, "MATCH_LIMIT", 4)
    monkeypatch.setattr(postgres_backend, "MATCH_LIMIT", 4)
    monkeypatch.setattr(postgres_backend, "FLOOR_SPAN", 2)  # widen the id range twice
    # Older posts say it more often: ranking every match would put them first.
    posts = [
        factories.make_post(site["topic"], site["grower"], body="parsnip " * (8 - n) + "soup")
        for n in range(7)
    ]
    for _ in range(3):
        factories.make_post(site["secret"], site["insider"], body="parsnip parsnip")
    index(app)
    first = find(site["reader"], "parsnip", per_page=3)
    second = find(site["reader"], "parsnip", per_page=3, page=2)
    assert (first.total, first.total_exact, first.pages) == (4, False, 2)
    assert ids(first) + ids(second) == [post.id for post in posts[3:]]
    assert find(site["reader"], "copper").total_exact
    body = login_as(site["reader"]).get("/api/v1/search?q=parsnip").get_json()
    assert (body["total"], body["total_exact"], len(body["results"])) == (4, False, 4)
    html = client.get("/search?q=parsnip").text
    assert "More than 4 results" in html and "Showing the newest 4." in html


# --- the index follows every change -------------------------------------------------


def test_new_posts_and_topics_are_queued_and_drained(app, site):
    topic, _post = topic_service.create_topic(
        factories.actor(site["grower"]), site["board"], title="Garlic", body="Plant garlic now"
    )
    db.session.commit()
    assert find(site["reader"], "garlic").total == 0  # searching does not wait
    index(app)
    assert find(site["reader"], "garlic").total == 1
    assert db.session.scalar(db.select(db.func.count(OutboxRow.id))) == 0


def test_an_edit_replaces_the_old_text(app, site):
    post = site["reply"]
    post_service.edit_post(factories.actor(site["reader"]), post, body="Sulphur dust instead.")
    db.session.commit()
    index(app)
    assert find(site["reader"], "copper").total == 0
    assert ids(find(site["reader"], "sulphur")) == [post.id]


def test_an_edited_out_and_redacted_text_is_found_by_no_search(app, site):
    # Issue 10: revisions are never indexed; the post's document holds its current text.
    post = site["reply"]
    post_service.edit_post(factories.actor(site["reader"]), post, body="Sulphur dust instead.")
    db.session.commit()
    post_service.redact_revision(factories.actor(site["reader"]), post, 1)
    db.session.commit()
    index(app)
    for who in ("reader", "moderator", "grower"):
        assert find(site[who], "copper").total == 0


def test_hiding_and_unhiding_follow(app, site):
    moderator = factories.actor(site["moderator"])
    post = site["reply"]
    actions.hide_post(moderator, post, reason="check")
    db.session.commit()
    index(app)
    assert find(site["reader"], "copper").total == 0
    actions.unhide_post(moderator, post, reason="fine")
    db.session.commit()
    index(app)
    assert find(site["reader"], "copper").total == 1


def test_deleting_follows(app, site):
    post = site["reply"]
    post_service.delete_post(factories.actor(site["reader"]), post)
    db.session.commit()
    index(app)
    assert find(site["reader"], "copper").total == 0
    assert find(site["moderator"], "copper").total == 1


def test_moving_a_topic_into_a_secret_group_hides_it_from_outsiders(app, site):
    owner = factories.owner_of(site["group"])
    # The group's owner moderates the secret board; make them a site moderator too so
    # they moderate the source board.
    owner.is_moderator = True
    db.session.commit()
    actions.move_topic(
        factories.actor(owner),
        site["topic"],
        site["hideout"],
        reason="private now",
        confirm_group_change=True,
    )
    db.session.commit()
    index(app)
    assert find(site["reader"], "copper").total == 0
    assert ids(find(site["insider"], "copper")) == [site["reply"].id]
    assert ids(find(site["insider"], "copper", board=site["hideout"].id)) == [site["reply"].id]


def test_renaming_a_topic_or_board_reindexes_its_posts(app, site):
    topic = site["topic"]
    topic.title = "Courgette glut"
    db.session.commit()
    index(app)
    assert site["reply"].id in ids(find(site["reader"], "courgette"))
    admin = factories.make_admin("renamer")
    board_service.update_board(factories.actor(admin), site["flowers"], name="Perennials")
    db.session.commit()
    index(app)
    assert first_post(site["roses"].id).id in ids(find(site["reader"], "perennials"))


def test_queue_ids_are_never_reused(app, site):
    """A drain deletes the rows it read by id: a row queued meanwhile must never get the
    id of one just deleted (SQLite reused the highest id, and a post went unindexed)."""
    index(app)
    factories.make_post(site["topic"], site["grower"], body="first of two")
    first = db.session.scalar(db.select(db.func.max(OutboxRow.id)))
    index(app)
    assert db.session.scalar(db.select(db.func.count(OutboxRow.id))) == 0
    factories.make_post(site["topic"], site["grower"], body="second of two")
    assert db.session.scalar(db.select(db.func.max(OutboxRow.id))) > first


def test_a_request_drains_after_its_commit(app, site, login_as):
    client = login_as(site["grower"])
    response = client.post(
        f"/t/{site['topic'].id}/reply", data={"body": "Marigolds keep pests away."}
    )
    assert response.status_code in (302, 303), response.status_code
    assert find(site["reader"], "marigolds").total == 1
    assert db.session.scalar(db.select(db.func.count(OutboxRow.id))) == 0


def test_a_busy_index_never_fails_the_write(app, site, login_as, monkeypatch):
    from forum.search import IndexBusy

    backend = service.get_backend(app)

    def busy(*_args: object, **_kwargs: object) -> None:
        raise IndexBusy("held elsewhere")

    monkeypatch.setattr(backend, "write", busy)
    client = login_as(site["grower"])
    response = client.post(f"/t/{site['topic'].id}/reply", data={"body": "Nasturtiums too."})
    assert response.status_code in (302, 303)
    assert db.session.scalar(db.select(db.func.count(Post.id)).where(Post.body.like("Nast%"))) == 1
    # The row waits for a later drain.
    assert db.session.scalar(db.select(db.func.count(OutboxRow.id))) >= 1
    monkeypatch.undo()
    index(app)
    assert find(site["reader"], "nasturtiums").total == 1


def test_a_broken_index_never_fails_the_write(app, site, login_as, monkeypatch):
    backend = service.get_backend(app)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(backend, "write", broken)
    client = login_as(site["grower"])
    response = client.post(f"/t/{site['topic'].id}/reply", data={"body": "Chard grows fast."})
    assert response.status_code in (302, 303)
    monkeypatch.undo()
    index(app)
    assert find(site["reader"], "chard").total == 1


def test_reindex_rebuilds_from_the_database_and_empties_the_queue(app, site):
    factories.make_post(site["topic"], site["grower"], body="kohlrabi is odd")
    assert db.session.scalar(db.select(db.func.count(OutboxRow.id))) >= 1
    count = service.reindex(app)
    assert count == db.session.scalar(db.select(db.func.count(Post.id)))
    assert db.session.scalar(db.select(db.func.count(OutboxRow.id))) == 0
    assert find(site["reader"], "kohlrabi").total == 1
    assert find(site["insider"], SECRET_MARKER).total == 1
    assert find(site["reader"], SECRET_MARKER).total == 0


def test_search_language_setting_changes_stemming_after_reindex(app, site):
    factories.make_post(site["topic"], site["grower"], body="Les jardiniers plantent des tomates")
    factories.set_settings(search_language="french")
    service.reindex(app)
    assert find(site["reader"], "jardinier").total == 1


def test_search_language_must_be_supported(app):
    with pytest.raises(Invalid):
        factories.set_settings(search_language="klingon")


def test_the_queue_rows_go_with_group_scoped_moves_only_once(app, site):
    # Queue rows are plain ids: draining twice, or a post queued twice, is harmless.
    db.session.add_all([OutboxRow(kind="search", subject_id=site["reply"].id) for _ in range(3)])
    db.session.commit()
    index(app)
    index(app)
    assert find(site["reader"], "copper").total == 1


def test_group_with_no_boards_in_mine(app, site):
    # A member of a group without boards: "only my groups" finds nothing, no error.
    lonely = factories.make_user("lonely", trust_level=1)
    factories.make_group("Empty", members=(lonely,))
    assert find(lonely, "tomatoes", mine=True).total == 0
    assert site["group"].id not in factories.actor(lonely).group_ids
