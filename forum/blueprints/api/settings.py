"""Site settings, for admins; the privacy page, for anyone."""

from __future__ import annotations

from typing import Any

from forum import policy
from forum import transaction
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api.blueprint import bp
from forum.services import privacy
from forum.services import settings


@bp.get("/settings")
def show_settings() -> Any:
    policy.require_admin(context.current_actor())
    return settings.get_settings()


@bp.patch("/settings")
@transaction.writes
def update_settings() -> Any:
    data = inputs.body(schemas.site.SettingsChange)
    changed = settings.update_settings(context.current_actor(), data)
    return changed


@bp.get("/privacy")
def show_privacy() -> Any:
    """The privacy page, for anyone (also where guests may read nothing else)."""
    page = privacy.page(context.site_settings())
    return {"markdown": page.markdown, "html": str(page.html), "default": page.is_default}
