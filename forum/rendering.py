# Python-Markdown ships no type information, so its base classes are Any to mypy.
# mypy: allow-subclassing-any
"""The one place where user-written text becomes HTML.

Markdown is rendered with raw HTML escaped, then bleach cleans the result as
the last step. The bleach ``Cleaner`` below holds the project's only allow-list.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from functools import partial
from html.parser import HTMLParser
from typing import TypeAlias

import bleach
import markdown
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
from markdown.inlinepatterns import ImageInlineProcessor
from markdown.inlinepatterns import ImageReferenceInlineProcessor
from markdown.inlinepatterns import LinkInlineProcessor
from markdown.inlinepatterns import ReferenceInlineProcessor
from markdown.inlinepatterns import ShortImageReferenceInlineProcessor
from markdown.inlinepatterns import ShortReferenceInlineProcessor
from markdown.inlinepatterns import SimpleTagInlineProcessor
from markdown.treeprocessors import Treeprocessor

#: Bump whenever the HTML produced for the same source changes; a CLI command
#: re-renders stored posts whose renderer version is older.
RENDERER_VERSION: int = 1

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
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Bare URLs are linkified only with an explicit scheme or a leading "www.".
# bleach's default also links bare domains, which turns typos such as
# "day 3.It was hard" into links to http://3.it; it also only knows old TLDs,
# so https://example.charity would not be linked at all.
_URL_RE = re.compile(
    r"""
    (?<![\w@.:/])                         # not inside a word, e-mail address or URL
    (?:https?://(?:[\w.~%!$&'*+,;=-]+@)?|www\.)
    (?:[\w-]+\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})
    (?::[0-9]{1,5})?
    (?:[/?#](?:[^\s<>"`{}|\\^()]|\([^\s<>"`{}|\\^()]*\))*)?  # path; only balanced "(...)"
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
        )
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
)


class _StrikethroughExtension(Extension):
    """``~~text~~`` becomes ``<del>text</del>``."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Register the inline pattern just before emphasis."""
        # The text may not contain "~~", so a "~~" that is never closed costs a
        # scan to the next "~~", not to the end of the post (no quadratic time).
        pattern = SimpleTagInlineProcessor(r"(~~)(?!\s)((?:[^~]|~(?!~))+?)(?<!\s)~~", "del")
        md.inlinePatterns.register(pattern, "strikethrough", 65)


class _EscapeRawHtmlExtension(Extension):
    """Raw HTML typed by a user is shown as text, never passed through."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        """Remove the processors that pass raw HTML blocks and inline tags through."""
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


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


def _new_markdown() -> markdown.Markdown:
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
        ],
        output_format="html",
    )


def _strip_control_chars(text: str) -> str:
    return _CONTROL_CHARS_RE.sub("", text)


def sanitize_html(html: str, *, links: bool = True) -> str:
    """Clean HTML against the allow-list, linkify bare URLs and set rel on every link.

    With ``links=False`` (a new member's post) every link is reduced to its text and
    nothing is linkified.
    """
    cleaner = _CLEANER if links else _TEXT_ONLY_CLEANER
    cleaned: str = cleaner.clean(_strip_control_chars(html))
    return cleaned


def render_markdown(source: str, *, links: bool = True) -> str:
    """Render user-written Markdown to sanitised HTML (``links=False``: links as text)."""
    html = _new_markdown().convert(_strip_control_chars(source))
    # Always last, whatever Markdown produced.
    return sanitize_html(html, links=links)


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
