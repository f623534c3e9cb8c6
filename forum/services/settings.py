"""Site settings: read with defaults, changed by admins."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from forum import validation
from forum.errors import Invalid
from forum.extensions import db
from forum.models.settings import SiteSetting
from forum.policy import Actor
from forum.policy import require_admin
from forum.rendering import TooComplex
from forum.rendering import render_markdown
from forum.search import LANGUAGES

REGISTRATION_CHOICES = ("open", "invite_only")
GUEST_ACCESS_CHOICES = ("none", "public_boards")
# Languages both Whoosh's stemmers and PostgreSQL's text search know (search owns the
# list). A change takes effect for searching after `forum reindex`.
SEARCH_LANGUAGE_CHOICES = LANGUAGES

NUMBER_MAX = 100_000
SITE_NAME_MAX = 80
SITE_DESCRIPTION_MAX = 500
# The privacy page's Markdown; "" means the default text (forum/data/privacy.md).
PRIVACY_POLICY_MAX = 20_000


@dataclass(frozen=True)
class NumberSetting:
    """A whole-number setting: trust-level thresholds and community limits."""

    default: int
    section: str
    label: str
    minimum: int = 0
    maximum: int = NUMBER_MAX


TL1 = "Trust level 1 (basic)"
TL2 = "Trust level 2 (member)"
TL3 = "Trust level 3 (regular)"
LIMITS = "Limits and community defences"

# Discourse's defaults, except where the issue asks for less (see forum.services.trust).
NUMBER_SETTINGS: dict[str, NumberSetting] = {
    "tl1_topics_entered": NumberSetting(5, TL1, "Topics entered"),
    "tl1_posts_read": NumberSetting(30, TL1, "Posts read"),
    "tl1_minutes_read": NumberSetting(10, TL1, "Minutes spent reading"),
    "tl2_topics_entered": NumberSetting(20, TL2, "Topics entered"),
    "tl2_posts_read": NumberSetting(100, TL2, "Posts read"),
    "tl2_minutes_read": NumberSetting(60, TL2, "Minutes spent reading"),
    "tl2_days_visited": NumberSetting(15, TL2, "Days visited"),
    "tl2_likes_given": NumberSetting(1, TL2, "Likes given"),
    "tl2_likes_received": NumberSetting(1, TL2, "Likes received"),
    "tl2_topics_replied": NumberSetting(3, TL2, "Topics replied to"),
    "tl3_window_days": NumberSetting(100, TL3, "Days counted (the window)", minimum=1),
    "tl3_days_visited": NumberSetting(50, TL3, "Days visited in the window"),
    "tl3_topics_replied": NumberSetting(10, TL3, "Topics replied to in the window"),
    "tl3_topics_viewed_percent": NumberSetting(
        25, TL3, "Percent of the window's topics viewed", maximum=100
    ),
    "tl3_topics_viewed_max": NumberSetting(250, TL3, "…but never more than this many topics"),
    "tl3_posts_read_percent": NumberSetting(
        25, TL3, "Percent of the window's posts read", maximum=100
    ),
    "tl3_posts_read_max": NumberSetting(2000, TL3, "…but never more than this many posts"),
    "tl3_likes_given": NumberSetting(30, TL3, "Likes given in the window"),
    "tl3_likes_received": NumberSetting(20, TL3, "Likes received in the window"),
    "tl3_max_flagged_posts": NumberSetting(
        5, TL3, "At most this many posts with upheld reports in the window"
    ),
    "tl3_keep_percent": NumberSetting(
        90, TL3, "Level 3 is kept while above this percent of the requirements", maximum=100
    ),
    "hide_threshold": NumberSetting(
        8, LIMITS, "Report score that hides a post until a moderator looks", minimum=1
    ),
    "reports_per_hour": NumberSetting(10, LIMITS, "Reports a member may make per hour"),
    "tl0_posts_per_day": NumberSetting(20, LIMITS, "Posts per day for new members (level 0)"),
    "tl0_topics_per_day": NumberSetting(3, LIMITS, "Topics per day for new members (level 0)"),
    "api_token_idle_days": NumberSetting(
        90, LIMITS, "Days an unused API token keeps working", minimum=1
    ),
}

# How fast each trust level may post and edit (issue 10: four parallel edits by a new
# account stalled the site). These are request throttles: FORUM_RATELIMITS=off turns them
# off, unlike the level-0 daily caps above. Moderators of a board are exempt there.
SPEED = "Posting and editing speed (per trust level)"
LEVEL_NAMES = ("new", "basic", "member", "regular", "leader")
POSTS_PER_MINUTE = (2, 4, 6, 10, 20)
EDITS_PER_HOUR = (10, 20, 30, 60, 120)


def _speed_settings() -> dict[str, NumberSetting]:
    found: dict[str, NumberSetting] = {}
    for level, name in enumerate(LEVEL_NAMES):
        found[f"tl{level}_posts_per_minute"] = NumberSetting(
            POSTS_PER_MINUTE[level], SPEED, f"Level {level} ({name}): posts per minute", minimum=1
        )
        found[f"tl{level}_edits_per_hour"] = NumberSetting(
            EDITS_PER_HOUR[level], SPEED, f"Level {level} ({name}): edits per hour", minimum=1
        )
    return found


NUMBER_SETTINGS.update(_speed_settings())

# Safe defaults for this audience: nothing readable by guests, registration by invitation.
DEFAULTS: dict[str, Any] = {
    "site_name": "Our forum",
    "site_description": "A place for mutual support, run by its members.",
    "registration": "invite_only",
    "guest_access": "none",
    "search_language": "english",
    "privacy_policy": "",
    **{key: spec.default for key, spec in NUMBER_SETTINGS.items()},
}


# Settings are read on every request but change a few times a year. Each worker keeps
# them under the settings version: a row of its own that every write replaces, in the
# same transaction, with a new random value. A request reads that one row by its key
# (one primary-key lookup) and reloads the rest only when it differs, so an admin's
# change shows at once on every worker. Random rather than a counter: two admins saving
# at once on PostgreSQL could both write "version + 1" and leave a worker on the values
# of the first; two random values always differ.
VERSION_KEY = "_version"


def _cache() -> dict[str, Any]:
    cache: dict[str, Any] = current_app.extensions.setdefault("forum_settings_cache", {})
    return cache


def get_settings() -> dict[str, Any]:
    """Every setting, stored values over defaults (reloaded when the version changed)."""
    cache = _cache()
    version = db.session.scalar(select(SiteSetting.value).where(SiteSetting.key == VERSION_KEY))
    if "values" in cache and cache.get("version") == version:
        return dict(cache["values"])
    values = dict(DEFAULTS)
    for row in db.session.scalars(select(SiteSetting)):
        if row.key == VERSION_KEY:
            # Read with the values: what is cached is never older than its version.
            version = row.value
        elif row.key in DEFAULTS:
            values[row.key] = json.loads(row.value)
    # One assignment: a thread of the same worker never sees new values, old version.
    current_app.extensions["forum_settings_cache"] = {"values": values, "version": version}
    return dict(values)


def _number(key: str, value: Any) -> int:
    spec = NUMBER_SETTINGS[key]
    problem = f"{spec.label} must be a whole number from {spec.minimum} to {spec.maximum:,}."
    # Form fields arrive as text; only plain ASCII digits count ("²".isdigit() is True).
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,7}", value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(key, problem)
    if not spec.minimum <= value <= spec.maximum:
        raise Invalid(key, problem)
    return value


def _validate(key: str, value: Any) -> Any:
    if key in NUMBER_SETTINGS:
        return _number(key, value)
    if key == "registration":
        return validation.choice(value, key, REGISTRATION_CHOICES)
    if key == "guest_access":
        return validation.choice(value, key, GUEST_ACCESS_CHOICES)
    if key == "search_language":
        return validation.choice(value, key, SEARCH_LANGUAGE_CHOICES)
    if key == "site_name":
        return validation.text(value, key, min_len=1, max_len=SITE_NAME_MAX, label="Site name")
    if key == "site_description":
        return validation.text(value, key, max_len=SITE_DESCRIPTION_MAX, label="Site description")
    if key == "privacy_policy":
        return _privacy_policy(value)
    raise Invalid(key, f"Unknown setting {key!r}.")


def _privacy_policy(value: Any) -> str:
    text = validation.text(
        value, "privacy_policy", max_len=PRIVACY_POLICY_MAX, label="Privacy page"
    )
    try:
        # What members will be shown, checked now: the page never fails to render later.
        render_markdown(text)
    except TooComplex as exc:
        raise Invalid("privacy_policy", exc.message) from None
    return text


def write_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate and store settings without a policy check (first-run set-up, CLI)."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        try:
            clean[key] = _validate(key, value)
        except Invalid as exc:
            errors.update(exc.fields)
    if errors:
        raise Invalid(errors)
    clean[VERSION_KEY] = secrets.token_hex(8)
    for key, value in clean.items():
        stored = value if key == VERSION_KEY else json.dumps(value)
        row = db.session.get(SiteSetting, key)
        if row is None:
            db.session.add(SiteSetting(key=key, value=stored))
        else:
            row.value = stored
    db.session.flush()
    return get_settings()


def update_settings(actor: Actor, changes: dict[str, Any]) -> dict[str, Any]:
    """Change settings as an admin; all or nothing."""
    require_admin(actor)
    return write_settings(changes)
