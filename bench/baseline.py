"""The practical ceiling: plain Flask, one indexed sqlite3 query, one Jinja template.

It renders the same topic page as the forum (the 20 posts of a topic with author names,
dates and the stored HTML) from the same database file, with no ORM, no auth, no
sessions and no CSRF. Whatever the forum adds on top is what the ratio in `bench/run.py`
measures.

    BENCH_DB=$PWD/bench/out/bench.db .venv/bin/gunicorn --chdir bench -w 2 \\
        -b 127.0.0.1:8001 --no-control-socket baseline:app
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from flask import abort

DEFAULT_DB = Path(__file__).resolve().parent / "out" / "bench.db"

# One query: the posts through the unique (topic_id, number) index, the topic title and
# each author by primary key.
TOPIC_QUERY = """
SELECT t.title, p.id, p.number, p.html, p.created_at, p.reply_to_id, u.username
FROM posts AS p
JOIN topics AS t ON t.id = p.topic_id
JOIN users AS u ON u.id = p.author_id
WHERE p.topic_id = ?
ORDER BY p.number
LIMIT 20
"""

TOPIC_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
</head>
<body>
<header><a href="/">Forum</a></header>
<main>
<h1>{{ title }}</h1>
{% for post in posts %}
<article id="p{{ post.id }}">
<header>
<a href="/u/{{ post.username }}">{{ post.username }}</a>
<time datetime="{{ post.created_at }}">{{ post.created_at[:16] }}</time>
<a href="#p{{ post.id }}">#{{ post.number }}</a>
{% if post.reply_to_id %}<a href="#p{{ post.reply_to_id }}">in reply</a>{% endif %}
</header>
<div>{{ post.html | safe }}</div>
</article>
{% endfor %}
</main>
</body>
</html>
"""

app = Flask(__name__)
# Compiled once at import; Flask autoescapes templates made from strings.
_template = app.jinja_env.from_string(TOPIC_TEMPLATE)
_local = threading.local()


def _connection() -> sqlite3.Connection:
    """One connection per worker thread, opened on first use."""
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        # Relative paths are relative to the working directory (gunicorn's --chdir).
        path = Path(os.environ.get("BENCH_DB", str(DEFAULT_DB))).resolve()
        # Not `mode=ro`: a read-only handle cannot open a WAL database whose -shm file is
        # missing. The baseline only ever reads.
        conn = sqlite3.connect(path)
        conn.row_factory = sqlite3.Row
        _local.conn = conn
    return conn


@app.get("/t/<int:topic_id>")
def topic(topic_id: int) -> str:
    rows: list[Any] = _connection().execute(TOPIC_QUERY, (topic_id,)).fetchall()
    if not rows:
        abort(404)
    return _template.render(title=rows[0]["title"], posts=rows)
