"""Search: the same service and the same argument rules as the search page, as JSON."""

from __future__ import annotations

from typing import Any

from flask import request

from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.blueprints.search import search_arguments
from forum.search import service


@bp.get("/search")
def search() -> Any:
    """Search the posts the caller may read (guests: what guests may read)."""
    asked = search_arguments(request.args)
    page = inputs.page()
    found = service.search_posts(context.current_actor(), q=asked.q, page=page, **asked.filters())
    return serializers.search_page(found)
