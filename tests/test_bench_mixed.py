"""bench/mixed.py's bookkeeping and bench/fill.py's sizes (the load itself is run by hand).

The benchmark must say when it cannot be trusted: a reply acknowledged but missing from
the database, an error answer, a whole forum over the memory target, a load generator
at its one-core limit. These tests feed its report functions made-up outcomes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
# The scripts import each other as top-level modules (`python bench/mixed.py`).
sys.path.insert(0, str(BENCH))

import fill  # noqa: E402
import mixed  # noqa: E402


def outcome(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "setup": "sqlite",
        "title": "(a) SQLite + whoosh, 1 server",
        "requests": 100,
        "rps": 10.0,
        "latency": {
            kind: {"requests": 25, "share": 0.25, "p50_ms": 5.0, "p99_ms": 9.0}
            for kind in [*mixed.KINDS, "all"]
        },
        "errors": {},
        "posts": {"acknowledged": 5, "in_database": 5, "lost": 0, "new_rows": 5, "ok": True},
        "memory": [
            {
                "master_mb": 24.0,
                "workers_mb": [90.0, 91.0],
                "total_mb": 205.0,
                "total_pss_mb": 160.0,
                "total_anon_mb": 150.0,
                "total_file_mb": 55.0,
                "ok": True,
            }
        ],
        "cpu": {
            "server_cores": 1.5,
            "generator_cores": 0.2,
            "busiest_generator_cores": 0.1,
            "others_cores": 0.1,
        },
        "loadavg": {"start": ["0.5"], "end": ["1.9"]},
        "database": "sqlite://",
        "index": "",
        "skipped": None,
    }
    base.update(changes)
    return base


def report(*setups: dict[str, object], posts: int = 100_000) -> dict[str, object]:
    return {
        "started_at": "2026-12-06T12:00:00+00:00",
        "machine": {"cpus": 2, "python": "3.11"},
        "settings": {"posts": posts, "connections": 32, "warmup": 10, "duration": 60, "workers": 2},
        "setups": list(setups),
    }


def test_a_clean_run_says_ok_against_the_memory_target() -> None:
    lines = mixed.notes(report(outcome()))
    assert lines == [
        "OK   sqlite: whole forum (master + 2 workers) 205.0 MB VmRSS "
        "(PSS 160.0 MB; RssAnon 150.0, RssFile 55.0), "
        "target < 300 MB at 100,000 posts"
    ]


def test_a_lost_reply_and_an_error_answer_are_flagged() -> None:
    lost = {"acknowledged": 6, "in_database": 5, "lost": 1, "new_rows": 5, "ok": False}
    lines = mixed.notes(report(outcome(posts=lost, errors={"reply HTTP 500": 2})))
    assert "! sqlite: 2 x reply HTTP 500" in lines
    assert any(line.startswith("! sqlite: replies acknowledged 6") for line in lines)
    summary, _kinds = mixed.tables(report(outcome(posts=lost, errors={"reply HTTP 500": 2})))
    assert summary[1][4] == "2" and summary[1][5] == "6/5 !"


def test_a_forum_over_300_mb_is_a_miss_and_a_small_database_is_not_the_check() -> None:
    heavy = [
        {
            "master_mb": 24.0,
            "workers_mb": [150.0, 140.0],
            "total_mb": 314.0,
            "total_pss_mb": 260.0,
            "ok": False,
        }
    ]
    (line,) = mixed.notes(report(outcome(memory=heavy), posts=10_000))
    assert line.startswith("MISS sqlite: whole forum")
    assert line.endswith("(this run: 10,000 posts, not the check)")


def test_a_generator_at_its_core_limit_is_flagged() -> None:
    cpu = {
        "server_cores": 1.0,
        "generator_cores": 0.9,
        "busiest_generator_cores": 0.85,
        "others_cores": 0.0,
    }
    assert any("may be the bottleneck" in line for line in mixed.notes(report(outcome(cpu=cpu))))


def test_a_skipped_setup_is_listed_with_its_reason() -> None:
    summary, kinds = mixed.tables(report(outcome(skipped="Redis unreachable")))
    assert summary[1][1] == "skipped: Redis unreachable"
    assert len(kinds) == 1  # the header only
    assert mixed.notes(report(outcome(skipped="Redis unreachable"))) == []


def test_percentiles_of_the_measured_latencies() -> None:
    values = [float(n) for n in range(1, 101)]
    assert mixed.percentile(values, 0.50) == 51.0
    assert mixed.percentile(values, 0.99) == 99.0
    assert mixed.percentile([], 0.99) is None


def test_the_mix_is_that_of_the_issue() -> None:
    assert dict(mixed.MIX) == {"topic": 0.80, "board": 0.10, "search": 0.05, "reply": 0.05}


@pytest.mark.parametrize("topics", [100, 500, 2_000, 5_000])
def test_fill_sizes_keep_every_board_and_the_busy_one_first(topics: int) -> None:
    sizes = fill.board_sizes(topics)
    assert sum(sizes) == topics
    assert len(sizes) == len(fill.BOARDS) and min(sizes) >= 1
    assert sizes[0] == max(sizes)


def test_the_default_fill_is_unchanged() -> None:
    assert fill.board_sizes(fill.TOPICS) == [count for _, _, count in fill.BOARDS]
    assert fill.expected_counts() == {"users": 200, "boards": 5, "topics": 2_000, "posts": 40_000}
    assert fill.expected_counts(100_000)["topics"] == 5_000


def test_a_reply_is_acknowledged_only_by_a_redirect_to_the_new_post() -> None:
    assert mixed.acknowledged("/t/7/reply", 302, "/t/7?page=2#p123")
    assert not mixed.acknowledged("/t/7/reply", 302, "/login?next=/t/7/reply")
    assert not mixed.acknowledged("/t/7/reply", 200, None)
    assert not mixed.acknowledged("/t/7/reply", 429, "/t/7?page=2#p123")
    assert not mixed.acknowledged("/t/7/reply", 302, "/t/70?page=2#p123")
    assert mixed.acknowledged("/t/7/reply", 303, "http://127.0.0.1:8000/t/7#p9")
