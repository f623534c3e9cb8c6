"""Rendering benchmark: the worst posts the limits still accept, timed (run by hand).

Issue 10, finding 4: a 50,000-character Markdown table took 2.7 s to render, most of it
in bleach. `forum.rendering` now refuses posts over its limits (`TooComplex`) and feeds
bleach less; this script finds, for each kind of heavy post, the largest one that is
still accepted (a binary search on its size, never beyond the 50,000 characters a post
may have), and prints how long it takes to render (`render_markdown`, Markdown and bleach
together; the best of --repeat runs, so that a busy machine shows less), how long one
just over the limit takes to be refused, and whether the accepted one stays under the
200 ms target.

    .venv/bin/python bench/render.py                  # every case, links on
    .venv/bin/python bench/render.py --repeat 9 -k table
    .venv/bin/python bench/render.py --before         # the same inputs through the
                                                      # renderer of git HEAD~ (no limits)

`--before FILE` (or `--before` for the committed version before the limits) renders the
same inputs with another `rendering.py`, to compare: that module has no limits, so it
renders each case at its full 50,000 characters.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forum import rendering  # noqa: E402
from forum.validation import BODY_MAX  # noqa: E402

TARGET_MS = 200.0
# The commit before the limits (issue 10): `--before` with no file renders with this.
BEFORE_REVISION = "3aee676"


def _fill(unit: Callable[[int], str], n: int) -> str:
    """`n` units, numbered so that no two are the same (no cache can help)."""
    return "".join(unit(i) for i in range(n))


def _table(columns: int) -> Callable[[int], str]:
    def make(rows: int) -> str:
        head = "|" + "|".join(f" h{c} " for c in range(columns)) + "|\n"
        rule = "|" + "|".join("---" for _ in range(columns)) + "|\n"
        body = "".join(
            "|" + "|".join(f" {r}.{c} " for c in range(columns)) + "|\n" for r in range(rows)
        )
        return head + rule + body

    return make


def _nested(depth: int) -> Callable[[int], str]:
    def make(n: int) -> str:
        one = "".join("    " * level + f"- level {level}\n" for level in range(depth))
        return "\n".join(one for _ in range(n))

    return make


PROSE = (
    "Today was day {i} and it was hard, but I went to the meeting anyway and talked "
    "to my sponsor about the week. "
)


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[int], str]
    what: str


CASES: tuple[Case, ...] = (
    Case(
        "table (the issue's)",
        lambda n: "| a | b | c |\n|---|---|---|\n" + "| x | y | z |\n" * n,
        "rows of one-letter cells",
    ),
    Case("table 3 columns", _table(3), "rows of a 3-column table"),
    Case("table 8 columns", _table(8), "rows of an 8-column table"),
    Case("table 20 columns", _table(20), "rows of a 20-column table"),
    Case("prose", lambda n: _fill(lambda i: PROSE.format(i=i), n), "sentences in one paragraph"),
    Case(
        "paragraphs",
        lambda n: _fill(lambda i: PROSE.format(i=i) + "\n\n", n),
        "short paragraphs",
    ),
    Case("short lines", lambda n: _fill(lambda i: f"line {i}\n", n), "lines (each a <br>)"),
    Case("emphasis", lambda n: _fill(lambda i: f"*e{i}* ", n), "*emphasis* runs"),
    Case("strong", lambda n: _fill(lambda i: f"**s{i}** ", n), "**strong** runs"),
    Case("strikethrough", lambda n: _fill(lambda i: f"~~d{i}~~ ", n), "~~struck~~ runs"),
    Case("inline code", lambda n: _fill(lambda i: f"`c{i}` ", n), "`code` spans"),
    Case(
        "markdown links",
        lambda n: _fill(lambda i: f"[link {i}](https://example.org/p/{i}) ", n),
        "[text](url) links",
    ),
    Case(
        "bare URLs",
        lambda n: _fill(lambda i: f"https://example.org/p/{i} ", n),
        "bare URLs (linkified by bleach)",
    ),
    Case(
        "autolinks",
        lambda n: _fill(lambda i: f"<https://example.org/p/{i}> ", n),
        "<url> autolinks",
    ),
    Case("headings", lambda n: _fill(lambda i: f"# Heading {i}\n", n), "headings"),
    Case("rules", lambda n: _fill(lambda i: f"a{i}\n\n---\n\n", n), "paragraph + rule"),
    Case("bullet list", lambda n: _fill(lambda i: f"- item {i}\n", n), "list items"),
    Case("numbered list", lambda n: _fill(lambda i: f"{i + 1}. item\n", n), "list items"),
    Case("nested lists", _nested(rendering.MAX_NESTING), "lists nested 10 deep"),
    Case(
        "nested quotes",
        lambda n: _fill(lambda i: "> " * rendering.MAX_NESTING + f"deep {i}\n\n", n),
        "quotes nested 10 deep",
    ),
    Case(
        "quote blocks",
        lambda n: _fill(lambda i: f"> quoted {i}\n\n", n),
        "one-line quotes",
    ),
    Case(
        "code blocks",
        lambda n: _fill(lambda i: f"```\ncode {i}\n```\n\n", n),
        "fenced code blocks",
    ),
    Case(
        "code with markup",
        lambda n: "```html\n" + _fill(lambda i: f'<p class="x{i}">a &amp; b</p>\n', n) + "```",
        "lines of HTML in one code block",
    ),
    Case("less-than signs", lambda n: "<" * n, 'characters "<" (each "&lt;")'),
    Case("ampersands", lambda n: "&" * n, 'characters "&" (each "&amp;")'),
    Case("numeric references", lambda n: "&#60;" * n, 'typed "&#60;"'),
    Case("named references", lambda n: "&quot;" * n, 'typed "&quot;"'),
    Case("backslash escapes", lambda n: "\\*" * n, "backslash escapes"),
    Case("open brackets", lambda n: "[" * n, 'unclosed "["'),
    Case(
        "mixed",
        lambda n: _fill(
            lambda i: f"**{i}** see [this](https://example.org/{i}) & `x<{i}>` *ok*\n", n
        ),
        "lines mixing everything",
    ),
)


def _accepted(module: ModuleType, source: str) -> bool:
    if not _has_limits(module):
        return True  # the renderer before the limits took anything up to BODY_MAX
    try:
        module.render_markdown(source)
    except getattr(module, "TooComplex", ()):
        return False
    return True


def _largest(module: ModuleType, case: Case) -> tuple[int, bool]:
    """The largest n whose post fits in BODY_MAX and is accepted; and whether the
    limits (rather than the post length) stopped it."""
    low, high = 0, 1
    while len(case.make(high)) <= BODY_MAX and _accepted(module, case.make(high)):
        low, high = high, high * 2
    # low is accepted (or 0); high is too long or refused.
    while high - low > 1:
        middle = (low + high) // 2
        if len(case.make(middle)) <= BODY_MAX and _accepted(module, case.make(middle)):
            low = middle
        else:
            high = middle
    limited = len(case.make(high)) <= BODY_MAX
    return low, limited


def _time(module: ModuleType, source: str, repeat: int) -> tuple[float, float]:
    """(best, median) milliseconds of rendering `source`; refused posts count too."""
    times = []
    for _ in range(repeat):
        started = time.process_time()
        try:
            module.render_markdown(source)
        except getattr(module, "TooComplex", ()):
            pass
        times.append((time.process_time() - started) * 1000)
    return min(times), statistics.median(times)


def _split(module: ModuleType, source: str) -> tuple[float, float, int, int]:
    """Markdown ms, bleach ms, HTML characters, start tags (one run)."""
    md = module._new_markdown(limits=False) if _has_limits(module) else module._new_markdown()
    started = time.process_time()
    html = md.convert(module._strip_control_chars(source))
    middle = time.process_time()
    cleaned = module.sanitize_html(html)
    done = time.process_time()
    tags = cleaned.count("<") - cleaned.count("</")
    return (middle - started) * 1000, (done - middle) * 1000, len(cleaned), tags


def _has_limits(module: ModuleType) -> bool:
    return hasattr(module, "TooComplex")


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("rendering_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _before_module(arg: str) -> ModuleType:
    if arg != "HEAD":
        return _load(Path(arg))
    source = subprocess.run(
        ["git", "show", f"{BEFORE_REVISION}:forum/rendering.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = ROOT / "bench" / "out" / "rendering_before.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return _load(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (best shown)")
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    parser.add_argument(
        "--before",
        nargs="?",
        const="HEAD",
        help="also time the same inputs with this rendering.py (default: before the limits)",
    )
    args = parser.parse_args()
    before = _before_module(args.before) if args.before else None
    print(
        f"limits: {rendering.MAX_TABLE_ROWS} table rows, {rendering.MAX_TABLE_COLUMNS} columns, "
        f"nesting {rendering.MAX_NESTING}, {rendering.MAX_ELEMENTS:,} elements, "
        f"{rendering.MAX_LINKS} links, {rendering.MAX_HTML_CHARS:,} HTML characters; "
        f"posts up to {BODY_MAX:,} characters; best of {args.repeat} runs\n"
    )
    header = (
        f"{'case':<20} {'largest accepted':>26} {'chars':>6} {'html':>7} {'tags':>5} "
        f"{'md ms':>6} {'bleach':>6} {'best ms':>7} {'median':>6} {'refused ms':>10}  target"
    )
    if before is not None:
        header += f"  {'before ms (50k chars)':>21}"
    print(header)
    worst = 0.0
    for case in CASES:
        if args.k and args.k not in case.name:
            continue
        n, limited = _largest(rendering, case)
        source = case.make(n)
        md_ms, bleach_ms, html_chars, tags = _split(rendering, source)
        best, median = _time(rendering, source, args.repeat)
        worst = max(worst, best)
        refused = "-"
        if limited:
            refused = f"{_time(rendering, case.make(n + 1), args.repeat)[0]:.1f}"
        what = f"{n:,} {case.what}"
        line = (
            f"{case.name:<20} {what[:26]:>26} {len(source):>6} {html_chars:>7} {tags:>5} "
            f"{md_ms:>6.1f} {bleach_ms:>6.1f} {best:>7.1f} {median:>6.1f} {refused:>10}  "
            f"{'OK' if best < TARGET_MS else 'MISS'}"
        )
        if before is not None:
            full, _ = _largest(before, case)
            line += f"  {_time(before, case.make(full), max(1, args.repeat // 2))[0]:>21.1f}"
        print(line, flush=True)
    print(f"\nworst accepted: {worst:.1f} ms (target {TARGET_MS:.0f} ms)")
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
