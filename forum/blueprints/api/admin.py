"""The admin area's member directory: every account, for site admins only."""

from __future__ import annotations

from typing import Any

from flask import request

from forum import listings
from forum import policy
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp


@bp.get("/admin/users")
def admin_users() -> Any:
    actor = context.current_actor()
    # Who may ask comes before what was asked: a guest's bad filter is still a 401.
    policy.require_admin(actor)
    page = inputs.page()
    filters = listings.member_filters(request.args)
    found = listings.member_directory(actor, filters, page)
    items = [serializers.directory_member(row) for row in found.items]
    return {**serializers.page_of("users", found, items), "total": found.total}
