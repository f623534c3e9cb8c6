"""The query language offered to members: words, "phrases" and -exclusions.

Nothing else is syntax: field prefixes (`title:`), wildcards, `AND`/`OR`/`NOT`, `~`,
`^` and brackets are just characters, which the backends' analyzers drop or keep as
parts of words. Backends build their engine's query objects from `Term`s and never
hand the member's text to an engine's own query parser, so no input can raise.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_TERMS = 32
# Zero-width and bidi controls are format characters (Cf): they render as nothing and
# would make two identical-looking words differ.
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class Term:
    """One part of a query: a word (or a run of text), or a quoted phrase; `exclude`
    for a leading minus. `text` never contains double quotes."""

    text: str
    phrase: bool = False
    exclude: bool = False

    def render(self) -> str:
        """The term as a member would type it."""
        body = f'"{self.text}"' if self.phrase else self.text
        return f"-{body}" if self.exclude else body


def clean(text: str) -> str:
    """The text with control, format and unassigned characters removed (whitespace
    ones become spaces) and runs of whitespace collapsed."""
    kept = []
    for char in text:
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char) not in _DROP_CATEGORIES:
            kept.append(char)
    return _SPACE_RE.sub(" ", "".join(kept)).strip()


def parse(text: str) -> list[Term]:
    """Split cleaned text into terms; an unbalanced quote is closed at the end."""
    terms: list[Term] = []
    i = 0
    n = len(text)
    while i < n and len(terms) < MAX_TERMS:
        if text[i].isspace():
            i += 1
            continue
        exclude = False
        if text[i] == "-" and i + 1 < n and not text[i + 1].isspace():
            exclude = True
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                end = n
            body = _SPACE_RE.sub(" ", text[i + 1 : end]).strip()
            i = end + 1
            if body:
                terms.append(Term(body, phrase=True, exclude=exclude))
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] != '"':
            i += 1
        body = text[start:i]
        if body:
            terms.append(Term(body, exclude=exclude))
    return terms


def render(terms: list[Term]) -> str:
    """The canonical query text for a list of terms (quotes balanced)."""
    return " ".join(term.render() for term in terms)
