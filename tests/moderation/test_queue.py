"""The review queue: what waits for a moderator, in their scope, oldest first."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from forum.extensions import db as _db
from forum.models.base import utcnow
from forum.models.posts import HiddenKind
from forum.moderation import actions
from forum.moderation import appeals
from forum.moderation import reports
from forum.moderation import sanctions
from tests import factories as f


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
            seen.append(statement)

    event.listen(_db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(_db.engine, "before_cursor_execute", listen)


def _kinds(actor) -> list[str]:
    return [item.kind for item in reports.queue(actor).items]


def test_queue_shows_an_open_case_with_reasons_and_levels_never_names(db):
    mod = f.actor(f.make_user(moderator=True))
    post = f.make_post(f.make_topic(), f.make_user(trust_level=1))
    first, second = f.make_user(trust_level=1), f.make_user(trust_level=2)
    f.make_report(post, first, reason="abuse", note="Insult.")
    f.make_report(post, second, reason="other")
    [item] = reports.queue(mod).items
    assert (item.kind, item.post, item.topic, item.board) == (
        "report",
        post,
        post.topic,
        post.topic.board,
    )
    assert item.reasons == [("abuse", "Insult.", 1), ("other", "", 2)]
    assert not hasattr(item, "reporter_names")
    assert item.score == 5 and item.member == post.author


def test_queue_gathers_every_kind_oldest_first(db):
    moderator, other_mod = f.make_user(moderator=True), f.make_user(moderator=True)
    mod = f.actor(moderator)
    topic = f.make_topic()
    reported = f.make_post(topic, f.make_user(trust_level=1))
    f.make_report(reported, f.make_user(trust_level=1), reason="other")
    review = f.make_post(topic, f.make_user(trust_level=1))
    actions.hide_post(f.actor(other_mod), review, reason="Rude.")
    review.review_requested_at = utcnow()
    waiting = f.make_post(topic, f.make_user(trust_level=0))
    waiting.hidden_at, waiting.hidden_kind = utcnow(), HiddenKind.APPROVAL
    sanctions.suspend_member(f.actor(other_mod), f.make_user(), group=None, days=30, reason="Long.")
    appellant = f.make_user(trust_level=1)
    appealed = f.make_post(topic, appellant)
    actions.hide_post(f.actor(other_mod), appealed, reason="Off.")
    appeals.appeal(f.actor(appellant), target_type="post", target_id=appealed.id, text="Hm.")
    _db.session.commit()
    assert _kinds(mod) == ["report", "review", "approval", "sanction", "appeal"]
    # The moderator who acted does not get their own sanction to confirm or appeal to decide.
    assert _kinds(f.actor(other_mod)) == ["report", "review", "approval"]


def test_queue_shows_automatic_silences_until_reviewed(db):
    mod = f.actor(f.make_user(moderator=True))
    sanction = sanctions.auto_silence(f.make_user(), None, report=None)
    _db.session.commit()
    assert _kinds(mod) == ["sanction"]
    sanctions.confirm_sanction(mod, sanction)
    _db.session.commit()
    assert _kinds(mod) == []


def test_queue_leaves_out_other_scopes_and_own_posts(db):
    group_mod, author = f.make_user(), f.make_user(trust_level=1)
    group = f.make_group(moderators=(group_mod,), members=(author,))
    f.make_report(f.make_post(f.make_topic(), author), f.make_user(trust_level=1))
    own = f.make_post(f.make_topic(f.make_board(group=group), group_mod), group_mod)
    own.hidden_at, own.hidden_kind = utcnow(), HiddenKind.APPROVAL
    _db.session.commit()
    assert _kinds(f.actor(group_mod)) == []


def test_queue_shows_the_authors_history_in_that_scope(db):
    mod = f.make_user(moderator=True)
    author = f.make_user(trust_level=1)
    topic = f.make_topic()
    reported = f.make_post(topic, author)
    for _ in range(2):
        actions.hide_post(f.actor(mod), f.make_post(topic, author), reason="Rude.")
    sanctions.silence_member(f.actor(mod), author, group=None, days=1, reason="Rude.")
    f.make_report(reported, f.make_user(trust_level=1), reason="abuse")
    [item] = reports.queue(f.actor(f.make_user(moderator=True))).items
    assert (item.hidden_posts, item.sanctions) == (2, 1)


def test_queue_page_takes_a_fixed_number_of_queries(db):
    mod = f.actor(f.make_user(moderator=True))
    topic = f.make_topic()
    reporters = [f.make_user(trust_level=1) for _ in range(2)]

    def measure() -> int:
        _db.session.expire_all()
        with _statements() as seen:
            reports.queue(mod)
        return len(seen)

    f.make_report(f.make_post(topic, f.make_user(trust_level=1)), reporters[0])
    few = measure()
    for _ in range(8):
        post = f.make_post(topic, f.make_user(trust_level=1))
        for reporter in reporters:
            f.make_report(post, reporter, reason="other")
    assert len(reports.queue(mod).items) == 9
    assert measure() == few


def test_queue_item_for_one_report(db):
    post = f.make_post(f.make_topic(), f.make_user(trust_level=1))
    report = f.make_report(post, f.make_user(trust_level=1), reason="illegal")
    item = reports.queue_item(f.actor(f.make_user(moderator=True)), report)
    assert item.obj == report and item.reasons[0][0] == "illegal"
