"""Several worker processes writing at once lose nothing (BEGIN IMMEDIATE on SQLite)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select

from forum.models.posts import Post
from tests import factories as f

WORKERS = 4
REPLIES = 15


def _reply_many(url: str, instance: str, topic_id: int, user_id: int) -> int:
    from forum.database import write_intent
    from forum.extensions import db
    from forum.models.topics import Topic
    from forum.models.users import User
    from forum.policy import actor_for
    from forum.services.posts import reply_to_topic
    from tests.conftest import make_test_app

    app = make_test_app(url, Path(instance))
    done = 0
    with app.app_context():
        for n in range(REPLIES):
            # What a POST request does: read, then write, in one immediate transaction.
            write_intent.set(True)
            topic = db.session.get(Topic, topic_id)
            user = db.session.get(User, user_id)
            reply_to_topic(actor_for(user, guests_read=False), topic, body=f"reply {n}")
            db.session.commit()
            done += 1
        db.engine.dispose()
    return done


def test_concurrent_replies_from_four_processes_all_land(app, db, tmp_path):
    topic = f.make_topic()
    users = [f.make_user() for _ in range(WORKERS)]
    url = db.engine.url.render_as_string(hide_password=False)
    topic_id, user_ids = topic.id, [u.id for u in users]
    # Outside a request every transaction takes the write lock; release ours first.
    db.session.close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(
            _reply_many,
            [(url, str(tmp_path / "instance"), topic_id, uid) for uid in user_ids],
        )
    assert results == [REPLIES] * WORKERS
    db.session.expire_all()
    count = db.session.scalar(select(func.count()).where(Post.topic_id == topic_id))
    assert count == 1 + WORKERS * REPLIES
    numbers = db.session.scalars(select(Post.number).where(Post.topic_id == topic_id)).all()
    assert sorted(numbers) == list(range(1, 2 + WORKERS * REPLIES))
    topic = db.session.get(type(topic), topic_id)
    assert topic.posts_count == 1 + WORKERS * REPLIES


EDITS_EACH = 5


def _edit_many(url: str, instance: str, post_id: int, user_id: int, worker: int) -> int:
    from forum.database import write_intent
    from forum.errors import RateLimited
    from forum.extensions import db
    from forum.models.posts import Post
    from forum.models.users import User
    from forum.policy import actor_for
    from forum.services.posts import edit_post
    from tests.conftest import make_test_app

    app = make_test_app(url, Path(instance), FORUM_RATELIMITS="on")
    done = 0
    # A request under way: the speed limits pace requests.
    with app.app_context(), app.test_request_context():
        for n in range(EDITS_EACH):
            write_intent.set(True)
            post = db.session.get(Post, post_id)
            user = db.session.get(User, user_id)
            try:
                edit_post(actor_for(user, guests_read=False), post, body=f"edit {worker}.{n}")
                db.session.commit()
                done += 1
            except RateLimited:
                db.session.rollback()
        db.engine.dispose()
    return done


def test_parallel_edits_by_one_member_stop_at_the_hourly_limit(app, db, tmp_path):
    # Issue 10: four parallel edits by a level-0 account. Each checks and records its
    # edit under a lock on the member, so parallel requests cannot all pass the count.
    member = f.make_user(trust_level=0)
    post = f.make_post(author=member, body="The first text")
    url = db.engine.url.render_as_string(hide_password=False)
    post_id, member_id = post.id, member.id
    db.session.close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(WORKERS) as pool:
        results = pool.starmap(
            _edit_many,
            [(url, str(tmp_path / "instance"), post_id, member_id, w) for w in range(WORKERS)],
        )
    # Level 0: 10 edits an hour (forum.services.settings.EDITS_PER_HOUR).
    assert sum(results) == 10
