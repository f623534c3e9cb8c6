"""Plain pages (help, trust levels), and the small presentation pieces every HTML page shares."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import render_template
from flask import request

from forum import policy
from forum.blueprints import context
from forum.services import privacy
from forum.services import trust

bp = Blueprint("pages", __name__)


def requested_page() -> int:
    """The `?page=` number, read leniently: anything odd means page 1."""
    raw = request.args.get("page", "")
    # ASCII digits only: "²".isdigit() is True, but int("²") raises.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6):
        return 1
    return int(raw) if 0 < int(raw) < 1_000_000 else 1


@bp.app_template_filter("iso")
def iso_time(value: datetime) -> str:
    """`2026-11-25T20:04:53Z`, for `<time datetime=...>`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.app_template_filter("day")
def day(value: datetime) -> str:
    """`25 Nov 2026`."""
    value = value.astimezone(UTC)
    return f"{value.day} {value:%b %Y}"


@bp.app_template_filter("month")
def month(value: datetime) -> str:
    """`November 2026`: how a profile shows the join date unless the member shows more."""
    return f"{value.astimezone(UTC):%B %Y}"


@bp.app_context_processor
def _navigation() -> dict[str, bool]:
    # The nav shows "Admin" from a policy predicate, never from a template's own test.
    return {"can_administer": policy.can_administer(context.current_actor())}


@bp.get("/help")
def help_page() -> str:
    return render_template("help.html")


@bp.get("/trust")
def trust_page() -> str:
    """What each trust level means and may do, the thresholds, and the member's progress."""
    member = context.current_member()
    return render_template(
        "trust.html",
        levels=trust.requirements(context.site_settings()),
        progress=trust.progress(member) if member is not None else None,
    )


@bp.get("/privacy")
def privacy_page() -> str:
    """What the forum keeps and who sees it: the admins' text or the default."""
    return render_template("privacy.html", page=privacy.page(context.site_settings()))
