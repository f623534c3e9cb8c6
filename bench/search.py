"""Search benchmark: printed numbers for issue 5, run by hand (never a test).

What it does, in order:

1. builds (or reuses) a forum database of 100,000 posts of 40-250 words drawn from a
   30,000-word vocabulary with a Zipf(1.1) rank distribution, in ~10,000 topics spread
   over 10 boards: site boards, the boards of two groups the benchmark member belongs
   to (one public, one secret), a public group's board they are not in, and a secret
   group's boards they cannot see; 1% of the posts hidden, 0.5% deleted, a few topics
   waiting for approval. Bulk-inserted with SQLAlchemy Core (schema from the Alembic
   migrations), cached between runs like bench/fill.py;
2. SQLite FTS5 over the same texts (forum.search.documents), the embedded reference:
   index time, size, p50/p95 of the raw engine (no permission filter);
3. for each backend (whoosh; postgres when the database is PostgreSQL): `forum reindex`'s
   work (backend.rebuild(all_documents())) timed, the index size on disk, then p50/p95
   of the 200 queries through the app's own `search_posts` as the member (permission
   filter, loading the page of posts and snippets included), after 200 other queries
   from the same mix (a worker that has served searches: common words' postings are
   kept, the measured queries' rare words are new to it); a fresh worker's first
   search is reported apart;
4. the search page under wrk: gunicorn (2 workers) on the bench database, logged in as
   the member, 8 connections rotating through the same queries (a Lua script);
5. prints a table with the targets of issue 5 (OK/MISS); writes bench/out/search.json.

    .venv/bin/python bench/search.py                    # 100k posts on SQLite, whoosh
    .venv/bin/python bench/search.py --quick            # 10k posts, 50 queries, 5 s wrk
    .venv/bin/python bench/search.py --url postgresql+psycopg://postgres@127.0.0.1/forum_bench_search
"""

from __future__ import annotations

import argparse
import hashlib
import html
import inspect
import itertools
import json
import math
import os
import platform
import random
import re
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # `python bench/search.py` puts bench/, not the project, first
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import fill  # noqa: E402
import run  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from forum.extensions import db  # noqa: E402
from forum.models.base import utcnow  # noqa: E402
from forum.models.boards import Board  # noqa: E402
from forum.models.groups import Group  # noqa: E402
from forum.models.groups import Membership  # noqa: E402
from forum.models.posts import Post  # noqa: E402
from forum.models.topics import Topic  # noqa: E402
from forum.models.users import User  # noqa: E402
from forum.rendering import RENDERER_VERSION  # noqa: E402
from forum.rendering import render_markdown  # noqa: E402

OUT = HERE / "out"
SEED = 20241105
VOCABULARY = 30_000
ZIPF_S = 1.1
MEMBERS = 500
MEMBERS_PER_GROUP = 120
BATCH = 5_000

BENCH_USER = "searcher"
BENCH_PASSWORD = "copper-lantern-meadow-2215"  # noqa: S105 - a throwaway bench account

# The targets of issue 5, "Benchmark".
TARGET_WHOOSH_P95_MS = 25.0
TARGET_POSTGRES_P95_MS = 15.0
TARGET_INDEX_S = 150.0  # for 100,000 posts
TARGET_PAGE_P99_MS = 100.0
FULL_POSTS = 100_000

# (slug, name, visibility, the benchmark member belongs to it)
GROUPS: list[tuple[str, str, str, bool]] = [
    ("night-shift", "Night shift", "public", True),
    ("parents", "Parents in recovery", "secret", True),
    ("walkers", "Sunday walkers", "public", False),
    ("staff", "Staff room", "secret", False),
]
# (name, description, group slug or None, share of the topics in per cent)
BOARDS: list[tuple[str, str, str | None, int]] = [
    ("Staying well", "Day-to-day recovery: cravings, routines, good days and bad.", None, 25),
    ("Welcome", "Say hello, read the guidelines, ask how things work here.", None, 8),
    ("Job club", "Vacancies, CVs, disclosure of convictions, interviews.", None, 10),
    ("Services and help", "Opening times, drop-ins, helplines, referrals.", None, 12),
    ("Night shift", "For those awake at 3 am.", "night-shift", 6),
    ("Night shift off topic", "Films, games, anything but work.", "night-shift", 4),
    ("Parents together", "Children, schools, social services, family court.", "parents", 10),
    ("Walks", "Routes, meeting points, weather.", "walkers", 10),
    ("Staff room", "Rotas and handovers.", "staff", 8),
    ("Case notes", "Only for staff.", "staff", 7),
]
assert sum(share for *_, share in BOARDS) == 100

# The head of the vocabulary: real words, function words first (stop words among them,
# as in real text), then common content words; synthetic words follow.
FUNCTION_WORDS = (
    "the i and to a of it my in that is was for you but me on with have so this not be at "
    "just all what about do are had if been get one from there out like can up when they "
    "now would"
).split()
HEAD_WORDS = [
    *FUNCTION_WORDS,
    *"day know time think really going work help week feel good still people back today "
    "night sleep meeting group money family home".split(),
]

_ONSETS = "b c d f g h j k l m n p r s t v w z br cr dr fl gr pl st tr ch sh th".split()
_VOWELS = "a e i o u a e i o ai ea oo ou".split()
_CODAS = ["", "", "", "", "n", "r", "l", "s", "m", "t", "nd", "st", "rk"]


def log(message: str) -> None:
    print(f"[search-bench] {message}", file=sys.stderr, flush=True)


# --- text -----------------------------------------------------------------------


def make_vocabulary(rng: random.Random, size: int = VOCABULARY) -> list[str]:
    """`size` distinct words, most frequent first; frequent words are short (as in real
    language), rarer ones have more syllables. None is an English stop word."""
    try:
        from whoosh.analysis import STOP_WORDS

        stop = set(STOP_WORDS)
    except ImportError:  # pragma: no cover - whoosh is a dependency
        stop = set()
    words = list(HEAD_WORDS)
    seen = set(words) | stop
    while len(words) < size:
        rank = len(words)
        syllables = 1 + (rank > 1_000) + (rank > 10_000) + (rng.random() < 0.25)
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
        )
        if len(word) >= 4 and word not in seen:
            seen.add(word)
            words.append(word)
    return words


class Zipf:
    """Draws words with P(rank r) proportional to 1 / r**s."""

    def __init__(self, words: list[str], s: float = ZIPF_S) -> None:
        self.words = words
        self.cum = list(itertools.accumulate(1 / (r**s) for r in range(1, len(words) + 1)))

    def draw(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=k)


def post_length(rng: random.Random) -> int:
    """40-250 words, median ~110 (log-normal, clipped)."""
    return max(40, min(250, int(rng.lognormvariate(math.log(110), 0.45))))


def make_post(rng: random.Random, zipf: Zipf) -> tuple[str, str]:
    """(Markdown body, the HTML render_markdown makes of it): paragraphs of sentences."""
    words = zipf.draw(rng, post_length(rng))
    paragraphs: list[str] = []
    sentences: list[str] = []
    start = 0
    while start < len(words):
        size = rng.randint(6, 18)
        chunk = words[start : start + size]
        start += size
        if len(chunk) > 6 and rng.random() < 0.3:
            chunk[rng.randint(2, len(chunk) - 3)] += ","
        end = "?" if rng.random() < 0.12 else "."
        sentences.append(chunk[0].capitalize() + "".join(" " + w for w in chunk[1:]) + end)
        if len(sentences) >= rng.randint(2, 5) or start >= len(words):
            paragraphs.append(" ".join(sentences))
            sentences = []
    body = "\n\n".join(paragraphs)
    markup = "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)
    return body, markup


def make_title(rng: random.Random, zipf: Zipf) -> str:
    words = zipf.draw(rng, rng.randint(3, 8))
    title = " ".join(words).capitalize()
    return title + ("?" if rng.random() < 0.3 else "")


# --- the database ---------------------------------------------------------------


@dataclass
class Manifest:
    database_url: str
    fingerprint: str
    posts: int
    fill_seconds: float
    filled_at: str
    username: str
    password: str
    counts: dict[str, int]
    # Posts on boards the member may read that everyone may see (neither hidden,
    # deleted nor waiting): what the member can find at most.
    findable_posts: int


def fingerprint(posts: int) -> str:
    """Changes whenever the generated data could: the generating code and constants of
    this script, the models or the migrations (edits to the measuring code do not)."""
    generators = (make_vocabulary, Zipf, post_length, make_post, make_title, topic_sizes)
    parts = [inspect.getsource(f) for f in (*generators, fill_database)]
    parts.append(repr((posts, SEED, VOCABULARY, ZIPF_S, MEMBERS, MEMBERS_PER_GROUP)))
    parts.append(repr((GROUPS, BOARDS, HEAD_WORDS, BENCH_USER, BENCH_PASSWORD)))
    digest = hashlib.sha256("\n".join(parts).encode())
    files = sorted((ROOT / "forum" / "models").glob("*.py"))
    files += sorted((fill.MIGRATIONS / "versions").glob("*.py"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def topic_sizes(rng: random.Random, posts: int) -> list[int]:
    """Posts per topic: 1-40, mean ~10 (geometric-ish), summing to exactly `posts`."""
    sizes: list[int] = []
    left = posts
    while left > 0:
        size = min(left, max(1, min(40, int(rng.expovariate(1 / 9.5)) + 1)))
        sizes.append(size)
        left -= size
    return sizes


def fill_database(app: Flask, posts: int) -> dict[str, int]:
    """Insert members, groups, boards, topics and posts; returns the findable count."""
    rng = random.Random(SEED)
    zipf = Zipf(make_vocabulary(rng))
    now = utcnow().replace(microsecond=0) - timedelta(hours=1)
    start = now - timedelta(days=3 * 365)
    dialect = db.engine.dialect.name

    # Members: one scrypt hash shared by the fillers; the benchmark member has its own.
    shared = generate_password_hash(f"unused-{rng.random()}", method="scrypt")
    names = [BENCH_USER, *fill.make_usernames(rng, MEMBERS - 1, {BENCH_USER})]
    user_rows: list[dict[str, Any]] = [
        {
            "id": index,
            "username": name,
            "username_key": name.lower(),
            "password_hash": (
                generate_password_hash(BENCH_PASSWORD, method="scrypt")
                if name == BENCH_USER
                else shared
            ),
            "is_admin": False,
            "is_moderator": False,
            "trust_level": 2,
            "created_at": start - timedelta(days=30) + timedelta(hours=index),
        }
        for index, name in enumerate(names, 1)
    ]
    db.session.execute(insert(User), user_rows)
    bench_id = 1
    user_ids = [row["id"] for row in user_rows]

    group_ids: dict[str, int] = {}
    group_rows, member_rows = [], []
    for index, (slug, name, visibility, joined) in enumerate(GROUPS, 1):
        group_ids[slug] = index
        group_rows.append(
            {
                "id": index,
                "name": name,
                "slug": slug,
                "description": "",
                "visibility": visibility,
                "created_at": start,
            }
        )
        members = rng.sample(user_ids[1:], MEMBERS_PER_GROUP)
        if joined:
            members.append(bench_id)
        for position, user_id in enumerate(members):
            member_rows.append(
                {
                    "group_id": index,
                    "user_id": user_id,
                    "role": "owner" if position == 0 else "member",
                    "created_at": start,
                }
            )
    db.session.execute(insert(Group), group_rows)
    db.session.execute(insert(Membership), member_rows)

    board_rows: list[dict[str, Any]] = [
        {
            "id": index,
            "name": name,
            "description": description,
            "group_id": group_ids[slug] if slug else None,
            "parent_id": None,
            "position": index,
            "created_at": start,
        }
        for index, (name, description, slug, _share) in enumerate(BOARDS, 1)
    ]
    db.session.execute(insert(Board), board_rows)
    board_weights = [share for *_, share in BOARDS]
    board_ids = [row["id"] for row in board_rows]
    member_groups = {group_ids[slug] for slug, _n, _v, joined in GROUPS if joined}
    public_groups = {group_ids[slug] for slug, _n, v, _j in GROUPS if v == "public"}
    member_boards = {
        row["id"]
        for row in board_rows
        if row["group_id"] is None or row["group_id"] in member_groups | public_groups
    }

    sizes = topic_sizes(rng, posts)
    span = (now - start).total_seconds()
    topic_starts = sorted(
        start + timedelta(seconds=rng.random() * span * 0.995) for _ in range(len(sizes))
    )
    topic_rows: list[dict[str, Any]] = []
    post_rows: list[dict[str, Any]] = []
    board_stats: dict[int, dict[str, Any]] = {
        b: {"topics": 0, "posts": 0, "last": None, "topic": None} for b in board_ids
    }
    findable = 0
    post_id = 0
    for topic_id, (size, created) in enumerate(zip(sizes, topic_starts, strict=True), 1):
        board_id = rng.choices(board_ids, weights=board_weights)[0]
        waiting = rng.random() < 0.005
        at = created
        authors: list[int] = []
        alive = 0
        for number in range(1, size + 1):
            post_id += 1
            if number > 1:
                at = min(at + timedelta(minutes=rng.expovariate(1 / 240)), now)
            author = rng.choice(user_ids[1:])
            body, markup = make_post(rng, zipf)
            row: dict[str, Any] = {
                "id": post_id,
                "topic_id": topic_id,
                "number": number,
                "author_id": author,
                "reply_to_id": None,
                "body": body,
                "html": markup,
                "renderer_version": RENDERER_VERSION,
                "created_at": at,
                "deleted_at": None,
                "hidden_at": None,
                "hidden_kind": None,
                "hidden_reason": "",
            }
            roll = rng.random()
            if roll < 0.005 and number > 1:
                row["deleted_at"] = at + timedelta(hours=2)
            elif roll < 0.015:
                row["hidden_at"] = at + timedelta(hours=1)
                row["hidden_kind"] = "moderators" if roll < 0.012 else "community"
                row["hidden_reason"] = "Off topic"
            if row["deleted_at"] is None:
                alive += 1
            if (
                board_id in member_boards
                and not waiting
                and row["deleted_at"] is None
                and row["hidden_at"] is None
            ):
                findable += 1
            post_rows.append(row)
            authors.append(author)
        topic_rows.append(
            {
                "id": topic_id,
                "board_id": board_id,
                "author_id": authors[0],
                "title": make_title(rng, zipf),
                "created_at": created,
                "last_post_at": at,
                "last_poster_id": authors[-1],
                "posts_count": alive,
                "next_number": size + 1,
                "pinned": False,
                "locked": False,
                "awaiting_approval": waiting,
            }
        )
        if not waiting:
            stats = board_stats[board_id]
            stats["topics"] += 1
            stats["posts"] += alive
            if stats["last"] is None or at >= stats["last"]:
                stats["last"], stats["topic"] = at, topic_id
        if len(post_rows) >= BATCH:  # topics first: posts reference them
            db.session.execute(insert(Topic), topic_rows)
            db.session.execute(insert(Post), post_rows)
            topic_rows, post_rows = [], []
    if post_rows:
        db.session.execute(insert(Topic), topic_rows)
        db.session.execute(insert(Post), post_rows)
    for board_id, stats in board_stats.items():
        db.session.execute(
            Board.__table__.update()
            .where(Board.id == board_id)
            .values(
                topics_count=stats["topics"],
                posts_count=stats["posts"],
                last_post_at=stats["last"],
                last_topic_id=stats["topic"],
            )
        )
    # The bulk inserts go around the ORM: nothing should be queued, but be sure.
    db.session.execute(text("DELETE FROM search_queue"))
    if dialect == "postgresql":
        # Explicit ids leave the sequences behind; the next real row must not collide.
        for table in ("users", "groups", "memberships", "boards", "topics", "posts"):
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    db.session.commit()
    db.session.remove()
    return {"findable": findable}


def check_html(app: Flask) -> None:
    """The stored HTML is what the app's renderer makes of the body (a sample)."""
    with app.app_context():
        rows = db.session.execute(select(Post.body, Post.html).order_by(Post.id).limit(20)).all()
        for body, markup in rows:
            if render_markdown(body) != markup:
                raise SystemExit(
                    "bench/search.py: generated HTML differs from render_markdown:\n"
                    f"{markup[:300]!r}\n{render_markdown(body)[:300]!r}"
                )


def finish(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            raw = db.engine.raw_connection()
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")


def counts() -> dict[str, int] | None:
    try:
        return {
            "users": db.session.scalar(select(func.count()).select_from(User)) or 0,
            "groups": db.session.scalar(select(func.count()).select_from(Group)) or 0,
            "boards": db.session.scalar(select(func.count()).select_from(Board)) or 0,
            "topics": db.session.scalar(select(func.count()).select_from(Topic)) or 0,
            "posts": db.session.scalar(select(func.count()).select_from(Post)) or 0,
        }
    except Exception:  # any failure means "not a usable bench database"
        db.session.rollback()
        return None


def build_or_reuse(url: str, manifest_path: Path, posts: int, *, force: bool) -> Manifest:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
    else:
        fill.ensure_postgres_database(url)
    old = None
    try:
        old = Manifest(**json.loads(manifest_path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        pass
    if not force and old is not None and old.fingerprint == fingerprint(posts):
        app = fill.make_app(url)
        with app.app_context():
            found = counts()
        if found == old.counts:
            log(f"reusing {parsed.render_as_string()} (filled in {old.fill_seconds:.1f} s)")
            return old
    fill.drop_everything(url)
    log(f"filling {parsed.render_as_string()} with {posts:,} posts ...")
    started = time.perf_counter()
    app = fill.make_app(url)
    with app.app_context():
        fill.create_schema(fill.schema_source())
        extra = fill_database(app, posts)
    finish(app)
    seconds = time.perf_counter() - started
    check_html(app)
    with app.app_context():
        found = counts()
    if found is None or found["posts"] != posts:
        raise SystemExit(f"fill produced {found}, expected {posts} posts")
    manifest = Manifest(
        database_url=parsed.render_as_string(hide_password=True),
        fingerprint=fingerprint(posts),
        posts=posts,
        fill_seconds=round(seconds, 1),
        filled_at=utcnow().isoformat(timespec="seconds"),
        username=BENCH_USER,
        password=BENCH_PASSWORD,
        counts=found,
        findable_posts=extra["findable"],
    )
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(asdict(manifest), indent=2) + "\n", encoding="utf-8")
    log(f"filled in {seconds:.1f} s: {found}")
    return manifest


# --- queries --------------------------------------------------------------------


@dataclass(frozen=True)
class BenchQuery:
    kind: str  # frequent, medium, rare, typo, two words, three words, phrase
    text: str
    words: tuple[str, ...]
    phrase: bool = False


_PLAIN = re.compile(r"<[^>]+>")


def _post_words(markup: str) -> list[str]:
    return re.findall(r"[a-z]+", html.unescape(_PLAIN.sub(" ", markup)).lower())


def make_queries(
    count: int, post_html: Callable[[int], str], posts: int, *, seed: int = SEED + 1
) -> list[BenchQuery]:
    """`count` 1-3 word queries, deterministic: a mix of frequent, medium and rare words,
    a few misspelt, pairs and triples (half of them words that occur in one post, as
    someone remembering a post would type; half independent), and quoted phrases taken
    from a post. Function words (stop words) only inside phrases. Another `seed` gives
    other queries from the same distribution (the warm-up)."""
    rng = random.Random(seed)
    vocab = make_vocabulary(random.Random(SEED))
    function_words = set(FUNCTION_WORDS)
    content = [w for w in vocab if w not in function_words]
    zipf = Zipf(content)
    bands = {"frequent": (0, 300), "medium": (300, 3_000), "rare": (3_000, len(content))}
    mix = [
        ("frequent", 0.28),
        ("medium", 0.15),
        ("rare", 0.10),
        ("typo", 0.05),
        ("two words", 0.22),
        ("three words", 0.10),
        ("phrase", 0.10),
    ]
    kinds = [kind for kind, share in mix for _ in range(round(share * count))]
    while len(kinds) < count:
        kinds.append("frequent")
    kinds = kinds[:count]
    rng.shuffle(kinds)
    queries: list[BenchQuery] = []

    def from_post(length: int, adjacent: bool) -> list[str]:
        while True:
            words = _post_words(post_html(rng.randint(1, posts)))
            if adjacent:
                at = rng.randrange(0, max(1, len(words) - length))
                picked = words[at : at + length]
                # As people quote: the phrase starts and ends with a content word.
                if len(picked) == length and not {picked[0], picked[-1]} & function_words:
                    return picked
            else:
                useful = sorted({w for w in words if w not in function_words})
                if len(useful) >= length:
                    return rng.sample(useful, length)

    for kind in kinds:
        if kind in bands:
            low, high = bands[kind]
            words = [content[rng.randrange(low, high)]]
        elif kind == "typo":
            known = set(vocab)
            typo = content[0]
            while typo in known:  # one letter changed into a word that does not exist
                word = content[rng.randrange(300, 3_000)]
                at = rng.randrange(1, len(word))
                typo = word[:at] + rng.choice("aeioust") + word[at + 1 :]
            words = [typo]
        elif kind == "phrase":
            words = from_post(rng.choice((2, 2, 3)), adjacent=True)
        else:
            length = 2 if kind == "two words" else 3
            words = from_post(length, False) if rng.random() < 0.5 else zipf.draw(rng, length)
        phrase = kind == "phrase"
        query = " ".join(words)
        queries.append(BenchQuery(kind, f'"{query}"' if phrase else query, tuple(words), phrase))
    return queries


# --- measuring ------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (as bench/moderation.py)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def latency(samples: list[float], cpu: list[float] | None = None) -> dict[str, float]:
    """Wall-time percentiles; with `cpu`, this process's CPU time per query too (which
    other processes on the machine hardly change: a database server's work is not in it)."""
    found = {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(percentile(samples, 0.95), 2),
        "max_ms": round(max(samples), 2),
        "mean_ms": round(statistics.fmean(samples), 2),
    }
    if cpu:
        found["cpu_p50_ms"] = round(statistics.median(cpu), 2)
        found["cpu_p95_ms"] = round(percentile(cpu, 0.95), 2)
    return found


class Clock:
    """Wall and CPU time (this process) of one measured stretch, in ms."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def stop(self) -> tuple[float, float]:
        return (
            (time.perf_counter() - self.wall) * 1000,
            (time.process_time() - self.cpu) * 1000,
        )


class CpuWatch:
    """How many cores other processes kept busy while this process measured (from
    /proc/stat minus our own CPU time; see bench/run.py, "CPU accounting")."""

    def __init__(self) -> None:
        self.at = time.monotonic()
        self.busy, _ = run._machine_ticks()
        times = os.times()
        self.own = times.user + times.system

    def others_cores(self) -> float:
        wall_ms = (time.monotonic() - self.at) * 1000
        busy, _ = run._machine_ticks()
        times = os.times()
        own_ms = (times.user + times.system - self.own) * 1000
        busy_ms = (busy - self.busy) * run._TICK_MS
        return round(max(busy_ms - own_ms, 0) / max(wall_ms, 1), 2)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fts5_reference(
    documents: list[tuple[int, str, str, str, str]], queries: list[BenchQuery], path: Path
) -> dict[str, Any]:
    """SQLite FTS5 (porter stemming) over the same texts: raw engine, no permission
    filter. Per query: the total (count) and the top 20 by bm25 with a snippet each."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, body, author, board, "
        "tokenize='porter unicode61')"
    )
    watch = CpuWatch()
    clock = Clock()
    with conn:
        conn.executemany(
            "INSERT INTO docs(rowid, title, body, author, board) VALUES (?, ?, ?, ?, ?)",
            documents,
        )
    index_ms, index_cpu_ms = clock.stop()
    size = path.stat().st_size
    try:  # how much of it is FTS5's copy of the texts (it stores them for snippets)
        content = conn.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name = 'docs_content'"
        ).fetchone()[0]
    except sqlite3.Error:  # SQLite built without the dbstat table
        content = None
    conn.close()
    conn = sqlite3.connect(path)
    match = [_fts5_match(q) for q in queries]
    for expression in match[:10]:  # warm the page cache
        conn.execute("SELECT count(*) FROM docs WHERE docs MATCH ?", (expression,)).fetchone()
    samples, cpu, totals = [], [], []
    for expression in match:
        clock = Clock()
        total = conn.execute(
            "SELECT count(*) FROM docs WHERE docs MATCH ?", (expression,)
        ).fetchone()[0]
        conn.execute(
            "SELECT rowid, snippet(docs, 1, '<mark>', '</mark>', '...', 16) FROM docs "
            "WHERE docs MATCH ? ORDER BY rank LIMIT 20",
            (expression,),
        ).fetchall()
        wall, used = clock.stop()
        samples.append(wall)
        cpu.append(used)
        totals.append(total)
    conn.close()
    return {
        "index_seconds": round(index_ms / 1000, 2),
        "index_cpu_seconds": round(index_cpu_ms / 1000, 2),
        "size_bytes": size,
        "text_copy_bytes": content,
        "documents": len(documents),
        **latency(samples, cpu),
        "zero_hit_queries": sum(1 for t in totals if t == 0),
        "median_total": statistics.median(totals),
        "others_cores": watch.others_cores(),
    }


def _fts5_match(query: BenchQuery) -> str:
    # Each word a quoted string (no FTS5 syntax); a phrase is one quoted string.
    if query.phrase:
        return '"' + " ".join(query.words) + '"'
    return " ".join(f'"{word}"' for word in query.words)


def whoosh_raw(path: Path, queries: list[BenchQuery]) -> dict[str, Any]:
    """Whoosh itself on the app's index, no permission filter: the default query parser
    over the schema's text fields (AND), the top 20, the exact total and a highlighted
    body snippet per hit: what the issue's reference figures for Whoosh measured."""
    from whoosh import fields
    from whoosh import index as whoosh_index
    from whoosh.qparser import MultifieldParser

    ix = whoosh_index.open_dir(str(path))
    searchable = [n for n, f in ix.schema.items() if isinstance(f, fields.TEXT)]
    parser = MultifieldParser(searchable, ix.schema)
    # Highlight the stored body with the analyser of the field it is searched in.
    marked = "body" if "body" in searchable else searchable[0]
    samples: list[float] = []
    cpu: list[float] = []
    totals: list[int] = []
    with ix.searcher() as searcher:
        for warm in ("night", "sleep", "meeting help", "work", "group"):
            searcher.search(parser.parse(warm), limit=20)
        watch = CpuWatch()
        for query in queries:
            clock = Clock()
            results = searcher.search(parser.parse(query.text), limit=20)
            totals.append(len(results))
            for hit in results:
                hit.highlights(marked, text=hit.get("body", ""))
            wall, used = clock.stop()
            samples.append(wall)
            cpu.append(used)
        others = watch.others_cores()
    ix.close()
    return {
        **latency(samples, cpu),
        "zero_hit_queries": sum(1 for t in totals if t == 0),
        "median_total": statistics.median(totals),
        "others_cores": others,
    }


def make_app(url: str, instance: Path, backend: str) -> Flask:
    from forum import create_app

    return create_app(
        {
            "FORUM_DATABASE_URL": url,
            "FORUM_INSTANCE_PATH": str(instance),
            "FORUM_SECRET_KEY": "bench-search",
            "FORUM_RATELIMITS": "off",
            "FORUM_SEARCH_BACKEND": backend,
        }
    )


def load_documents(app: Flask) -> tuple[list[tuple[int, str, str, str, str]], float]:
    """All documents as the app builds them (forum.search.documents), and the seconds
    that takes: the reference indexes the very same texts."""
    from forum.search.documents import all_documents

    with app.app_context():
        started = time.perf_counter()
        rows = [(d.post_id, d.title, d.body, d.author, d.board) for d in all_documents()]
        seconds = time.perf_counter() - started
        db.session.remove()
    return rows, seconds


def index_size(app: Flask, backend: Any) -> int | None:
    """Bytes on disk: the whoosh index's current generation (the `current` link's
    target), or pg_total_relation_size of search_documents (table, TOAST, indexes)."""
    if backend.name == "postgres":
        with app.app_context():
            size = db.session.scalar(text("SELECT pg_total_relation_size('search_documents')"))
            db.session.remove()
        return int(size) if size is not None else None
    path = whoosh_location(app, backend)
    return None if path is None else dir_size(path)


def whoosh_location(app: Flask, backend: Any) -> Path | None:
    """The directory of the whoosh index searches read (the `current` link's target)."""
    root = Path(getattr(backend, "root", None) or Path(app.instance_path) / "search")
    current = root / "current"
    path = Path(os.path.realpath(current)) if current.exists() else root
    return path if any(path.glob("*.toc")) else None


def measure_backend(
    url: str,
    instance: Path,
    name: str,
    queries: list[BenchQuery],
    manifest: Manifest,
    *,
    warmup: list[BenchQuery],
    reuse_index: bool,
) -> dict[str, Any]:
    """Rebuild the index through the backend, then run the queries through
    `search_posts` as the benchmark member, after the `warmup` queries."""
    from forum import policy
    from forum.search import Query
    from forum.search.documents import all_documents
    from forum.search.service import get_backend
    from forum.search.service import search_posts

    app = make_app(url, instance, name)
    result: dict[str, Any] = {"backend": name}
    with app.app_context():
        backend = get_backend(app)
        indexed = backend.count()
        db.session.remove()
    if reuse_index and indexed == manifest.posts:
        log(f"{name}: reusing the index ({indexed:,} documents)")
        result["index_seconds"] = None
    else:
        log(f"{name}: rebuilding the index from {manifest.posts:,} posts ...")
        watch = CpuWatch()
        with app.app_context():
            clock = Clock()
            indexed = backend.rebuild(all_documents())
            wall, used = clock.stop()
            result["index_seconds"] = round(wall / 1000, 1)
            result["index_cpu_seconds"] = round(used / 1000, 1)
            db.session.remove()
        result["index_others_cores"] = watch.others_cores()
        log(f"{name}: indexed {indexed:,} documents in {result['index_seconds']} s")
    result["documents"] = indexed
    result["size_bytes"] = index_size(app, backend)

    samples: list[float] = []
    cpu: list[float] = []
    totals: list[int] = []
    by_kind: dict[str, list[float]] = {}
    suggestions = 0
    with app.test_request_context("/search"):
        user = db.session.scalar(select(User).where(User.username_key == BENCH_USER))
        assert user is not None
        actor = policy.actor_for(user, guests_read=False)
        db.session.remove()
        # A worker that has served searches before: other queries from the same mix
        # (common words recur, as they do; the measured queries' rare words do not).
        clock = Clock()
        search_posts(actor, q=warmup[0].text)  # a fresh worker's first search
        result["first_search_ms"] = round(clock.stop()[0], 1)
        db.session.remove()
        for warm in warmup[1:]:
            search_posts(actor, q=warm.text)
            db.session.remove()
        watch = CpuWatch()
        for query in queries:
            clock = Clock()
            page = search_posts(actor, q=query.text)
            elapsed, used = clock.stop()
            db.session.remove()
            samples.append(elapsed)
            cpu.append(used)
            by_kind.setdefault(query.kind, []).append(elapsed)
            totals.append(page.total)
            suggestions += page.suggestion is not None
        result["query_others_cores"] = watch.others_cores()
        # The engine alone, with the same policy restriction: backend.search as the
        # service calls it, without the policy look-ups and the loading of the page; a
        # new backend object, so that no cache of the run above helps it.
        readable = frozenset(db.session.scalars(policy.readable_board_ids(actor)))
        backend = get_backend(make_app(url, instance, name))
        for warm in warmup:
            backend.search(Query(text=warm.text, readable_board_ids=readable, limit=20))
        engine: list[float] = []
        engine_cpu: list[float] = []
        for query in queries:
            request = Query(text=query.text, readable_board_ids=readable, limit=20)
            clock = Clock()
            backend.search(request)
            wall, used = clock.stop()
            engine.append(wall)
            engine_cpu.append(used)
        db.session.remove()
        result["engine"] = latency(engine, engine_cpu)
    result.update(latency(samples, cpu))
    location = whoosh_location(app, backend) if name == "whoosh" else None
    if location is not None:
        result["raw"] = whoosh_raw(location, queries)
    result["by_kind"] = {
        kind: {"n": len(values), **latency(values)} for kind, values in sorted(by_kind.items())
    }
    result["zero_hit_queries"] = sum(1 for t in totals if t == 0)
    result["median_total"] = statistics.median(totals)
    result["suggestions"] = suggestions
    return result


# --- the search page under wrk -----------------------------------------------------


def write_lua(paths: list[str], target: Path) -> Path:
    """A wrk script rotating through `paths`; each thread starts elsewhere in the list."""
    entries = ",\n".join(f'  "{p}"' for p in paths)
    target.write_text(
        "-- Generated by bench/search.py: rotate through the benchmark's search URLs.\n"
        f"local paths = {{\n{entries}\n}}\n"
        "local counter = 1\n"
        "local threads = 0\n"
        "function setup(thread)\n"
        '  thread:set("offset", threads * 37)\n'
        "  threads = threads + 1\n"
        "end\n"
        "function init(args)\n"
        "  counter = (offset or 0) % #paths + 1\n"
        "end\n"
        "function request()\n"
        "  local path = paths[counter]\n"
        "  counter = counter % #paths + 1\n"
        '  return wrk.format("GET", path)\n'
        "end\n",
        encoding="utf-8",
    )
    return target


def search_path(query: BenchQuery) -> str:
    return "/search?q=" + quote_plus(query.text)


def measure_page(
    url: str,
    out: Path,
    name: str,
    queries: list[BenchQuery],
    manifest: Manifest,
    *,
    duration: int,
    warmup: int,
    connections: int,
    workers: int,
) -> dict[str, Any]:
    """The search page through gunicorn, as the logged-in member, under wrk."""
    settings = run.Settings(
        duration=duration, warmup=warmup, connections=connections, threads=2, workers=workers
    )
    logs = OUT / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    server_log = logs / f"search-{name}.log"
    server_log.write_text("", encoding="utf-8")
    paths = [search_path(q) for q in queries]
    lua = write_lua(paths, OUT / f"search-{name}.lua")
    result: dict[str, Any] = {"backend": name, "lua": str(lua), "settings": asdict(settings)}
    port = run.free_port()
    env = run.forum_env(out, url, port)
    env["FORUM_SEARCH_BACKEND"] = name
    with run.managed_processes() as processes:
        server = processes.start(
            f"forum ({name})",
            run.gunicorn_argv(port, workers, ROOT, "wsgi:app"),
            env=env,
            log_path=server_log,
        )
        run.wait_until_up(port, "/", server, server_log)
        jar = run.login(port, manifest.username, manifest.password)
        # Every URL answers 200 before wrk runs (a 500 would be fast and look great).
        # And most find something: an index the server cannot see would be fast, too.
        statuses: dict[int, int] = {}
        sizes = []
        marked = 0
        for path in paths:
            response = run.fetch(port, "GET", path, jar=_copy(jar))
            statuses[response.status] = statuses.get(response.status, 0) + 1
            sizes.append(len(response.body))
            marked += b"<mark>" in response.body
        result["statuses"] = {str(k): v for k, v in sorted(statuses.items())}
        result["median_bytes"] = statistics.median(sizes)
        result["pages_with_hits"] = marked
        if set(statuses) != {200}:
            result["warning"] = f"not every search URL answered 200: {statuses}"
        elif marked < len(paths) // 2:
            result["warning"] = f"only {marked} of {len(paths)} result pages show a match"
        if result.get("warning"):
            log(result["warning"])
        log(f"search page ({name}): warm-up {warmup} s, then wrk {duration} s at {connections}")
        if warmup:
            _wrk(processes, port, warmup, settings, jar.header(), lua)
        before = run.CpuSnapshot.take(server)
        output = _wrk(processes, port, duration, settings, jar.header(), lua)
        wrk = run.parse_wrk(output)
        result["wrk"] = asdict(wrk)
        result["cpu"] = asdict(run.CpuSnapshot.take(server).since(before, wrk.requests))
        result["memory"] = run.worker_memory(server)
    return result


def _copy(jar: run.CookieJar) -> run.CookieJar:
    copy = run.CookieJar()
    copy.cookies = dict(jar.cookies)
    return copy


def _wrk(
    processes: run.Processes,
    port: int,
    seconds: int,
    settings: run.Settings,
    cookie: str,
    lua: Path,
) -> str:
    wrk = shutil.which("wrk") or "/usr/bin/wrk"
    argv = [
        wrk,
        f"-t{settings.threads}",
        f"-c{settings.connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        "-H",
        f"User-Agent: {run.USER_AGENT}",
        "-H",
        f"Cookie: {cookie}",
        f"http://{run.HOST}:{port}/",
    ]
    proc = processes.start("wrk", argv)
    try:
        out, _ = proc.communicate(timeout=seconds + 60)
    finally:
        processes.stop(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {out.decode(errors='replace')}")
    return out.decode(errors="replace")


# --- the report -------------------------------------------------------------------


def mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 1_048_576:.1f} MB"


def fmt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def evaluate(report: dict[str, Any]) -> list[dict[str, Any]]:
    posts = report["posts"]
    verdicts = []
    for item in report["backends"]:
        name = item["backend"]
        target = TARGET_WHOOSH_P95_MS if name == "whoosh" else TARGET_POSTGRES_P95_MS
        verdicts.append(
            {
                "name": f"{name}: query p95 through search_posts",
                "value": f"{item['p95_ms']:.1f} ms",
                "target": f"<= {target:.0f} ms",
                "ok": item["p95_ms"] <= target,
            }
        )
        seconds = item.get("index_seconds")
        # The target is for 100,000 posts; a smaller run is scaled up linearly.
        scaled = None if seconds is None else seconds * FULL_POSTS / posts
        verdicts.append(
            {
                "name": f"{name}: indexing 100,000 posts"
                + ("" if posts == FULL_POSTS else f" (scaled from {posts:,})"),
                "value": None if scaled is None else f"{scaled:.1f} s",
                "target": f"<= {TARGET_INDEX_S:.0f} s",
                "ok": None if scaled is None else scaled <= TARGET_INDEX_S,
            }
        )
    for item in report["pages"]:
        p99 = item.get("wrk", {}).get("p99_ms")
        verdicts.append(
            {
                "name": f"{item['backend']}: search page p99, wrk "
                f"{item['settings']['connections']} connections",
                "value": None if p99 is None else f"{p99:.1f} ms",
                "target": f"<= {TARGET_PAGE_P99_MS:.0f} ms",
                "ok": None
                if p99 is None
                else p99 <= TARGET_PAGE_P99_MS and not item.get("warning"),
            }
        )
    return verdicts


def print_report(report: dict[str, Any]) -> None:
    print()
    db_info = report["database"]
    print(
        f"{report['posts']:,} posts ({db_info['findable_posts']:,} findable by "
        f"{BENCH_USER}, a member of 2 groups), {report['queries']} queries; "
        f"database {db_info['url']}"
    )
    docs = report.get("documents_seconds")
    if docs is not None:
        print(f"building the documents from the database (all_documents): {docs:.1f} s")
    header = (
        "engine",
        "path",
        "index s",
        "cpu s",
        "size",
        "p50 ms",
        "p95 ms",
        "cpu p50",
        "cpu p95",
        "max ms",
        "0 hits",
        "others",
    )
    rows = [header]

    def line(engine: str, path: str, item: dict[str, Any], others: float | None) -> None:
        hits = item.get("zero_hit_queries")
        rows.append(
            (
                engine,
                path,
                fmt(item.get("index_seconds"), ".1f") if "index_seconds" in item else "",
                fmt(item.get("index_cpu_seconds"), ".1f") if "index_seconds" in item else "",
                mb(item.get("size_bytes")) if "size_bytes" in item else "",
                fmt(item["p50_ms"], ".2f"),
                fmt(item["p95_ms"], ".2f"),
                fmt(item.get("cpu_p50_ms"), ".2f"),
                fmt(item.get("cpu_p95_ms"), ".2f"),
                fmt(item["max_ms"], ".1f"),
                "" if hits is None else str(hits),
                "" if others is None else f"{others:.2f}",
            )
        )

    for item in report["backends"]:
        line(item["backend"], "search_posts as member", item, item.get("query_others_cores"))
        if item.get("engine"):
            line("", "  backend.search alone", item["engine"], None)
        if item.get("raw"):
            line("", "  raw engine, no filter", item["raw"], item["raw"]["others_cores"])
    ref = report.get("fts5")
    if ref:
        line("sqlite fts5", "raw engine, no filter", ref, ref["others_cores"])
    _table(rows, left=2)
    print(
        "(cpu s, cpu p50/p95: this process's CPU time, hardly changed by other processes but"
        "\n without the database server's work; 0 hits: queries that found nothing; others:"
        "\n cores busy with other processes meanwhile)"
    )
    if ref and ref.get("text_copy_bytes"):
        print(
            f"(fts5's size includes its copy of the texts, {mb(ref['text_copy_bytes'])}; "
            "whoosh stores the body too, for snippets)"
        )
    print(
        "(measured after 200 other queries of the same mix; a fresh worker's first search: "
        + ", ".join(
            f"{item['backend']} {item['first_search_ms']:.0f} ms"
            for item in report["backends"]
            if item.get("first_search_ms") is not None
        )
        + ")"
    )
    for item in report["backends"]:
        print(f"\n{item['backend']} by query kind:")
        kind_rows = [("kind", "n", "p50 ms", "p95 ms", "max ms")]
        for kind, values in item["by_kind"].items():
            kind_rows.append(
                (
                    kind,
                    str(values["n"]),
                    f"{values['p50_ms']:.2f}",
                    f"{values['p95_ms']:.2f}",
                    f"{values['max_ms']:.1f}",
                )
            )
        _table(kind_rows, left=1)
    if report["pages"]:
        print()
        page_rows = [
            (
                "search page",
                "conns",
                "req/s",
                "p50 ms",
                "p99 ms",
                "cpu ms/req",
                "others",
                "HTTP",
                "with hits",
                "worker MB",
                "private MB",
            )
        ]
        for item in report["pages"]:
            wrk = item.get("wrk", {})
            cpu = item.get("cpu", {})
            errors = wrk.get("non_2xx_3xx", 0) + wrk.get("socket_errors", 0)
            page_rows.append(
                (
                    item["backend"],
                    str(item["settings"]["connections"]),
                    fmt(wrk.get("rps"), ".1f") + ("!" if errors else ""),
                    fmt(wrk.get("p50_ms"), ".1f"),
                    fmt(wrk.get("p99_ms"), ".1f"),
                    fmt(cpu.get("server_ms_per_request"), ".2f"),
                    fmt(cpu.get("others_cores"), ".2f"),
                    ",".join(f"{k}x{v}" for k, v in item.get("statuses", {}).items()),
                    str(item.get("pages_with_hits", "-")),
                    "/".join(f"{m:.0f}" for m in item.get("memory", {}).get("workers_mb", [])),
                    "/".join(
                        f"{m:.0f}" for m in item.get("memory", {}).get("workers_private_mb", [])
                    ),
                )
            )
        _table(page_rows, left=1)
        print(
            "(worker MB: resident memory, counting the index's pages mapped from the page"
            " cache, which all workers share; private MB: each worker's own)"
        )
        for item in report["pages"]:
            if item.get("warning"):
                print(f"  ! {item['backend']}: {item['warning']}")
    others = [b.get("query_others_cores") or 0 for b in report["backends"]]
    others += [p.get("cpu", {}).get("others_cores") or 0 for p in report["pages"]]
    others += [b.get("index_others_cores") or 0 for b in report["backends"]]
    if others and max(others) >= 0.25:
        print(
            f"\n! other processes kept up to {max(others):.2f} cores busy during the "
            "measurements: the latencies are noisy (with the postgres backend, the "
            "database server's own work counts as 'others')."
        )
    print("\ntargets (issue 5):")
    for verdict in report["targets"]:
        mark = {True: "OK  ", False: "MISS", None: "n/a "}[verdict["ok"]]
        value = verdict["value"] or "not measured"
        print(f"  {mark} {verdict['name']}: {value} (target {verdict['target']})")


def _table(rows: Sequence[Sequence[str]], left: int) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if column < left else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


# --- main -------------------------------------------------------------------------


def backends_for(choice: str, dialect: str) -> list[str]:
    if choice == "all":
        return ["whoosh", "postgres"] if dialect == "postgresql" else ["whoosh"]
    if choice == "postgres" and dialect != "postgresql":
        raise SystemExit("--backend postgres needs a PostgreSQL database (--url)")
    return [choice]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, help="posts to generate (default 100,000)")
    parser.add_argument("--queries", type=int, help="queries to run (default 200)")
    parser.add_argument("--url", help="a PostgreSQL URL instead of bench/out/search-N.db")
    parser.add_argument(
        "--backend",
        choices=("whoosh", "postgres", "all"),
        default="all",
        help="all: whoosh, and postgres too when the database is PostgreSQL",
    )
    parser.add_argument("--quick", action="store_true", help="10,000 posts, 50 queries, 5 s wrk")
    parser.add_argument("--force", action="store_true", help="rebuild the database")
    parser.add_argument(
        "--reuse-index", action="store_true", help="skip the rebuild if the index is complete"
    )
    parser.add_argument("--duration", type=int, help="wrk seconds (default 20; quick 5)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--no-wrk", action="store_true", help="skip the search page under wrk")
    args = parser.parse_args(argv)
    posts = args.posts or (10_000 if args.quick else FULL_POSTS)
    query_count = args.queries or (50 if args.quick else 200)
    duration = args.duration or (5 if args.quick else 20)
    warmup = 1 if args.quick else 3
    if not args.no_wrk and not (shutil.which("wrk") or Path("/usr/bin/wrk").exists()):
        parser.error("wrk is not installed (Debian/Ubuntu: apt-get install wrk); or --no-wrk")

    OUT.mkdir(parents=True, exist_ok=True)
    if args.url:
        url = args.url
        parsed = make_url(url)
        tag = f"{parsed.get_backend_name()}-{parsed.database}-{posts}"
    else:
        url = f"sqlite:///{OUT / f'search-{posts}.db'}"
        tag = f"sqlite-{posts}"
    dialect = "postgresql" if make_url(url).get_backend_name() == "postgresql" else "sqlite"
    names = backends_for(args.backend, dialect)
    out = OUT / f"search-{tag}"  # the instance folder (and its index) is out/instance
    instance = out / "instance"
    instance.mkdir(parents=True, exist_ok=True)

    started = datetime.now(UTC)
    manifest = build_or_reuse(url, OUT / f"search-{tag}.json", posts, force=args.force)
    report: dict[str, Any] = {
        "started_at": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "wrk": run.wrk_version() if not args.no_wrk else None,
            "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        },
        "posts": posts,
        "queries": query_count,
        "quick": args.quick,
        "database": {
            "url": make_url(url).render_as_string(hide_password=True),
            "fill_seconds": manifest.fill_seconds,
            "counts": manifest.counts,
            "findable_posts": manifest.findable_posts,
        },
        "backends": [],
        "pages": [],
    }

    probe = fill.make_app(url)  # a bare app: the database only

    def post_html(post_id: int) -> str:
        with probe.app_context():
            value = db.session.scalar(select(Post.html).where(Post.id == post_id))
            db.session.remove()
        return value or ""

    queries = make_queries(query_count, post_html, posts)
    warmup_queries = make_queries(query_count, post_html, posts, seed=SEED + 2)
    report["query_list"] = [asdict(q) for q in queries]

    log("building the documents (forum.search.documents.all_documents) ...")
    documents, doc_seconds = load_documents(probe)
    report["documents_seconds"] = round(doc_seconds, 1)
    log(f"FTS5 reference over {len(documents):,} documents ...")
    report["fts5"] = fts5_reference(documents, queries, OUT / f"search-{tag}-fts5.db")
    del documents

    for name in names:
        report["backends"].append(
            measure_backend(
                url,
                instance,
                name,
                queries,
                manifest,
                warmup=warmup_queries,
                reuse_index=args.reuse_index,
            )
        )
    if not args.no_wrk:
        for name in names:
            report["pages"].append(
                measure_page(
                    url,
                    out,
                    name,
                    queries,
                    manifest,
                    duration=duration,
                    warmup=warmup,
                    connections=args.connections,
                    workers=args.workers,
                )
            )
    report["targets"] = evaluate(report)
    report["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    # search.json: the latest run; a copy per database, so both backends' runs stay.
    target = OUT / "search.json"
    body = json.dumps(report, indent=2, default=str) + "\n"
    target.write_text(body, encoding="utf-8")
    (OUT / f"search-results-{tag}.json").write_text(body, encoding="utf-8")
    print_report(report)
    print(f"\nwritten: {target} (and search-results-{tag}.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
