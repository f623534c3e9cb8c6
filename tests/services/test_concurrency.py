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
