"""The privacy page: the admins' text, or the default written for this kind of service.

The default (forum/data/privacy.md) says only what the software itself does: what it
keeps, who can see it, how long, and the member's rights (export, delete, correct).
Admins add who runs the forum and how to reach them; an empty text brings back the
default. Either way the Markdown goes through the same renderer and sanitiser as posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from functools import lru_cache
from importlib import resources
from typing import Any

from markupsafe import Markup

from forum.rendering import render_markdown


@dataclass(frozen=True)
class PrivacyPage:
    markdown: str
    html: Markup
    is_default: bool


@cache
def default_text() -> str:
    return resources.files("forum").joinpath("data/privacy.md").read_text(encoding="utf-8")


@lru_cache(maxsize=4)
def _render(markdown: str) -> Markup:
    # Rendered once per text and worker; the text changes a few times a year.
    return Markup(render_markdown(markdown))  # noqa: S704 - the sanitiser's output


def page(site_settings: dict[str, Any]) -> PrivacyPage:
    """The page to show, from the site settings (`settings.get_settings()`)."""
    custom = site_settings.get("privacy_policy", "")
    markdown = custom or default_text()
    return PrivacyPage(markdown=markdown, html=_render(markdown), is_default=not custom)
