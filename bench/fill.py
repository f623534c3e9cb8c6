"""Fill a benchmark database: 5 boards, 2,000 topics x 20 posts, 200 members.

`--posts N` makes N / 20 topics instead (bench/mixed.py uses 100,000 posts), spread over
the same boards in the same proportions; each size has its own database file and cache.

Boards and site settings go through the app's services; members, topics and posts are
bulk-inserted with SQLAlchemy Core, filling exactly the columns the services fill
(`accounts.create_user`, `topics.create_topic`, `posts.reply_to_topic`): stored HTML from
`forum.rendering.render_markdown`, `renderer_version`, dense post numbers, `reply_to_id`
inside the topic, and the denormalised counters on topics and boards.

The fill uses a bare Flask app with the forum's extensions and models but no blueprints,
so it works whatever state the pages are in.

    .venv/bin/python bench/fill.py                      # bench/out/bench.db, reused if valid
    .venv/bin/python bench/fill.py --force              # rebuild
    .venv/bin/python bench/fill.py --url postgresql+psycopg://postgres@127.0.0.1/forum_bench
    .venv/bin/python bench/fill.py --posts 100000       # bench/out/bench-100000.db
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import random
import sys
import time
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import MetaData
from sqlalchemy import create_engine
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
MIGRATIONS = ROOT / "migrations"
DEFAULT_DB = OUT / "bench.db"

if str(ROOT) not in sys.path:  # `python bench/fill.py` puts bench/, not the project, first
    sys.path.insert(0, str(ROOT))

from forum import validation  # noqa: E402
from forum.database import configure_sqlite  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.extensions import init_migrations  # noqa: E402
from forum.models.base import utcnow  # noqa: E402
from forum.models.boards import Board  # noqa: E402
from forum.models.posts import Post  # noqa: E402
from forum.models.settings import SiteSetting  # noqa: E402
from forum.models.topics import Topic  # noqa: E402
from forum.models.users import User  # noqa: E402
from forum.policy import actor_for  # noqa: E402
from forum.rendering import RENDERER_VERSION  # noqa: E402
from forum.rendering import render_markdown  # noqa: E402
from forum.services import boards as board_service  # noqa: E402
from forum.services.settings import write_settings  # noqa: E402

USERS = 200
TOPICS = 2_000
POSTS_PER_TOPIC = 20
POSTS = TOPICS * POSTS_PER_TOPIC  # the default size; --posts changes it
BODY_POOL = 500
BATCH = 5_000
SEED = 20240601

BENCH_USER = "benchuser"
# Long and unusual, so the app's common-password check would accept it too.
BENCH_PASSWORD = "amber-kettle-harbour-1987"
ADMIN_USER = "benchadmin"
# Members who post in bench/mixed.py, each with its own session: trust level 1, so that
# the daily caps of new members do not apply, and the same password as `benchuser`.
MEMBERS = [f"benchmember{n}" for n in range(1, 9)]
MEMBER_TRUST_LEVEL = 1

# Topics per board: one busy board, so that its page 50 exists (30 topics a page).
BOARDS: list[tuple[str, str, int]] = [
    ("Staying well", "Day-to-day recovery: cravings, routines, good days and bad days.", 1_600),
    ("Welcome", "Say hello, read the guidelines, ask how things work here.", 150),
    ("Back on track", "Lapsed? You are welcome back. No judgement, just support.", 100),
    ("Job club", "Vacancies, CVs, disclosure of convictions, interview practice.", 80),
    ("Services and help", "Opening times, drop-ins, helplines and how to get referred.", 70),
]
assert sum(count for _, _, count in BOARDS) == TOPICS


def board_sizes(topics: int) -> list[int]:
    """Topics per board for a database of `topics` topics: BOARDS' counts scaled, the busy
    (first) board taking what rounding leaves, every board at least one topic."""
    if topics == TOPICS:
        return [count for _, _, count in BOARDS]
    others = [max(1, round(count * topics / TOPICS)) for _, _, count in BOARDS[1:]]
    busy = topics - sum(others)
    if busy < 1:
        raise SystemExit(f"{topics} topics are too few for {len(BOARDS)} boards")
    return [busy, *others]


# --- text -------------------------------------------------------------------

_OPENERS = [
    "Honestly,",
    "To be fair,",
    "For what it's worth,",
    "I have to say",
    "Looking back,",
    "Funny thing is,",
    "Same here:",
    "Thanks for posting this.",
    "I hear you.",
    "Just checking in.",
]
_SUBJECTS = [
    "my key worker",
    "the group on Thursdays",
    "my sister",
    "the GP",
    "the drop-in",
    "my sponsor",
    "the night shift",
    "the walk along the canal",
    "my landlord",
    "the helpline",
    "the course at the library",
    "my old mates",
]
_VERBS = [
    "made a real difference to",
    "kept getting in the way of",
    "helped me think about",
    "turned out to be good for",
    "took the edge off",
    "was the hardest part of",
    "changed how I feel about",
    "gave me a push towards",
]
_OBJECTS = [
    "the evenings",
    "weekends on my own",
    "sleeping properly",
    "money worries",
    "going back to work",
    "talking to my family again",
    "the first month",
    "cooking real meals",
    "getting out of the house",
    "the court date",
    "staying off it at Christmas",
    "the bad days",
]
_TAILS = [
    "this week",
    "more than I expected",
    "if I'm honest",
    "one day at a time",
    "even on the rough days",
    "which surprised me",
    "after a slow start",
    "and I'm still here",
]
_QUESTIONS = [
    "Has anyone else had this?",
    "What worked for you?",
    "Does that make sense?",
    "Any tips welcome.",
    "How do you all manage it?",
]
_TITLE_PATTERNS = [
    "How do you handle {obj}?",
    "{subj_cap} and {obj}",
    "Day {n}: {obj} {tail}",
    "Need advice about {obj}",
    "Small win: {obj}",
    "Anyone else struggling with {obj}?",
    "What {subj} said about {obj}",
    "Update on {obj}",
]
_LINKS = [
    "https://www.nhs.uk/live-well/addiction-support/",
    "https://example.org/meetings/online",
    "https://example.org/jobs/kitchen-porter",
]


def _sentence(rng: random.Random) -> str:
    words = (
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}"
    )
    opener = rng.choice(_OPENERS) if rng.random() < 0.4 else ""
    if not opener or opener.endswith((".", ":")):
        words = words[0].upper() + words[1:]
    return f"{opener} {words}.".lstrip()


def make_body(rng: random.Random, target: int = 350) -> str:
    """About 400 characters of Markdown: paragraphs, now and then a list, bold or a link."""
    paragraphs: list[str] = []
    length = 0
    while length < target - 60:
        kind = rng.random()
        if kind < 0.1 and paragraphs:
            block = "\n".join(f"- {rng.choice(_OBJECTS)}" for _ in range(3))
        else:
            count = rng.randint(1, 3)
            block = " ".join(_sentence(rng) for _ in range(count))
            if kind > 0.9:
                block = block.replace(rng.choice(_OBJECTS), f"**{rng.choice(_OBJECTS)}**", 1)
            elif kind > 0.85:
                block += f" More here: {rng.choice(_LINKS)}"
        paragraphs.append(block)
        length += len(block) + 2
    if rng.random() < 0.3:
        paragraphs.append(rng.choice(_QUESTIONS))
    return "\n\n".join(paragraphs)


def make_title(rng: random.Random) -> str:
    subj = rng.choice(_SUBJECTS)
    return rng.choice(_TITLE_PATTERNS).format(
        obj=rng.choice(_OBJECTS),
        subj=subj,
        subj_cap=subj[0].upper() + subj[1:],
        n=rng.randint(2, 400),
        tail=rng.choice(_TAILS),
    )


_NAME_A = ["quiet", "north", "kettle", "morning", "tide", "step", "river", "amber", "oak"]
_NAME_B = ["walker", "star", "on", "light", "turns", "by_step", "stone", "fox", "field"]


def make_usernames(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """`count` distinct pseudonyms (3-20 letters, digits, _ or -), unique ignoring case."""
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(_NAME_A)}{rng.choice(['', '_', '-'])}{rng.choice(_NAME_B)}"
        name += str(rng.randint(1, 999)) if rng.random() < 0.7 else ""
        key = name.lower()
        if key not in taken and validation.USERNAME_RE.match(name):
            taken.add(key)
            names.append(name)
    return names


# --- the database -----------------------------------------------------------


@dataclass
class Manifest:
    """What a run needs to know about a filled database (written next to it as JSON)."""

    database_url: str
    fingerprint: str
    schema: str
    fill_seconds: float
    filled_at: str
    username: str
    password: str
    busy_board_id: int
    topic_id: int
    board_ids: list[int]
    counts: dict[str, int]
    posts: int = POSTS
    members: list[str] = dataclasses.field(default_factory=list)


def expected_counts(posts: int = POSTS) -> dict[str, int]:
    return {
        "users": USERS,
        "boards": len(BOARDS),
        "topics": posts // POSTS_PER_TOPIC,
        "posts": posts,
    }


def fingerprint(schema: str) -> str:
    """Changes whenever the fill, the models, the renderer or the migrations change."""
    digest = hashlib.sha256(schema.encode())
    files = [Path(__file__), ROOT / "forum" / "rendering.py"]
    files += sorted((ROOT / "forum" / "models").glob("*.py"))
    files += sorted((MIGRATIONS / "versions").glob("*.py"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def schema_source() -> str:
    return "migrations" if (MIGRATIONS / "env.py").is_file() else "create_all"


def make_app(url: str) -> Flask:
    """A bare app with the forum's extensions and models; no pages needed."""
    app = Flask("forum_bench_fill", instance_path=str(OUT / "fill-instance"))
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url,
        SECRET_KEY="bench-fill",  # the fill serves no requests and signs nothing
        TESTING=False,
    )
    db.init_app(app)
    init_migrations(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            # The served app uses FULL; while filling, a power cut just means another fill.
            configure_sqlite(db.engine, synchronous="OFF")
    return app


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist."""
    parsed = make_url(url)
    engine = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    engine.dispose()


def drop_everything(url: str) -> None:
    """Remove the old database (SQLite file) or every table in it (PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = create_engine(url)
    meta = MetaData()
    meta.reflect(engine)
    meta.drop_all(engine)
    engine.dispose()


def current_counts() -> dict[str, int] | None:
    """Row counts of the filled tables, or None if the schema is missing."""
    try:
        return {
            "users": db.session.scalar(select(func.count()).select_from(User)) or 0,
            "boards": db.session.scalar(select(func.count()).select_from(Board)) or 0,
            "topics": db.session.scalar(select(func.count()).select_from(Topic)) or 0,
            "posts": db.session.scalar(select(func.count()).select_from(Post)) or 0,
        }
    except Exception:  # any failure means "not a usable bench database"
        db.session.rollback()
        return None


def create_schema(schema: str) -> None:
    if schema == "migrations":
        from flask_migrate import upgrade

        upgrade(directory=str(MIGRATIONS))
    else:
        db.create_all()


def batches(
    rows: Sequence[dict[str, Any]], size: int = BATCH
) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def insert_users(rng: random.Random, start: datetime) -> list[int]:
    """200 members (an admin, `benchuser` and MEMBERS among them); returns their ids."""
    # One scrypt hash shared by the filler accounts: 198 separate hashes would take
    # ~15 s and nobody logs in as them. `benchuser` gets its own; MEMBERS share one.
    shared_hash = generate_password_hash(f"unused-{rng.random()}", method="scrypt")
    members_hash = generate_password_hash(BENCH_PASSWORD, method="scrypt")
    names = [ADMIN_USER, BENCH_USER, *MEMBERS]
    names += make_usernames(rng, USERS - len(names), {n.lower() for n in names})
    rows = []
    for index, name in enumerate(names):
        if name == BENCH_USER:
            password_hash = generate_password_hash(BENCH_PASSWORD, method="scrypt")
        else:
            password_hash = members_hash if name in MEMBERS else shared_hash
        # `forum create-user --admin` sets trust level 4.
        level = 4 if name == ADMIN_USER else MEMBER_TRUST_LEVEL if name in MEMBERS else 0
        rows.append(
            {
                "username": name,
                "username_key": name.lower(),
                "password_hash": password_hash,
                "is_admin": name == ADMIN_USER,
                "is_moderator": False,
                "trust_level": level,
                "created_at": start + timedelta(hours=index),
            }
        )
    db.session.execute(insert(User), rows)
    return list(db.session.scalars(select(User.id).order_by(User.id)))


def create_boards() -> list[Board]:
    admin = db.session.scalar(select(User).where(User.username_key == ADMIN_USER))
    assert admin is not None
    actor = actor_for(admin, guests_read=False)
    return [
        board_service.create_board(actor, name=name, description=description)
        for name, description, _count in BOARDS
    ]


@dataclass
class BodyPool:
    bodies: list[str]
    html: list[str]


def render_pool(rng: random.Random) -> BodyPool:
    bodies = [validation.body(make_body(rng)) for _ in range(BODY_POOL)]
    return BodyPool(bodies=bodies, html=[render_markdown(body) for body in bodies])


def insert_topics_and_posts(
    rng: random.Random, boards: list[Board], user_ids: list[int], now: datetime, topics: int
) -> None:
    """`topics` topics of 20 posts, as `create_topic` and `reply_to_topic` would leave them."""
    pool = render_pool(rng)
    board_of_topic = [
        b.id for b, count in zip(boards, board_sizes(topics), strict=True) for _ in range(count)
    ]
    rng.shuffle(board_of_topic)
    # Topics start over two years, oldest first, so ids grow with time as in real life.
    window = timedelta(days=730)
    starts = sorted(
        now - window + rng.random() * (window - timedelta(days=3)) for _ in board_of_topic
    )

    topic_rows: list[dict[str, Any]] = []
    post_rows: list[dict[str, Any]] = []
    post_id = 0
    for topic_id, (board_id, created) in enumerate(zip(board_of_topic, starts, strict=True), 1):
        at = created
        numbers_to_ids: list[int] = []
        authors: list[int] = []
        for number in range(1, POSTS_PER_TOPIC + 1):
            post_id += 1
            if number > 1:
                at = min(at + timedelta(minutes=rng.expovariate(1 / 180)), now)
            author = rng.choice(user_ids)
            # About one reply in four answers a specific earlier post of the topic.
            reply_to = rng.choice(numbers_to_ids) if number > 2 and rng.random() < 0.25 else None
            body = rng.randrange(BODY_POOL)
            post_rows.append(
                {
                    "id": post_id,
                    "topic_id": topic_id,
                    "number": number,
                    "author_id": author,
                    "reply_to_id": reply_to,
                    "body": pool.bodies[body],
                    "html": pool.html[body],
                    "renderer_version": RENDERER_VERSION,
                    "created_at": at,
                }
            )
            numbers_to_ids.append(post_id)
            authors.append(author)
        topic_rows.append(
            {
                "id": topic_id,
                "board_id": board_id,
                "author_id": authors[0],
                "title": validation.title(make_title(rng)),
                "created_at": created,
                "last_post_at": at,
                "last_poster_id": authors[-1],
                "posts_count": POSTS_PER_TOPIC,
                "next_number": POSTS_PER_TOPIC + 1,
                "pinned": False,
                "locked": False,
            }
        )
    for chunk in batches(topic_rows):
        db.session.execute(insert(Topic), chunk)
    for chunk in batches(post_rows):
        db.session.execute(insert(Post), chunk)

    for board in boards:
        mine = [t for t in topic_rows if t["board_id"] == board.id]
        latest = max(mine, key=lambda t: (t["last_post_at"], t["id"]))
        db.session.execute(
            update(Board)
            .where(Board.id == board.id)
            .values(
                topics_count=len(mine),
                posts_count=len(mine) * POSTS_PER_TOPIC,
                last_post_at=latest["last_post_at"],
                last_topic_id=latest["id"],
            )
        )
    if db.engine.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; the next real post must not collide.
        for table in ("topics", "posts"):
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )


def fill(app: Flask, posts: int = POSTS) -> None:
    rng = random.Random(SEED)
    now = utcnow().replace(microsecond=0) - timedelta(hours=1)
    with app.app_context():
        user_ids = insert_users(rng, now - timedelta(days=1_100))
        boards = create_boards()
        insert_topics_and_posts(rng, boards, user_ids, now, posts // POSTS_PER_TOPIC)
        write_settings({"guest_access": "public_boards"})
        db.session.commit()
        db.session.remove()
        if db.engine.dialect.name == "sqlite":
            # Outside any transaction (a raw connection skips the BEGIN hook): fold the WAL
            # into the main file so the database is one self-contained file.
            raw = db.engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")


def pick_ids(app: Flask) -> tuple[int, int, list[int]]:
    """The busy board, a topic in it (in the middle of its history), all board ids."""
    with app.app_context():
        board_ids = list(db.session.scalars(select(Board.id).order_by(Board.position)))
        busy = db.session.scalar(select(Board.id).order_by(Board.topics_count.desc()).limit(1))
        topics = list(
            db.session.scalars(select(Topic.id).where(Topic.board_id == busy).order_by(Topic.id))
        )
        assert busy is not None and topics
        return busy, topics[len(topics) // 2], board_ids


def guests_can_read(app: Flask) -> bool:
    with app.app_context():
        row = db.session.get(SiteSetting, "guest_access")
        return row is not None and json.loads(row.value) == "public_boards"


def load_manifest(path: Path) -> Manifest | None:
    try:
        return Manifest(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def default_manifest(url: str) -> Path:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(f"{parsed.database}.json")
    return OUT / f"fill-{parsed.get_backend_name()}-{parsed.database}.json"


def build_or_reuse(
    url: str, manifest_path: Path, *, force: bool = False, posts: int = POSTS
) -> Manifest:
    """Fill the database unless a valid one with the same fingerprint is already there."""
    schema = schema_source()
    expected = expected_counts(posts)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
    else:
        ensure_postgres_database(url)
    old = load_manifest(manifest_path)
    if not force and old is not None and old.fingerprint == fingerprint(schema):
        app = make_app(url)
        with app.app_context():
            counts = current_counts()
        if counts == expected and guests_can_read(app):
            _log(f"reusing {parsed.render_as_string()} (filled in {old.fill_seconds:.1f} s)")
            return old
    drop_everything(url)
    started = time.perf_counter()
    app = make_app(url)
    with app.app_context():
        create_schema(schema)
    fill(app, posts)
    seconds = time.perf_counter() - started
    with app.app_context():
        counts = current_counts()
    if counts != expected:
        raise SystemExit(f"fill produced {counts}, expected {expected}")
    busy, topic_id, board_ids = pick_ids(app)
    manifest = Manifest(
        database_url=parsed.render_as_string(hide_password=True),
        fingerprint=fingerprint(schema),
        schema=schema,
        fill_seconds=round(seconds, 2),
        filled_at=utcnow().isoformat(timespec="seconds"),
        username=BENCH_USER,
        password=BENCH_PASSWORD,
        busy_board_id=busy,
        topic_id=topic_id,
        board_ids=board_ids,
        counts=counts,
        posts=posts,
        members=list(MEMBERS),
    )
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(asdict(manifest), indent=2) + "\n", encoding="utf-8")
    _log(
        f"filled {parsed.render_as_string()} in {seconds:.1f} s "
        f"({counts['topics']:,} topics, {counts['posts']:,} posts, schema from {schema})"
    )
    return manifest


def _log(message: str) -> None:
    print(f"[fill] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db", type=Path, help="SQLite file to fill (bench/out/bench.db, bench-<posts>.db)"
    )
    parser.add_argument(
        "--posts", type=int, default=POSTS, help=f"posts, a multiple of 20 (default {POSTS})"
    )
    parser.add_argument("--url", help="a database URL instead (e.g. postgresql+psycopg://...)")
    parser.add_argument("--manifest", type=Path, help="where to write the JSON manifest")
    parser.add_argument("--force", action="store_true", help="rebuild even if a valid one exists")
    args = parser.parse_args(argv)
    if args.posts < POSTS_PER_TOPIC * len(BOARDS) or args.posts % POSTS_PER_TOPIC:
        parser.error(f"--posts must be a multiple of {POSTS_PER_TOPIC}, at least 100")
    database = args.db or (DEFAULT_DB if args.posts == POSTS else OUT / f"bench-{args.posts}.db")
    url = args.url or f"sqlite:///{database.resolve()}"
    manifest_path = args.manifest or default_manifest(url)
    build_or_reuse(url, manifest_path, force=args.force, posts=args.posts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
