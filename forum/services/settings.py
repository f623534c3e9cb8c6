"""Site settings: read with defaults, changed by admins."""

from __future__ import annotations

import json
import time
from typing import Any

from flask import current_app
from sqlalchemy import select

from forum import validation
from forum.errors import Invalid
from forum.extensions import db
from forum.models.settings import SiteSetting
from forum.policy import Actor
from forum.policy import require_admin

REGISTRATION_CHOICES = ("open", "invite_only")
GUEST_ACCESS_CHOICES = ("none", "public_boards")

# Safe defaults for this audience: nothing readable by guests, registration by invitation.
DEFAULTS: dict[str, Any] = {
    "site_name": "Our forum",
    "site_description": "A place for mutual support, run by its members.",
    "registration": "invite_only",
    "guest_access": "none",
}


# Settings are read on every request but change a few times a year. Each worker keeps
# them for CACHE_SECONDS; the worker that writes them forgets its copy at once, the
# others within that time.
CACHE_SECONDS = 5.0


def _cache() -> dict[str, Any]:
    cache: dict[str, Any] = current_app.extensions.setdefault("forum_settings_cache", {})
    return cache


def get_settings() -> dict[str, Any]:
    """Every setting, stored values over defaults (cached for a few seconds)."""
    cache = _cache()
    now = time.monotonic()
    if cache.get("expires", 0.0) > now:
        return dict(cache["values"])
    values = dict(DEFAULTS)
    for row in db.session.scalars(select(SiteSetting)):
        if row.key in DEFAULTS:
            values[row.key] = json.loads(row.value)
    cache.update(values=values, expires=now + CACHE_SECONDS)
    return dict(values)


def _validate(key: str, value: Any) -> Any:
    if key == "registration":
        return validation.choice(value, key, REGISTRATION_CHOICES)
    if key == "guest_access":
        return validation.choice(value, key, GUEST_ACCESS_CHOICES)
    if key == "site_name":
        return validation.text(value, key, min_len=1, max_len=80, label="Site name")
    if key == "site_description":
        return validation.text(value, key, max_len=500, label="Site description")
    raise Invalid(key, f"Unknown setting {key!r}.")


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
    _cache().clear()
    for key, value in clean.items():
        row = db.session.get(SiteSetting, key)
        if row is None:
            db.session.add(SiteSetting(key=key, value=json.dumps(value)))
        else:
            row.value = json.dumps(value)
    db.session.flush()
    return get_settings()


def update_settings(actor: Actor, changes: dict[str, Any]) -> dict[str, Any]:
    """Change settings as an admin; all or nothing."""
    require_admin(actor)
    return write_settings(changes)
