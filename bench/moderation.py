"""Moderation and trust benchmark: printed numbers for issue 4, run by hand.

Works on a copy of the `bench/fill.py` database (2,000 topics x 20 posts), adds members
with 100 days of synthetic activity, then measures, through the app's own services:

* `forum trust` (trust.recompute_all) over every member, and per member;
* reporting a post (reports.report_post, committed), p50/p95;
* the review queue (reports.queue, page 1 of 50) for a site moderator, p50/p95, and the
  /mod page through the app (HTML), p50/p95;
* recording a topic view (activity.record_topic_view) when it writes and when it does
  not (the common case: the member saw that page already today).

    .venv/bin/python bench/moderation.py                  # 5,000 members, 1,000 reports
    .venv/bin/python bench/moderation.py --members 20000
    .venv/bin/python bench/moderation.py --url postgresql+psycopg://postgres@127.0.0.1/forum_bench_mod
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import fill  # noqa: E402

from forum import create_app  # noqa: E402
from forum import policy  # noqa: E402
from forum.activity import record_topic_view  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.models.activity import PostLike  # noqa: E402
from forum.models.activity import TopicRead  # noqa: E402
from forum.models.activity import UserStats  # noqa: E402
from forum.models.activity import UserVisit  # noqa: E402
from forum.models.base import utcnow  # noqa: E402
from forum.models.moderation import Report  # noqa: E402
from forum.models.posts import Post  # noqa: E402
from forum.models.topics import Topic  # noqa: E402
from forum.models.users import User  # noqa: E402
from forum.moderation import reports  # noqa: E402
from forum.services import sessions  # noqa: E402
from forum.services import trust  # noqa: E402

OUT = HERE / "out"
SEED = 4


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def row(name: str, samples: list[float]) -> str:
    return (
        f"{name:<44} {statistics.median(samples):>9.2f} {percentile(samples, 0.95):>9.2f}"
        f" {len(samples):>7}"
    )


def add_members(rng: random.Random, count: int) -> list[int]:
    """Members with 100 days of activity: visits, topics read, likes given."""
    now = utcnow()
    taken = {name for (name,) in db.session.execute(select(User.username_key))}
    existing = len(taken)
    hashed = db.session.scalar(select(User.password_hash).limit(1))
    names = fill.make_usernames(rng, max(0, count - existing), taken)
    if names:
        db.session.execute(
            insert(User),
            [
                {
                    "username": name,
                    "username_key": name.lower(),
                    "password_hash": hashed,
                    "trust_level": 0,
                    "created_at": now - timedelta(days=rng.randint(1, 400)),
                }
                for name in names
            ],
        )
    user_ids = list(db.session.scalars(select(User.id).order_by(User.id)))
    topic_ids = list(db.session.scalars(select(Topic.id)))
    post_rows = db.session.execute(select(Post.id, Post.author_id)).all()
    today = now.astimezone(UTC).date()
    visits, reads, likes, stats = [], [], [], []
    for user_id in user_ids:
        # Zipf-like: a few members very active, most occasional.
        activity = min(100, int(rng.paretovariate(1.2) * 3))
        days = rng.sample(range(100), activity)
        visits += [
            {
                "user_id": user_id,
                "day": today - timedelta(days=d),
                "posts_read": rng.randint(5, 60),
                "seconds_read": rng.randint(60, 1800),
            }
            for d in days
        ]
        seen = rng.sample(topic_ids, min(len(topic_ids), activity * 3))
        reads += [
            {
                "user_id": user_id,
                "topic_id": t,
                "last_read_number": rng.randint(1, 20),
                "first_read_at": now - timedelta(days=rng.randint(0, 99)),
            }
            for t in seen
        ]
        for post_id, author_id in rng.sample(post_rows, min(len(post_rows), activity)):
            if author_id != user_id:
                likes.append(
                    {
                        "post_id": post_id,
                        "user_id": user_id,
                        "author_id": author_id,
                        "created_at": now - timedelta(days=rng.randint(0, 99)),
                    }
                )
        stats.append(
            {
                "user_id": user_id,
                "days_visited": activity,
                "topics_entered": len(seen),
                "posts_read": sum(v["posts_read"] for v in visits[-activity:] or [{}]),
                "seconds_read": activity * 600,
                "last_seen_at": now - timedelta(days=1),
            }
        )
    for table, rows in (
        (UserVisit, visits),
        (TopicRead, reads),
        (PostLike, likes),
        (UserStats, stats),
    ):
        for batch in fill.batches(rows):
            db.session.execute(insert(table), batch)
    db.session.execute(update(User).values(trust_level=0, trust_level_locked=False))
    db.session.commit()
    print(
        f"members {len(user_ids):,}: {len(visits):,} visit days, {len(reads):,} topics read, "
        f"{len(likes):,} likes"
    )
    return user_ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="PostgreSQL URL (default: a copy of the SQLite fill)")
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--reports", type=int, default=1000)
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    rng = random.Random(SEED)
    if args.url:
        fill.ensure_postgres_database(args.url)
        fill.build_or_reuse(args.url, OUT / "moderation-pg.json", force=True)
        url = args.url
    else:
        source = OUT / "bench.db"
        fill.build_or_reuse(f"sqlite:///{source}", fill.default_manifest(f"sqlite:///{source}"))
        target = OUT / "moderation.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source, target)
        url = f"sqlite:///{target}"
    app = create_app(
        {
            "FORUM_DATABASE_URL": url,
            "FORUM_SECRET_KEY": "bench-moderation",
            "FORUM_INSTANCE_PATH": str(OUT / "moderation-instance"),
            "FORUM_RATELIMITS": "off",
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.test_request_context():
        user_ids = add_members(rng, args.members)

        # --- trust levels -----------------------------------------------------------
        start = time.perf_counter()
        counts = trust.recompute_all(after_batch=db.session.commit)
        db.session.commit()
        elapsed = time.perf_counter() - start
        levels = {
            level: count
            for level, count in db.session.execute(
                select(User.trust_level, func.count()).group_by(User.trust_level)
            )
        }
        print(
            f"forum trust: {counts['checked']:,} members in {elapsed:.1f} s "
            f"({elapsed * 1000 / max(1, counts['checked']):.2f} ms each); "
            f"promoted {counts['promoted']:,}; levels {dict(sorted(levels.items()))}"
        )

        # --- reporting ----------------------------------------------------------------
        reporters = list(db.session.scalars(select(User).where(User.trust_level >= 1).limit(400)))
        moderator = db.session.scalar(select(User).where(User.username_key == "benchadmin"))
        assert moderator is not None
        moderator.is_moderator = True
        db.session.commit()
        post_ids = rng.sample(list(db.session.scalars(select(Post.id))), args.reports)
        report_ms = []
        for post_id in post_ids:
            reporter = rng.choice(reporters)
            actor = policy.actor_for(reporter, guests_read=False)
            post = db.session.get(Post, post_id)
            if (
                post is None
                or post.author_id == reporter.id
                or not policy.can_report_post(actor, post)
            ):
                continue

            def report(post: Post = post, actor: policy.Actor = actor) -> None:
                reports.report_post(actor, post, reason=rng.choice(reports.REASONS))
                db.session.commit()

            report_ms.append(timed(report))
        open_count = db.session.scalar(select(func.count()).select_from(Report))

        # --- the queue ------------------------------------------------------------------
        mod_actor = policy.actor_for(moderator, guests_read=False)
        queue_ms = [timed(lambda: reports.queue(mod_actor, page=1)) for _ in range(50)]
        db.session.rollback()

        # --- recording views ------------------------------------------------------------
        member = reporters[0]
        topics = list(db.session.scalars(select(Topic).limit(200)))
        write_ms = [timed(lambda t=t: record_topic_view(member.id, t, 20)) for t in topics[:100]]
        again_ms = [timed(lambda t=t: record_topic_view(member.id, t, 20)) for t in topics[:100]]
        # A recorded browser session for the moderator, as logging in makes.
        sessions.start_session(moderator, remember=False)
        moderator_key = moderator.session_key
        db.session.commit()
    # The page, through the app (login through the session cookie of a test client).
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = moderator_key
        session["_fresh"] = True
    page_ms = []
    for _ in range(30):
        start = time.perf_counter()
        response = client.get("/mod")
        page_ms.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    size = len(response.data)

    print(f"\nopen reports: {open_count:,}; backend: {url.split(':')[0]}")
    print(f"{'measure':<44} {'p50 ms':>9} {'p95 ms':>9} {'samples':>7}")
    print(row("report a post (service + commit)", report_ms))
    print(row("review queue, page 1 (service)", queue_ms))
    print(row(f"/mod page, HTML ({size / 1024:.1f} KB)", page_ms))
    print(row("record a topic view: new posts read (writes)", write_ms))
    print(row("record a topic view: nothing new (no write)", again_ms))
    print(f"members: {len(user_ids):,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
