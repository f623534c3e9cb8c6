# Python-Markdown ships no type information, so its base classes are Any to mypy.
# mypy: allow-subclassing-any
"""The one place where user-written text becomes HTML.

Markdown is rendered with raw HTML escaped, then bleach cleans the result as
the last step. The bleach ``Cleaner`` below holds the project's only allow-list.

Rendering is bounded: a post whose tables, nesting, formatting or size would cost too
much to render (or to read) raises `TooComplex` with a message that names the problem,
as early as the problem can be seen (see "Limits" below and bench/render.py).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator
from functools import partial
from html.parser import HTMLParser
from typing import Any
from typing import TypeAlias

import bleach
import markdown
from bleach.html5lib_shim import Filter
from bleach.linkifier import LinkifyFilter
from markdown.blockprocessors import BlockProcessor
from markdown.blockprocessors import BlockQuoteProcessor
from markdown.blockprocessors import HashHeaderProcessor
from markdown.blockprocessors import HRProcessor
from markdown.blockprocessors import SetextHeaderProcessor
from markdown.extensions import Extension
from markdown.extensions.tables import TableExtension
from markdown.extensions.tables import TableProcessor
from markdown.inlinepatterns import IMAGE_LINK_RE
from markdown.inlinepatterns import IMAGE_REFERENCE_RE
from markdown.inlinepatterns import LINK_RE
from markdown.inlinepatterns import REFERENCE_RE
from markdown.inlinepatterns import HtmlInlineProcessor
from markdown.inlinepatterns import ImageInlineProcessor
from markdown.inlinepatterns import ImageReferenceInlineProcessor
from markdown.inlinepatterns import LinkInlineProcessor
from markdown.inlinepatterns import ReferenceInlineProcessor
from markdown.inlinepatterns import ShortImageReferenceInlineProcessor
from markdown.inlinepatterns import ShortReferenceInlineProcessor
from markdown.inlinepatterns import SimpleTagInlineProcessor
from markdown.treeprocessors import Treeprocessor

from forum.validation import USERNAME_RE

# --- Limits ----------------------------------------------------------------------------
#
# Python-Markdown and bleach (html5lib) are pure Python and cost about 20-100 us for
# every element they build or clean: a 50,000-character table of 3,500 rows took 2.7 s.
# These caps bound the worst post that is still accepted to well under 200 ms (measured
# by bench/render.py) while leaving ordinary long posts, tables and lists alone.
MAX_TABLE_ROWS = 200
MAX_TABLE_COLUMNS = 20
# Lists and quotes inside lists and quotes: each level re-parses the text inside it.
MAX_NESTING = 10
# Start tags in the HTML (paragraphs, line breaks, list items, table cells, links...).
MAX_ELEMENTS = 1_000
MAX_LINKS = 500
# The HTML stored and sent for one post (the Markdown source is at most 50,000).
MAX_HTML_CHARS = 200_000
# Markdown's own work (block and inline matches), counted while it runs so that a post
# far over MAX_ELEMENTS is refused before Markdown has built all of it.
_MAX_WORK = 2 * MAX_ELEMENTS


class TooComplex(ValueError):
    """A post that would cost too much to render; `message` says what to change."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


#: Bump whenever the HTML produced for the same source changes; a CLI command
#: re-renders stored posts whose renderer version is older.
RENDERER_VERSION: int = 2

# No <img>: an image from another site would tell that site every reader's IP
# address, which on a recovery forum can out a member. Markdown images become
# links instead (see _ImagesAsLinksTreeprocessor).
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "a",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "strong",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)

ALLOWED_PROTOCOLS: frozenset[str] = frozenset({"http", "https", "mailto"})

LINK_REL = "nofollow ugc noopener"

_ALIGN_VALUES = frozenset({"left", "center", "right"})
_CODE_CLASS_RE = re.compile(r"language-[A-Za-z0-9_+#.-]{1,40}")

# C0 controls (except tab, newline, carriage return) and DEL: never meaningful
# in a post, and NUL or STX/ETX (Python-Markdown's placeholder markers) are
# exactly what parser confusion is built from. Removed before any parsing
# rather than trusting each parser to cope.
#
# Also removed: the bidirectional embedding, override and isolate controls (U+202A-U+202E,
# U+2066-U+2069). An unclosed right-to-left override makes the text after it read
# backwards - a link text, the rest of the paragraph, and wherever an excerpt of the
# post is shown (search results, profiles, notifications), the page around it. Stripping
# them here means no stored HTML, and nothing made from it, carries one. Right-to-left
# writing needs none of them: Arabic, Hebrew and Urdu are ordered by the Unicode
# bidirectional algorithm from the letters themselves, and the plain marks U+200E/U+200F
# (and U+061C) that people use to nudge punctuation are kept.
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")

# Bare URLs are linkified only with an explicit scheme or a leading "www.". The path
# allows only balanced "(...)". U+E000-U+E002 stand for "<", ">" and "&" while bleach
# cleans (see `_hide_escapes`), so they are treated exactly like those characters.
# bleach's default also links bare domains, which turns typos such as
# "day 3.It was hard" into links to http://3.it; it also only knows old TLDs,
# so https://example.charity would not be linked at all.
_URL_RE = re.compile(
    r"""
    (?<![\w@.:/])                         # not inside a word, e-mail address or URL
    (?:https?://(?:[\w.~%!$&\ue002'*+,;=-]+@)?|www\.)
    (?:[\w-]+\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})
    (?::[0-9]{1,5})?
    (?:[/?#](?:[^\s<>\ue000\ue001"`{}|\\^()]|\([^\s<>\ue000\ue001"`{}|\\^()]*\))*)?  # path
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    """Attribute allow-list; never ``style`` and never an event handler."""
    if tag == "a":
        return name in {"href", "rel", "title"}
    if tag in {"th", "td"}:
        return name == "align" and value in _ALIGN_VALUES
    if tag == "code":
        # Fenced code keeps its language for highlighting. Arbitrary classes
        # would let a post borrow the site's own CSS (e.g. to fake a staff badge).
        return name == "class" and _CODE_CLASS_RE.fullmatch(value) is not None
    return False


# LinkifyFilter's attribute map: (namespace, name) -> value, plus "_text".
_Attrs: TypeAlias = dict[tuple[str | None, str] | str, str]


def _link_attributes(attrs: _Attrs, new: bool) -> _Attrs | None:
    """LinkifyFilter callback run on every link, old and new."""
    href = attrs.get((None, "href"))
    if not href:
        # The sanitiser removed a dangerous href (javascript:, data:, ...);
        # keep the text, drop the dead anchor.
        return None
    # Rebuilt in a fixed order so a second pass serialises identically, and
    # any rel the author supplied is replaced, never merged.
    result: _Attrs = {(None, "href"): href}
    title = attrs.get((None, "title"))
    if title:
        result[(None, "title")] = title
    result[(None, "rel")] = LINK_REL
    result["_text"] = attrs.get("_text", "")
    return result


# The three escapes Markdown writes for "<", ">" and "&" cost bleach more than anything
# else per byte: html5lib enters its character-reference state for each one and bleach
# turns each into a token of its own (50,000 "<" took 1.3 s, against 45 ms for as many
# letters). So before cleaning they are swapped for private-use characters that pass
# through as plain text, and `_RestoreEscapes`, the cleaner's last filter (after the
# linkifier, whose URL pattern treats them as the characters they stand for), swaps them
# back inside the token stream: in text as the characters themselves (the serializer
# escapes them again, as it would have), in attribute values as the entity text they
# were (bleach keeps attribute values unparsed). Nothing is written around bleach: its
# serializer still produces every byte, after its allow-list has judged every tag and
# attribute. The protocol check on an href sees a placeholder where the browser will
# see "<", ">" or "&": none of them is a scheme character or is skipped by either, so
# both find the same scheme. Private-use characters a member typed are turned into
# numeric references first, so a placeholder in the stream is always one of ours.
_ESCAPES: dict[str, str] = {"&lt;": "\ue000", "&gt;": "\ue001", "&amp;": "\ue002"}
_ESCAPE_RE = re.compile("&(?:lt|gt|amp);")
_PLACEHOLDER_RE = re.compile("[\ue000-\ue002]")
_IN_TEXT = str.maketrans({"\ue000": "<", "\ue001": ">", "\ue002": "&"})
_IN_ATTRIBUTE = str.maketrans({"\ue000": "&lt;", "\ue001": "&gt;", "\ue002": "&amp;"})


class _RestoreEscapes(Filter):  # type: ignore[misc]
    """Put back what `_hide_escapes` swapped out, before anything else reads the text."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            kind = token["type"]
            if kind in ("Characters", "SpaceCharacters"):
                token["data"] = token["data"].translate(_IN_TEXT)
            elif kind in ("StartTag", "EmptyTag") and token["data"]:
                token["data"] = {
                    key: value.translate(_IN_ATTRIBUTE) for key, value in token["data"].items()
                }
            yield token


def _hide_escapes(html: str) -> str:
    html = _PLACEHOLDER_RE.sub(lambda m: f"&#{ord(m.group())};", html)
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group()], html)


# Protocol-relative links ("//example.org/x") are allowed: bleach treats them
# as scheme-less, the browser resolves them to the forum's own scheme, so they
# are ordinary external links and get the same rel as any other link.
_CLEANER = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=_allow_attribute,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    # Linkify inside the cleaner, after sanitising: bleach.linkify() run on
    # cleaned output would link text inside <code> and could bring back
    # schemes the cleaner removed.
    filters=[
        partial(
            LinkifyFilter,
            callbacks=[_link_attributes],
            skip_tags={"pre", "code"},
            parse_email=False,
            url_re=_URL_RE,
        ),
        _RestoreEscapes,
    ],
)


# New members (trust level 0) may not post links or images, a spammer's whole purpose.
# The same allow-list without <a> and without linkifying: a Markdown link, an autolink or
# an image (already turned into a link above) keeps only its text, and a bare URL stays
# plain text. Stripping <a> in the sanitiser rather than in Markdown means no route to a
# link survives, whatever Markdown produced.
_TEXT_ONLY_CLEANER = bleach.Cleaner(
    tags=ALLOWED_TAGS - {"a"},
    attributes=_allow_attribute,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[_RestoreEscapes],
)


class _StrikethroughExtension(Extension):
    """``~~text~~`` becomes ``<del>text</del>``."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Register the inline pattern just before emphasis."""
        # The text may not contain "~~", so a "~~" that is never closed costs a
        # scan to the next "~~", not to the end of the post (no quadratic time).
        pattern = SimpleTagInlineProcessor(r"(~~)(?!\s)((?:[^~]|~(?!~))+?)(?<!\s)~~", "del")
        md.inlinePatterns.register(pattern, "strikethrough", 65)


_MARKDOWN_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Upstream's pattern with "&#X...;" too: its serializer leaves that alone as a reference,
# so without this "&#X202E;" would reach the browser undecoded by anything here.
_ENTITY_RE = r"(&(?:\#[0-9]+|\#[xX][0-9a-fA-F]+|[a-zA-Z0-9]+);)"


class _EntityProcessor(HtmlInlineProcessor):
    """A character reference the author typed (``&copy;``, ``&#8212;``) as its character."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[str, int, int]:
        """Upstream keeps the reference for the HTML; this writes the character instead."""
        char = html.unescape(m.group(1))
        if char in _MARKDOWN_ESCAPES:
            # Written the way Markdown writes these three itself (see `_hide_escapes`).
            return self.md.htmlStash.store(_MARKDOWN_ESCAPES[char]), m.start(0), m.end(0)
        # bleach turns every reference into a token of its own (50,000 "&quot;" took 2.5
        # s), and "&#x202E;" would bring back the override that typing it cannot.
        return _strip_control_chars(char), m.start(0), m.end(0)


class _EscapeRawHtmlExtension(Extension):
    """Raw HTML typed by a user is shown as text, never passed through."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Remove the processors that pass raw HTML blocks and inline tags through."""
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.inlinePatterns.register(_EntityProcessor(_ENTITY_RE, md), "entity", 80)


# "@name": a member's name (see validation.USERNAME_RE), not inside a word, an e-mail
# address or a path.
MENTION_RE = re.compile(
    r"(?<![\w@/.-])@(" + USERNAME_RE.pattern.removeprefix("^").removesuffix("$") + r")(?![\w-])"
)
# Code is not a mention: fenced blocks and inline spans are left out when looking.
_CODE_RE = re.compile(
    r"^ {0,3}(`{3,}|~{3,})[^\n]*\n.*?(?:^ {0,3}\1[^\n]*$|\Z)|`[^`\n]*`", re.M | re.S
)


def mentioned_names(source: str) -> list[str]:
    """The names a post's text mentions as `@name` (lower-case, first mention first),
    outside code."""
    found: dict[str, None] = {}
    for match in MENTION_RE.finditer(_CODE_RE.sub(" ", source)):
        found.setdefault(match.group(1).lower(), None)
    return list(found)


class _MentionsTreeprocessor(Treeprocessor):
    """`@name` as a link to the member's profile, only for names the caller allows (those
    the author may see); any other stays plain text, so unknown and hidden names read
    the same. Run on the finished tree so text inside links and code is left alone."""

    def __init__(self, md: markdown.Markdown, allowed: Collection[str]) -> None:
        super().__init__(md)
        self.allowed = frozenset(allowed)

    def run(self, root: etree.Element) -> None:
        """Link the allowed mentions in every text outside links and code."""
        if self.allowed:
            self._walk(root)

    def _walk(self, element: etree.Element) -> None:
        if element.tag in _NO_MENTIONS:
            return
        links = self._links_in(element.text)
        if links is not None:
            element.text, made = links
            for position, link in enumerate(made):
                element.insert(position, link)
        index = len(made) if links is not None else 0
        while index < len(element):
            child = element[index]
            self._walk(child)
            index += 1
            # The text after a child is its parent's: links made there follow the child.
            links = self._links_in(child.tail)
            if links is not None:
                child.tail, made = links
                for link in made:
                    element.insert(index, link)
                    index += 1

    def _links_in(self, text: str | None) -> tuple[str, list[etree.Element]] | None:
        """The text before the first allowed mention, and a link for each (each carrying
        the text after it as its tail); None if there is none."""
        if not text or "@" not in text:
            return None
        head: str | None = None
        made: list[etree.Element] = []
        last = 0
        for match in MENTION_RE.finditer(text):
            name = match.group(1)
            if name.lower() not in self.allowed:
                continue
            piece = text[last : match.start()]
            if made:
                made[-1].tail = piece
            else:
                head = piece
            link = etree.Element("a")
            link.set("href", f"/u/{name}")
            link.text = f"@{name}"
            made.append(link)
            last = match.end()
        if not made:
            return None
        made[-1].tail = text[last:]
        return head or "", made


# Elements whose text is never a mention.
_NO_MENTIONS = frozenset({"a", "code", "pre"})


class _MentionsExtension(Extension):
    def __init__(self, allowed: Collection[str]) -> None:
        super().__init__()
        self.allowed = allowed

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Link mentions once inline Markdown has made its links and code spans."""
        md.treeprocessors.register(_MentionsTreeprocessor(md, self.allowed), "mentions", 15)


class _ImagesAsLinksTreeprocessor(Treeprocessor):
    """Replace every ``<img>`` with a link to the image, or its text inside a link."""

    def run(self, root: etree.Element) -> None:
        """Rewrite images in place."""
        self._rewrite(root, inside_link=False)

    def _rewrite(self, element: etree.Element, *, inside_link: bool) -> None:
        for child in element:
            if child.tag == "img":
                src = child.get("src") or ""
                alt = child.get("alt") or ""
                title = child.get("title")
                child.attrib.clear()
                child.text = alt or src
                if inside_link or not src:
                    # A link inside a link is invalid HTML; the outer link wins.
                    # bleach strips the <span> and keeps its text.
                    child.tag = "span"
                else:
                    child.tag = "a"
                    child.set("href", src)
                    if title:
                        child.set("title", title)
            else:
                self._rewrite(child, inside_link=inside_link or child.tag == "a")


class _ImagesAsLinksExtension(Extension):
    """Images are never loaded: ``![alt](url)`` renders as a link to ``url``."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Run after the inline processor (priority 20) has created the images."""
        md.treeprocessors.register(_ImagesAsLinksTreeprocessor(md), "images_as_links", 15)


# Python-Markdown scans from every "[" to the end of the text looking for the
# matching "]" and then "(...)", so 50,000 "[" took minutes: a cheap way for
# one member to tie up a worker. Link text and destination have a maximum
# length, and each document has a budget of characters that link parsing may
# scan; once it is spent the remaining brackets render as literal text.
# Ordinary posts never come close (each link costs about its own length).
_MAX_LINK_TEXT = 1_000
_MAX_LINK_DESTINATION = 2_048
_LINK_SCAN_BUDGET = 1_000_000


class _ScanBudget:
    """Characters that link parsing may still scan in the current document."""

    def __init__(self, chars: int) -> None:
        self.remaining = chars


class _BoundedLinkProcessor(LinkInlineProcessor):
    """Upstream link parsing with bounded look-ahead and a per-document budget."""

    budget: _ScanBudget

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:
        """Find the "]" matching the "[" before ``index``, nesting allowed."""
        if self.budget.remaining <= 0:
            return "", index, False
        limit = min(len(data), index + _MAX_LINK_TEXT)
        depth = 1
        pos = index
        # Jump from one "]" to the next with str.find/count (C speed) instead
        # of upstream's character-by-character Python loop; same result.
        while True:
            close = data.find("]", pos, limit)
            if close == -1:
                self.budget.remaining -= limit - index
                return "", index, False
            depth += data.count("[", pos, close) - 1
            pos = close + 1
            if depth == 0:
                self.budget.remaining -= pos - index
                return data[index:close], pos, True

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:
        """Parse ``(destination "title")`` within a bounded window."""
        if self.budget.remaining <= 0:
            return "", None, index, False
        window = data[: index + _MAX_LINK_DESTINATION]
        href, title, end, handled = super().getLink(window, index)
        self.budget.remaining -= (end if handled else len(window)) - index
        return href, title, end, handled


class _BoundedReference(_BoundedLinkProcessor, ReferenceInlineProcessor):
    pass


class _BoundedImage(_BoundedLinkProcessor, ImageInlineProcessor):
    pass


class _BoundedImageReference(_BoundedLinkProcessor, ImageReferenceInlineProcessor):
    pass


class _BoundedShortReference(_BoundedLinkProcessor, ShortReferenceInlineProcessor):
    pass


class _BoundedShortImageReference(_BoundedLinkProcessor, ShortImageReferenceInlineProcessor):
    pass


class _BoundedLinksExtension(Extension):
    """Replace the six bracket-scanning processors with bounded ones."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Re-register under upstream's names and priorities, sharing one budget."""
        budget = _ScanBudget(_LINK_SCAN_BUDGET)
        processors: list[tuple[type[_BoundedLinkProcessor], str, str, int]] = [
            (_BoundedReference, REFERENCE_RE, "reference", 170),
            (_BoundedLinkProcessor, LINK_RE, "link", 160),
            (_BoundedImage, IMAGE_LINK_RE, "image_link", 150),
            (_BoundedImageReference, IMAGE_REFERENCE_RE, "image_reference", 140),
            (_BoundedShortReference, REFERENCE_RE, "short_reference", 130),
            (_BoundedShortImageReference, IMAGE_REFERENCE_RE, "short_image_ref", 125),
        ]
        for cls, pattern, name, priority in processors:
            processor = cls(pattern, md)
            processor.budget = budget
            md.inlinePatterns.register(processor, name, priority)


class _TableProcessor(TableProcessor):
    """Upstream's table detection, without splitting the whole block every time."""

    def test(self, parent: etree.Element, block: str) -> bool:
        """Check the first two lines first; only a likely table pays for the full check."""
        # Upstream splits and strips every line of the block, and the block
        # parser asks again each time a heading or rule splits one line off a
        # long block: quadratic. A block is only a table if its first two
        # lines already pass the test, so that check comes first.
        first = block.find("\n")
        second = block.find("\n", first + 1) if first != -1 else -1
        head = block if second == -1 else block[:second]
        return bool(super().test(parent, head) and super().test(parent, block))

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        """Refuse a table over the limits before building any of it."""
        rows = blocks[0].count("\n") - 1  # the lines after the header and the separator
        budget = _budget_of(self.parser.md)
        if budget.enforce and rows > MAX_TABLE_ROWS:
            raise TooComplex(
                f"Tables can have at most {MAX_TABLE_ROWS} rows; this one has {rows:,}. "
                "Split it into several tables or posts."
            )
        columns = len(self.separator)
        if budget.enforce and columns > MAX_TABLE_COLUMNS:
            raise TooComplex(
                f"Tables can have at most {MAX_TABLE_COLUMNS} columns; this one has {columns}."
            )
        budget.spend((rows + 1) * columns)
        super().run(parent, blocks)


def _is_line_suffix(block: str, earlier: str | None) -> bool:
    """True if ``block`` is ``earlier`` minus some whole lines from its start."""
    if earlier is None or len(block) > len(earlier) or not earlier.endswith(block):
        return False
    return len(block) == len(earlier) or earlier[-len(block) - 1] == "\n"


# When a heading or rule is split off the front of a long block, the rest goes
# back to the block parser, and upstream's heading, rule and quote tests search
# the whole rest again: quadratic for thousands of one-line headings. These
# searches look at whole lines, and whole lines of a block with no match
# contain none either, so the last miss is remembered and its remainder skipped.
class _SkipKnownMisses(BlockProcessor):
    """Mixin for processors whose test searches every line of the block."""

    _miss: str | None = None

    def test(self, parent: etree.Element, block: str) -> bool:
        """Upstream's test, skipped for what is left of a block that had no match."""
        if _is_line_suffix(block, self._miss):
            return False
        found = bool(super().test(parent, block))
        if not found:
            self._miss = block
        return found


class _HashHeaderProcessor(_SkipKnownMisses, HashHeaderProcessor):
    pass


class _HRProcessor(_SkipKnownMisses, HRProcessor):
    pass


class _BlockQuoteProcessor(BlockQuoteProcessor):
    _miss: str | None = None

    def test(self, parent: etree.Element, block: str) -> bool:
        """Upstream's test, skipped for what is left of a block that had no quote."""
        if _is_line_suffix(block, self._miss):
            return False
        # Only the search result is remembered: upstream's test also checks
        # the recursion depth, which is not a property of the text.
        if self.RE.search(block) is None:
            self._miss = block
            return False
        return bool(super().test(parent, block))


class _SetextHeaderProcessor(SetextHeaderProcessor):
    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        """Upstream's run, splitting off two lines instead of the whole block."""
        title, _, rest = blocks.pop(0).partition("\n")
        underline, more, rest = rest.partition("\n")
        heading = etree.SubElement(parent, "h1" if underline.startswith("=") else "h2")
        heading.text = title.strip()
        if more:
            blocks.insert(0, rest)


class _LinearBlocksExtension(Extension):
    """Swap in the linear-time block processors above, same names and priorities."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Replace upstream's processors in place."""
        blocks = md.parser.blockprocessors
        blocks.register(_HashHeaderProcessor(md.parser), "hashheader", 70)
        blocks.register(_SetextHeaderProcessor(md.parser), "setextheader", 60)
        blocks.register(_HRProcessor(md.parser), "hr", 50)
        blocks.register(_BlockQuoteProcessor(md.parser), "quote", 20)


class _TablesExtension(TableExtension):
    """Tables with ``align`` attributes (never ``style``) and cheaper detection."""

    def __init__(self) -> None:
        super().__init__(use_align_attribute=True)

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Register as upstream does, then swap in the cheaper processor."""
        super().extendMarkdown(md)
        processor = _TableProcessor(md.parser, self.getConfigs())
        md.parser.blockprocessors.register(processor, "table", 75)


class _Budget:
    """Markdown's work on one document, counted as it goes (see `_MAX_WORK`)."""

    def __init__(self, *, enforce: bool) -> None:
        self.enforce = enforce
        self.work = 0

    def spend(self, units: int = 1) -> None:
        """Count work; refuse the post once it is far beyond what could be accepted."""
        self.work += units
        if self.enforce and self.work > _MAX_WORK:
            raise TooComplex(_too_much_formatting(None))


def _budget_of(md: markdown.Markdown) -> _Budget:
    budget: _Budget = md.forum_budget  # type: ignore[attr-defined]
    return budget


def _counting_block(run: Callable[..., Any], md: markdown.Markdown) -> Callable[..., Any]:
    def counted(parent: etree.Element, blocks: list[str]) -> Any:
        budget = _budget_of(md)
        state = md.parser.state
        # Markdown's parser state holds one "list" or "blockquote" per level it is in.
        if budget.enforce and state.count("list") + state.count("blockquote") > MAX_NESTING:
            raise TooComplex(f"Lists and quotes can be nested at most {MAX_NESTING} levels deep.")
        budget.spend()
        return run(parent, blocks)

    return counted


def _counting_inline(handle: Callable[..., Any], md: markdown.Markdown) -> Callable[..., Any]:
    def counted(*args: Any) -> Any:
        found = handle(*args)
        # InlineProcessor answers (node, start, end), old-style patterns the node alone;
        # a node of None means "no match here" and costs nothing more.
        node = found[0] if isinstance(found, tuple) else found
        if node is not None:
            _budget_of(md).spend()
        return found

    return counted


class _BudgetExtension(Extension):
    """Count every block and inline match (and table cell) Markdown makes; check nesting.

    Registered last, so that it wraps every processor the other extensions registered.
    ``enforce=False`` counts without refusing anything.
    """

    def __init__(self, *, enforce: bool) -> None:
        super().__init__()
        self.enforce = enforce

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Give the document a budget and wrap the processors that spend it."""
        md.forum_budget = _Budget(enforce=self.enforce)  # type: ignore[attr-defined]
        for block in md.parser.blockprocessors:
            block.run = _counting_block(block.run, md)  # type: ignore[method-assign]
        for inline in md.inlinePatterns:
            inline.handleMatch = _counting_inline(inline.handleMatch, md)


def _too_much_formatting(count: int | None) -> str:
    found = f"it has {count:,}" if count is not None else "it has far more"
    return (
        f"This post has too much formatting to show: a post can have at most "
        f"{MAX_ELEMENTS:,} paragraphs, line breaks, list items, table cells, links and other "
        f"formatting, and {found}. Split it into several posts."
    )


def _new_markdown(*, limits: bool = True, mentions: Collection[str] = ()) -> markdown.Markdown:
    # A fresh instance per call: Markdown objects keep per-document state
    # (references, stash) and are not safe to share between threads.
    return markdown.Markdown(
        extensions=[
            "fenced_code",
            "nl2br",
            # A bullet list followed by a numbered one stays two lists.
            "sane_lists",
            _BoundedLinksExtension(),
            _LinearBlocksExtension(),
            _EscapeRawHtmlExtension(),
            _ImagesAsLinksExtension(),
            _StrikethroughExtension(),
            _TablesExtension(),
            _MentionsExtension(mentions),
            # Last: wraps what the others registered.
            _BudgetExtension(enforce=limits),
        ],
        output_format="html",
    )


# Numeric references to those bidirectional controls, for HTML that did not come from
# Markdown (whose references are decoded, and stripped, by `_EntityProcessor`).
_BIDI_REFERENCE_RE = re.compile(r"&#(?:[xX]0*(?:202[a-eA-E]|206[6-9])|0*(?:823[4-8]|829[4-7]));?")


def _strip_control_chars(text: str) -> str:
    return _CONTROL_CHARS_RE.sub("", text)


def sanitize_html(html: str, *, links: bool = True) -> str:
    """Clean HTML against the allow-list, linkify bare URLs and set rel on every link.

    With ``links=False`` (a new member's post) every link is reduced to its text and
    nothing is linkified.
    """
    cleaner = _CLEANER if links else _TEXT_ONLY_CLEANER
    html = _BIDI_REFERENCE_RE.sub("", _strip_control_chars(html))
    cleaned: str = cleaner.clean(_hide_escapes(html))
    return cleaned


def render_markdown(
    source: str, *, links: bool = True, limits: bool = True, mentions: Collection[str] = ()
) -> str:
    """Render user-written Markdown to sanitised HTML (``links=False``: links as text).

    ``mentions``: lower-case names whose ``@name`` becomes a link to the profile (the
    caller decides, through policy, whom the author may see); every other ``@name`` stays
    text. The sanitiser still runs last on whatever Markdown produced.

    Raises `TooComplex` for a post over the limits above, checked as soon as each can be
    seen: tables and nesting while Markdown builds them, Markdown's work as it goes, the
    elements and size of its HTML before bleach cleans it, links after. ``limits=False``
    (re-rendering stored posts) renders whatever it is given.
    """
    html = _new_markdown(limits=limits, mentions=mentions).convert(_strip_control_chars(source))
    if limits:
        _check_html(html)
        _check_links(html.count("<a "))
    # Always last, whatever Markdown produced.
    cleaned = sanitize_html(html, links=links)
    if limits:
        _check_html(cleaned)
        # Again after bleach: it made links of bare addresses.
        _check_links(cleaned.count("<a "))
    return cleaned


def _check_links(found: int) -> None:
    if found > MAX_LINKS:
        raise TooComplex(f"A post can have at most {MAX_LINKS} links; this one has {found:,}.")


def _check_html(html: str) -> None:
    # Every "<" in Markdown's or bleach's HTML opens or closes a tag: text has its "<"
    # escaped. So start tags are the "<" that are not "</".
    elements = html.count("<") - html.count("</")
    if elements > MAX_ELEMENTS:
        raise TooComplex(_too_much_formatting(elements))
    if len(html) > MAX_HTML_CHARS:
        raise TooComplex(
            f"This post is too long once formatted: {len(html):,} characters of HTML, and a "
            f"post can have at most {MAX_HTML_CHARS:,}. Shorten it or split it into several "
            "posts."
        )


# Tags whose edges separate words: "<p>one</p><p>two</p>" is "one two", not "onetwo".
_BLOCK_TAGS = ALLOWED_TAGS - {"a", "code", "del", "em", "strong"}
_WHITESPACE_RE = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """Return the text content of sanitised HTML with whitespace collapsed."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return _WHITESPACE_RE.sub(" ", "".join(extractor.parts)).strip()


def excerpt(source_html: str, length: int = 200) -> str:
    """Return at most ``length`` characters of plain text, cut at a word boundary."""
    if length < 1:
        raise ValueError("length must be at least 1")
    text = plain_text(source_html)
    if len(text) <= length:
        return text
    # Leave room for the ellipsis so the result never exceeds ``length``.
    cut = text[: length - 1]
    if not text[length - 1].isspace():
        head, space, _ = cut.rpartition(" ")
        if space and head:
            cut = head
    return cut.rstrip(" ,;:.-") + "…"


__all__: list[str] = [
    "ALLOWED_PROTOCOLS",
    "ALLOWED_TAGS",
    "LINK_REL",
    "RENDERER_VERSION",
    "excerpt",
    "plain_text",
    "render_markdown",
    "sanitize_html",
]
